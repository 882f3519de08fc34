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
