//! Sentry's ingest protocol, so an application using any official Sentry SDK can point
//! its DSN at Logbook: `http://<ingest key>@<host>:<port>/<project>`. The SDK sends
//! envelopes to `POST /api/<project>/envelope/` (older ones single events to
//! `/api/<project>/store/`) with the key in `X-Sentry-Auth`; each event item becomes an
//! error report under `service` = the project number, grouped like any other.

mod envelope;
mod event;

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::post,
};
use chrono::Utc;
use logbook_model::error_groups::report::ErrorReport;
use logbook_store::WriteItem;
use serde_json::{Value, json};

use crate::{ApiError, AppState, auth::IngestKey, request_body::RequestBody};

/// Longest project number a DSN may carry.
const MAX_PROJECT: usize = 20;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/{project}/envelope/", post(receive_envelope))
        .route("/api/{project}/envelope", post(receive_envelope))
        .route("/api/{project}/store/", post(receive_event))
        .route("/api/{project}/store", post(receive_event))
}

async fn receive_envelope(
    State(state): State<AppState>,
    IngestKey(principal): IngestKey,
    Path(project): Path<String>,
    body: RequestBody,
) -> Result<Json<Value>, ApiError> {
    let project = project_number(&project)?;
    let items = envelope::items(&body.bytes).map_err(ApiError::BadRequest)?;
    let events: Vec<&[u8]> = items
        .iter()
        .filter(|item| item.kind == "event")
        .map(|item| item.payload)
        .collect();
    store_events(&state, principal.tenant, project, &events).await
}

async fn receive_event(
    State(state): State<AppState>,
    IngestKey(principal): IngestKey,
    Path(project): Path<String>,
    body: RequestBody,
) -> Result<Json<Value>, ApiError> {
    let project = project_number(&project)?;
    store_events(&state, principal.tenant, project, &[&body.bytes]).await
}

/// Stores each event as an error report; answers with the last one's id, as Sentry does.
async fn store_events(
    state: &AppState,
    tenant: logbook_model::TenantId,
    project: &str,
    events: &[&[u8]],
) -> Result<Json<Value>, ApiError> {
    let now = Utc::now();
    let mut item = WriteItem::events(tenant, Vec::new());
    let mut last_id = None;
    for (index, payload) in events.iter().enumerate() {
        let text = std::str::from_utf8(payload)
            .map_err(|_| ApiError::BadRequest(format!("event {index} is not UTF-8")))?;
        logbook_model::ParseError::check_size(text)
            .map_err(|e| ApiError::TooLarge(format!("event {index}: {e}")))?;
        let value: Value = serde_json::from_str(text)
            .map_err(|e| ApiError::BadRequest(format!("event {index} is not JSON: {e}")))?;
        if !value.is_object() {
            return Err(ApiError::BadRequest(format!(
                "event {index} is not a JSON object"
            )));
        }
        let (report, id): (ErrorReport, _) = event::report(&value, project);
        let (event, occurrence) = report
            .accept(&state.parser, tenant, now)
            .map_err(|e| ApiError::BadRequest(format!("event {index}: {e}")))?;
        item.events.push(event);
        item.errors.push(occurrence);
        last_id = id.or(last_id);
    }
    // An SDK that did not hear the answer sends the same event again: one event with an
    // id is stored once, as a retried ingest request with its Idempotency-Key is.
    if let ([_], Some(id)) = (events, last_id.as_deref().filter(|id| is_event_id(id))) {
        item.idempotency = Some(logbook_store::IdempotencyRecord {
            key: format!("sentry:{project}:{id}"),
            response: json!({ "id": id }).to_string(),
        });
    }
    if !item.events.is_empty() {
        if let Some(cipher) = &state.cipher {
            cipher.seal_item(&mut item);
        }
        state.ingestor.submit(item).await?;
    }
    Ok(Json(match last_id {
        Some(id) => json!({ "id": id }),
        None => json!({}),
    }))
}

fn project_number(project: &str) -> Result<&str, ApiError> {
    if project.is_empty()
        || project.len() > MAX_PROJECT
        || !project.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(ApiError::NotFound(format!(
            "no route for /api/{project}/: a Sentry DSN's project is a number"
        )));
    }
    Ok(project)
}

/// Sentry's event ids: 32 hex digits (a UUID without dashes), or a UUID with them.
fn is_event_id(id: &str) -> bool {
    let hex = id.replace('-', "");
    hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()) && id.len() <= 36
}
