//! `GET /api/v1/anomalies`: hours that stand out over the last days (seed 000's anomaly
//! detection), from the hourly rollups: per event type its events, and failed logins
//! (seed 000's series) — each hour against the window's mean + 3σ.

use std::collections::BTreeMap;

use axum::{
    Json, Router,
    extract::{Query, State},
    routing::get,
};
use chrono::{DateTime, Duration, DurationRound, Utc};
use logbook_model::{
    anomalies::{self, Anomaly, SIGMAS},
    event_type::FAILED_AUTH_TYPES,
};
use serde::Serialize;

use crate::{
    ApiError, AppState,
    access::{Access, Answer},
    auth::ReadKey,
    params::Params,
};

/// The series of failed logins (AUTH_LOGIN and AUTH_FAILURE with `success` false).
pub const FAILED_LOGINS: &str = "failed_logins";
const MAX_DAYS: i64 = 30;

pub fn router() -> Router<AppState> {
    Router::new().route("/anomalies", get(list_anomalies))
}

#[derive(Serialize)]
struct Anomalies {
    days: i64,
    sigmas: f64,
    anomalies: Vec<Anomaly>,
}

async fn list_anomalies(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Anomalies>, ApiError> {
    let mut params = Params::new(pairs)?;
    let days = params.int("days", 7, 1, MAX_DAYS)?;
    let filters = params.finish()?;
    let found = find(state.store.as_ref(), principal.tenant, days, Utc::now()).await?;
    access
        .record(&state, &principal, Answer::rows(found.len(), filters))
        .await?;
    Ok(Json(Anomalies {
        days,
        sigmas: SIGMAS,
        anomalies: found,
    }))
}

/// The anomalous hours of the tenant's series over the `days` before `now`'s hour.
pub(crate) async fn find(
    store: &dyn logbook_store::Store,
    tenant: logbook_model::TenantId,
    days: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Anomaly>, ApiError> {
    let current = now
        .duration_trunc(Duration::hours(1))
        .map_err(|_| ApiError::Internal)?;
    let first = current - Duration::days(days);
    let hours: Vec<DateTime<Utc>> = (0..=days * 24)
        .map(|i| first + Duration::hours(i))
        .collect();
    let mut series: BTreeMap<String, BTreeMap<DateTime<Utc>, i64>> = BTreeMap::new();
    for bucket in store.hourly(tenant, first).await? {
        *series
            .entry(format!("events:{}", bucket.event_type))
            .or_default()
            .entry(bucket.bucket)
            .or_default() += bucket.total_count;
        if FAILED_AUTH_TYPES.contains(&bucket.event_type.as_str()) {
            *series
                .entry(FAILED_LOGINS.to_owned())
                .or_default()
                .entry(bucket.bucket)
                .or_default() += bucket.failure_count;
        }
    }
    for (ip, counts) in address_series(store, tenant, first, current).await? {
        series.insert(format!("ip:{ip}"), counts);
    }
    Ok(anomalies::detect(&hours, &series))
}

/// Addresses given a series of their own: the busiest over the window and the busiest
/// of the current hour (a burst now from an address seldom seen), this many of each.
const BUSIEST_ADDRESSES: u32 = 20;

/// Hourly event counts of the busiest addresses since `first`, each from the address
/// index.
async fn address_series(
    store: &dyn logbook_store::Store,
    tenant: logbook_model::TenantId,
    first: DateTime<Utc>,
    current: DateTime<Utc>,
) -> Result<BTreeMap<String, BTreeMap<DateTime<Utc>, i64>>, ApiError> {
    let mut addresses = std::collections::BTreeSet::new();
    for from in [first, current] {
        let filter = logbook_model::EventFilter {
            from: Some(from),
            ..Default::default()
        };
        let busiest = store
            .count_events(tenant, &filter, Some("ip_address"), BUSIEST_ADDRESSES)
            .await?;
        addresses.extend(busiest.into_iter().filter_map(|(ip, _)| ip));
    }
    let mut series = BTreeMap::new();
    for address in addresses {
        let Ok(ip) = address.parse::<logbook_model::filter::IpFilter>() else {
            continue;
        };
        let filter = logbook_model::EventFilter {
            ip: Some(ip),
            from: Some(first),
            ..Default::default()
        };
        let counts = store.hourly_counts(tenant, &filter).await?;
        series.insert(address, counts.into_iter().collect());
    }
    Ok(series)
}
