//! OTLP/HTTP logs (`POST /v1/logs`, protobuf or JSON), so an OpenTelemetry SDK or
//! Collector can ship logs to Logbook. Each log record becomes an event of type LOG:
//! severity mapped, body → message, attributes → metadata, resource `service.name` →
//! service, trace id → request_id (the correlation id). Records then go through the same
//! checks, redaction and queue as any event; a record of an exception (`exception.*`
//! attributes) also counts into its error group.
//!
//! Both encodings are decoded with the official message types (`opentelemetry-proto`),
//! records counted against the per-request limit before they are decoded, each record
//! measured against the per-event limit with its resource attached, and nesting bounded
//! as for JSON ingest.

mod json;
mod protobuf;

use std::sync::Arc;

use axum::{
    Router,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
    routing::post,
};
use chrono::{DateTime, Utc};
use logbook_model::hex;
use logbook_store::WriteItem;
use opentelemetry_proto::tonic::{
    collector::logs::v1::{ExportLogsPartialSuccess, ExportLogsServiceResponse},
    common::v1::{AnyValue, KeyValue, any_value},
    logs::v1::LogRecord,
};
use prost::Message;
use serde_json::{Map, Value, json};

use crate::{ApiError, AppState, auth::IngestKey, request_body::RequestBody};

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/logs", post(export_logs))
}

/// What the records of one resource and scope share; held once, not copied per record.
pub(crate) struct Scope {
    resource: Arc<Map<String, Value>>,
    name: Option<String>,
    /// Encoded size of the resource and scope, which every record carries once stored.
    shared_bytes: usize,
}

/// One record as decoded: ready to map, or refused on its own with a reason.
pub(crate) enum Decoded {
    Record(LogRecord, Arc<Scope>),
    Rejected(String),
}

/// Why a whole request is refused.
pub(crate) enum Refusal {
    /// 413: more records than a request may hold, or more bytes once expanded.
    TooLarge(String),
    /// 400: not an OTLP logs export request.
    Invalid(String),
}

impl From<String> for Refusal {
    fn from(reason: String) -> Self {
        Self::Invalid(reason)
    }
}

/// The limits of JSON ingest, applied while an OTLP request is decoded.
#[derive(Default)]
pub(crate) struct Limits {
    records: usize,
    expanded: usize,
}

impl Limits {
    /// Counts `n` more records against the per-request limit.
    fn count(&mut self, n: usize) -> Result<(), Refusal> {
        self.records += n;
        if self.records > logbook_model::Limits::EVENTS_PER_REQUEST {
            return Err(Refusal::TooLarge(format!(
                "the request holds more than {} log records",
                logbook_model::Limits::EVENTS_PER_REQUEST
            )));
        }
        Ok(())
    }

    /// A resource or scope, which every one of its records will carry: within the
    /// per-event limit, or the request is refused. Returns its size.
    fn shared(&self, len: usize) -> Result<usize, Refusal> {
        if len > logbook_model::Limits::EVENT_BYTES {
            return Err(Refusal::TooLarge(format!(
                "a resource or scope of {len} bytes is over the {} byte event limit, and every record would carry it",
                logbook_model::Limits::EVENT_BYTES
            )));
        }
        Ok(len)
    }

    /// A record of `len` bytes under `scope`: `Some(reason)` when it alone is refused
    /// (over the event limit with its resource attached); an error when the request's
    /// records, each with its resource, would come to more than four body limits.
    fn record(&mut self, len: usize, scope: &Scope) -> Result<Option<String>, Refusal> {
        let size = len + scope.shared_bytes;
        if size > logbook_model::Limits::EVENT_BYTES {
            return Ok(Some(format!(
                "the log record with its resource is {size} bytes; the limit is {} bytes",
                logbook_model::Limits::EVENT_BYTES
            )));
        }
        self.expanded += size;
        if self.expanded > 4 * logbook_model::Limits::BODY_BYTES {
            return Err(Refusal::TooLarge(format!(
                "the records with their resources come to more than {} bytes",
                4 * logbook_model::Limits::BODY_BYTES
            )));
        }
        Ok(None)
    }
}

/// Attributes as a JSON object, values nested at most as deep as JSON ingest allows.
fn attributes(list: &[KeyValue]) -> Result<Map<String, Value>, String> {
    attributes_at(list, 1)
}

fn attributes_at(list: &[KeyValue], depth: usize) -> Result<Map<String, Value>, String> {
    list.iter()
        .map(|kv| {
            let value = kv
                .value
                .as_ref()
                .map_or(Ok(Value::Null), |v| any_value(v, depth))?;
            Ok((kv.key.clone(), value))
        })
        .collect()
}

fn any_value(value: &AnyValue, depth: usize) -> Result<Value, String> {
    if depth > logbook_model::Limits::DEPTH {
        return Err(format!(
            "an attribute or body nests deeper than {} levels",
            logbook_model::Limits::DEPTH
        ));
    }
    use any_value::Value as V;
    Ok(match &value.value {
        None | Some(V::StringValueStrindex(_)) => Value::Null,
        Some(V::StringValue(s)) => Value::String(s.clone()),
        Some(V::BoolValue(b)) => Value::Bool(*b),
        Some(V::IntValue(i)) => json!(i),
        Some(V::DoubleValue(d)) => {
            serde_json::Number::from_f64(*d).map_or(Value::Null, Value::Number)
        }
        Some(V::BytesValue(bytes)) => Value::String(hex::encode(bytes)),
        Some(V::ArrayValue(array)) => Value::Array(
            array
                .values
                .iter()
                .map(|v| any_value(v, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Some(V::KvlistValue(list)) => Value::Object(attributes_at(&list.values, depth + 1)?),
    })
}

/// OTLP's 1–24 scale onto Logbook's levels; the text when the number is unset.
fn severity(record: &LogRecord) -> &'static str {
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
fn to_event(record: LogRecord, scope: &Scope) -> Result<Value, String> {
    let level = severity(&record);
    let nanos = if record.time_unix_nano > 0 {
        record.time_unix_nano
    } else {
        record.observed_time_unix_nano
    };
    let created_at = match nanos {
        0 => None,
        nanos => Some(
            i64::try_from(nanos)
                .map(DateTime::<Utc>::from_timestamp_nanos)
                .map_err(|_| format!("timeUnixNano {nanos} is past the year 2262"))?,
        ),
    };
    let message = match record.body.as_ref().map(|b| any_value(b, 1)).transpose()? {
        Some(Value::String(text)) => Some(text),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let trace_id = (!record.trace_id.is_empty()).then(|| hex::encode(&record.trace_id));
    let mut resource = (*scope.resource).clone();
    let service = resource.remove("service.name");
    let mut otel = Map::new();
    if let Some(trace_id) = &trace_id {
        otel.insert("trace_id".into(), json!(trace_id));
    }
    if !record.span_id.is_empty() {
        otel.insert("span_id".into(), json!(hex::encode(&record.span_id)));
    }
    if let Some(scope) = &scope.name {
        otel.insert("scope".into(), json!(scope));
    }
    if !record.severity_text.is_empty() {
        otel.insert("severity_text".into(), json!(record.severity_text));
    }
    if !record.event_name.is_empty() {
        otel.insert("event_name".into(), json!(record.event_name));
    }
    if !resource.is_empty() {
        otel.insert("resource".into(), Value::Object(resource));
    }
    let mut metadata = attributes(&record.attributes)?;
    if !otel.is_empty() {
        metadata.insert("otel".into(), Value::Object(otel));
    }
    let mut event = json!({"event_type": "LOG", "severity": level, "metadata": metadata});
    if let Some(at) = created_at {
        event["created_at"] = json!(at.to_rfc3339());
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
    Ok(event)
}

/// An `ExportLogsServiceRequest` (protobuf, or OTLP/JSON when `json`) as event JSON, one
/// entry per log record: the event, or why that record alone is refused. The request as a
/// whole is refused with 413 (too many records, too large once expanded) or 400.
pub fn decode_request(body: &[u8], json: bool) -> Result<Vec<Result<Value, String>>, ApiError> {
    let mut limits = Limits::default();
    let decoded = if json {
        json::decode(body, &mut limits)
    } else {
        protobuf::decode(body, &mut limits)
    }
    .map_err(|refusal| match refusal {
        Refusal::TooLarge(reason) => ApiError::TooLarge(reason),
        Refusal::Invalid(reason) => {
            ApiError::BadRequest(format!("not an OTLP logs export request: {reason}"))
        }
    })?;
    Ok(decoded
        .into_iter()
        .map(|record| match record {
            Decoded::Record(record, scope) => to_event(record, &scope),
            Decoded::Rejected(reason) => Err(reason),
        })
        .collect())
}

async fn export_logs(
    State(state): State<AppState>,
    IngestKey(principal): IngestKey,
    body: RequestBody,
) -> Result<Response, ApiError> {
    let is_json = body.content_type().contains("json");
    let decoded = decode_request(&body.bytes, is_json)?;
    drop(body);
    let now = Utc::now();
    let (mut events, mut rejected, mut first_error) =
        (Vec::with_capacity(decoded.len()), 0i64, None);
    for record in decoded {
        let event = record.and_then(|event| {
            state
                .parser
                .parse_value(principal.tenant, event, now)
                .map_err(|e| e.to_string())
        });
        match event {
            Ok(event) => events.push(event),
            Err(error) => {
                rejected += 1;
                first_error.get_or_insert(error);
            }
        }
    }
    if events.is_empty() && rejected > 0 {
        return Err(ApiError::BadRequest(format!(
            "no log record was accepted: {}",
            first_error.unwrap_or_default()
        )));
    }
    // Records of exceptions count into error groups; before sealing, so a group keeps
    // what it is about.
    let errors = events
        .iter()
        .filter_map(logbook_model::error_groups::ErrorOccurrence::from_log)
        .collect();
    if !events.is_empty() {
        let mut item = WriteItem {
            errors,
            ..WriteItem::events(principal.tenant, events)
        };
        if let Some(cipher) = &state.cipher {
            cipher.seal_item(&mut item);
        }
        state.ingestor.submit(item).await?;
    }
    Ok(response(is_json, rejected, first_error))
}

/// `ExportLogsServiceResponse`, with `partial_success` when records were refused.
fn response(is_json: bool, rejected: i64, error: Option<String>) -> Response {
    if is_json {
        // OTLP/JSON writes 64-bit integers as strings.
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
    let response = ExportLogsServiceResponse {
        partial_success: (rejected > 0).then(|| ExportLogsPartialSuccess {
            rejected_log_records: rejected,
            error_message: error.unwrap_or_default(),
        }),
    };
    (
        [(header::CONTENT_TYPE, "application/x-protobuf")],
        response.encode_to_vec(),
    )
        .into_response()
}
