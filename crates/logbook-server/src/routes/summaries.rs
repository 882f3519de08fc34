//! Seed 000's dashboard answers: `/logs/summary`, `/logs/hourly`, `/logs/daily`,
//! `/logs/by-country`.

use axum::{
    Json, Router,
    extract::{Query, State},
    routing::get,
};
use chrono::{Duration, Utc};
use logbook_model::summary::{
    CountryCount, DAY, DailyBucket, HOUR, HourlyBucket, Summary, first_bucket,
};

use crate::{
    ApiError, AppState,
    access::{Access, Answer},
    auth::ReadKey,
    params::Params,
};

/// The longest window any summary covers: a year.
const MAX_HOURS: i64 = 366 * 24;
const MAX_DAYS: i64 = 366;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/logs/summary", get(summary))
        .route("/logs/hourly", get(hourly))
        .route("/logs/daily", get(daily))
        .route("/logs/by-country", get(by_country))
}

/// The `hours` parameter (default 24), the only one these routes take, and what was
/// asked, for the access record.
fn hours(pairs: Vec<(String, String)>) -> Result<(i64, Option<serde_json::Value>), ApiError> {
    let mut params = Params::new(pairs)?;
    let hours = params.int("hours", 24, 1, MAX_HOURS)?;
    Ok((hours, params.finish()?))
}

async fn summary(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Summary>, ApiError> {
    let (hours, filters) = hours(pairs)?;
    let since = Utc::now() - Duration::hours(hours);
    let summary = state.store.summary(principal.tenant, since).await?;
    access
        .record(&state, &principal, Answer::rows(1, filters))
        .await?;
    Ok(Json(summary))
}

async fn hourly(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<HourlyBucket>>, ApiError> {
    let (hours, filters) = hours(pairs)?;
    let first = first_bucket(Utc::now(), Duration::hours(hours), HOUR);
    let rows = state.store.hourly(principal.tenant, first).await?;
    access
        .record(&state, &principal, Answer::rows(rows.len(), filters))
        .await?;
    Ok(Json(rows))
}

async fn daily(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<DailyBucket>>, ApiError> {
    let mut params = Params::new(pairs)?;
    let days = params.int("days", 30, 1, MAX_DAYS)?;
    let filters = params.finish()?;
    let first = first_bucket(Utc::now(), Duration::days(days), DAY);
    let rows = state.store.daily(principal.tenant, first).await?;
    access
        .record(&state, &principal, Answer::rows(rows.len(), filters))
        .await?;
    Ok(Json(rows))
}

async fn by_country(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<CountryCount>>, ApiError> {
    let (hours, filters) = hours(pairs)?;
    let since = Utc::now() - Duration::hours(hours);
    let rows = state.store.by_country(principal.tenant, since).await?;
    access
        .record(&state, &principal, Answer::rows(rows.len(), filters))
        .await?;
    Ok(Json(rows))
}
