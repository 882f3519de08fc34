//! `/api/v1/keys`: a tenant's API keys, managed with an admin key. Secrets are shown
//! once, in the answer that creates them; listings show a prefix only.
//!
//! An admin key of the operator tenant (`default`, made at first start) may also act on
//! another tenant's keys by naming it (`?tenant=` on every key route, or `"tenant"` in
//! the body of a new key). Making and revoking keys is appended to the audit trail of
//! the tenant whose key it is.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::{delete, get},
};
use chrono::{DateTime, Utc};
use logbook_model::{Scopes, TenantId};
use logbook_store::ApiKey;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::{
    ApiError, AppState,
    access::{Access, Answer},
    auth::{AdminKey, Principal, keys},
    params::Params,
    request_body::RequestBody,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/keys", get(list_keys).post(create_key))
        .route("/keys/{id}", delete(revoke_key))
}

/// A key as listed: never its secret or hash.
#[derive(Serialize)]
pub struct KeyView {
    id: Uuid,
    name: String,
    prefix: String,
    scopes: Vec<String>,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for KeyView {
    fn from(key: ApiKey) -> Self {
        Self {
            id: key.id,
            name: key.name,
            prefix: key.prefix,
            scopes: key.scopes.names(),
            created_at: key.created_at,
            expires_at: key.expires_at,
            revoked_at: key.revoked_at,
            last_used_at: key.last_used_at,
        }
    }
}

#[derive(Serialize)]
struct CreatedKeyView {
    /// The secret, shown this once.
    key: String,
    #[serde(flatten)]
    stored: KeyView,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    name: String,
    scopes: Vec<String>,
    expires_at: Option<DateTime<Utc>>,
    tenant: Option<String>,
}

const MAX_NAME: usize = 100;

async fn list_keys(
    State(state): State<AppState>,
    AdminKey(principal): AdminKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    let mut params = Params::new(pairs)?;
    let tenant = target_tenant(&state, &principal, params.text("tenant")).await?;
    let filters = params.finish()?;
    let keys = state.store.list_api_keys(tenant).await?;
    access
        .record(&state, &principal, Answer::rows(keys.len(), filters))
        .await?;
    Ok(Json(keys.into_iter().map(KeyView::from).collect()))
}

async fn create_key(
    State(state): State<AppState>,
    AdminKey(principal): AdminKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
    body: RequestBody,
) -> Result<(StatusCode, Json<CreatedKeyView>), ApiError> {
    let mut params = Params::new(pairs)?;
    let named_in_query = params.text("tenant");
    params.finish()?;
    let new: NewKey = body.json()?;
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(ApiError::BadRequest(format!(
            "name must be 1–{MAX_NAME} characters"
        )));
    }
    let scopes = Scopes::from_names(&new.scopes).map_err(ApiError::BadRequest)?;
    if new.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(ApiError::BadRequest(
            "expires_at must be in the future".into(),
        ));
    }
    let named = match (named_in_query, new.tenant) {
        (Some(query), Some(body)) if query != body => {
            return Err(ApiError::BadRequest(format!(
                "the tenant is named twice, differently: {query:?} in the query, {body:?} in the body"
            )));
        }
        (query, body) => query.or(body),
    };
    let tenant = target_tenant(&state, &principal, named).await?;
    let created = keys::create(state.store.as_ref(), tenant, name, scopes, new.expires_at).await?;
    state.keys.forget_unknown();
    access
        .record_change(
            &state,
            &principal,
            tenant,
            json!({
                "action": "api_key.create", "resource_type": "api_key",
                "resource_id": created.key.id.to_string(), "resource_name": created.key.name,
                "after": {"name": created.key.name, "prefix": created.key.prefix,
                          "scopes": created.key.scopes.names(), "expires_at": created.key.expires_at},
            }),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKeyView {
            key: created.secret,
            stored: created.key.into(),
        }),
    ))
}

async fn revoke_key(
    State(state): State<AppState>,
    AdminKey(principal): AdminKey,
    access: Access,
    Path(id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<KeyView>, ApiError> {
    let id = Uuid::parse_str(&id)
        .map_err(|_| ApiError::parameter("id", format!("{id:?} is not a UUID")))?;
    let mut params = Params::new(pairs)?;
    let tenant = target_tenant(&state, &principal, params.text("tenant")).await?;
    params.finish()?;
    let revoked = state
        .store
        .revoke_api_key(tenant, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no key {id}")))?;
    state.keys.forget(id);
    access
        .record_change(
            &state,
            &principal,
            tenant,
            json!({
                "action": "api_key.revoke", "resource_type": "api_key",
                "resource_id": revoked.id.to_string(), "resource_name": revoked.name,
                "before": {"revoked_at": null}, "after": {"revoked_at": revoked.revoked_at},
            }),
        )
        .await?;
    Ok(Json(revoked.into()))
}

/// The caller's own tenant, or the named one when the caller is an operator admin.
pub(super) async fn target_tenant(
    state: &AppState,
    principal: &Principal,
    named: Option<String>,
) -> Result<TenantId, ApiError> {
    let Some(name) = named else {
        return Ok(principal.tenant);
    };
    super::tenants::require_operator(state, principal).await?;
    state
        .store
        .tenant_by_name(&name)
        .await?
        .map(|t| t.id)
        .ok_or_else(|| ApiError::NotFound(format!("no tenant named {name:?}")))
}
