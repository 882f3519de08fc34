//! Monitors (seed 001 tb_service_health and tb_health_check_log): HTTP(S) checks of
//! addresses an admin configured, each result kept, a status and uptimes derived from
//! them, and the system's health over all of them (seed 001 5.1).

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Seed 001's service_status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceStatus {
    Healthy,
    Degraded,
    Down,
    Unknown,
}

impl ServiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Degraded => "degraded",
            Self::Down => "down",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for ServiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ServiceStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "healthy" => Self::Healthy,
            "degraded" => Self::Degraded,
            "down" => Self::Down,
            "unknown" => Self::Unknown,
            other => return Err(format!("{other:?} is not a service status")),
        })
    }
}

/// What is checked, how often, and what counts as healthy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Monitor {
    #[serde(default)]
    pub id: Uuid,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Seed 001's kinds: database, cache, email, storage, api (free text).
    #[serde(default = "api")]
    pub service_type: String,
    /// An `http://` or `https://` address, answered to `GET`.
    pub url: String,
    /// Seconds between checks.
    #[serde(default = "three_hundred")]
    pub check_interval: u32,
    /// Seconds a check may take.
    #[serde(default = "thirty")]
    pub timeout: u32,
    /// Attempts after a failed one before the check counts as down.
    #[serde(default = "three")]
    pub retry_count: u32,
    /// The status the answer must have; any 2xx when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_status: Option<u16>,
    /// A healthy answer slower than this (ms) counts as degraded.
    #[serde(default = "two_thousand")]
    pub degraded_after_ms: u32,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "epoch")]
    pub created_at: DateTime<Utc>,
    #[serde(default = "epoch")]
    pub updated_at: DateTime<Utc>,
}

fn api() -> String {
    "api".into()
}
fn three_hundred() -> u32 {
    300
}
fn thirty() -> u32 {
    30
}
fn three() -> u32 {
    3
}
fn two_thousand() -> u32 {
    2000
}
fn yes() -> bool {
    true
}
fn epoch() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH
}

pub const MIN_INTERVAL: u32 = 10;
pub const MAX_INTERVAL: u32 = 86_400;
pub const MAX_TIMEOUT: u32 = 60;
pub const MAX_RETRIES: u32 = 5;

impl Monitor {
    pub fn check(&self) -> Result<(), String> {
        let text_ok = |s: &str, most: usize| s.chars().count() <= most && !s.contains('\0');
        if self.name.trim().is_empty() || !text_ok(&self.name, 100) {
            return Err("name must be 1 to 100 characters".into());
        }
        if self
            .description
            .as_deref()
            .is_some_and(|d| !text_ok(d, 4096))
        {
            return Err("description must be at most 4096 characters".into());
        }
        if self.service_type.is_empty() || !text_ok(&self.service_type, 50) {
            return Err("service_type must be 1 to 50 characters".into());
        }
        if !(self.url.starts_with("http://") || self.url.starts_with("https://"))
            || !text_ok(&self.url, 500)
        {
            return Err(
                "url must be an http:// or https:// address of at most 500 characters".into(),
            );
        }
        if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&self.check_interval) {
            return Err(format!(
                "check_interval must be {MIN_INTERVAL} to {MAX_INTERVAL} seconds"
            ));
        }
        if !(1..=MAX_TIMEOUT).contains(&self.timeout) {
            return Err(format!("timeout must be 1 to {MAX_TIMEOUT} seconds"));
        }
        if self.retry_count > MAX_RETRIES {
            return Err(format!("retry_count must be at most {MAX_RETRIES}"));
        }
        if self
            .expected_status
            .is_some_and(|s| !(100..=599).contains(&s))
        {
            return Err("expected_status must be an HTTP status, 100 to 599".into());
        }
        Ok(())
    }

    /// What an answer (`Ok(status, ms)`) or a failure to get one means.
    pub fn judge(&self, answer: &Result<(u16, u32), String>) -> (ServiceStatus, Option<String>) {
        match answer {
            Err(error) => (ServiceStatus::Down, Some(error.clone())),
            Ok((status, ms)) => {
                let expected = match self.expected_status {
                    Some(wanted) => *status == wanted,
                    None => (200..300).contains(status),
                };
                if !expected {
                    (ServiceStatus::Down, Some(format!("answered {status}")))
                } else if *ms > self.degraded_after_ms {
                    (
                        ServiceStatus::Degraded,
                        Some(format!("answered in {ms} ms")),
                    )
                } else {
                    (ServiceStatus::Healthy, None)
                }
            }
        }
    }
}

/// One check's result (seed 001 tb_health_check_log).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub status: ServiceStatus,
    /// Milliseconds to the answer; none when there was none.
    pub response_time: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    pub checked_at: DateTime<Utc>,
}

/// A monitor as seed 001's service health shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceHealth {
    #[serde(flatten)]
    pub monitor: Monitor,
    pub status: ServiceStatus,
    pub last_check: Option<DateTime<Utc>>,
    /// Percent of checks not down, over each window; none without checks.
    pub uptime_24h: Option<f64>,
    pub uptime_7d: Option<f64>,
    pub uptime_30d: Option<f64>,
    /// Response-time percentiles over 24 hours (ms).
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub recent_checks: Vec<Check>,
}

/// Seed 001 5.1's overall system health.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SystemHealth {
    pub total_services: usize,
    pub healthy_count: usize,
    pub degraded_count: usize,
    pub down_count: usize,
    pub unknown_count: usize,
    pub avg_uptime_24h: Option<f64>,
}

impl SystemHealth {
    pub fn of(services: &[ServiceHealth]) -> Self {
        let count = |s: ServiceStatus| services.iter().filter(|h| h.status == s).count();
        let uptimes: Vec<f64> = services.iter().filter_map(|h| h.uptime_24h).collect();
        Self {
            total_services: services.len(),
            healthy_count: count(ServiceStatus::Healthy),
            degraded_count: count(ServiceStatus::Degraded),
            down_count: count(ServiceStatus::Down),
            unknown_count: count(ServiceStatus::Unknown),
            avg_uptime_24h: (!uptimes.is_empty())
                .then(|| round2(uptimes.iter().sum::<f64>() / uptimes.len() as f64)),
        }
    }
}

pub fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[u32], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(f64::from(sorted[rank.min(sorted.len()) - 1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn monitor() -> Monitor {
        serde_json::from_value(
            serde_json::json!({"name": "api", "url": "http://127.0.0.1:9/health"}),
        )
        .unwrap()
    }

    #[test]
    fn answers_are_judged_by_status_and_speed() {
        let m = monitor();
        assert_eq!(m.judge(&Ok((200, 10))).0, ServiceStatus::Healthy);
        assert_eq!(m.judge(&Ok((204, 2000))).0, ServiceStatus::Healthy);
        assert_eq!(m.judge(&Ok((200, 2001))).0, ServiceStatus::Degraded);
        assert_eq!(m.judge(&Ok((500, 10))).0, ServiceStatus::Down);
        assert_eq!(m.judge(&Ok((301, 10))).0, ServiceStatus::Down);
        assert_eq!(m.judge(&Err("refused".into())).0, ServiceStatus::Down);
        let wants_404 = Monitor {
            expected_status: Some(404),
            ..m
        };
        assert_eq!(wants_404.judge(&Ok((404, 10))).0, ServiceStatus::Healthy);
        assert_eq!(wants_404.judge(&Ok((200, 10))).0, ServiceStatus::Down);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), Some(50.0));
        assert_eq!(percentile(&values, 95.0), Some(95.0));
        assert_eq!(percentile(&values, 99.0), Some(99.0));
        assert_eq!(percentile(&[7], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn bounds_are_checked() {
        for (field, value) in [
            ("check_interval", serde_json::json!(5)),
            ("timeout", serde_json::json!(61)),
            ("retry_count", serde_json::json!(6)),
            ("url", serde_json::json!("file:///etc/passwd")),
            ("expected_status", serde_json::json!(99)),
        ] {
            let mut json = serde_json::to_value(monitor()).unwrap();
            json[field] = value;
            let m: Monitor = serde_json::from_value(json).unwrap();
            assert!(m.check().unwrap_err().contains(field), "{field}");
        }
    }

    #[test]
    fn a_monitor_takes_seed_001_defaults() {
        let m = monitor();
        assert_eq!(m.service_type, "api");
        assert_eq!((m.check_interval, m.timeout, m.retry_count), (300, 30, 3));
        assert_eq!(m.degraded_after_ms, 2000);
        assert!(m.enabled);
        m.check().unwrap();
        for status in [
            ServiceStatus::Healthy,
            ServiceStatus::Degraded,
            ServiceStatus::Down,
            ServiceStatus::Unknown,
        ] {
            assert_eq!(status.to_string().parse::<ServiceStatus>(), Ok(status));
        }
    }

    #[test]
    fn edges_of_the_bounds_are_accepted() {
        for (field, value) in [
            ("check_interval", serde_json::json!(10)),
            ("check_interval", serde_json::json!(86_400)),
            ("timeout", serde_json::json!(60)),
            ("retry_count", serde_json::json!(5)),
            ("expected_status", serde_json::json!(599)),
            ("name", serde_json::json!("n".repeat(100))),
            (
                "url",
                serde_json::json!(format!("https://{}", "x".repeat(492))),
            ),
        ] {
            let mut json = serde_json::to_value(monitor()).unwrap();
            json[field] = value;
            let m: Monitor = serde_json::from_value(json).unwrap();
            assert!(m.check().is_ok(), "{field}");
        }
        for (field, value) in [
            ("name", serde_json::json!(" ")),
            ("name", serde_json::json!("n".repeat(101))),
            ("service_type", serde_json::json!("")),
            ("description", serde_json::json!("d".repeat(4097))),
            (
                "url",
                serde_json::json!(format!("https://{}", "x".repeat(493))),
            ),
            ("check_interval", serde_json::json!(86_401)),
            ("timeout", serde_json::json!(0)),
            ("expected_status", serde_json::json!(600)),
        ] {
            let mut json = serde_json::to_value(monitor()).unwrap();
            json[field] = value;
            let m: Monitor = serde_json::from_value(json).unwrap();
            let error = m.check().unwrap_err();
            assert!(error.contains(field), "{field}: {error}");
        }
    }

    #[test]
    fn system_health_counts_statuses_and_averages_uptime() {
        let service = |status, uptime_24h| ServiceHealth {
            monitor: monitor(),
            status,
            last_check: None,
            uptime_24h,
            uptime_7d: None,
            uptime_30d: None,
            p50: None,
            p95: None,
            p99: None,
            recent_checks: Vec::new(),
        };
        let health = SystemHealth::of(&[
            service(ServiceStatus::Healthy, Some(100.0)),
            service(ServiceStatus::Degraded, Some(90.0)),
            service(ServiceStatus::Down, Some(10.0)),
            service(ServiceStatus::Unknown, None),
        ]);
        assert_eq!(
            health,
            SystemHealth {
                total_services: 4,
                healthy_count: 1,
                degraded_count: 1,
                down_count: 1,
                unknown_count: 1,
                avg_uptime_24h: Some(66.67),
            }
        );
        assert_eq!(SystemHealth::of(&[]).avg_uptime_24h, None);
        assert_eq!(round2(2.0 / 3.0), 0.67);
        assert_eq!(round2(12.345), 12.35);
    }
}
