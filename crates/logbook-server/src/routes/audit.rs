//! The audit trail over HTTP: `POST /api/v1/audit` appends to the tenant's hash chain,
//! `GET /api/v1/audit` reads it in seq order, `GET /api/v1/audit/verify` checks it.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    response::Response,
    routing::{get, post},
};
use chrono::Utc;
use logbook_model::audit::{
    ActorSummary, AuditEvent, AuditQuery,
    checkpoint::{Checkpoint, TrustedKey},
};
use logbook_store::{IdempotencyRecord, ItemOutcome, SeqRange, WriteItem};
use serde::Serialize;
use serde_json::{Value, json};

use super::ingest_events::{Rejection, idempotency_key, json as json_response, split_body};
use crate::{
    ApiError, AppState,
    access::{Access, Answer},
    auth::{IngestKey, ReadKey},
    params::Params,
    request_body::RequestBody,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audit", post(append_audit).get(list_audit))
        .route("/audit/verify", get(verify))
        .route("/audit/search", get(search_audit))
        .route("/audit/actors/{actor_id}", get(actor_summary))
        .route("/audit/checkpoints", get(list_checkpoints))
        .route("/audit/public-key", get(public_key))
}

#[derive(Serialize)]
struct Appended {
    accepted: usize,
    rejected: Vec<Rejection>,
}

/// Audit keys live beside event keys in one table; a prefix keeps the two apart.
const AUDIT_KEY_PREFIX: &str = "audit:";

/// Parses every event of the body, then appends the accepted ones to the tenant's chain
/// through the ingest queue (429 when it is full), hashed and written in bulk under the
/// chain head's lock. With an `Idempotency-Key`, a retry appends nothing and gets the
/// first answer, seqs included.
async fn append_audit(
    State(state): State<AppState>,
    IngestKey(principal): IngestKey,
    body: RequestBody,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&body.headers)?;
    let raws = split_body(&body)?;
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
    drop(body);
    if events.is_empty() {
        return Err(ApiError::NothingAccepted {
            rejected: serde_json::to_value(&rejected).map_err(|_| ApiError::Internal)?,
        });
    }
    let answer = serde_json::to_string(&Appended {
        accepted: events.len(),
        rejected,
    })
    .map_err(|_| ApiError::Internal)?;
    let item = WriteItem {
        idempotency: key.map(|key| IdempotencyRecord {
            key: format!("{AUDIT_KEY_PREFIX}{key}"),
            response: answer.clone(),
        }),
        ..WriteItem::audit(principal.tenant, events)
    };
    let (answer, seqs) = match state.ingestor.submit(item).await? {
        ItemOutcome::Stored { audit } => (answer, audit),
        ItemOutcome::Duplicate { response, audit } => (response, audit),
    };
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
    Ok(json_response(with_seqs(&answer, seqs)?))
}

/// The answer with the seqs the events were given.
fn with_seqs(answer: &str, seqs: Option<SeqRange>) -> Result<String, ApiError> {
    let mut answer: Value = serde_json::from_str(answer).map_err(|_| ApiError::Internal)?;
    let SeqRange { first, last } = seqs.unwrap_or(SeqRange { first: 0, last: 0 });
    answer["first_seq"] = json!(first);
    answer["last_seq"] = json!(last);
    Ok(answer.to_string())
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
    let filters = params.finish()?;
    let mut items = state
        .store
        .audit_range(principal.tenant, from, i64::MAX, limit + 1)
        .await?;
    let next_from_seq = (items.len() as i64 > limit).then(|| items[limit as usize].seq);
    items.truncate(limit as usize);
    access
        .record_in_chain(&state, &principal, Answer::rows(items.len(), filters))
        .await?;
    Ok(Json(AuditPage {
        items,
        next_from_seq,
    }))
}

/// Verifies the tenant's chain in one snapshot of the store, against every checkpoint:
/// the witness file's (read first, so each covers a head the snapshot holds) and the
/// stored ones, each vouched for by the keyring of trusted signing keys.
async fn verify(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let mut params = Params::new(pairs)?;
    let from = params.int("from_seq", 1, 1, i64::MAX)?;
    let to = params.int_opt("to_seq", 1, i64::MAX)?;
    let filters = params.finish()?;
    if to.is_some_and(|to| to < from) {
        return Err(ApiError::parameter("to_seq", "must not be below from_seq"));
    }
    let witnessed = state
        .checkpointer
        .as_ref()
        .map(|c| c.witnessed(principal.tenant))
        .unwrap_or_default();
    let result = state
        .store
        .verify_audit(principal.tenant, from, to, witnessed)
        .await?;
    access
        .record_in_chain(
            &state,
            &principal,
            Answer::rows(result.checked as usize, filters),
        )
        .await?;
    Ok(Json(json!(result)))
}

async fn list_checkpoints(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<Checkpoint>>, ApiError> {
    let filters = Params::none(pairs)?;
    let checkpoints = state.store.checkpoints(principal.tenant).await?;
    access
        .record(&state, &principal, Answer::rows(checkpoints.len(), filters))
        .await?;
    Ok(Json(checkpoints))
}

#[derive(Serialize)]
struct PublicKeys {
    algorithm: &'static str,
    /// The key this server signs with, if it signs.
    public_key: Option<String>,
    /// Every key trusted to sign checkpoints: the servers sharing this store, and keys
    /// rotated out (which still vouch for what they signed before they were retired).
    keys: Vec<TrustedKey>,
}

/// The keys that sign checkpoints, for auditors who verify offline.
async fn public_key(
    State(state): State<AppState>,
    ReadKey(_): ReadKey,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<PublicKeys>, ApiError> {
    Params::none(pairs)?;
    let keyring = state.store.keyring().await?;
    Ok(Json(PublicKeys {
        algorithm: "Ed25519",
        public_key: state
            .checkpointer
            .as_ref()
            .map(|c| c.public_key().to_owned()),
        keys: keyring.0,
    }))
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
        ..Default::default()
    };
    let filters = params.finish()?;
    let items = state.store.search_audit(principal.tenant, &query).await?;
    access
        .record_in_chain(&state, &principal, Answer::rows(items.len(), filters))
        .await?;
    Ok(Json(json!({ "items": items })))
}

/// Seed 001's per-actor activity: total, active days, first and last, failures.
async fn actor_summary(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Path(actor_id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<ActorSummary>, ApiError> {
    let filters = Params::none(pairs)?;
    let summary = state
        .store
        .actor_summary(principal.tenant, &actor_id)
        .await?;
    access
        .record_in_chain(&state, &principal, Answer::rows(1, filters))
        .await?;
    Ok(Json(summary))
}
