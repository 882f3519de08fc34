//! `/monitors`: HTTP(S) checks of addresses an admin configured (seed 001 service
//! health), each with its status, uptimes, response-time percentiles and newest checks;
//! `/monitors/summary` is seed 001 5.1's overall system health. The checks themselves
//! run in the background ([`crate::alerts::Checker`]) and reach only what is allowed:
//! link-local and cloud metadata addresses are refused, however a name resolves.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::get,
};
use chrono::{Duration, Utc};
use logbook_model::{
    TenantId,
    monitors::{Monitor, ServiceHealth, ServiceStatus, SystemHealth, percentile, round2},
};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::{
    ApiError, AppState,
    access::{Access, Answer},
    auth::{AdminKey, ReadKey},
    params::Params,
    request_body::RequestBody,
};

/// Checks shown with each monitor (seed 001 5.1 shows ten).
const RECENT: u32 = 10;
const MAX_MONITORS: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/monitors", get(list).post(create))
        .route("/monitors/summary", get(summary))
        .route("/monitors/{id}", get(show).patch(change).delete(remove))
}

async fn health(
    state: &AppState,
    tenant: TenantId,
    monitor: Monitor,
) -> Result<ServiceHealth, ApiError> {
    let store = state.store.as_ref();
    let now = Utc::now();
    let recent_checks = store.recent_checks(tenant, monitor.id, RECENT).await?;
    let starts = [
        now - Duration::hours(24),
        now - Duration::days(7),
        now - Duration::days(30),
    ];
    let uptimes = store.uptimes(tenant, monitor.id, starts).await?;
    let pct = |i: usize| {
        (uptimes.checks[i] > 0)
            .then(|| round2(uptimes.up[i] as f64 * 100.0 / uptimes.checks[i] as f64))
    };
    let times = store.response_times(tenant, monitor.id, starts[0]).await?;
    Ok(ServiceHealth {
        status: recent_checks
            .first()
            .map_or(ServiceStatus::Unknown, |c| c.status),
        last_check: recent_checks.first().map(|c| c.checked_at),
        uptime_24h: pct(0),
        uptime_7d: pct(1),
        uptime_30d: pct(2),
        p50: percentile(&times, 50.0),
        p95: percentile(&times, 95.0),
        p99: percentile(&times, 99.0),
        recent_checks,
        monitor,
    })
}

async fn all_health(state: &AppState, tenant: TenantId) -> Result<Vec<ServiceHealth>, ApiError> {
    let mut out = Vec::new();
    for monitor in state.store.monitors(tenant).await? {
        out.push(health(state, tenant, monitor).await?);
    }
    Ok(out)
}

#[derive(Serialize)]
struct Monitors {
    items: Vec<ServiceHealth>,
}

/// Seed 001 5.1 "service health with recent checks", by name.
async fn list(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Monitors>, ApiError> {
    let filters = Params::none(pairs)?;
    let items = all_health(&state, principal.tenant).await?;
    access
        .record(&state, &principal, Answer::rows(items.len(), filters))
        .await?;
    Ok(Json(Monitors { items }))
}

/// Seed 001 5.1 "overall system health".
async fn summary(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<SystemHealth>, ApiError> {
    let filters = Params::none(pairs)?;
    let items = all_health(&state, principal.tenant).await?;
    access
        .record(&state, &principal, Answer::rows(items.len(), filters))
        .await?;
    Ok(Json(SystemHealth::of(&items)))
}

fn monitor_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::parameter("id", format!("{text:?} is not a UUID")))
}

async fn find(state: &AppState, tenant: TenantId, text: &str) -> Result<Monitor, ApiError> {
    let id = monitor_id(text)?;
    state
        .store
        .monitor(tenant, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no monitor {id}")))
}

async fn show(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Path(id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<ServiceHealth>, ApiError> {
    let filters = Params::none(pairs)?;
    let monitor = find(&state, principal.tenant, &id).await?;
    let shown = health(&state, principal.tenant, monitor).await?;
    access
        .record(&state, &principal, Answer::rows(1, filters))
        .await?;
    Ok(Json(shown))
}

fn checked(monitor: &Monitor) -> Result<(), ApiError> {
    monitor.check().map_err(ApiError::BadRequest)?;
    Ok(())
}

async fn create(
    State(state): State<AppState>,
    AdminKey(principal): AdminKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
    body: RequestBody,
) -> Result<(StatusCode, Json<Monitor>), ApiError> {
    Params::none(pairs)?;
    let mut monitor: Monitor = body.json()?;
    let now = Utc::now();
    monitor.id = Uuid::now_v7();
    (monitor.created_at, monitor.updated_at) = (now, now);
    checked(&monitor)?;
    if state.store.monitors(principal.tenant).await?.len() >= MAX_MONITORS {
        return Err(ApiError::Conflict(format!(
            "a tenant has at most {MAX_MONITORS} monitors"
        )));
    }
    state
        .store
        .put_monitor(principal.tenant, &monitor, false)
        .await?;
    record(
        &state,
        &access,
        &principal,
        "monitor.create",
        &monitor,
        None,
        Some(&monitor),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(monitor)))
}

async fn change(
    State(state): State<AppState>,
    AdminKey(principal): AdminKey,
    access: Access,
    Path(id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
    body: RequestBody,
) -> Result<Json<Monitor>, ApiError> {
    Params::none(pairs)?;
    let before = find(&state, principal.tenant, &id).await?;
    let mut monitor: Monitor = super::patched(&before, &body, &["id", "created_at", "updated_at"])?;
    monitor.updated_at = Utc::now();
    checked(&monitor)?;
    if !state
        .store
        .put_monitor(principal.tenant, &monitor, true)
        .await?
    {
        return Err(ApiError::NotFound(format!("no monitor {}", monitor.id)));
    }
    record(
        &state,
        &access,
        &principal,
        "monitor.update",
        &monitor,
        Some(&before),
        Some(&monitor),
    )
    .await?;
    Ok(Json(monitor))
}

async fn remove(
    State(state): State<AppState>,
    AdminKey(principal): AdminKey,
    access: Access,
    Path(id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<StatusCode, ApiError> {
    Params::none(pairs)?;
    let before = find(&state, principal.tenant, &id).await?;
    if !state
        .store
        .delete_monitor(principal.tenant, before.id)
        .await?
    {
        return Err(ApiError::NotFound(format!("no monitor {}", before.id)));
    }
    record(
        &state,
        &access,
        &principal,
        "monitor.delete",
        &before,
        Some(&before),
        None,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn record(
    state: &AppState,
    access: &Access,
    principal: &crate::auth::Principal,
    action: &str,
    monitor: &Monitor,
    before: Option<&Monitor>,
    after: Option<&Monitor>,
) -> Result<(), ApiError> {
    access
        .record_change(
            state,
            principal,
            principal.tenant,
            json!({
                "action": action, "resource_type": "monitor",
                "resource_id": monitor.id.to_string(), "resource_name": monitor.name,
                "before": before, "after": after,
            }),
        )
        .await
}
