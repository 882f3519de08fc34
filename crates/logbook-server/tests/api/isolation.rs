use serde_json::{Value, json};

use crate::support::{Backend, TestApp, assert_problem};

/// Tenant A's events, fetched every way there is with tenant B's key, are never seen.
pub async fn a_tenant_never_sees_another_tenants_events(backend: Backend) {
    let app = TestApp::start(backend).await;
    let a = app.tenant_key("acme", "ingest,read").await;
    let b = app.tenant_key("globex", "ingest,read").await;
    let events = json!([
        {"event_type": "AUTH_FAILURE", "user_id": "u1", "ip_address": "10.9.9.9", "fingerprint": "fp", "success": false, "geo_country": "US", "response_time_ms": 5},
        {"event_type": "REQUEST", "user_id": "u1", "ip_address": "10.9.9.9", "geo_country": "US"},
    ]);
    assert_eq!(
        app.post_events(&a, events.to_string()).await.body["accepted"],
        2
    );
    assert_eq!(
        app.post_events(&b, json!({"event_type": "OTP_SENT"}).to_string())
            .await
            .body["accepted"],
        1
    );

    let a_items = app.get("/api/v1/logs", &a).await.body["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(a_items.len(), 2);
    let a_id = a_items[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get(&format!("/api/v1/logs/{a_id}"), &a).await.status,
        200
    );

    let b_items = app.get("/api/v1/logs?limit=1000", &b).await.body["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(b_items.len(), 1);
    assert_eq!(b_items[0]["event_type"], "OTP_SENT");
    assert_problem(
        &app.get(&format!("/api/v1/logs/{a_id}"), &b).await,
        404,
        "no event",
    );
    assert_eq!(
        app.get("/api/v1/logs/users/u1", &b).await.body["items"],
        json!([])
    );
    for filter in [
        "ip=10.9.9.9",
        "ip=10.0.0.0/8",
        "fingerprint=fp",
        "event_type=AUTH_FAILURE",
        "success=false",
    ] {
        assert_eq!(
            app.get(&format!("/api/v1/logs?{filter}"), &b).await.body["items"],
            json!([]),
            "{filter}"
        );
    }
    let summary = app.get("/api/v1/logs/summary", &b).await.body;
    assert_eq!(
        summary,
        json!({"total_requests": 0, "successful_logins": 0, "auth_failures": 0, "rate_limit_hits": 0, "unique_users": 0, "unique_ips": 0})
    );
    let only_own_types = |rows: &Value| {
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["event_type"] == "OTP_SENT")
    };
    assert!(only_own_types(
        &app.get("/api/v1/logs/hourly", &b).await.body
    ));
    assert!(only_own_types(
        &app.get("/api/v1/logs/daily", &b).await.body
    ));
    let export = app.get("/api/v1/audit/export", &b).await;
    assert_eq!(export.status, 200);
    let events_export = app.get("/api/v1/logs/export", &b).await.body;
    // One line parses as JSON on its own; several come back as text.
    let exported: Vec<Value> = match &events_export {
        Value::String(text) => text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        one => vec![one.clone()],
    };
    assert!(!exported.is_empty());
    assert!(
        exported.iter().all(|e| e["event_type"] == "OTP_SENT"),
        "{exported:?}"
    );
    // Only b's own events, none of them with a country (a's are all US).
    let countries = app.get("/api/v1/logs/by-country", &b).await.body;
    assert!(
        countries
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["geo_country"].is_null() && r["failures"] == 0),
        "{countries}"
    );
    for query in ["ip=10.9.9.9", "user_id=u1", "fingerprint=fp"] {
        assert_eq!(
            app.get(&format!("/api/v1/logs/failed-auth?{query}"), &b)
                .await
                .body,
            json!({"count": 0}),
            "{query}"
        );
        assert_eq!(
            app.get(&format!("/api/v1/logs/failed-auth?{query}"), &a)
                .await
                .body,
            json!({"count": 1}),
            "{query}"
        );
    }
}
