use std::sync::Arc;

use chrono::{Duration, DurationRound, Utc};
use logbook_model::{
    TenantId,
    summary::{DAY, EndpointStep, HOUR, first_bucket},
};
use logbook_store::Store;

use crate::support::{append, at, event, minutes_ago, now};

/// Every answer the rollups give for one tenant, to compare before and after a change.
async fn answers(store: &Arc<dyn Store>, t: TenantId) -> String {
    let since = now() - Duration::hours(24);
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        store
            .endpoints(t, since, EndpointStep::FiveMinutes)
            .await
            .unwrap(),
        store.endpoints(t, since, EndpointStep::Hour).await.unwrap(),
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

/// Seed 001's endpoint performance: requests grouped by service, method and route
/// template (the matched route when the application sent one, ids collapsed otherwise),
/// errors (5xx or failed), exact min and max, p50/p95/p99 as `percentile_cont` gives them,
/// per five minutes, per hour and over a window that starts mid-hour.
pub async fn endpoint_performance_by_route_template(store: Arc<dyn Store>) {
    let t = TenantId::new();
    // Real times, not the suite's fixed ones: five-minute rows are kept 90 days, and
    // compaction below would drop rows of a fixed day long past.
    let noon = Utc::now().duration_trunc(Duration::hours(1)).unwrap() - Duration::hours(1);
    let at = |text: &str| {
        let (minutes, seconds) = text.split_once(':').unwrap();
        noon + Duration::minutes(minutes.parse().unwrap())
            + Duration::seconds(seconds.parse().unwrap())
    };
    let request = |at, method: &str, path: &str, status: i16, ms: i32| {
        let mut e = event(t, "REQUEST", at);
        e.service = Some("shop".into());
        e.http_method = Some(method.into());
        e.request_path = Some(path.into());
        e.response_status_code = Some(status);
        e.response_time_ms = Some(ms);
        e
    };
    // 100 reads of one item each, 1 to 100 ms, in the five minutes from 12:20; every
    // tenth answered 500. Then two orders named by their matched route, one failed, and
    // an event with no path, which no endpoint counts.
    let mut events: Vec<_> = (1..=100)
        .map(|i| {
            let status = if i % 10 == 0 { 500 } else { 200 };
            request(
                at("20:00") + Duration::seconds(i64::from(i)),
                "GET",
                &format!("/items/{i}?full=1"),
                status,
                i,
            )
        })
        .collect();
    for (at, success) in [(at("-20:00"), true), (at("25:00"), false)] {
        let mut order = request(at, "POST", "/orders/ord_9f8e7d6c5b4a3921", 201, 40);
        order.metadata = Some(serde_json::json!({"route": "/orders/{order}"}));
        order.success = success;
        events.push(order);
    }
    events.push(event(t, "AUTH_LOGIN", at("27:00")));
    append(&store, &events).await;

    let window = store
        .endpoints(t, at("-30:00"), EndpointStep::Window)
        .await
        .unwrap();
    let items = &window[0];
    assert_eq!(
        (
            items.service.as_deref(),
            items.method.as_deref(),
            items.endpoint.as_str()
        ),
        (Some("shop"), Some("GET"), "/items/{id}")
    );
    assert_eq!(
        (items.request_count, items.error_count, items.error_rate),
        (100, 10, 10.0)
    );
    assert_eq!(
        (items.p50, items.p95, items.p99),
        (Some(50.5), Some(95.05), Some(99.01))
    );
    assert_eq!(
        (items.min, items.max, items.mean),
        (Some(1), Some(100), Some(50.5))
    );
    let orders = &window[1];
    assert_eq!(
        (
            orders.endpoint.as_str(),
            orders.request_count,
            orders.error_count
        ),
        ("/orders/{order}", 2, 1)
    );
    assert_eq!(window.len(), 2, "{window:?}");

    let five = store
        .endpoints(t, at("0:00"), EndpointStep::FiveMinutes)
        .await
        .unwrap();
    let shape = |m: &logbook_model::summary::EndpointMetrics| {
        (m.bucket.unwrap(), m.endpoint.clone(), m.request_count)
    };
    assert_eq!(
        five.iter().map(shape).collect::<Vec<_>>(),
        vec![
            (at("25:00"), "/orders/{order}".into(), 1),
            (at("20:00"), "/items/{id}".into(), 100),
        ]
    );
    assert_eq!(five[1].throughput, 100.0 / 300.0);
    let hourly = store
        .endpoints(t, at("-60:00"), EndpointStep::Hour)
        .await
        .unwrap();
    assert_eq!(
        hourly.iter().map(shape).collect::<Vec<_>>(),
        vec![
            (at("0:00"), "/items/{id}".into(), 100),
            (at("0:00"), "/orders/{order}".into(), 1),
            (at("-60:00"), "/orders/{order}".into(), 1),
        ]
    );

    // Compaction merges rows and changes no answer.
    let since = at("-60:00");
    let answers = async || {
        let mut all = Vec::new();
        for step in [EndpointStep::FiveMinutes, EndpointStep::Hour] {
            all.push(store.endpoints(t, since, step).await.unwrap());
        }
        all
    };
    let before = answers().await;
    assert_eq!(before[0].iter().map(|m| m.request_count).sum::<i64>(), 102);
    store.compact_rollups().await.unwrap();
    assert_eq!(answers().await, before);

    // Past 90 days an hour keeps its figures but not its five-minute slots.
    let old_hour = noon - Duration::days(100);
    let old = vec![
        request(old_hour + Duration::minutes(7), "GET", "/items/5", 200, 30),
        request(old_hour + Duration::minutes(52), "GET", "/items/6", 500, 10),
    ];
    append(&store, &old).await;
    let since = old_hour - Duration::hours(1);
    let hours = async || {
        store
            .endpoints(t, since, EndpointStep::Hour)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.bucket == Some(old_hour))
            .collect::<Vec<_>>()
    };
    let slots = async || {
        store
            .endpoints(t, since, EndpointStep::FiveMinutes)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.bucket.is_some_and(|b| b < noon - Duration::days(90)))
            .count()
    };
    let hour_before = hours().await;
    assert_eq!(
        (
            hour_before.len(),
            hour_before[0].request_count,
            hour_before[0].error_count
        ),
        (1, 2, 1)
    );
    assert_eq!(slots().await, 2);
    store.compact_rollups().await.unwrap();
    assert_eq!(hours().await, hour_before, "the hour as it was");
    assert_eq!(slots().await, 0, "its slots gone");
}
