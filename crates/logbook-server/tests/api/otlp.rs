use std::io::Write;

use axum::{
    body::Body,
    http::{Request, header},
};
use prost::Message;
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

/// The fixtures were made once, on 2025-11-21: far older than the back-fill window.
async fn fixture_app(backend: Backend) -> TestApp {
    // The fixtures are of 2025: kept, whatever today's date.
    TestApp::with_config(backend, |config| {
        config.ingest.backfill = chrono::Duration::days(3650);
        config.retention.events.days = logbook_model::retention::MAX_DAYS;
    })
    .await
}

/// OTLP/HTTP logs as an OpenTelemetry SDK exports them (fixtures made with the official
/// protobuf bindings: tests/fixtures/make_otlp_fixtures.py), protobuf and JSON alike.
pub async fn otlp_logs_are_stored_with_mapped_fields(backend: Backend) {
    let app = fixture_app(backend).await;
    let (status, body) = export(&app, "application/x-protobuf", PROTOBUF).await;
    assert_eq!(
        (status, body),
        (200, Vec::new()),
        "an empty ExportLogsServiceResponse"
    );
    check_mapping(&stored_logs(&app).await);

    let json_app = fixture_app(backend).await;
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
        .post_with(&app.admin, "{}", &[("content-encoding", "deflate")])
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

/// Protobuf framing written by hand, so a test can build what no SDK would send.
fn field(tag: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let mut len = bytes.len() as u64;
    while len >= 0x80 {
        out.push((len as u8) | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
    out.extend_from_slice(bytes);
    out
}

/// An `ExportLogsServiceRequest` with these encoded log records under one resource.
fn request_of(resource: &[u8], records: &[Vec<u8>]) -> Vec<u8> {
    let mut scope_logs = Vec::new();
    for record in records {
        scope_logs.extend(field(0x12, record));
    }
    let mut resource_logs = field(0x0a, resource);
    resource_logs.extend(field(0x12, &scope_logs));
    field(0x0a, &resource_logs)
}

/// An AnyValue of arrays nested `depth` deep, encoded from the inside out (so the test
/// itself neither recurses nor copies quadratically).
fn nested_any_value(depth: usize) -> Vec<u8> {
    let mut reversed: Vec<u8> = Vec::new();
    let wrap = |reversed: &mut Vec<u8>, tag: u8| {
        let mut len = reversed.len() as u64;
        let mut varint = Vec::new();
        while len >= 0x80 {
            varint.push((len as u8) | 0x80);
            len >>= 7;
        }
        varint.push(len as u8);
        reversed.extend(varint.iter().rev());
        reversed.push(tag);
    };
    for _ in 0..depth {
        wrap(&mut reversed, 0x0a); // ArrayValue.values
        wrap(&mut reversed, 0x2a); // AnyValue.array_value
    }
    reversed.reverse();
    reversed
}

fn string_body(text: &str) -> Vec<u8> {
    field(0x2a, &field(0x0a, text.as_bytes()))
}

/// Hostile OTLP requests are refused whole or record by record, never by crashing or by
/// holding more memory than the request is worth: nesting 200,000 deep (which once
/// overflowed the stack), more records than a request may hold, records and resources
/// over the event limit, timestamps past what a time can hold, bodies over the limit.
pub async fn hostile_otlp_requests_are_bounded(backend: Backend) {
    let app = TestApp::start(backend).await;
    let deep = request_of(&[], &[field(0x2a, &nested_any_value(200_000))]);
    assert!(deep.len() > 1_000_000);
    let (status, body) = export(&app, "application/x-protobuf", deep).await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    let deep_json = format!(
        r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"body":{}1{}}}]}}]}}]}}"#,
        r#"{"arrayValue":{"values":["#.repeat(200_000),
        "]}}".repeat(200_000)
    );
    let (status, _) = export(&app, "application/json", deep_json).await;
    assert_eq!(status, 400);

    // Deeper than JSON ingest allows, shallower than prost's own bound: that record alone.
    let forty = field(0x2a, &nested_any_value(40));
    let ok = string_body("fine");
    let (status, body) = export(
        &app,
        "application/x-protobuf",
        request_of(&[], &[forty, ok]),
    )
    .await;
    assert_eq!(status, 200);
    let partial =
        opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse::decode(
            &body[..],
        )
        .unwrap()
        .partial_success
        .unwrap();
    assert_eq!(partial.rejected_log_records, 1);
    assert!(
        partial.error_message.contains("deeper than 32"),
        "{}",
        partial.error_message
    );

    let empty_records = vec![Vec::new(); logbook_model::Limits::EVENTS_PER_REQUEST + 1];
    let (status, body) = export(
        &app,
        "application/x-protobuf",
        request_of(&[], &empty_records),
    )
    .await;
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    let many_json = format!(
        r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{}]}}]}}]}}"#,
        vec!["{}"; logbook_model::Limits::EVENTS_PER_REQUEST + 1].join(",")
    );
    assert_eq!(export(&app, "application/json", many_json).await.0, 413);

    let big = string_body(&"x".repeat(300 * 1024));
    // time_unix_nano (fixed64, field 1) past what an i64 of nanoseconds holds.
    let past_2262 = [
        vec![0x09],
        u64::MAX.to_le_bytes().to_vec(),
        string_body("late"),
    ]
    .concat();
    let (status, body) = export(
        &app,
        "application/x-protobuf",
        request_of(&[], &[big, past_2262, string_body("kept")]),
    )
    .await;
    assert_eq!(status, 200);
    let partial =
        opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse::decode(
            &body[..],
        )
        .unwrap()
        .partial_success
        .unwrap();
    assert_eq!(partial.rejected_log_records, 2, "{}", partial.error_message);
    let messages: Vec<Value> = stored_logs(&app)
        .await
        .iter()
        .map(|l| l["message"].clone())
        .collect();
    assert!(
        messages.contains(&json!("kept")) && !messages.contains(&json!("late")),
        "{messages:?}"
    );

    // A resource every record would carry, over the event limit: the request is refused.
    let attribute = field(
        0x0a,
        &[
            field(0x0a, b"k"),
            field(0x12, &field(0x0a, &vec![b'x'; 300 * 1024])),
        ]
        .concat(),
    );
    let (status, _) = export(
        &app,
        "application/x-protobuf",
        request_of(&attribute, &[string_body("a")]),
    )
    .await;
    assert_eq!(status, 413);

    let (status, body) = export(
        &app,
        "application/x-protobuf",
        vec![0u8; logbook_model::Limits::BODY_BYTES + 1],
    )
    .await;
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
}
