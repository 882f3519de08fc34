//! `/api/v1/tenants`: create and list tenants, for admin keys of the operator tenant.

use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use chrono::{DateTime, Utc};
use logbook_model::{TenantId, tenant::check_tenant_name};
use logbook_store::Tenant;
use serde::{Deserialize, Serialize};

use crate::{
    ApiError, AppState,
    access::Access,
    app::DEFAULT_TENANT,
    auth::{AdminKey, Principal},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/tenants", get(list_tenants).post(create_tenant))
}

#[derive(Serialize)]
struct TenantView {
    id: TenantId,
    name: String,
    created_at: DateTime<Utc>,
}

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id,
            name: t.name,
            created_at: t.created_at,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTenant {
    name: String,
}

/// Tenants are the operator's business: the tenant made at first start holds the keys
/// that may see and make the others.
pub async fn require_operator(state: &AppState, principal: &Principal) -> Result<(), ApiError> {
    let operator = state.store.tenant_by_name(DEFAULT_TENANT).await?;
    if operator.is_some_and(|t| t.id == principal.tenant) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "this route needs an admin key of the operator tenant ({DEFAULT_TENANT})"
        )))
    }
}

async fn list_tenants(
    State(state): State<AppState>,
    AdminKey(principal): AdminKey,
    access: Access,
) -> Result<Json<Vec<TenantView>>, ApiError> {
    require_operator(&state, &principal).await?;
    let tenants = state.store.list_tenants().await?;
    access.record(&state, &principal, tenants.len()).await;
    Ok(Json(tenants.into_iter().map(TenantView::from).collect()))
}

async fn create_tenant(
    State(state): State<AppState>,
    AdminKey(principal): AdminKey,
    access: Access,
    body: Result<Json<NewTenant>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<TenantView>), ApiError> {
    require_operator(&state, &principal).await?;
    let Json(new) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    check_tenant_name(&new.name).map_err(ApiError::BadRequest)?;
    let tenant = state.store.create_tenant(&new.name).await?;
    access.record(&state, &principal, 1).await;
    Ok((StatusCode::CREATED, Json(tenant.into())))
}
