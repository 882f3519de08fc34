//! OTLP/HTTP logs (`POST /v1/logs`, protobuf or JSON), so an OpenTelemetry SDK or
//! Collector can ship logs to Logbook. Each log record becomes an event of type LOG:
//! severity mapped, body → message, attributes → metadata, resource `service.name` →
//! service, trace id → request_id (the correlation id). Records then go through the same
//! checks, redaction and queue as any event.

mod json;
mod protobuf;

use axum::{
    Router,
    extract::{DefaultBodyLimit, State},
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
    routing::post,
};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use logbook_model::{Limits, hex};
use logbook_store::{ItemOutcome, WriteItem};
use serde_json::{Map, Value, json};

use crate::{ApiError, AppState, auth::IngestKey, compression, ingest::SubmitError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/logs", post(export_logs))
        .layer(DefaultBodyLimit::max(Limits::BODY_BYTES))
}

/// One log record, whichever encoding it came in.
#[derive(Default)]
pub struct Record {
    pub time_nanos: u64,
    pub observed_nanos: u64,
    pub severity_number: i64,
    pub severity_text: String,
    pub body: Option<Value>,
    pub attributes: Map<String, Value>,
    pub trace_id: Vec<u8>,
    pub span_id: Vec<u8>,
    pub event_name: Option<String>,
    pub scope: Option<String>,
    pub resource: Map<String, Value>,
}

fn severity_number_of_name(name: &str) -> i64 {
    const NAMES: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
    let rest = name.trim_start_matches("SEVERITY_NUMBER_");
    let (level, step) = rest.split_at(
        rest.find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len()),
    );
    NAMES.iter().position(|n| *n == level).map_or(0, |i| {
        i as i64 * 4 + 1 + step.parse::<i64>().map_or(0, |s| s - 1)
    })
}

/// OTLP's 1–24 scale onto Logbook's levels; the text when the number is unset.
fn severity(record: &Record) -> &'static str {
    match record.severity_number {
        1..=8 => "debug",
        9..=12 => "info",
        13..=16 => "warning",
        17..=20 => "error",
        21..=24 => "fatal",
        _ => match record.severity_text.to_ascii_lowercase().as_str() {
            "trace" | "debug" => "debug",
            "warn" | "warning" => "warning",
            "error" => "error",
            "fatal" | "critical" => "fatal",
            _ => "info",
        },
    }
}

/// The event a record becomes, as event JSON, for the usual parser to check.
fn to_event(record: Record) -> Value {
    let level = severity(&record);
    let nanos = if record.time_nanos > 0 {
        record.time_nanos
    } else {
        record.observed_nanos
    };
    let message = match &record.body {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let trace_id = (!record.trace_id.is_empty()).then(|| hex::encode(&record.trace_id));
    let mut resource = record.resource;
    let service = resource.remove("service.name");
    let mut otel = Map::new();
    if let Some(trace_id) = &trace_id {
        otel.insert("trace_id".into(), json!(trace_id));
    }
    if !record.span_id.is_empty() {
        otel.insert("span_id".into(), json!(hex::encode(&record.span_id)));
    }
    if let Some(scope) = record.scope {
        otel.insert("scope".into(), json!(scope));
    }
    if !record.severity_text.is_empty() {
        otel.insert("severity_text".into(), json!(record.severity_text));
    }
    if let Some(name) = record.event_name {
        otel.insert("event_name".into(), json!(name));
    }
    if !resource.is_empty() {
        otel.insert("resource".into(), Value::Object(resource));
    }
    let mut metadata = record.attributes;
    if !otel.is_empty() {
        metadata.insert("otel".into(), Value::Object(otel));
    }
    let mut event = json!({"event_type": "LOG", "severity": level, "metadata": metadata});
    if nanos > 0 {
        event["created_at"] =
            json!(DateTime::<Utc>::from_timestamp_nanos(nanos as i64).to_rfc3339());
    }
    if let Some(message) = message {
        event["message"] = json!(message);
    }
    if let Some(Value::String(service)) = service {
        event["service"] = json!(service);
    }
    if let Some(trace_id) = trace_id {
        event["request_id"] = json!(trace_id);
    }
    event
}

async fn export_logs(
    State(state): State<AppState>,
    IngestKey(principal): IngestKey,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let body = compression::decoded(
        &headers,
        body.map_err(|r| ApiError::BadRequest(r.body_text()))?,
    )?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("json"));
    let records = if is_json {
        json::decode(&body)
    } else {
        protobuf::decode(&body)
    }
    .map_err(|e| ApiError::BadRequest(format!("not an OTLP logs export request: {e}")))?;
    let now = Utc::now();
    let (mut events, mut rejected, mut first_error) =
        (Vec::with_capacity(records.len()), 0i64, None);
    for record in records {
        match state
            .parser
            .parse_value(principal.tenant, to_event(record), now)
        {
            Ok(event) => events.push(event),
            Err(error) => {
                rejected += 1;
                first_error.get_or_insert_with(|| error.to_string());
            }
        }
    }
    if events.is_empty() && rejected > 0 {
        return Err(ApiError::BadRequest(format!(
            "no log record was accepted: {}",
            first_error.unwrap_or_default()
        )));
    }
    if let Some(cipher) = &state.cipher {
        events.iter_mut().for_each(|event| cipher.seal_event(event));
    }
    if !events.is_empty() {
        match state
            .ingestor
            .submit(WriteItem {
                tenant: principal.tenant,
                events,
                idempotency: None,
            })
            .await
        {
            Ok(ItemOutcome::Stored | ItemOutcome::Duplicate { .. }) => {}
            Err(SubmitError::QueueFull) => return Err(ApiError::QueueFull(1)),
            Err(_) => return Err(ApiError::Unavailable),
        }
    }
    Ok(response(is_json, rejected, first_error))
}

/// `ExportLogsServiceResponse`, with `partial_success` when records were refused.
fn response(is_json: bool, rejected: i64, error: Option<String>) -> Response {
    if is_json {
        let body = if rejected > 0 {
            json!({"partialSuccess": {"rejectedLogRecords": rejected.to_string(), "errorMessage": error.unwrap_or_default()}})
        } else {
            json!({})
        };
        return (
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
    }
    let mut partial = Vec::new();
    if rejected > 0 {
        partial.push(0x08);
        push_varint(&mut partial, rejected as u64);
        let message = error.unwrap_or_default();
        partial.push(0x12);
        push_varint(&mut partial, message.len() as u64);
        partial.extend_from_slice(message.as_bytes());
    }
    let mut body = Vec::new();
    if !partial.is_empty() {
        body.push(0x0a);
        push_varint(&mut body, partial.len() as u64);
        body.extend(partial);
    }
    ([(header::CONTENT_TYPE, "application/x-protobuf")], body).into_response()
}

fn push_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}
