//! Hours that stand out: seed 000's anomaly detection. A series (events of one type per
//! hour, or failed logins per hour) is compared with itself over the window: an hour whose
//! count is above the window's mean by more than three standard deviations is anomalous.
//!
//! Unlike seed 000's SQL, hours without events count as zeros: a quiet week is the
//! baseline a burst is measured against, not something to leave out.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// How many standard deviations above the mean an hour must be.
pub const SIGMAS: f64 = 3.0;

/// One anomalous hour of one series.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Anomaly {
    pub series: String,
    pub hour: DateTime<Utc>,
    pub count: i64,
    /// The series' mean per hour over the window, and its sample standard deviation.
    pub mean: f64,
    pub stddev: f64,
    /// `mean + 3 × stddev`: what `count` exceeded.
    pub threshold: f64,
}

/// The anomalous hours of each series over `hours` (every hour of the window; an hour a
/// series does not name counts zero), newest first.
pub fn detect(
    hours: &[DateTime<Utc>],
    series: &BTreeMap<String, BTreeMap<DateTime<Utc>, i64>>,
) -> Vec<Anomaly> {
    if hours.len() < 2 {
        return Vec::new();
    }
    let n = hours.len() as f64;
    let mut found = Vec::new();
    for (name, counts) in series {
        let values: Vec<f64> = hours
            .iter()
            .map(|h| counts.get(h).copied().unwrap_or(0) as f64)
            .collect();
        let mean = values.iter().sum::<f64>() / n;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let stddev = variance.sqrt();
        let threshold = mean + SIGMAS * stddev;
        for (hour, value) in hours.iter().zip(&values) {
            if *value > threshold {
                found.push(Anomaly {
                    series: name.clone(),
                    hour: *hour,
                    count: *value as i64,
                    mean: round(mean),
                    stddev: round(stddev),
                    threshold: round(threshold),
                });
            }
        }
    }
    found.sort_by(|a, b| b.hour.cmp(&a.hour).then_with(|| a.series.cmp(&b.series)));
    found
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn hours(n: i64) -> Vec<DateTime<Utc>> {
        let start: DateTime<Utc> = "2026-12-01T00:00:00Z".parse().unwrap();
        (0..n).map(|i| start + Duration::hours(i)).collect()
    }

    #[test]
    fn a_burst_over_three_sigmas_is_found_and_quiet_hours_count() {
        let window = hours(168);
        let mut counts: BTreeMap<DateTime<Utc>, i64> =
            window.iter().take(48).map(|h| (*h, 2)).collect();
        counts.insert(window[100], 30);
        let series = BTreeMap::from([("auth_failures".to_owned(), counts)]);
        let found = detect(&window, &series);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].hour, found[0].count), (window[100], 30));
        // 126 events over 168 hours; the zeros are in the baseline.
        assert_eq!(found[0].mean, 0.75);
        // Σ(x - 0.75)² = 997.5 over 167 degrees of freedom (the sample deviation).
        assert_eq!((found[0].stddev, found[0].threshold), (2.44, 8.08));
    }

    #[test]
    fn a_steady_or_empty_series_has_no_anomaly() {
        let window = hours(24);
        let steady = window.iter().map(|h| (*h, 5)).collect();
        let series = BTreeMap::from([
            ("steady".to_owned(), steady),
            ("empty".to_owned(), BTreeMap::new()),
        ]);
        assert!(detect(&window, &series).is_empty());
        assert!(
            detect(&window[..1], &series).is_empty(),
            "one hour has no spread"
        );
    }

    #[test]
    fn a_short_window_needs_a_bigger_burst() {
        // Values 0 ×(n-1) and x: x sits above mean + 3σ only when the window is long
        // enough; with 10 hours, 0…0, 10 gives mean 1, σ √10 ≈ 3.16, threshold ≈ 10.49.
        let window = hours(10);
        let counts = BTreeMap::from([(window[9], 10)]);
        let series = BTreeMap::from([("s".to_owned(), counts)]);
        assert!(detect(&window, &series).is_empty());
        let window = hours(20);
        let counts = BTreeMap::from([(window[19], 10)]);
        let series = BTreeMap::from([("s".to_owned(), counts)]);
        assert_eq!(detect(&window, &series).len(), 1);
    }
}
