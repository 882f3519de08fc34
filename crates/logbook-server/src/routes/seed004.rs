//! Seed 004's log API, so a client written against it works unchanged: action logs are
//! ACTION events (action_type → event_subtype, provider_name → provider, error_message →
//! message, execution_time_ms → response_time_ms, request_payload → request_body_summary,
//! response_data → metadata.response_data), audit logs are audit events.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    routing::get,
};
use chrono::{Duration, Utc};
use logbook_model::{
    Event, EventFilter, EventQuery, EventType,
    audit::{AuditEvent, AuditQuery},
    summary::ActionStats,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::{
    ApiError, AppState,
    access::{Access, Answer, CHAIN_READ},
    auth::{Principal, ReadKey},
    params::Params,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/logs/actions", get(list_actions))
        .route("/logs/actions/failed/recent", get(recent_failed_actions))
        .route("/logs/actions/{id}", get(get_action))
        .route("/logs/stats", get(action_stats))
        .route("/logs/audits", get(list_audits))
        .route(
            "/logs/audits/resource/{resource_type}/{resource_id}",
            get(resource_audits),
        )
}

const ACTION: &str = "ACTION";

/// An action log as seed 004 lists it.
fn action_summary(e: &Event) -> Value {
    json!({
        "id": e.id,
        "tenant_id": e.tenant_id,
        "action_type": e.event_subtype,
        "provider_name": e.provider,
        "status": e.status,
        "error_message": e.message,
        "execution_time_ms": e.response_time_ms,
        "created_at": e.created_at,
    })
}

/// An action log with its payloads, as seed 004 shows one.
fn action_detail(e: &Event) -> Value {
    let mut metadata = match &e.metadata {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    };
    let response_data = metadata.remove("response_data").unwrap_or(Value::Null);
    let mut detail = action_summary(e);
    detail["request_payload"] = e.request_body_summary.clone().unwrap_or_else(|| json!({}));
    detail["response_data"] = response_data;
    detail["metadata"] = Value::Object(metadata);
    detail["updated_at"] = json!(e.created_at);
    detail
}

/// An audit log as seed 004 shows one: `changes` holds before and after.
fn audit_view(e: &AuditEvent) -> Value {
    json!({
        "id": e.id,
        "tenant_id": e.tenant_id,
        "action": e.action,
        "resource_type": e.resource_type,
        "resource_id": e.resource_id,
        "user_id": e.actor_id,
        "changes": {"before": e.before, "after": e.after},
        "ip_address": e.ip_address,
        "user_agent": e.user_agent,
        "metadata": e.metadata,
        "created_at": e.occurred_at,
        "updated_at": e.occurred_at,
    })
}

fn actions_filter() -> EventFilter {
    EventFilter {
        event_type: Some(EventType::parse(ACTION).expect("a valid type")),
        ..Default::default()
    }
}

async fn list_actions(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let mut params = Params::new(pairs)?;
    let mut filter = actions_filter();
    filter.event_subtype = params.text("action_type");
    // Seed 004 spells statuses both ways (`status=success`, `'FAILURE'`); they are
    // stored in lower case.
    filter.statuses = params
        .text("status")
        .map(|s| vec![s.to_ascii_lowercase()])
        .unwrap_or_default();
    filter.provider = params.text("provider_name");
    let skip = params.skip()?;
    let limit = params.page_limit()?;
    let filters = params.finish()?;
    let query = EventQuery {
        filter,
        skip,
        limit,
        ..Default::default()
    };
    actions(&state, &principal, access, &query, filters).await
}

async fn recent_failed_actions(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let mut params = Params::new(pairs)?;
    let minutes = params.int("minutes", 60, 1, 1440)?;
    let limit = params.int("limit", 50, 1, 100)? as u32;
    let filters = params.finish()?;
    let mut filter = actions_filter();
    filter.statuses = vec!["failure".into(), "timeout".into()];
    filter.from = Some(Utc::now() - Duration::minutes(minutes));
    let query = EventQuery {
        filter,
        limit,
        ..Default::default()
    };
    actions(&state, &principal, access, &query, filters).await
}

/// The ACTION events `query` finds, as seed 004 lists them, encrypted fields opened as
/// for one action; the read is recorded.
async fn actions(
    state: &AppState,
    principal: &Principal,
    access: Access,
    query: &EventQuery,
    filters: Option<Value>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let mut page = state.store.list_events(principal.tenant, query).await?;
    if let Some(cipher) = &state.cipher {
        page.items.iter_mut().for_each(|e| cipher.open_event(e));
    }
    access
        .record(state, principal, Answer::rows(page.items.len(), filters))
        .await?;
    Ok(Json(page.items.iter().map(action_summary).collect()))
}

async fn get_action(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Path(id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let filters = Params::none(pairs)?;
    let id = Uuid::parse_str(&id)
        .map_err(|_| ApiError::parameter("action_id", format!("{id:?} is not a UUID")))?;
    let found = state
        .store
        .get_event(principal.tenant, id)
        .await?
        .filter(|e| e.event_type.as_str() == ACTION);
    let status = if found.is_some() { 200 } else { 404 };
    let answer = Answer {
        status,
        ..Answer::rows(usize::from(found.is_some()), filters)
    };
    access.record(&state, &principal, answer).await?;
    let mut event = found.ok_or_else(|| ApiError::NotFound(format!("no action log {id}")))?;
    if let Some(cipher) = &state.cipher {
        cipher.open_event(&mut event);
    }
    Ok(Json(action_detail(&event)))
}

async fn action_stats(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<ActionStats>, ApiError> {
    let filters = Params::none(pairs)?;
    let stats = state.store.action_stats(principal.tenant).await?;
    access
        .record(&state, &principal, Answer::rows(1, filters))
        .await?;
    Ok(Json(stats))
}

async fn list_audits(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let mut params = Params::new(pairs)?;
    let query = AuditQuery {
        actions: params.text("action").into_iter().collect(),
        resource_type: params.text("resource_type"),
        skip: params.skip()?,
        limit: params.page_limit()?,
        ..Default::default()
    };
    let filters = params.finish()?;
    audits(&state, &principal, access, query, filters).await
}

async fn resource_audits(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Path((resource_type, resource_id)): Path<(String, String)>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let mut params = Params::new(pairs)?;
    let query = AuditQuery {
        resource_type: Some(resource_type),
        resource_id: Some(resource_id),
        skip: params.skip()?,
        limit: params.page_limit()?,
        ..Default::default()
    };
    let filters = params.finish()?;
    audits(&state, &principal, access, query, filters).await
}

/// The audit events `query` finds, as seed 004 shows them; the read is recorded in the
/// chain. Those records of reads are not listed here unless asked for by their action.
async fn audits(
    state: &AppState,
    principal: &Principal,
    access: Access,
    mut query: AuditQuery,
    filters: Option<Value>,
) -> Result<Json<Vec<Value>>, ApiError> {
    query.hide_reads = !query.actions.iter().any(|a| a == CHAIN_READ);
    let events = state.store.search_audit(principal.tenant, &query).await?;
    access
        .record_in_chain(state, principal, Answer::rows(events.len(), filters))
        .await?;
    Ok(Json(events.iter().map(audit_view).collect()))
}
