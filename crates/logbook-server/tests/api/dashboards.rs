use serde_json::{Value, json};

use crate::support::{Backend, TestApp, assert_problem};

/// Seed 001's dashboards: saved per tenant with their widgets, private to the key that
/// made them or seen by every key of the tenant, changed only by their maker or an admin.
pub async fn dashboards_are_kept_per_key_and_tenant(backend: Backend) {
    let app = TestApp::start(backend).await;
    let reader = app.tenant_key("default", "read").await;
    let other_reader = app.tenant_key("default", "read").await;
    let stranger = app.tenant_key("elsewhere", "read,admin").await;
    let dashboard = json!({
        "name": "Security", "visibility": "private", "default_time_range": "7d",
        "tags": ["auth"], "widgets": [
            {"title": "Failed logins", "widget_type": "time-series", "data_source": "events_hourly",
             "metric_name": "failure_count", "filters": {"event_type": "AUTH_FAILURE"}},
            {"title": "Countries", "widget_type": "pie-chart", "data_source": "countries",
             "metric_name": "count", "position": {"x": 6, "y": 0, "w": 6, "h": 4}},
        ],
    });
    let made = app
        .post_to("/api/v1/dashboards", &reader, dashboard.to_string())
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.body["id"].as_str().unwrap().to_owned();
    assert_eq!(made.body["owner_id"], app.key_id(&reader).await.as_str());
    assert!(
        made.body["widgets"][0]["id"]
            .as_str()
            .is_some_and(|w| !w.starts_with("00000000"))
    );
    assert_eq!(made.body["widgets"][1]["position"]["x"], 6);

    // Private: its maker sees it; another key of the tenant, and another tenant, do not.
    let path = format!("/api/v1/dashboards/{id}");
    assert_eq!(app.get(&path, &reader).await.body["name"], "Security");
    assert_eq!(app.get(&path, &other_reader).await.status, 404);
    assert_eq!(app.get(&path, &stranger).await.status, 404);
    let listed = |key: String| {
        let app = &app;
        async move {
            app.get("/api/v1/dashboards", &key).await.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(reader.clone()).await, ["Security"]);
    assert!(listed(other_reader.clone()).await.is_empty());

    // Shared with the tenant, every key of it sees it, and only its maker or an admin
    // changes or deletes it.
    let shared = app
        .patch_to(
            &path,
            &reader,
            json!({"visibility": "organization"}).to_string(),
        )
        .await;
    assert_eq!(shared.status, 200, "{}", shared.body);
    assert_eq!(listed(other_reader.clone()).await, ["Security"]);
    assert!(listed(stranger.clone()).await.is_empty());
    let refused = app
        .patch_to(
            &path,
            &other_reader,
            json!({"name": "Mine now"}).to_string(),
        )
        .await;
    assert_problem(&refused, 403, "only the key that made");
    let renamed = app
        .patch_to(
            &path,
            &app.admin,
            json!({"name": "Security (admin)"}).to_string(),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let fixed = app
        .patch_to(
            &path,
            &reader,
            json!({"owner_id": app.key_id(&other_reader).await}).to_string(),
        )
        .await;
    assert_problem(&fixed, 400, "owner_id cannot be changed");

    // Widgets are checked against what their source gives.
    for (widget, needle) in [
        (
            json!({"title": "x", "widget_type": "pie-chart", "data_source": "summary", "metric_name": "auth_failures"}),
            "cannot draw",
        ),
        (
            json!({"title": "x", "widget_type": "counter", "data_source": "summary", "metric_name": "nope"}),
            "not one of",
        ),
        (
            json!({"title": "x", "widget_type": "table", "data_source": "events_hourly", "metric_name": "total_count", "filters": {"ip": "10.0.0.1"}}),
            "takes the filters",
        ),
    ] {
        let reply = app
            .patch_to(&path, &reader, json!({"widgets": [widget]}).to_string())
            .await;
        assert_problem(&reply, 400, needle);
    }
    let too_many: Vec<Value> = (0..51)
        .map(|i| json!({"title": format!("w{i}"), "widget_type": "alert-list", "data_source": "alerts"}))
        .collect();
    let reply = app
        .patch_to(&path, &reader, json!({"widgets": too_many}).to_string())
        .await;
    assert_problem(&reply, 400, "at most 50 widgets");

    // Deleting it deletes its widgets with it.
    let deleted = app
        .send(
            axum::http::Request::delete(format!("/api/v1/dashboards/{id}"))
                .header("authorization", format!("Bearer {other_reader}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(deleted.status, 403);
    let deleted = app
        .send(
            axum::http::Request::delete(format!("/api/v1/dashboards/{id}"))
                .header("authorization", format!("Bearer {reader}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert_eq!(app.get(&path, &reader).await.status, 404);
    assert!(listed(reader).await.is_empty());
}
