//! A store that held events before rollups existed gets them from its migration: the
//! dashboard answers after the upgrade are those the events give.

use chrono::{Duration, Utc};
use logbook_model::{Event, EventType, TenantId};
use logbook_store::{StoreLocation, WriteItem, testing};

fn events(tenant: TenantId) -> Vec<Event> {
    (0..50)
        .map(|i| {
            let ty = if i % 5 == 0 {
                "AUTH_FAILURE"
            } else {
                "REQUEST"
            };
            let mut e = Event::new(
                tenant,
                EventType::parse(ty).unwrap(),
                Utc::now() - Duration::minutes(i),
            );
            e.success = ty == "REQUEST";
            e.user_id = Some(format!("user-{}", i % 7));
            e.response_time_ms = Some(i as i32);
            e
        })
        .collect()
}

/// Stores events, takes the store back to the schema before rollups (dropping what came
/// after them too), reopens it, and checks the rebuilt answers.
async fn rebuilds(location: StoreLocation, downgrade: impl AsyncFnOnce()) {
    let tenant = TenantId::new();
    let since = Utc::now() - Duration::hours(2);
    let store = logbook_store::open(&location).await.unwrap();
    store
        .append(
            vec![WriteItem::events(tenant, events(tenant))].into(),
            Utc::now(),
        )
        .await
        .unwrap();
    let before = store.summary(tenant, since).await.unwrap();
    assert_eq!((before.total_requests, before.auth_failures), (40, 10));
    drop(store);
    downgrade().await;
    let store = logbook_store::open(&location).await.unwrap();
    assert_eq!(store.summary(tenant, since).await.unwrap(), before);
    assert_eq!(
        store
            .hourly(tenant, since)
            .await
            .unwrap()
            .iter()
            .map(|b| b.total_count)
            .sum::<i64>(),
        50
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rolls_up_the_events_it_held_before_rollups() {
    let path = testing::temp_sqlite_path();
    let file = path.clone();
    rebuilds(StoreLocation::Sqlite(path), async move || {
        let conn = rusqlite::Connection::open(&file).unwrap();
        conn.execute_batch("DROP TABLE rollups; DROP TABLE audit_cuts; DROP TABLE error_groups; DROP TABLE error_occurrences; DROP TABLE error_group_values; DROP TABLE alert_rules; DROP TABLE alert_rule_defaults; DROP TABLE alerts; DROP TABLE alert_notifications; DROP TABLE monitors; DROP TABLE monitor_checks; DROP TABLE console_sessions; DROP TABLE dashboards; DELETE FROM schema_migrations WHERE version >= 5")
            .unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rolls_up_the_events_it_held_before_rollups() {
    let url = testing::fresh_postgres_url().await;
    let downgrade_url = url.clone();
    rebuilds(StoreLocation::Postgres(url), async move || {
        let (client, connection) = tokio_postgres::connect(&downgrade_url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .batch_execute("DROP TABLE rollups; DROP TABLE audit_cuts; DROP TABLE error_groups, error_occurrences, error_group_values; DROP TABLE alert_rules, alert_rule_defaults, alerts, alert_notifications, monitors, monitor_checks, console_sessions, dashboards; DELETE FROM schema_migrations WHERE version >= 7")
            .await
            .unwrap();
    })
    .await;
}
