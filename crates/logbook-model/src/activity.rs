//! User activity (seed 001 3.13, 3.14, 5.7): who is active, which features are used,
//! sessions, and monthly retention cohorts.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Seed 001 5.7 "active users statistics": distinct users over four windows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActiveUsers {
    pub active_last_hour: i64,
    pub active_last_24h: i64,
    pub active_last_7d: i64,
    pub active_last_30d: i64,
}

/// Seed 001 5.7 "feature usage statistics".
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeatureUsage {
    pub module: Option<String>,
    pub feature: Option<String>,
    pub unique_users: i64,
    pub total_uses: i64,
    pub avg_duration_seconds: Option<f64>,
}

/// Seed 001 tb_user_session, derived from a session's activity.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Session {
    pub session_id: String,
    pub user_id: Option<String>,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub duration_seconds: i64,
    pub page_views: i64,
    pub actions: i64,
    pub events: i64,
}

/// Seed 001 5.7 "user retention cohort analysis": users by the month of their first
/// activity, and how many were active again the month after.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cohort {
    pub cohort_month: String,
    pub cohort_size: i64,
    pub retained_month_1: i64,
    pub retention_rate_month_1: f64,
}

/// The month after `YYYY-MM`.
fn next_month(month: &str) -> Option<String> {
    let (year, m) = month.split_once('-')?;
    let (year, m): (i32, u32) = (year.parse().ok()?, m.parse().ok()?);
    Some(if m == 12 {
        format!("{:04}-01", year + 1)
    } else {
        format!("{year:04}-{:02}", m + 1)
    })
}

/// Cohorts from each user's active months, the newest cohort first.
pub fn cohorts(user_months: impl IntoIterator<Item = (String, String)>) -> Vec<Cohort> {
    let mut months: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (user, month) in user_months {
        months.entry(user).or_default().insert(month);
    }
    let mut by_cohort: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for active in months.values() {
        let Some(first) = active.first() else {
            continue;
        };
        let retained = next_month(first).is_some_and(|next| active.contains(&next));
        let entry = by_cohort.entry(first.clone()).or_default();
        entry.0 += 1;
        entry.1 += i64::from(retained);
    }
    by_cohort
        .into_iter()
        .rev()
        .map(|(cohort_month, (size, retained))| Cohort {
            cohort_month,
            cohort_size: size,
            retained_month_1: retained,
            retention_rate_month_1: (retained as f64 * 10_000.0 / size as f64).round() / 100.0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(rows: &[(&str, &str)]) -> Vec<(String, String)> {
        rows.iter()
            .map(|(u, m)| (u.to_string(), m.to_string()))
            .collect()
    }

    #[test]
    fn cohorts_count_first_months_and_the_month_after() {
        let found = cohorts(pairs(&[
            ("a", "2026-11"),
            ("a", "2026-12"),
            ("b", "2026-11"),
            ("b", "2027-01"), // not the month after: not retained
            ("c", "2026-12"),
            ("c", "2027-01"), // across the year
            ("d", "2026-12"),
        ]));
        assert_eq!(
            found,
            vec![
                Cohort {
                    cohort_month: "2026-12".into(),
                    cohort_size: 2,
                    retained_month_1: 1,
                    retention_rate_month_1: 50.0
                },
                Cohort {
                    cohort_month: "2026-11".into(),
                    cohort_size: 2,
                    retained_month_1: 1,
                    retention_rate_month_1: 50.0
                },
            ]
        );
        assert_eq!(next_month("2026-12").as_deref(), Some("2027-01"));
        assert_eq!(
            cohorts(pairs(&[
                ("a", "2026-01"),
                ("b", "2026-01"),
                ("c", "2026-01"),
                ("a", "2026-02")
            ]))[0]
                .retention_rate_month_1,
            33.33
        );
    }
}
