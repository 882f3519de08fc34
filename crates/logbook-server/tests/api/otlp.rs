use std::io::Write;

use axum::{
    body::Body,
    http::{Request, header},
};
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, assert_problem};

const PROTOBUF: &[u8] = include_bytes!("../fixtures/otlp_logs.pb");
const JSON: &str = include_str!("../fixtures/otlp_logs.json");

async fn export(app: &TestApp, content_type: &str, body: impl Into<Body>) -> (u16, Vec<u8>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = Request::post("/v1/logs")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.admin))
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
}

async fn stored_logs(app: &TestApp) -> Vec<Value> {
    let items = app
        .get("/api/v1/logs?event_type=LOG&order=asc", &app.admin)
        .await
        .body["items"]
        .clone();
    items.as_array().unwrap().clone()
}

fn check_mapping(logs: &[Value]) {
    assert_eq!(logs.len(), 3, "{logs:?}");
    let first = &logs[0];
    assert_eq!(first["created_at"], "2025-11-21T12:00:00Z");
    assert_eq!(
        (first["severity"].clone(), first["message"].clone()),
        (json!("error"), json!("payment declined"))
    );
    assert_eq!(first["service"], "checkout");
    assert_eq!(first["request_id"], "5b8efff798038103d269b633813fc60c");
    assert_eq!(
        first["metadata"],
        json!({
            "http.route": "/api/pay", "retry": 2, "ratio": 0.5, "cached": false,
            "user": {"id": "u-42", "password": "[REDACTED]"}, "tags": ["a", 1],
            "otel": {"trace_id": "5b8efff798038103d269b633813fc60c", "span_id": "eee19b7ec3c1b174", "scope": "my.logger",
                     "severity_text": "ERROR", "resource": {"host.name": "web-1"}}
        })
    );
    assert_eq!(
        (logs[1]["severity"].clone(), logs[1]["message"].clone()),
        (json!("warning"), json!("{\"event\":\"slow\"}"))
    );
    assert_eq!(
        (logs[2]["severity"].clone(), logs[2]["message"].clone()),
        (json!("info"), json!("no timestamp"))
    );
    assert_eq!(
        logs[2]["created_at"], "2025-11-21T12:00:00.000002Z",
        "observed time stands in"
    );
}

/// OTLP/HTTP logs as an OpenTelemetry SDK exports them (fixtures made with the official
/// protobuf bindings: tests/fixtures/make_otlp_fixtures.py), protobuf and JSON alike.
pub async fn otlp_logs_are_stored_with_mapped_fields(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (status, body) = export(&app, "application/x-protobuf", PROTOBUF).await;
    assert_eq!(
        (status, body),
        (200, Vec::new()),
        "an empty ExportLogsServiceResponse"
    );
    check_mapping(&stored_logs(&app).await);

    let json_app = TestApp::start(backend).await;
    let (status, body) = export(&json_app, "application/json", JSON).await;
    assert_eq!(
        (status, String::from_utf8(body).unwrap()),
        (200, "{}".to_owned())
    );
    check_mapping(&stored_logs(&json_app).await);

    // Gzip, as Collectors send it, here and on the event API.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(JSON.as_bytes()).unwrap();
    let request = Request::post("/v1/logs")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.admin))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_ENCODING, "gzip")
        .body(Body::from(gz.finish().unwrap()))
        .unwrap();
    assert_eq!(app.send(request).await.status, 200);
    assert_eq!(stored_logs(&app).await.len(), 6);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(br#"[{"event_type":"REQUEST"}]"#).unwrap();
    let reply = app
        .post_with(
            &app.admin,
            gz.finish().unwrap(),
            &[("content-encoding", "gzip")],
        )
        .await;
    assert_eq!(reply.body["accepted"], 1, "{}", reply.body);

    let (status, _) = export(&app, "application/x-protobuf", &b"\x0a\xff\xff"[..]).await;
    assert_eq!(status, 400);
    let reply = app
        .post_with(&app.admin, "{}", &[("content-encoding", "br")])
        .await;
    assert_problem(&reply, 400, "gzip");
    // A small body that would inflate past the body limit is refused, not inflated.
    let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    bomb.write_all(&vec![b' '; logbook_model::Limits::BODY_BYTES + 1])
        .unwrap();
    let bomb = bomb.finish().unwrap();
    assert!(bomb.len() < 100_000);
    let reply = app
        .post_with(&app.admin, bomb, &[("content-encoding", "gzip")])
        .await;
    assert_problem(&reply, 413, "decompresses");
}
