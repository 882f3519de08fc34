use serde_json::json;

use crate::support::{Backend, TestApp, assert_problem};

pub async fn routes_need_a_key_with_the_right_scope(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ingest_only = app.tenant_key("default", "ingest").await;
    let read_only = app.tenant_key("default", "read").await;
    let event = json!({"event_type": "REQUEST"}).to_string();

    let reads = [
        "/api/v1/logs",
        "/api/v1/logs/018f0000-0000-7000-8000-000000000000",
        "/api/v1/logs/users/u1",
        "/api/v1/logs/summary",
        "/api/v1/logs/hourly",
        "/api/v1/logs/daily",
        "/api/v1/logs/by-country",
        "/api/v1/logs/failed-auth?ip=1.2.3.4",
    ];
    for path in reads {
        assert_problem(&app.get(path, "").await, 401, "API key");
        assert_problem(&app.get(path, "lbk_not_a_real_key").await, 401, "unknown");
        assert_problem(&app.get(path, &ingest_only).await, 403, "read");
        let ok = app.get(path, &read_only).await;
        assert!(
            ok.status == 200 || ok.status == 404,
            "{path}: {}",
            ok.status
        );
    }
    assert_problem(&app.post_events("", event.clone()).await, 401, "API key");
    assert_problem(
        &app.post_events(&read_only, event.clone()).await,
        403,
        "ingest",
    );
    assert_eq!(
        app.post_events(&ingest_only, event.clone()).await.status,
        200
    );
    assert_eq!(app.post_events(&app.admin, event).await.status, 200);
}

pub async fn health_and_ready(backend: Backend) {
    let app = TestApp::start(backend).await;
    let health = app.get("/health", "").await;
    assert_eq!(
        (health.status.as_u16(), health.body),
        (200, json!({"status": "ok"}))
    );
    let ready = app.get("/ready", "").await;
    let storage = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(
        (ready.status.as_u16(), ready.body),
        (200, json!({"status": "ready", "storage": storage}))
    );
    assert_problem(&app.get("/nowhere", "").await, 404, "/nowhere");
}
