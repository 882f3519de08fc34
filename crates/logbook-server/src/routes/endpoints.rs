//! `GET /api/v1/metrics/endpoints`: seed 001's API performance (5.2) from the endpoint
//! rollups — per service, method and route template: requests, errors and error rate,
//! throughput, p50/p95/p99, mean, min and max; over the window (the busiest first), or
//! per five minutes or hour (the trend, newest first).

use axum::{
    Json, Router,
    extract::{Query, State},
    routing::get,
};
use chrono::{Duration, Utc};
use logbook_model::summary::{EndpointMetrics, EndpointStep};

use crate::{
    ApiError, AppState,
    access::{Access, Answer},
    auth::ReadKey,
    params::Params,
};

/// Hourly rows are kept a year; five-minute rows 90 days, and a trend of them is read a
/// week at a time at most (2,016 buckets per endpoint).
const MAX_HOURS: i64 = 365 * 24;
const MAX_FIVE_MINUTE_HOURS: i64 = 7 * 24;

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics/endpoints", get(endpoints))
}

async fn endpoints(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<EndpointMetrics>>, ApiError> {
    let mut params = Params::new(pairs)?;
    let hours = params.int("hours", 24, 1, MAX_HOURS)?;
    let step = match params.text("step").as_deref() {
        None | Some("window") => EndpointStep::Window,
        Some("5m") => EndpointStep::FiveMinutes,
        Some("1h") => EndpointStep::Hour,
        Some(_) => return Err(ApiError::parameter("step", "must be window, 5m or 1h")),
    };
    if step == EndpointStep::FiveMinutes && hours > MAX_FIVE_MINUTE_HOURS {
        return Err(ApiError::parameter(
            "hours",
            format!("five-minute buckets are read {MAX_FIVE_MINUTE_HOURS} hours at a time at most"),
        ));
    }
    let endpoint = params.text("endpoint");
    let min_p95 = params.int_opt("min_p95_ms", 0, i64::from(i32::MAX))?;
    let limit = params.page_limit()? as usize;
    let filters = params.finish()?;
    let since = Utc::now() - Duration::hours(hours);
    let mut rows = state.store.endpoints(principal.tenant, since, step).await?;
    // Seed 001's "slowest endpoints" and "trend of one endpoint" are these filters.
    rows.retain(|m| {
        endpoint.as_ref().is_none_or(|e| m.endpoint == *e)
            && min_p95.is_none_or(|min| m.p95.is_some_and(|p95| p95 > min as f64))
    });
    rows.truncate(limit);
    access
        .record(&state, &principal, Answer::rows(rows.len(), filters))
        .await?;
    Ok(Json(rows))
}
