//! Seed 000's dashboard answers — getSummary, the hourly and daily rollups, the country
//! breakdown — and the time windows they cover.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// Seed 000 getSummary, snake_case.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub total_requests: i64,
    pub successful_logins: i64,
    pub auth_failures: i64,
    pub rate_limit_hits: i64,
    pub unique_users: i64,
    pub unique_ips: i64,
}

/// Seed 000 logs_hourly, one row per (hour, event_type).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HourlyBucket {
    pub bucket: DateTime<Utc>,
    pub event_type: String,
    pub total_count: i64,
    pub success_count: i64,
    pub failure_count: i64,
    pub unique_users: i64,
    pub unique_ips: i64,
    pub avg_response_time_ms: Option<f64>,
    pub max_response_time_ms: Option<i32>,
}

/// Seed 001's performance metrics of one endpoint (service, method and route template),
/// over one bucket or a whole window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EndpointMetrics {
    /// The bucket's start; absent for a whole window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<DateTime<Utc>>,
    pub service: Option<String>,
    pub method: Option<String>,
    pub endpoint: String,
    pub request_count: i64,
    /// Requests answered with a server error (5xx) or that the application said failed.
    pub error_count: i64,
    /// Errors as a percentage of requests.
    pub error_rate: f64,
    /// Requests per second over the bucket or window.
    pub throughput: f64,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub mean: Option<f64>,
    pub min: Option<i32>,
    pub max: Option<i32>,
}

/// How endpoint metrics are bucketed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointStep {
    /// One row per endpoint for the whole window.
    Window,
    FiveMinutes,
    Hour,
}

/// Seed 000 logs_daily, one row per (day, event_type, geo_country).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DailyBucket {
    pub bucket: DateTime<Utc>,
    pub event_type: String,
    pub geo_country: Option<String>,
    pub total_count: i64,
    pub success_count: i64,
    pub failure_count: i64,
    pub unique_users: i64,
    pub unique_ips: i64,
    pub unique_fingerprints: i64,
    pub avg_response_time_ms: Option<f64>,
    pub p95_response_time_ms: Option<f64>,
}

/// Events per country (seed 000's geographic breakdown).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CountryCount {
    pub geo_country: Option<String>,
    pub count: i64,
    pub failures: i64,
}

/// Seed 004's action statistics, over the tenant's ACTION events.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ActionStats {
    pub total_actions: i64,
    pub successful_actions: i64,
    /// Status `failure`, as seed 004's SQL counts it.
    pub failed_actions: i64,
    /// Status `timeout`, counted apart.
    pub timed_out_actions: i64,
    /// 0 when there are no actions.
    pub average_execution_time_ms: f64,
    pub actions_by_type: std::collections::BTreeMap<String, i64>,
    pub actions_by_provider: std::collections::BTreeMap<String, i64>,
}

/// Seed 001's integration health, from a provider's ACTION events in the window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IntegrationHealth {
    pub provider: String,
    /// `healthy` (≥ 95 % of actions succeeded), `degraded` (≥ 80 %) or `down`.
    pub status: &'static str,
    pub total_events: i64,
    pub success_rate: f64,
    /// Mean of the actions that carried a response time; `None` when none did.
    pub avg_response_time_ms: Option<f64>,
    pub error_count: i64,
    pub errors_last_hour: i64,
    pub last_success: Option<DateTime<Utc>>,
    pub last_seen: DateTime<Utc>,
    /// Seed 001's integration event metrics: the same per action type (subtype).
    pub events: Vec<IntegrationEvents>,
}

/// One provider's actions of one type in the window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IntegrationEvents {
    pub event_type: Option<String>,
    pub total_events: i64,
    pub successful_events: i64,
    pub success_rate: f64,
    pub avg_response_time_ms: Option<f64>,
}

/// What a provider's success rate says of it.
pub fn integration_status(success_rate: f64) -> &'static str {
    if success_rate >= 95.0 {
        "healthy"
    } else if success_rate >= 80.0 {
        "degraded"
    } else {
        "down"
    }
}

pub const HOUR: i64 = 3600;
pub const DAY: i64 = 24 * HOUR;

/// The first bucket start (a multiple of `width_secs` since the epoch, UTC) at or after
/// `now - span`: seed 000 keeps buckets whose start lies inside the window, so a partial
/// oldest bucket is left out rather than shown with half its events.
pub fn first_bucket(now: DateTime<Utc>, span: Duration, width_secs: i64) -> DateTime<Utc> {
    let start = (now - span).timestamp_micros();
    let width = width_secs * 1_000_000;
    let aligned = start.div_euclid(width) * width;
    let first = if aligned == start {
        aligned
    } else {
        aligned + width
    };
    DateTime::from_timestamp_micros(first).expect("bucket start in range")
}

/// PostgreSQL's `percentile_cont`: linear interpolation between the two nearest ranks.
pub fn percentile_cont(sorted: &[f64], fraction: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let position = fraction * last as f64;
    let lower = position.floor() as usize;
    let upper = position.ceil() as usize;
    Some(sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bucket_rounds_up_to_the_next_boundary() {
        let now: DateTime<Utc> = "2026-11-21T12:30:00Z".parse().unwrap();
        assert_eq!(
            first_bucket(now, Duration::hours(2), HOUR).to_rfc3339(),
            "2026-11-21T11:00:00+00:00"
        );
        let on: DateTime<Utc> = "2026-11-21T12:00:00Z".parse().unwrap();
        assert_eq!(
            first_bucket(on, Duration::hours(2), HOUR).to_rfc3339(),
            "2026-11-21T10:00:00+00:00"
        );
        assert_eq!(
            first_bucket(now, Duration::days(1), DAY).to_rfc3339(),
            "2026-11-21T00:00:00+00:00"
        );
    }

    #[test]
    fn percentile_matches_postgres() {
        assert_eq!(percentile_cont(&[], 0.95), None);
        assert_eq!(percentile_cont(&[7.0], 0.95), Some(7.0));
        // percentile_cont(0.95) over 1..=10 is 9.55 in PostgreSQL.
        let values: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((percentile_cont(&values, 0.95).unwrap() - 9.55).abs() < 1e-9);
    }
}
