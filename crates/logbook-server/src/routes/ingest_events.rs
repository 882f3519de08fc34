//! `POST /api/v1/events`: one object, a JSON array or NDJSON; partial acceptance.

use axum::{
    Router,
    extract::{DefaultBodyLimit, State, rejection::BytesRejection},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use bytes::Bytes;
use chrono::{TimeDelta, Utc};
use logbook_model::{
    Limits,
    body::{self, BodyError, Framing},
};
use logbook_store::{IdempotencyRecord, ItemOutcome, StoreError, WriteItem};
use serde::Serialize;

use crate::{ApiError, AppState, auth::IngestKey, ingest::SubmitError};

/// How long a retried request with the same `Idempotency-Key` is recognised.
pub const IDEMPOTENCY_WINDOW: TimeDelta = TimeDelta::hours(24);
const MAX_IDEMPOTENCY_KEY: usize = 255;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/events", post(ingest_events))
        .layer(DefaultBodyLimit::max(Limits::BODY_BYTES))
}

#[derive(Serialize)]
pub(super) struct Rejection {
    pub index: usize,
    pub field: Option<String>,
    pub error: String,
}

#[derive(Serialize)]
struct IngestResponse {
    accepted: usize,
    rejected: Vec<Rejection>,
}

async fn ingest_events(
    State(state): State<AppState>,
    IngestKey(principal): IngestKey,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let tenant = principal.tenant;
    let idempotency_key = idempotency_key(&headers)?;
    if let Some(key) = &idempotency_key {
        let since = Utc::now() - IDEMPOTENCY_WINDOW;
        if let Some(response) = state.store.idempotent_response(tenant, key, since).await? {
            return Ok(json(response));
        }
    }
    let body = read_body(&headers, body)?;
    let raw_events = split_body(&headers, &body)?;

    let now = Utc::now();
    let mut events = Vec::with_capacity(raw_events.len());
    let mut rejected = Vec::new();
    for (index, raw) in raw_events.into_iter().enumerate() {
        match state.parser.parse_json(tenant, raw, now) {
            Ok(event) => events.push(event),
            Err(error) => rejected.push(Rejection {
                index,
                error: error.to_string(),
                field: error.field,
            }),
        }
    }
    if let Some(cipher) = &state.cipher {
        events.iter_mut().for_each(|event| cipher.seal_event(event));
    }
    if events.is_empty() {
        return Err(ApiError::NothingAccepted {
            rejected: serde_json::to_value(&rejected).map_err(|_| ApiError::Internal)?,
        });
    }
    let response = serde_json::to_string(&IngestResponse {
        accepted: events.len(),
        rejected,
    })
    .map_err(|_| ApiError::Internal)?;
    let idempotency = idempotency_key.map(|key| IdempotencyRecord {
        key,
        response: response.clone(),
    });
    match state
        .ingestor
        .submit(WriteItem {
            tenant,
            events,
            idempotency,
        })
        .await
    {
        Ok(ItemOutcome::Stored) => Ok(json(response)),
        Ok(ItemOutcome::Duplicate { response }) => Ok(json(response)),
        Err(SubmitError::QueueFull) => Err(ApiError::QueueFull(1)),
        Err(SubmitError::Closed) => Err(ApiError::Unavailable),
        Err(SubmitError::Store(error)) => Err(match error.as_ref() {
            StoreError::Unavailable(_) => ApiError::Unavailable,
            _ => ApiError::Internal,
        }),
    }
}

/// The request body, decompressed, within the body limit.
pub(super) fn read_body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Bytes, ApiError> {
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(format!(
            "the body is over the {} byte limit",
            Limits::BODY_BYTES
        )),
        _ => ApiError::BadRequest(rejection.body_text()),
    })?;
    crate::compression::decoded(headers, body)
}

/// One JSON text per event, however the client framed them.
pub(super) fn split_body<'b>(
    headers: &HeaderMap,
    body: &'b Bytes,
) -> Result<Vec<&'b str>, ApiError> {
    body::split(body, framing(headers)).map_err(|error| match error {
        BodyError::TooManyEvents(_) => ApiError::TooLarge(error.to_string()),
        other => ApiError::BadRequest(other.to_string()),
    })
}

fn framing(headers: &HeaderMap) -> Framing {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.contains("ndjson") || content_type.contains("jsonlines") {
        Framing::Ndjson
    } else {
        Framing::Json
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY && k.chars().all(|c| c.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "the Idempotency-Key header must be 1–{MAX_IDEMPOTENCY_KEY} visible ASCII characters"
            ))
        })?;
    Ok(Some(key.to_owned()))
}

fn json(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}
