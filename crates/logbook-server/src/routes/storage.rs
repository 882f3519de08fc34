//! `GET /api/v1/storage`: what the store holds and takes on disk, every tenant's
//! together, so for admin keys of the operator tenant only.

use axum::{
    Json, Router,
    extract::{Query, State},
    routing::get,
};

use crate::{
    ApiError, AppState,
    access::{Access, Answer},
    auth::AdminKey,
    params::Params,
    storage::{Storage, report},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/storage", get(storage))
}

async fn storage(
    State(state): State<AppState>,
    AdminKey(principal): AdminKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Storage>, ApiError> {
    let filters = Params::none(pairs)?;
    super::tenants::require_operator(&state, &principal).await?;
    let storage = report(&state.store, &state.retention, chrono::Utc::now()).await?;
    access
        .record(&state, &principal, Answer::rows(1, filters))
        .await?;
    Ok(Json(storage))
}
