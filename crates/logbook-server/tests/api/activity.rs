//! Seed 001's user activity (5.7) over HTTP, answers computed by hand: active users per
//! window, feature usage, sessions and monthly cohorts, from ACTIVITY events.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::support::{Backend, TestApp};

fn activity(user: &str, at: chrono::DateTime<Utc>, kind: &str, extra: Value) -> Value {
    let mut event = json!({"event_type": "ACTIVITY", "event_subtype": kind, "user_id": user,
                           "created_at": at.to_rfc3339()});
    for (k, v) in extra.as_object().unwrap() {
        event[k] = v.clone();
    }
    event
}

/// The first day of the month `back` months before this one, at 10:00 UTC.
fn month_start(back: i32) -> chrono::DateTime<Utc> {
    let today = Utc::now().date_naive();
    let index = today.year() * 12 + today.month0() as i32 - back;
    NaiveDate::from_ymd_opt(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap()
        .and_utc()
}

pub async fn user_activity_answers_seed_001_queries(backend: Backend) {
    let app = TestApp::with_config(backend, |c| c.ingest.backfill = Duration::days(400)).await;
    let now = Utc::now();
    let feature = |module: &str, name: &str, duration: Value| json!({"metadata": {"module": module, "feature": name, "duration": duration}});
    let events = vec![
        activity(
            "a",
            now - Duration::minutes(10),
            "page-view",
            json!({"session_id": "s1"}),
        ),
        activity(
            "a",
            now - Duration::minutes(9),
            "feature-use",
            json!({"session_id": "s1", "metadata": {"module": "reports", "feature": "export", "duration": 30}}),
        ),
        activity(
            "a",
            now - Duration::minutes(8),
            "action",
            json!({"session_id": "s1"}),
        ),
        activity(
            "b",
            now - Duration::hours(3),
            "feature-use",
            json!({"session_id": "s2", "metadata": {"module": "reports", "feature": "export", "duration": 10}}),
        ),
        activity(
            "b",
            now - Duration::hours(3) + Duration::minutes(1),
            "feature-use",
            json!({"session_id": "s2", "metadata": {"module": "billing", "feature": "invoice", "duration": 5}}),
        ),
        activity(
            "c",
            now - Duration::days(2),
            "feature-use",
            feature("reports", "export", json!("long")),
        ),
        json!({"event_type": "REQUEST", "user_id": "d", "created_at": (now - Duration::days(40)).to_rfc3339()}),
        activity("e", month_start(2), "page-view", json!({})),
        activity("e", month_start(1), "page-view", json!({})),
        activity("f", month_start(2), "page-view", json!({})),
    ];
    let posted = app.post_events(&app.admin, json!(events).to_string()).await;
    assert_eq!(posted.body["accepted"], 10, "{}", posted.body);

    let users = app.get("/api/v1/activity/users", &app.admin).await;
    assert_eq!(
        users.body,
        json!({"active_last_hour": 1, "active_last_24h": 2, "active_last_7d": 3, "active_last_30d": 3}),
        "a; a, b; a, b, c; d is older"
    );

    let features = app
        .get("/api/v1/activity/features?days=30", &app.admin)
        .await;
    assert_eq!(
        features.body["items"],
        json!([
            {"module": "reports", "feature": "export", "unique_users": 3, "total_uses": 3,
             "avg_duration_seconds": 20.0},
            {"module": "billing", "feature": "invoice", "unique_users": 1, "total_uses": 1,
             "avg_duration_seconds": 5.0},
        ]),
        "c's duration is not a number, so it is not averaged"
    );

    let sessions = app
        .get("/api/v1/activity/sessions?days=7", &app.admin)
        .await;
    let summary: Vec<Value> = sessions.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            json!([
                s["session_id"],
                s["user_id"],
                s["duration_seconds"],
                s["page_views"],
                s["actions"],
                s["events"]
            ])
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            json!(["s1", "a", 120, 1, 1, 3]),
            json!(["s2", "b", 60, 0, 0, 2])
        ]
    );

    let cohorts = app
        .get("/api/v1/activity/cohorts?months=12", &app.admin)
        .await;
    let month = month_start(2).format("%Y-%m").to_string();
    let row = cohorts.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cohort_month"] == month.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("no cohort {month}: {}", cohorts.body));
    assert_eq!(
        row,
        json!({"cohort_month": month, "cohort_size": 2, "retained_month_1": 1,
               "retention_rate_month_1": 50.0}),
        "e came back the month after, f did not"
    );
}
