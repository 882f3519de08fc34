//! `/dashboards`: seed 001's saved dashboards and their widgets. Any key that reads may
//! keep dashboards; a private one is seen only by the key that made it, the others by
//! every key of the tenant. Only its maker or an admin key changes or deletes one.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::get,
};
use chrono::Utc;
use logbook_model::{Scope, TenantId, dashboards::Dashboard};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    ApiError, AppState,
    access::{Access, Answer},
    auth::{Principal, ReadKey},
    params::Params,
    request_body::RequestBody,
};

/// Dashboards a tenant keeps at most.
const MAX_DASHBOARDS: usize = 500;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboards", get(list).post(create))
        .route("/dashboards/{id}", get(show).patch(change).delete(remove))
}

#[derive(Serialize)]
struct Dashboards {
    items: Vec<Dashboard>,
}

async fn list(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Dashboards>, ApiError> {
    let filters = Params::none(pairs)?;
    let items = state
        .store
        .dashboards(principal.tenant, Some(principal.key_id))
        .await?;
    access
        .record(&state, &principal, Answer::rows(items.len(), filters))
        .await?;
    Ok(Json(Dashboards { items }))
}

/// The dashboard, if the caller may see it; one it may not see is not there for it.
async fn find(state: &AppState, principal: &Principal, text: &str) -> Result<Dashboard, ApiError> {
    let id = Uuid::parse_str(text)
        .map_err(|_| ApiError::parameter("id", format!("{text:?} is not a UUID")))?;
    state
        .store
        .dashboard(principal.tenant, id)
        .await?
        .filter(|d| d.visible_to(principal.key_id))
        .ok_or_else(|| ApiError::NotFound(format!("no dashboard {id}")))
}

fn may_change(principal: &Principal, dashboard: &Dashboard) -> Result<(), ApiError> {
    if dashboard.owner_id == principal.key_id || principal.scopes.contains(Scope::Admin) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only the key that made a dashboard, or an admin key, changes it".into(),
        ))
    }
}

/// Widgets without an id get one; every field is bounded.
fn completed(mut dashboard: Dashboard) -> Result<Dashboard, ApiError> {
    for widget in &mut dashboard.widgets {
        if widget.id.is_nil() {
            widget.id = Uuid::now_v7();
        }
    }
    dashboard.check().map_err(ApiError::BadRequest)?;
    Ok(dashboard)
}

async fn show(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Path(id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Dashboard>, ApiError> {
    let filters = Params::none(pairs)?;
    let dashboard = find(&state, &principal, &id).await?;
    access
        .record(&state, &principal, Answer::rows(1, filters))
        .await?;
    Ok(Json(dashboard))
}

async fn count(state: &AppState, tenant: TenantId) -> Result<usize, ApiError> {
    Ok(state.store.dashboards(tenant, None).await?.len())
}

async fn create(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
    body: RequestBody,
) -> Result<(StatusCode, Json<Dashboard>), ApiError> {
    Params::none(pairs)?;
    let mut dashboard: Dashboard = body.json()?;
    let now = Utc::now();
    dashboard.id = Uuid::now_v7();
    dashboard.owner_id = principal.key_id;
    (dashboard.created_at, dashboard.updated_at) = (now, now);
    let dashboard = completed(dashboard)?;
    if count(&state, principal.tenant).await? >= MAX_DASHBOARDS {
        return Err(ApiError::Conflict(format!(
            "a tenant keeps at most {MAX_DASHBOARDS} dashboards"
        )));
    }
    state
        .store
        .put_dashboard(principal.tenant, &dashboard, false)
        .await?;
    access
        .record(&state, &principal, Answer::rows(1, None))
        .await?;
    Ok((StatusCode::CREATED, Json(dashboard)))
}

async fn change(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Path(id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
    body: RequestBody,
) -> Result<Json<Dashboard>, ApiError> {
    Params::none(pairs)?;
    let before = find(&state, &principal, &id).await?;
    may_change(&principal, &before)?;
    let mut dashboard: Dashboard = super::patched(
        &before,
        &body,
        &["id", "owner_id", "created_at", "updated_at"],
    )?;
    dashboard.updated_at = Utc::now();
    let dashboard = completed(dashboard)?;
    if !state
        .store
        .put_dashboard(principal.tenant, &dashboard, true)
        .await?
    {
        return Err(ApiError::NotFound(format!("no dashboard {}", dashboard.id)));
    }
    access
        .record(&state, &principal, Answer::rows(1, None))
        .await?;
    Ok(Json(dashboard))
}

async fn remove(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Path(id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<StatusCode, ApiError> {
    Params::none(pairs)?;
    let before = find(&state, &principal, &id).await?;
    may_change(&principal, &before)?;
    if !state
        .store
        .delete_dashboard(principal.tenant, before.id)
        .await?
    {
        return Err(ApiError::NotFound(format!("no dashboard {}", before.id)));
    }
    access
        .record(&state, &principal, Answer::rows(1, None))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
