//! `GET /api/v1/integrations`: seed 001's integration health (5.6) from the tenant's
//! ACTION events — per provider its status, success rate, mean response time, errors in
//! the window and in the last hour, last success; and per action type the same counts.

use axum::{
    Json, Router,
    extract::{Query, State},
    routing::get,
};
use chrono::{Duration, Utc};
use logbook_model::summary::IntegrationHealth;

use crate::{
    ApiError, AppState,
    access::{Access, Answer},
    auth::ReadKey,
    params::Params,
};

/// Read from the events themselves, so the window is bounded: 30 days at most.
const MAX_HOURS: i64 = 30 * 24;

pub fn router() -> Router<AppState> {
    Router::new().route("/integrations", get(integration_health))
}

async fn integration_health(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<IntegrationHealth>>, ApiError> {
    let mut params = Params::new(pairs)?;
    let hours = params.int("hours", 24, 1, MAX_HOURS)?;
    let filters = params.finish()?;
    let since = Utc::now() - Duration::hours(hours);
    let health = state.store.integrations(principal.tenant, since).await?;
    access
        .record(&state, &principal, Answer::rows(health.len(), filters))
        .await?;
    Ok(Json(health))
}
