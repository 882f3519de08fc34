//! `/api/v1/tenants`: create and list tenants, for admin keys of the operator tenant.

use axum::{
    Json, Router,
    extract::{Query, State},
    http::StatusCode,
    routing::get,
};
use chrono::{DateTime, Utc};
use logbook_model::{TenantId, tenant::check_tenant_name};
use logbook_store::Tenant;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    ApiError, AppState,
    access::{Access, Answer},
    app::DEFAULT_TENANT,
    auth::{AdminKey, Principal},
    params::Params,
    request_body::RequestBody,
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
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<TenantView>>, ApiError> {
    let filters = Params::none(pairs)?;
    require_operator(&state, &principal).await?;
    let tenants = state.store.list_tenants().await?;
    access
        .record(&state, &principal, Answer::rows(tenants.len(), filters))
        .await?;
    Ok(Json(tenants.into_iter().map(TenantView::from).collect()))
}

async fn create_tenant(
    State(state): State<AppState>,
    AdminKey(principal): AdminKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
    body: RequestBody,
) -> Result<(StatusCode, Json<TenantView>), ApiError> {
    Params::none(pairs)?;
    require_operator(&state, &principal).await?;
    let new: NewTenant = body.json()?;
    check_tenant_name(&new.name).map_err(ApiError::BadRequest)?;
    let tenant = state.store.create_tenant(&new.name).await?;
    access
        .record_change(
            &state,
            &principal,
            tenant.id,
            json!({
                "action": "tenant.create", "resource_type": "tenant",
                "resource_id": tenant.id.to_string(), "resource_name": tenant.name,
                "after": {"name": tenant.name},
            }),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(tenant.into())))
}
