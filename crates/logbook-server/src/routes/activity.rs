//! `/activity`: seed 001's user activity (5.7) from ACTIVITY events — `event_subtype` the
//! activity type (`page-view`, `action`, `feature-use`), `metadata` its `module`,
//! `feature` and `duration` (seconds), `session_id` its session. Active users come from
//! the rollups' distinct-user sketches; feature use, sessions and cohorts read the events
//! of a bounded window.

use axum::{
    Json, Router,
    extract::{Query, State},
    routing::get,
};
use chrono::{Datelike, Duration, NaiveDate, Utc};
use logbook_model::activity::{ActiveUsers, Cohort, FeatureUsage, Session, cohorts};
use serde::Serialize;

use crate::{
    ApiError, AppState,
    access::{Access, Answer},
    auth::ReadKey,
    params::Params,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/activity/users", get(active_users))
        .route("/activity/features", get(features))
        .route("/activity/sessions", get(sessions))
        .route("/activity/cohorts", get(monthly_cohorts))
}

/// Seed 001 5.7 "active users": distinct users with any event in the last hour, day,
/// week and 30 days.
async fn active_users(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<ActiveUsers>, ApiError> {
    let filters = Params::none(pairs)?;
    let now = Utc::now();
    let mut counts = [0; 4];
    for (count, back) in counts.iter_mut().zip([
        Duration::hours(1),
        Duration::hours(24),
        Duration::days(7),
        Duration::days(30),
    ]) {
        *count = state
            .store
            .summary(principal.tenant, now - back)
            .await?
            .unique_users;
    }
    access
        .record(&state, &principal, Answer::rows(1, filters))
        .await?;
    let [
        active_last_hour,
        active_last_24h,
        active_last_7d,
        active_last_30d,
    ] = counts;
    Ok(Json(ActiveUsers {
        active_last_hour,
        active_last_24h,
        active_last_7d,
        active_last_30d,
    }))
}

#[derive(Serialize)]
struct Items<T> {
    items: Vec<T>,
}

/// Seed 001 5.7 "feature usage statistics" over `days` (30 by default).
async fn features(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Items<FeatureUsage>>, ApiError> {
    let mut params = Params::new(pairs)?;
    let days = params.int("days", 30, 1, 90)?;
    let limit = params.int("limit", 20, 1, 1000)? as u32;
    let filters = params.finish()?;
    let since = Utc::now() - Duration::days(days);
    let items = state
        .store
        .feature_usage(principal.tenant, since, limit)
        .await?;
    access
        .record(&state, &principal, Answer::rows(items.len(), filters))
        .await?;
    Ok(Json(Items { items }))
}

/// Seed 001 3.14's sessions, derived from their activity over `days` (7 by default).
async fn sessions(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Items<Session>>, ApiError> {
    let mut params = Params::new(pairs)?;
    let days = params.int("days", 7, 1, 90)?;
    let limit = params.int("limit", 100, 1, 1000)? as u32;
    let filters = params.finish()?;
    let since = Utc::now() - Duration::days(days);
    let items = state.store.sessions(principal.tenant, since, limit).await?;
    access
        .record(&state, &principal, Answer::rows(items.len(), filters))
        .await?;
    Ok(Json(Items { items }))
}

/// Seed 001 5.7 "retention cohorts" over the last `months` calendar months (12 by
/// default, this one included): a user's cohort is the month of their first activity
/// in that span.
async fn monthly_cohorts(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Items<Cohort>>, ApiError> {
    let mut params = Params::new(pairs)?;
    let months = params.int("months", 12, 1, 36)? as i32;
    let filters = params.finish()?;
    let today = Utc::now().date_naive();
    let index = today.year() * 12 + today.month0() as i32 - (months - 1);
    let first = NaiveDate::from_ymd_opt(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1)
        .ok_or(ApiError::Internal)?;
    let since = first
        .and_hms_opt(0, 0, 0)
        .ok_or(ApiError::Internal)?
        .and_utc();
    let items = cohorts(state.store.user_months(principal.tenant, since).await?);
    access
        .record(&state, &principal, Answer::rows(items.len(), filters))
        .await?;
    Ok(Json(Items { items }))
}
