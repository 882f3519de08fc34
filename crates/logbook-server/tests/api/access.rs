use serde_json::json;

use crate::support::{Backend, TestApp};

/// Reads and admin calls leave LOG_ACCESS events in the caller's tenant, naming the key,
/// the route, the filters and the rows returned.
pub async fn reads_leave_access_records(backend: Backend) {
    let app = TestApp::start(backend).await;
    let reader = app.tenant_key("acme", "ingest,read").await;
    let admin = app.tenant_key("acme", "admin").await;
    let key_id = |secret: &str| {
        let store = app.app.store().clone();
        let hash = logbook_server::auth::keys::hash(secret);
        async move {
            store
                .api_key_by_hash(&hash)
                .await
                .unwrap()
                .unwrap()
                .id
                .to_string()
        }
    };
    let events =
        json!([{"event_type": "REQUEST"}, {"event_type": "REQUEST"}, {"event_type": "AUTH_LOGIN"}]);
    assert_eq!(
        app.post_events(&reader, events.to_string()).await.body["accepted"],
        3
    );

    assert_eq!(
        app.get("/api/v1/logs?event_type=REQUEST", &reader)
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    app.get("/api/v1/logs/summary?hours=2", &reader).await;
    app.get("/api/v1/logs/018f0000-0000-7000-8000-000000000000", &reader)
        .await;
    app.get("/api/v1/keys", &admin).await;

    let records = app
        .get("/api/v1/logs?event_type=LOG_ACCESS&order=asc", &reader)
        .await
        .body["items"]
        .clone();
    let seen: Vec<_> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["request_path"].clone(),
                r["request_params"].clone(),
                r["metadata"].clone(),
                r["service"].clone(),
            )
        })
        .collect();
    let (reader_id, admin_id) = (key_id(&reader).await, key_id(&admin).await);
    assert_eq!(
        seen,
        vec![
            (
                json!("/api/v1/logs"),
                json!({"event_type": "REQUEST"}),
                json!({"key_id": reader_id, "route": "/api/v1/logs", "rows": 2}),
                json!("logbook")
            ),
            (
                json!("/api/v1/logs/summary"),
                json!({"hours": "2"}),
                json!({"key_id": reader_id, "route": "/api/v1/logs/summary", "rows": 1}),
                json!("logbook")
            ),
            (
                json!("/api/v1/logs/018f0000-0000-7000-8000-000000000000"),
                json!(null),
                json!({"key_id": reader_id, "route": "/api/v1/logs/{id}", "rows": 0}),
                json!("logbook")
            ),
            (
                json!("/api/v1/keys"),
                json!(null),
                json!({"key_id": admin_id, "route": "/api/v1/keys", "rows": 2}),
                json!("logbook")
            ),
        ]
    );
    // Access records stay in the caller's tenant.
    let others = app
        .get("/api/v1/logs?event_type=LOG_ACCESS", &app.admin)
        .await
        .body["items"]
        .clone();
    assert!(
        others
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["metadata"]["key_id"] != reader_id.as_str())
    );
}
