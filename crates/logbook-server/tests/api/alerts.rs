//! Alerts over HTTP with a real receiver: a rule counting failed logins per address fires
//! once for the address over the threshold, escalates, repeats until acknowledged and
//! resolves itself when the window clears; each webhook is signed with the rule's secret.
//! The evaluator is stepped with explicit times instead of waiting for the clock.

use std::sync::{Arc, Mutex};

use axum::{Router, body::Bytes, extract::State, http::HeaderMap, routing::post};
use chrono::{Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::{Backend, TestApp, assert_problem};

type Received = Arc<Mutex<Vec<(String, HeaderMap, Value)>>>;

/// An HTTP server on loopback that keeps every POST it receives.
async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    async fn keep(
        State(received): State<Received>,
        uri: axum::http::Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> &'static str {
        let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        received
            .lock()
            .unwrap()
            .push((uri.path().to_owned(), headers, value));
        // The raw body is what was signed: keep it beside the parsed one.
        received.lock().unwrap().last_mut().unwrap().1.insert(
            "x-test-raw-body",
            axum::http::HeaderValue::from_bytes(&body).unwrap(),
        );
        "ok"
    }
    let app = Router::new()
        .route("/{*path}", post(keep))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}"), received)
}

fn kinds(received: &Received, path: &str) -> Vec<String> {
    received
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, _, _)| p == path)
        .map(|(_, _, body)| body["kind"].as_str().unwrap_or("slack").to_owned())
        .collect()
}

fn failures(ip: &str, n: usize) -> String {
    let events: Vec<Value> = (0..n)
        .map(|i| {
            json!({"event_type": "AUTH_FAILURE", "ip_address": ip, "user_id": format!("u{i}"),
                   "success": false, "message": "bad password"})
        })
        .collect();
    json!(events).to_string()
}

const SECRET: &str = "webhook-secret";

pub async fn failed_logins_per_ip_fire_escalate_and_resolve(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (base, received) = receiver().await;
    let rule = json!({
        "name": "failed logins per address", "severity": "error",
        "metric_name": "event_count", "comparison_operator": "gte", "threshold": 10,
        "filter": {"event_type": "AUTH_FAILURE"}, "group_by": "ip_address",
        "window_minutes": 5, "evaluation_interval": 1, "suppress_duration": 100,
        "escalation_delay": 1,
        "channels": [{"type": "webhook", "url": format!("{base}/hook"), "secret": SECRET}],
        "escalation_channels": [{"type": "slack", "url": format!("{base}/slack")}, {"type": "sse"}],
    });
    let created = app
        .post_to("/api/v1/alerts/rules", &app.admin, rule.to_string())
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        created.body["channels"][0].get("secret"),
        None,
        "secrets are never shown"
    );
    assert_eq!(created.body["channels"][0]["secret_set"], true);
    let mut stream =
        crate::tail::Tail::open_path(&app.router, &app.admin, "/api/v1/alerts/stream").await;

    // Nine failures from one address and nine from another: below the threshold.
    for ip in ["203.0.113.9", "198.51.100.7"] {
        let posted = app.post_events(&app.admin, failures(ip, 9)).await;
        assert_eq!(posted.status, 200, "{}", posted.body);
    }
    app.app.run_alerts_once(Utc::now()).await.unwrap();
    let none = app.get("/api/v1/alerts", &app.admin).await;
    assert_eq!(none.body["items"], json!([]), "{}", none.body);

    // The tenth from the first address: it fires at the next evaluation (the rule's
    // interval is a second), once.
    app.post_events(&app.admin, failures("203.0.113.9", 1))
        .await;
    let t0 = Utc::now() + Duration::seconds(1);
    app.app.run_alerts_once(t0).await.unwrap();
    let active = app.get("/api/v1/alerts?status=active", &app.admin).await;
    let items = active.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", active.body);
    let alert = &items[0];
    assert_eq!(alert["group"], "203.0.113.9");
    assert_eq!(alert["current_value"], 10.0);
    assert_eq!(alert["threshold"], 10.0);
    assert_eq!(alert["severity"], "error");
    let alert_id = alert["id"].as_str().unwrap().to_owned();
    assert_eq!(kinds(&received, "/hook"), ["triggered"]);

    // Still holding, within the repeat interval: nothing more is sent.
    app.app
        .run_alerts_once(t0 + Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(kinds(&received, "/hook"), ["triggered"]);
    // Unacknowledged for a minute: escalated to the second channel.
    app.app
        .run_alerts_once(t0 + Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(kinds(&received, "/slack").len(), 1);
    // The escalation reached the alert stream too.
    let streamed = stream.next().await;
    assert_eq!(streamed.event.as_deref(), Some("escalated"), "{streamed:?}");
    assert_eq!(streamed.data["alert"]["id"], alert_id.as_str());
    // Unacknowledged past suppress_duration: repeated.
    app.app
        .run_alerts_once(t0 + Duration::seconds(100))
        .await
        .unwrap();
    assert_eq!(kinds(&received, "/hook"), ["triggered", "repeated"]);

    let acked = app
        .post_to(
            &format!("/api/v1/alerts/{alert_id}/acknowledge"),
            &app.admin,
            json!({"note": "blocking the address"}).to_string(),
        )
        .await;
    assert_eq!(acked.status, 200, "{}", acked.body);
    assert_eq!(acked.body["status"], "acknowledged");
    assert_eq!(acked.body["acknowledgment_note"], "blocking the address");
    let streamed = stream.next().await;
    assert_eq!(
        streamed.event.as_deref(),
        Some("acknowledged"),
        "{streamed:?}"
    );
    let again = app
        .post_to(
            &format!("/api/v1/alerts/{alert_id}/acknowledge"),
            &app.admin,
            "",
        )
        .await;
    assert_problem(&again, 409, "already acknowledged");

    // Acknowledged: no repeat though the condition holds past another interval.
    app.app
        .run_alerts_once(t0 + Duration::seconds(250))
        .await
        .unwrap();
    assert_eq!(kinds(&received, "/hook"), ["triggered", "repeated"]);

    // The window has moved past the failures: resolved by itself, and said so.
    app.app
        .run_alerts_once(t0 + Duration::seconds(301))
        .await
        .unwrap();
    assert_eq!(
        kinds(&received, "/hook"),
        ["triggered", "repeated", "resolved"]
    );
    let resolved = app
        .get(&format!("/api/v1/alerts/{alert_id}"), &app.admin)
        .await;
    assert_eq!(resolved.body["status"], "resolved", "{}", resolved.body);
    assert_eq!(kinds(&received, "/slack").len(), 1, "escalated once");

    // Every webhook carries a signature that verifies against its raw body, and its own
    // delivery id.
    let hooks: Vec<(HeaderMap, Value)> = received
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, _, _)| p == "/hook")
        .map(|(_, h, b)| (h.clone(), b.clone()))
        .collect();
    let mut deliveries = Vec::new();
    for (headers, body) in &hooks {
        let raw = headers["x-test-raw-body"].as_bytes();
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(raw);
        let expected = format!(
            "sha256={}",
            logbook_model::hex::encode(&mac.finalize().into_bytes())
        );
        assert_eq!(headers["x-logbook-signature"], expected.as_str());
        assert_eq!(body["alert"]["group"], "203.0.113.9");
        deliveries.push(headers["x-logbook-delivery"].to_str().unwrap().to_owned());
    }
    deliveries.dedup();
    assert_eq!(deliveries.len(), 3);

    // Seed 001 5.5's statistics: one alert, resolved, for this rule.
    let stats = app.get("/api/v1/alerts/stats", &app.admin).await;
    let row = stats.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "failed logins per address")
        .cloned()
        .unwrap();
    assert_eq!(
        (
            row["total_alerts"].clone(),
            row["active_alerts"].clone(),
            row["resolved_alerts"].clone()
        ),
        (json!(1), json!(0), json!(1)),
        "{row}"
    );
}

pub async fn rules_are_checked_and_defaults_start_disabled(backend: Backend) {
    let app = TestApp::start(backend).await;
    let listed = app.get("/api/v1/alerts/rules", &app.admin).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let names: Vec<(&str, &str)> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(names.len(), 5, "{names:?}");
    assert!(
        names.iter().all(|(_, status)| *status == "disabled"),
        "{names:?}"
    );

    // A deleted default stays deleted.
    let first = listed.body["items"][0]["id"].as_str().unwrap().to_owned();
    let deleted = app
        .send(
            axum::http::Request::delete(format!("/api/v1/alerts/rules/{first}"))
                .header("authorization", format!("Bearer {}", app.admin))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let after = app.get("/api/v1/alerts/rules", &app.admin).await;
    assert_eq!(after.body["items"].as_array().unwrap().len(), 4);

    // Enabling a default is one PATCH.
    let id = after.body["items"][0]["id"].as_str().unwrap().to_owned();
    let enabled = app
        .patch_to(
            &format!("/api/v1/alerts/rules/{id}"),
            &app.admin,
            json!({"status": "enabled"}).to_string(),
        )
        .await;
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    assert_eq!(enabled.body["status"], "enabled");

    let base = json!({"name": "x", "metric_name": "event_count", "comparison_operator": "gt", "threshold": 1});
    let with = |field: &str, value: Value| {
        let mut rule = base.clone();
        rule[field] = value;
        rule.to_string()
    };
    for (body, needle) in [
        (
            with("filter", json!({"success": "maybe"})),
            "filter success",
        ),
        (
            with("filter", json!({"event_type": "bad type"})),
            "filter event_type",
        ),
        (with("group_by", json!("password")), "group_by"),
        (
            with("comparison_operator", json!("contains")),
            "expected one of `gt`",
        ),
        (with("evaluation_interval", json!(0)), "evaluation_interval"),
        (
            with(
                "channels",
                json!([{"type": "email", "to": ["x@y\r\nBcc: z@w"]}]),
            ),
            "e-mail address",
        ),
        (with("name", json!("Failed actions spike")), "exists"),
    ] {
        let refused = app
            .post_to("/api/v1/alerts/rules", &app.admin, body.clone())
            .await;
        let status = if needle == "exists" { 409 } else { 400 };
        assert_problem(&refused, status, needle);
    }
    if backend == Backend::Sqlite {
        let notify = with("channels", json!([{"type": "notify", "channel": "alerts"}]));
        let refused = app
            .post_to("/api/v1/alerts/rules", &app.admin, notify)
            .await;
        assert_problem(&refused, 400, "PostgreSQL");
    }
    let read_only = app.tenant_key("default", "read").await;
    let refused = app
        .post_to("/api/v1/alerts/rules", &read_only, base.to_string())
        .await;
    assert_eq!(refused.status, 403);
}

/// A receiver that answers 503 twice and then 200 is tried until it takes the
/// notification, with the same delivery id each time; one that answers 410 is not tried
/// again.
pub async fn webhooks_are_retried_until_taken_and_not_after_a_refusal(backend: Backend) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let app = TestApp::start(backend).await;
    /// Each request's path and delivery id, and how many the flaky path has had.
    type Seen = (Arc<Mutex<Vec<(String, String)>>>, Arc<AtomicUsize>);
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let flaky = Arc::new(AtomicUsize::new(0));
    let router =
        Router::new()
            .route(
                "/{*path}",
                post(
                    |State((seen, flaky)): State<Seen>,
                     uri: axum::http::Uri,
                     headers: HeaderMap| async move {
                        let delivery = headers["x-logbook-delivery"].to_str().unwrap().to_owned();
                        seen.lock().unwrap().push((uri.path().to_owned(), delivery));
                        match uri.path() {
                            "/gone" => axum::http::StatusCode::GONE,
                            _ if flaky.fetch_add(1, Ordering::SeqCst) < 2 => {
                                axum::http::StatusCode::SERVICE_UNAVAILABLE
                            }
                            _ => axum::http::StatusCode::OK,
                        }
                    },
                ),
            )
            .with_state((seen.clone(), flaky));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let rule = json!({
        "name": "any failure", "metric_name": "event_count", "comparison_operator": "gte",
        "threshold": 1, "filter": {"event_type": "AUTH_FAILURE"}, "evaluation_interval": 1,
        "channels": [{"type": "webhook", "url": format!("{base}/flaky")},
                     {"type": "webhook", "url": format!("{base}/gone")}],
    });
    let created = app
        .post_to("/api/v1/alerts/rules", &app.admin, rule.to_string())
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    app.post_events(&app.admin, failures("203.0.113.9", 1))
        .await;
    let t0 = Utc::now() + Duration::seconds(1);
    // Backoff is 2, 4 … seconds from each failed attempt.
    for later in [0, 10, 20, 40] {
        app.app
            .run_alerts_once(t0 + Duration::seconds(later))
            .await
            .unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    let flaky: Vec<&String> = seen
        .iter()
        .filter(|(p, _)| p == "/flaky")
        .map(|(_, d)| d)
        .collect();
    let gone: Vec<&String> = seen
        .iter()
        .filter(|(p, _)| p == "/gone")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(flaky.len(), 3, "two 503s, then taken: {seen:?}");
    assert!(flaky.iter().all(|d| *d == flaky[0]), "one delivery id");
    assert_eq!(gone.len(), 1, "410 is final: {seen:?}");
}
