//! `GET /api/v1/access`: the tenant's access records — who read what, when, from where —
//! for its admins. Filters `key_id`, `route`, `method`, `status`, `from`, `to`; paging as
//! on `/logs` (`limit`, `cursor`, `order`).

use axum::{
    Json, Router,
    extract::{Query, State},
    routing::get,
};
use logbook_model::access::{AccessPage, AccessQuery};
use uuid::Uuid;

use crate::{
    ApiError, AppState,
    access::{Access, Answer},
    auth::AdminKey,
    params::Params,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/access", get(list_access))
}

async fn list_access(
    State(state): State<AppState>,
    AdminKey(principal): AdminKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<AccessPage>, ApiError> {
    let mut params = Params::new(pairs)?;
    let query = AccessQuery {
        key_id: params
            .text("key_id")
            .map(|id| {
                Uuid::parse_str(&id)
                    .map_err(|_| ApiError::parameter("key_id", format!("{id:?} is not a key id")))
            })
            .transpose()?,
        route: params.text("route"),
        method: params.text("method").map(|m| m.to_ascii_uppercase()),
        status: params.int_opt("status", 100, 599)?.map(|s| s as i16),
        from: params.time("from")?,
        to: params.time("to")?,
        order: params.parse("order")?.unwrap_or_default(),
        limit: params.page_limit()?,
        cursor: params.parse("cursor")?,
    };
    let filters = params.finish()?;
    let page = state.store.list_access(principal.tenant, &query).await?;
    access
        .record(&state, &principal, Answer::rows(page.items.len(), filters))
        .await?;
    Ok(Json(page))
}
