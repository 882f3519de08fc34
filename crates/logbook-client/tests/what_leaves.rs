//! What leaves the application, as the server receives it: gzipped batches, each under an
//! `Idempotency-Key` of its own, and request bodies with their secrets already redacted —
//! by a server that redacts nothing itself, so the redaction can only be the client's.

mod support;

use std::{collections::HashSet, time::Duration};

use axum::{Router, body::Body, routing::post};
use http::Request;
use logbook_client::{Client, layer::LogbookLayer};
use support::{Misbehaving, Reply, record, within};
use tower::ServiceExt;

#[tokio::test]
async fn each_batch_goes_gzipped_under_a_key_of_its_own() {
    let server = Misbehaving::start("127.0.0.1:0".parse().unwrap(), |_, _| Reply::Store).await;
    let client = Client::builder(&server.url(), "lbk_test")
        .batch_size(50)
        .build();
    record(&client, "batch", 0..150);
    within(Duration::from_secs(60), "flush", client.flush()).await;
    let attempts = server.attempts();
    assert_eq!(attempts.len(), 3);
    assert!(
        attempts
            .iter()
            .all(|a| a.content_encoding == "gzip" && a.ids.len() == 50)
    );
    let keys: HashSet<&str> = attempts.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys.len(), 3);
    assert!(
        keys.iter().all(|key| uuid::Uuid::parse_str(key).is_ok()),
        "{keys:?}"
    );
}

#[tokio::test]
async fn request_bodies_are_redacted_before_they_leave() {
    let server = Misbehaving::start("127.0.0.1:0".parse().unwrap(), |_, _| Reply::Store).await;
    let client = Client::builder(&server.url(), "lbk_test").build();
    let app = Router::new()
        .route("/login", post(|| async { "ok" }))
        .layer(LogbookLayer::new(client.clone()).body_summary(1024));
    let body = r#"{"email":"a@example.com","password":"hunter2","card_number":"4111111111111111"}"#;
    let request = Request::post("/login")
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .body(Body::from(body))
        .unwrap();
    assert_eq!(app.oneshot(request).await.unwrap().status(), 200);
    within(Duration::from_secs(60), "flush", client.flush()).await;
    let lines: Vec<String> = server
        .attempts()
        .into_iter()
        .flat_map(|a| a.lines)
        .collect();
    assert_eq!(lines.len(), 1);
    let event: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(
        event["request_body_summary"],
        serde_json::json!({"email": "a@example.com", "password": "[REDACTED]", "card_number": "[REDACTED]"})
    );
    assert!(!lines[0].contains("hunter2") && !lines[0].contains("4111111111111111"));
}

/// Sends `request` through `app` and returns the one event that left for Logbook.
async fn the_event_of(
    app: Router,
    request: Request<Body>,
    client: &Client,
    server: &Misbehaving,
) -> serde_json::Value {
    app.oneshot(request).await.unwrap();
    within(Duration::from_secs(60), "flush", client.flush()).await;
    let lines: Vec<String> = server
        .attempts()
        .into_iter()
        .flat_map(|a| a.lines)
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    serde_json::from_str(&lines[0]).unwrap()
}

/// The layer's REQUEST event holds what the request and its response tell.
#[tokio::test]
async fn a_request_leaves_as_one_event_with_what_it_told() {
    let server = Misbehaving::start("127.0.0.1:0".parse().unwrap(), |_, _| Reply::Store).await;
    let client = Client::builder(&server.url(), "lbk_test").build();
    let app = Router::new()
        .route(
            "/items/{id}",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                (http::StatusCode::CREATED, "made")
            }),
        )
        .layer(LogbookLayer::new(client.clone()).service("shop"));
    let request = Request::get("/items/7?full=1")
        .header("user-agent", "probe/1.0")
        .header("x-request-id", "req-7")
        .header("x-device-id", "device-9")
        .body(Body::empty())
        .unwrap();
    let event = the_event_of(app, request, &client, &server).await;
    let expected = serde_json::json!({
        "event_type": "REQUEST", "http_method": "GET", "request_path": "/items/7",
        "metadata": {"route": "/items/{id}"}, "response_status_code": 201, "success": true,
        "user_agent": "probe/1.0", "request_id": "req-7", "device_id": "device-9",
        "service": "shop",
    });
    for (field, value) in expected.as_object().unwrap() {
        assert_eq!(&event[field], value, "{field} in {event}");
    }
    // Milliseconds: the handler took 20 of them.
    let took = event["response_time_ms"].as_f64().unwrap();
    assert!((20.0..1000.0).contains(&took), "{took} ms");
}

/// Only JSON bodies within the configured size are summarized.
#[tokio::test]
async fn only_small_json_bodies_are_summarized() {
    let login = |content_type: &str, body: String| {
        Request::post("/login")
            .header("content-type", content_type)
            .header("content-length", body.len())
            .body(Body::from(body))
            .unwrap()
    };
    let small = r#"{"email":"a@example.com"}"#.to_owned();
    let large = format!(r#"{{"email":"{}"}}"#, "a".repeat(100));
    for (name, request, summarized) in [
        ("small JSON", login("application/json", small.clone()), true),
        ("large JSON", login("application/json", large), false),
        ("small text", login("text/plain", small), false),
    ] {
        let server = Misbehaving::start("127.0.0.1:0".parse().unwrap(), |_, _| Reply::Store).await;
        let client = Client::builder(&server.url(), "lbk_test").build();
        let app = Router::new()
            .route("/login", post(|| async { "ok" }))
            .layer(LogbookLayer::new(client.clone()).body_summary(64));
        let event = the_event_of(app, request, &client, &server).await;
        assert_eq!(
            event
                .get("request_body_summary")
                .is_some_and(|s| !s.is_null()),
            summarized,
            "{name}: {event}"
        );
    }
}

/// The layer is ready when, and only when, the service it wraps is.
#[tokio::test]
async fn readiness_is_the_wrapped_services() {
    #[derive(Clone)]
    struct NeverReady;
    impl tower::Service<Request<Body>> for NeverReady {
        type Response = http::Response<Body>;
        type Error = std::convert::Infallible;
        type Future = std::future::Ready<Result<Self::Response, Self::Error>>;
        fn poll_ready(
            &mut self,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Pending
        }
        fn call(&mut self, _: Request<Body>) -> Self::Future {
            unreachable!("called without being ready")
        }
    }
    let client = Client::builder("http://127.0.0.1:1", "lbk_test").build();
    let mut service = tower::Layer::layer(&LogbookLayer::new(client), NeverReady);
    let ready = tokio::time::timeout(Duration::from_millis(200), service.ready()).await;
    assert!(ready.is_err(), "ready while the wrapped service is not");
}

/// A 4xx answer is no success; anything below 400 is.
#[tokio::test]
async fn success_ends_at_the_first_client_error() {
    for (status, success) in [(399, true), (400, false)] {
        let server = Misbehaving::start("127.0.0.1:0".parse().unwrap(), |_, _| Reply::Store).await;
        let client = Client::builder(&server.url(), "lbk_test").build();
        let app = Router::new()
            .route(
                "/",
                axum::routing::get(
                    move || async move { http::StatusCode::from_u16(status).unwrap() },
                ),
            )
            .layer(LogbookLayer::new(client.clone()));
        let request = Request::get("/").body(Body::empty()).unwrap();
        let event = the_event_of(app, request, &client, &server).await;
        assert_eq!(
            (&event["response_status_code"], &event["success"]),
            (&serde_json::json!(status), &serde_json::json!(success))
        );
    }
}
