//! Monitors over HTTP with a real target: checks kept, status, uptimes and percentiles
//! from them, seed 001 5.1's system health, retries, the refusal of metadata addresses,
//! and a monitor-down alert. The checker is stepped with explicit times.

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicUsize, Ordering},
};

use axum::{Router, extract::State, http::StatusCode, routing::get};
use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, assert_problem};

#[derive(Clone, Default)]
struct Target {
    ok_fails: Arc<AtomicBool>,
    bad_hits: Arc<AtomicUsize>,
}

/// `/ok` answers 200 until told to fail; `/bad` always 500, counting its hits.
async fn target() -> (String, Target) {
    let state = Target::default();
    let app = Router::new()
        .route(
            "/ok",
            get(|State(t): State<Target>| async move {
                if t.ok_fails.load(Ordering::SeqCst) {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }),
        )
        .route(
            "/bad",
            get(|State(t): State<Target>| async move {
                t.bad_hits.fetch_add(1, Ordering::SeqCst);
                StatusCode::INTERNAL_SERVER_ERROR
            }),
        )
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}"), state)
}

fn by_name<'a>(items: &'a Value, name: &str) -> &'a Value {
    items
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap()
}

pub async fn monitors_check_keep_results_and_sum_up_health(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (base, target) = target().await;
    for (name, path, retries) in [("api", "/ok", 0), ("db", "/bad", 1)] {
        let monitor = json!({"name": name, "url": format!("{base}{path}"), "check_interval": 10,
                             "retry_count": retries, "service_type": name});
        let created = app
            .post_to("/api/v1/monitors", &app.admin, monitor.to_string())
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let metadata = json!({"name": "metadata", "url": "http://169.254.169.254/latest/meta-data",
                          "check_interval": 10, "retry_count": 0});
    app.post_to("/api/v1/monitors", &app.admin, metadata.to_string())
        .await;

    let t0 = Utc::now() + Duration::seconds(1);
    assert_eq!(app.app.run_monitors_once(t0).await.unwrap(), 3);
    assert_eq!(
        target.bad_hits.load(Ordering::SeqCst),
        2,
        "one check, one retry"
    );
    let listed = app.get("/api/v1/monitors", &app.admin).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let api = by_name(&listed.body["items"], "api");
    assert_eq!(api["status"], "healthy", "{api}");
    assert_eq!(api["uptime_24h"], 100.0);
    assert!(api["p50"].as_f64().is_some(), "{api}");
    assert_eq!(api["recent_checks"].as_array().unwrap().len(), 1);
    let db = by_name(&listed.body["items"], "db");
    assert_eq!(db["status"], "down");
    assert_eq!(db["recent_checks"][0]["status_code"], 500);
    assert_eq!(db["uptime_24h"], 0.0);
    let refused = by_name(&listed.body["items"], "metadata");
    assert_eq!(refused["status"], "down");
    let why = refused["recent_checks"][0]["error_message"]
        .as_str()
        .unwrap();
    assert!(why.contains("link-local"), "{why}");

    // Not due again before its interval; then the healthy one fails.
    assert_eq!(
        app.app
            .run_monitors_once(t0 + Duration::seconds(5))
            .await
            .unwrap(),
        0
    );
    target.ok_fails.store(true, Ordering::SeqCst);
    app.app
        .run_monitors_once(t0 + Duration::seconds(10))
        .await
        .unwrap();
    let listed = app.get("/api/v1/monitors", &app.admin).await;
    let api = by_name(&listed.body["items"], "api");
    assert_eq!(api["status"], "down");
    assert_eq!(api["uptime_24h"], 50.0);
    let checks: Vec<&str> = api["recent_checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["down", "healthy"], "newest first");

    let summary = app.get("/api/v1/monitors/summary", &app.admin).await;
    assert_eq!(
        summary.body,
        json!({"total_services": 3, "healthy_count": 0, "degraded_count": 0, "down_count": 3,
               "unknown_count": 0, "avg_uptime_24h": 16.67}),
        "(50 + 0 + 0) / 3"
    );

    // A rule on monitor_down raises one alert per monitor down.
    let rule = json!({"name": "down", "metric_name": "monitor_down", "comparison_operator": "gt",
                      "threshold": 0, "evaluation_interval": 1});
    let created = app
        .post_to("/api/v1/alerts/rules", &app.admin, rule.to_string())
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    app.app
        .run_alerts_once(t0 + Duration::seconds(12))
        .await
        .unwrap();
    let alerts = app.get("/api/v1/alerts?status=active", &app.admin).await;
    let mut groups: Vec<&str> = alerts.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["group"].as_str().unwrap())
        .collect();
    groups.sort();
    assert_eq!(groups, ["api", "db", "metadata"]);

    let bad = app
        .post_to(
            "/api/v1/monitors",
            &app.admin,
            json!({"name": "x", "url": "file:///etc/passwd"}).to_string(),
        )
        .await;
    assert_problem(&bad, 400, "url");
    let same = json!({"name": "api", "url": format!("{base}/ok")});
    assert_problem(
        &app.post_to("/api/v1/monitors", &app.admin, same.to_string())
            .await,
        409,
        "exists",
    );
}
