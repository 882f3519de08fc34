//! `GET /api/v1/logs/failed-auth`: seed 000's getFailedAuthAttempts, for rate limiting.

use std::net::IpAddr;

use axum::{
    Json, Router,
    extract::{Query, State},
    routing::get,
};
use chrono::{Duration, Utc};
use logbook_model::FailedAuthQuery;
use serde_json::{Value, json};

use crate::{
    ApiError, AppState,
    access::{Access, Answer},
    auth::ReadKey,
    params::Params,
};

/// A week: failed-auth counts serve rate limiting, which looks back minutes, not months.
const MAX_MINUTES: i64 = 7 * 24 * 60;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/logs/failed-auth", get(count_failed_auth))
        .route("/logs/top-ips", get(top_ips))
}

async fn count_failed_auth(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let mut params = Params::new(pairs)?;
    let ip: Option<IpAddr> = params.parse("ip")?;
    let user_id = params.text("user_id");
    let fingerprint = params.text("fingerprint");
    let minutes = params.int("minutes", 15, 1, MAX_MINUTES)?;
    let filters = params.finish()?;
    if ip.is_none() && user_id.is_none() && fingerprint.is_none() {
        return Err(ApiError::BadRequest(
            "give at least one of ip, user_id and fingerprint".into(),
        ));
    }
    let query = FailedAuthQuery {
        ip,
        user_id,
        fingerprint,
        since: Utc::now() - Duration::minutes(minutes),
    };
    let count = state
        .store
        .count_failed_auth(principal.tenant, &query)
        .await?;
    access
        .record(&state, &principal, Answer::rows(1, filters))
        .await?;
    Ok(Json(json!({ "count": count })))
}

/// Addresses listed at most by `/logs/top-ips`.
const MAX_TOP: i64 = 100;

/// `GET /api/v1/logs/top-ips?hours=24&limit=10[&success=false]`: the addresses that sent
/// the most events over the last hours (only failures with `success=false`), busiest first.
async fn top_ips(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let mut params = Params::new(pairs)?;
    // Read from the events themselves, not a rollup: a week at most.
    let hours = params.int("hours", 24, 1, 24 * 7)?;
    let limit = params.int("limit", 10, 1, MAX_TOP)?;
    let success = params.bool("success")?;
    let filters = params.finish()?;
    let filter = logbook_model::EventFilter {
        from: Some(Utc::now() - Duration::hours(hours)),
        success,
        ..Default::default()
    };
    let busiest = state
        .store
        .count_events(principal.tenant, &filter, Some("ip_address"), limit as u32)
        .await?;
    let items: Vec<Value> = busiest
        .into_iter()
        .filter_map(|(ip, count)| Some(json!({ "ip_address": ip?, "count": count })))
        .collect();
    access
        .record(&state, &principal, Answer::rows(items.len(), filters))
        .await?;
    Ok(Json(json!({ "hours": hours, "items": items })))
}
