use std::sync::Arc;

use chrono::{Duration, Utc};
use logbook_model::{
    TenantId,
    summary::{DAY, HOUR, first_bucket},
};
use logbook_store::Store;

use crate::support::{append, at, event, minutes_ago, now};

/// Every answer the rollups give for one tenant, to compare before and after a change.
async fn answers(store: &Arc<dyn Store>, t: TenantId) -> String {
    let since = now() - Duration::hours(24);
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        store.summary(t, since).await.unwrap(),
        store.hourly(t, since).await.unwrap(),
        store
            .daily(t, first_bucket(now(), Duration::days(3), DAY))
            .await
            .unwrap(),
        store.by_country(t, since).await.unwrap(),
        store.action_stats(t).await.unwrap(),
    )
}

pub async fn a_late_event_corrects_its_bucket_and_compaction_changes_no_answer(
    store: Arc<dyn Store>,
) {
    let t = TenantId::new();
    let request = |at, user: &str, ms| {
        let mut e = event(t, "REQUEST", at);
        (e.user_id, e.response_time_ms, e.geo_country) =
            (Some(user.into()), Some(ms), Some("US".into()));
        e
    };
    // Three batches into the same hour, so the hour holds several delta rows.
    append(&store, &[request(minutes_ago(5), "u1", 10)]).await;
    append(&store, &[request(minutes_ago(6), "u2", 20)]).await;
    append(&store, &[request(minutes_ago(7), "u1", 30)]).await;
    let mut action = event(t, "ACTION", minutes_ago(8));
    (
        action.event_subtype,
        action.provider,
        action.status,
        action.response_time_ms,
    ) = (
        Some("charge".into()),
        Some("stripe".into()),
        Some("success".into()),
        Some(100),
    );
    let mut timeout = action.clone();
    (timeout.id, timeout.status, timeout.response_time_ms) =
        (uuid::Uuid::now_v7(), Some("timeout".into()), Some(300));
    append(&store, &[action, timeout]).await;

    let hour = |b: &logbook_model::summary::HourlyBucket| {
        (
            b.bucket,
            b.event_type.clone(),
            b.total_count,
            b.unique_users,
        )
    };
    let hourly = store.hourly(t, at("2026-03-10T00:00:00Z")).await.unwrap();
    assert_eq!(
        hourly.iter().map(hour).collect::<Vec<_>>(),
        vec![
            (at("2026-03-10T12:00:00Z"), "ACTION".into(), 2, 0),
            (at("2026-03-10T12:00:00Z"), "REQUEST".into(), 3, 2),
        ]
    );
    let stats = store.action_stats(t).await.unwrap();
    assert_eq!(
        (
            stats.total_actions,
            stats.successful_actions,
            stats.timed_out_actions,
            stats.average_execution_time_ms
        ),
        (2, 1, 1, 200.0)
    );
    assert_eq!(stats.actions_by_provider.get("stripe"), Some(&2));

    // An event arriving late, for an hour already rolled up, lands in that hour.
    append(&store, &[request(at("2026-03-10T09:15:00Z"), "u3", 40)]).await;
    let hourly = store.hourly(t, at("2026-03-10T00:00:00Z")).await.unwrap();
    assert_eq!(
        hourly.iter().map(hour).next_back(),
        Some((at("2026-03-10T09:00:00Z"), "REQUEST".into(), 1, 1))
    );
    let before = answers(&store, t).await;
    let summary = store.summary(t, now() - Duration::hours(24)).await.unwrap();
    assert_eq!((summary.total_requests, summary.unique_users), (4, 3));

    let compacted = store.compact_rollups().await.unwrap();
    assert!(
        compacted.rows_merged > compacted.rows_written,
        "{compacted:?}"
    );
    assert_eq!(answers(&store, t).await, before);
    let again = store.compact_rollups().await.unwrap();
    assert_eq!((again.rows_merged, again.rows_written), (0, 0));
    assert_eq!(answers(&store, t).await, before);
}

pub async fn rollups_outlive_their_events_until_their_own_age(store: Arc<dyn Store>) {
    let t = TenantId::new();
    // Hourly rows are kept a year, daily rows three.
    let old = Utc::now() - Duration::days(400);
    let recent = Utc::now() - Duration::days(300);
    append(
        &store,
        &[event(t, "REQUEST", old), event(t, "REQUEST", recent)],
    )
    .await;
    let since = old - Duration::days(1);
    assert_eq!(store.hourly(t, since).await.unwrap().len(), 2);
    let expired = store.compact_rollups().await.unwrap();
    assert!(expired.rows_expired >= 1, "{expired:?}");
    let hourly = store
        .hourly(t, first_bucket(Utc::now(), Duration::days(401), HOUR))
        .await
        .unwrap();
    assert_eq!(
        hourly.iter().map(|b| b.total_count).collect::<Vec<_>>(),
        vec![1]
    );
    let daily = store
        .daily(t, first_bucket(Utc::now(), Duration::days(401), DAY))
        .await
        .unwrap();
    assert_eq!(daily.len(), 2, "daily rows stay three years");
}

/// Writers, compaction and readers at once: every answer read counts a prefix of what
/// was appended, and once the writers stop it counts all of it.
pub async fn answers_stay_true_while_writers_and_compaction_run(store: Arc<dyn Store>) {
    const WRITERS: usize = 4;
    const BATCHES: usize = 25;
    const PER_BATCH: usize = 40;
    let t = TenantId::new();
    let since = Utc::now() - Duration::hours(2);
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for b in 0..BATCHES {
                    let events: Vec<_> = (0..PER_BATCH)
                        .map(|i| {
                            let mut e = event(t, "REQUEST", Utc::now() - Duration::minutes(30));
                            e.user_id = Some(format!("user-{w}-{b}-{i}"));
                            e
                        })
                        .collect();
                    append(&store, &events).await;
                }
            })
        })
        .collect();
    let compactor = {
        let store = store.clone();
        tokio::spawn(async move {
            for _ in 0..20 {
                store.compact_rollups().await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        })
    };
    let mut last = 0;
    while !writers.iter().all(|w| w.is_finished()) {
        let seen = store.summary(t, since).await.unwrap().total_requests;
        assert!(seen >= last, "an answer went back from {last} to {seen}");
        assert_eq!(
            seen % PER_BATCH as i64,
            0,
            "a batch was half counted: {seen}"
        );
        last = seen;
        tokio::task::yield_now().await;
    }
    for w in writers {
        w.await.unwrap();
    }
    compactor.await.unwrap();
    store.compact_rollups().await.unwrap();
    let summary = store.summary(t, since).await.unwrap();
    let all = (WRITERS * BATCHES * PER_BATCH) as i64;
    assert_eq!(summary.total_requests, all);
    // 4,000 distinct users: the sketch's estimate, within its error bound.
    let error = (summary.unique_users - all).abs() as f64 / all as f64;
    assert!(error < 0.05, "{} users estimated", summary.unique_users);
}
