//! `POST /api/v1/events`: one object, a JSON array or NDJSON; partial acceptance.

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
    routing::post,
};
use chrono::Utc;
use logbook_model::{
    body::{self, BodyError, Framing},
    error_groups::ErrorOccurrence,
};
use logbook_store::{IdempotencyRecord, ItemOutcome, WriteItem};
use serde::Serialize;

use crate::{
    ApiError, AppState, auth::IngestKey, config::IDEMPOTENCY_WINDOW, request_body::RequestBody,
};

const MAX_IDEMPOTENCY_KEY: usize = 255;

pub fn router() -> Router<AppState> {
    Router::new().route("/events", post(ingest_events))
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
    body: RequestBody,
) -> Result<Response, ApiError> {
    let tenant = principal.tenant;
    let idempotency_key = idempotency_key(&body.headers)?;
    if let Some(key) = &idempotency_key {
        let since = Utc::now() - IDEMPOTENCY_WINDOW;
        if let Some(response) = state.store.idempotent_response(tenant, key, since).await? {
            return Ok(json(response));
        }
    }
    let raw_events = split_body(&body)?;

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
    // Read before sealing: a group is grouped by what the error is about; its message is
    // then sealed with the events (see FieldCipher::seal_item).
    let errors = events
        .iter()
        .filter_map(ErrorOccurrence::from_log)
        .collect();
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
    let mut item = WriteItem {
        idempotency,
        errors,
        ..WriteItem::events(tenant, events)
    };
    if let Some(cipher) = &state.cipher {
        cipher.seal_item(&mut item);
    }
    match state.ingestor.submit(item).await? {
        ItemOutcome::Stored { .. } => Ok(json(response)),
        ItemOutcome::Duplicate { response, .. } => Ok(json(response)),
    }
}

/// One JSON text per event, however the client framed them.
pub(super) fn split_body(body: &RequestBody) -> Result<Vec<&str>, ApiError> {
    body::split(&body.bytes, framing(body.content_type())).map_err(|error| match error {
        BodyError::TooManyEvents(_) => ApiError::TooLarge(error.to_string()),
        other => ApiError::BadRequest(other.to_string()),
    })
}

fn framing(content_type: &str) -> Framing {
    if content_type.contains("ndjson") || content_type.contains("jsonlines") {
        Framing::Ndjson
    } else {
        Framing::Json
    }
}

pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
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

pub(super) fn json(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}
