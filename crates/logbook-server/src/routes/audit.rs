//! The audit trail over HTTP: `POST /api/v1/audit` appends to the tenant's hash chain,
//! `GET /api/v1/audit` reads it in seq order, `GET /api/v1/audit/verify` checks it.

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, Query, State, rejection::BytesRejection},
    http::HeaderMap,
    routing::{get, post},
};
use bytes::Bytes;
use chrono::Utc;
use logbook_model::{
    Limits,
    audit::{ActorSummary, AuditEvent, AuditQuery, chain::Verification, checkpoint::Checkpoint},
};
use logbook_store::verify_audit;
use serde::Serialize;
use serde_json::{Value, json};

use super::ingest_events::{Rejection, read_body, split_body};
use crate::{
    ApiError, AppState,
    access::Access,
    auth::{IngestKey, ReadKey},
    params::Params,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audit", post(append_audit).get(list_audit))
        .route("/audit/verify", get(verify))
        .route("/audit/search", get(search_audit))
        .route("/audit/actors/{actor_id}", get(actor_summary))
        .route("/audit/checkpoints", get(list_checkpoints))
        .route("/audit/public-key", get(public_key))
        .layer(DefaultBodyLimit::max(Limits::BODY_BYTES))
}

#[derive(Serialize)]
struct Appended {
    accepted: usize,
    rejected: Vec<Rejection>,
    /// The seqs the accepted events were given, first and last.
    first_seq: i64,
    last_seq: i64,
}

async fn append_audit(
    State(state): State<AppState>,
    IngestKey(principal): IngestKey,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Appended>, ApiError> {
    let body = read_body(&headers, body)?;
    let raws = split_body(&headers, &body)?;
    let now = Utc::now();
    let mut events = Vec::with_capacity(raws.len());
    let mut rejected = Vec::new();
    for (index, raw) in raws.into_iter().enumerate() {
        match state.audit_parser.parse_json(principal.tenant, raw, now) {
            Ok(event) => events.push(event),
            Err(error) => rejected.push(Rejection {
                index,
                error: error.to_string(),
                field: error.field,
            }),
        }
    }
    if events.is_empty() {
        return Err(ApiError::NothingAccepted {
            rejected: serde_json::to_value(&rejected).map_err(|_| ApiError::Internal)?,
        });
    }
    let stored = state.store.append_audit(principal.tenant, events).await?;
    if let Some(checkpointer) = &state.checkpointer {
        // The events are committed whatever happens here; a missed checkpoint is made
        // by the periodic job.
        if let Err(error) = checkpointer
            .checkpoint(
                state.store.as_ref(),
                principal.tenant,
                checkpointer.every_events,
            )
            .await
        {
            tracing::warn!(%error, "signing an audit checkpoint failed");
        }
    }
    Ok(Json(Appended {
        accepted: stored.len(),
        rejected,
        first_seq: stored.first().map_or(0, |e| e.seq),
        last_seq: stored.last().map_or(0, |e| e.seq),
    }))
}

#[derive(Serialize)]
struct AuditPage {
    items: Vec<AuditEvent>,
    /// Where the next page starts; absent on the last page.
    next_from_seq: Option<i64>,
}

async fn list_audit(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<AuditPage>, ApiError> {
    let mut params = Params::new(pairs)?;
    let from = params.int("from_seq", 1, 1, i64::MAX)?;
    let limit = params.int("limit", 100, 1, 1000)?;
    params.finish()?;
    let mut items = state
        .store
        .audit_range(principal.tenant, from, i64::MAX, limit + 1)
        .await?;
    let next_from_seq = (items.len() as i64 > limit).then(|| items[limit as usize].seq);
    items.truncate(limit as usize);
    access
        .record_in_chain(&state, &principal, items.len())
        .await;
    Ok(Json(AuditPage {
        items,
        next_from_seq,
    }))
}

async fn verify(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let mut params = Params::new(pairs)?;
    let from = params.int("from_seq", 1, 1, i64::MAX)?;
    let to = params.int_opt("to_seq", 1, i64::MAX)?;
    params.finish()?;
    if to.is_some_and(|to| to < from) {
        return Err(ApiError::parameter("to_seq", "must not be below from_seq"));
    }
    let mut result: Verification =
        verify_audit(state.store.as_ref(), principal.tenant, from, to).await?;
    if let Some(checkpointer) = &state.checkpointer {
        result = checkpointer
            .check(state.store.as_ref(), principal.tenant, result)
            .await?;
    }
    access
        .record(&state, &principal, result.checked as usize)
        .await;
    Ok(Json(json!(result)))
}

async fn list_checkpoints(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
) -> Result<Json<Vec<Checkpoint>>, ApiError> {
    let checkpoints = state.store.checkpoints(principal.tenant).await?;
    access.record(&state, &principal, checkpoints.len()).await;
    Ok(Json(checkpoints))
}

/// The key that signs checkpoints, for auditors who verify offline.
async fn public_key(
    State(state): State<AppState>,
    ReadKey(_): ReadKey,
) -> Result<Json<Value>, ApiError> {
    let checkpointer = state
        .checkpointer
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("this server signs no checkpoints".into()))?;
    Ok(Json(
        json!({"algorithm": "Ed25519", "public_key": checkpointer.public_key()}),
    ))
}

/// Seed 001's audit queries: by actor, time range, set of actions, resource; newest first.
async fn search_audit(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let mut params = Params::new(pairs)?;
    let query = AuditQuery {
        actor_id: params.text("actor_id"),
        actions: params
            .text("action")
            .map(|a| {
                a.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        resource_type: params.text("resource_type"),
        resource_id: params.text("resource_id"),
        from: params.time("from")?,
        to: params.time("to")?,
        skip: params.skip()?,
        limit: params.page_limit()?,
    };
    params.finish()?;
    let items = state.store.search_audit(principal.tenant, &query).await?;
    access
        .record_in_chain(&state, &principal, items.len())
        .await;
    Ok(Json(json!({ "items": items })))
}

/// Seed 001's per-actor activity: total, active days, first and last, failures.
async fn actor_summary(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    axum::extract::Path(actor_id): axum::extract::Path<String>,
) -> Result<Json<ActorSummary>, ApiError> {
    let summary = state
        .store
        .actor_summary(principal.tenant, &actor_id)
        .await?;
    access.record_in_chain(&state, &principal, 1).await;
    Ok(Json(summary))
}
