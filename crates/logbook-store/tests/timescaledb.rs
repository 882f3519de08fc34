//! What only the hypertable layout does, on the TimescaleDB harness (PGlite with
//! TimescaleDB, see scripts/timescaledb): compression that changes no answer, seed 000's
//! continuous aggregates agreeing with the rollups, retention dropping whole chunks.
//! The conformance suite runs there too (its `timescaledb::` tests).

use chrono::{DateTime, Duration, DurationRound, Utc};
use logbook_model::{Event, EventQuery, EventType, TenantId};
use logbook_store::{
    ArchivedGroup, EventStore, KeyStore, LifecycleStore, OpenOptions, RollupStore, WriteItem,
    postgres::{Layout, LayoutChoice, PgStore},
    testing,
};

async fn hypertable_store() -> PgStore {
    let options = testing::harness_options(LayoutChoice::Hypertable);
    PgStore::connect(&testing::start_timescaledb_harness(), options)
        .await
        .unwrap()
}

/// The first column of every row of a query, as text.
async fn texts(store: &PgStore, sql: &str) -> Vec<String> {
    let client = store.client().await.unwrap();
    let rows = client.query(sql, &[]).await.unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

/// Requests and failed logins spread over the last `days` days, an hour apart.
fn events(tenant: TenantId, days: i64) -> Vec<Event> {
    let now = Utc::now().duration_trunc(Duration::hours(1)).unwrap();
    (0..days * 24)
        .map(|h| {
            let event_type = if h % 5 == 0 { "AUTH_LOGIN" } else { "REQUEST" };
            let mut e = Event::new(
                tenant,
                EventType::parse(event_type).unwrap(),
                now - Duration::hours(h) - Duration::minutes(h % 50),
            );
            e.success = h % 5 != 0;
            e.user_id = Some(format!("user-{}", h % 7));
            e.response_time_ms = Some((h * 37 % 900) as i32);
            e
        })
        .collect()
}

async fn append(store: &PgStore, events: &[Event]) {
    let tenant = events[0].tenant_id;
    store
        .append(
            vec![WriteItem::events(tenant, events.to_vec())].into(),
            Utc::now() - Duration::hours(24),
        )
        .await
        .unwrap();
}

async fn all_ids(store: &PgStore, tenant: TenantId) -> Vec<uuid::Uuid> {
    let query = EventQuery {
        limit: 1000,
        ..Default::default()
    };
    let mut ids: Vec<_> = store
        .list_events(tenant, &query)
        .await
        .unwrap()
        .items
        .iter()
        .map(|e| e.id)
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_a_hypertable_compressed_by_policy_without_changing_an_answer() {
    let store = hypertable_store().await;
    assert_eq!(store.layout(), Layout::Hypertable);
    let tenant = store.create_tenant("compressed").await.unwrap().id;
    append(&store, &events(tenant, 12)).await;
    let since = Utc::now() - Duration::days(12);
    let before = (
        all_ids(&store, tenant).await,
        store.summary(tenant, since).await.unwrap(),
        store.daily(tenant, since).await.unwrap(),
    );
    {
        let jobs = texts(
            &store,
            "SELECT proc_name || ' ' || hypertable_name FROM timescaledb_information.jobs
              WHERE hypertable_name IS NOT NULL ORDER BY 1",
        )
        .await;
        assert_eq!(
            jobs,
            [
                "policy_compression events",
                "policy_refresh_continuous_aggregate events_daily",
                "policy_refresh_continuous_aggregate events_hourly"
            ]
        );
        let segmented = texts(
            &store,
            "SELECT attname::text FROM timescaledb_information.compression_settings
              WHERE hypertable_name = 'events' AND segmentby_column_index IS NOT NULL
              ORDER BY segmentby_column_index",
        )
        .await;
        assert_eq!(segmented, ["tenant_id", "event_type"]);
        // What the policy would do on its schedule, done now.
        let client = store.client().await.unwrap();
        let compressed = client
            .query(
                "SELECT compress_chunk(c) FROM show_chunks('events', older_than => INTERVAL '7 days') c",
                &[],
            )
            .await
            .unwrap();
        assert!(
            compressed.len() >= 4,
            "{} chunks compressed",
            compressed.len()
        );
    }
    let after = (
        all_ids(&store, tenant).await,
        store.summary(tenant, since).await.unwrap(),
        store.daily(tenant, since).await.unwrap(),
    );
    assert_eq!(before, after, "compression changes no answer");
    let report = store.storage().await.unwrap();
    let compression = report.compression.expect("compression figures");
    assert!(compression.compressed_chunks >= 4, "{compression:?}");
    assert!(
        compression.bytes_after < compression.bytes_before,
        "{compression:?}"
    );
    assert!(
        report
            .indexes
            .iter()
            .any(|i| i.index == "events_user_id" && i.bytes > 0),
        "chunk indexes are counted under the hypertable's: {:?}",
        report.indexes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuous_aggregates_agree_with_the_hourly_and_daily_answers() {
    let store = hypertable_store().await;
    let tenant = store.create_tenant("aggregated").await.unwrap().id;
    append(&store, &events(tenant, 3)).await;
    let since = (Utc::now() - Duration::days(2))
        .duration_trunc(Duration::days(1))
        .unwrap();
    let hourly = store.hourly(tenant, since).await.unwrap();
    let daily = store.daily(tenant, since).await.unwrap();
    let client = store.client().await.unwrap();
    for view in ["events_hourly", "events_daily"] {
        // Outside a transaction, as TimescaleDB requires of a refresh.
        client
            .batch_execute(&format!(
                "CALL refresh_continuous_aggregate('{view}', NULL, NULL)"
            ))
            .await
            .unwrap();
    }
    let from_view: Vec<(DateTime<Utc>, String, i64, i64, i64, i64)> = client
        .query(
            "SELECT bucket, event_type, total_count, success_count, failure_count, unique_users
               FROM events_hourly WHERE tenant_id = $1 AND bucket >= $2
              ORDER BY bucket DESC, event_type",
            &[&tenant.0, &since],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
        .collect();
    let mut from_rollups: Vec<_> = hourly
        .iter()
        .map(|b| {
            (
                b.bucket,
                b.event_type.clone(),
                b.total_count,
                b.success_count,
                b.failure_count,
                b.unique_users,
            )
        })
        .collect();
    from_rollups.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    assert!(!from_view.is_empty());
    assert_eq!(from_view, from_rollups);
    let daily_totals: Vec<(DateTime<Utc>, i64)> = client
        .query(
            "SELECT bucket, SUM(total_count)::bigint FROM events_daily
              WHERE tenant_id = $1 AND bucket >= $2 GROUP BY bucket ORDER BY bucket DESC",
            &[&tenant.0, &since],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut from_daily = std::collections::BTreeMap::<DateTime<Utc>, i64>::new();
    for b in &daily {
        *from_daily.entry(b.bucket).or_default() += b.total_count;
    }
    let from_daily: Vec<_> = from_daily.into_iter().rev().collect();
    assert_eq!(daily_totals, from_daily);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_drops_a_wholly_archived_day_as_its_chunk() {
    let store = hypertable_store().await;
    let tenant = store.create_tenant("expiring").await.unwrap().id;
    let old_day = Utc::now().date_naive() - chrono::Days::new(20);
    let noon = old_day.and_hms_opt(12, 0, 0).unwrap().and_utc();
    let old: Vec<Event> = (0..3)
        .map(|i| {
            Event::new(
                tenant,
                EventType::parse("REQUEST").unwrap(),
                noon + Duration::minutes(i),
            )
        })
        .collect();
    let recent = Event::new(tenant, EventType::parse("REQUEST").unwrap(), Utc::now());
    append(&store, &old).await;
    append(&store, std::slice::from_ref(&recent)).await;
    let chunks = || async {
        let client = store.client().await.unwrap();
        let n: i64 = client
            .query_one("SELECT COUNT(*) FROM show_chunks('events')", &[])
            .await
            .unwrap()
            .get(0);
        n
    };
    assert_eq!(chunks().await, 2);
    let groups = store
        .event_groups_before(old_day.succ_opt().unwrap(), None)
        .await
        .unwrap();
    assert_eq!(groups.len(), 1);
    let archived = ArchivedGroup {
        group: groups[0].clone(),
        keys: old.iter().map(|e| (e.created_at, e.id)).collect(),
    };
    assert_eq!(store.remove_events(&[archived]).await.unwrap(), 3);
    assert_eq!(
        chunks().await,
        1,
        "the old day's chunk is gone, not emptied"
    );
    assert_eq!(all_ids(&store, tenant).await, vec![recent.id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_layout_is_chosen_once_and_kept() {
    let partitioned = testing::start_timescaledb_harness();
    let first = reopen(&partitioned, LayoutChoice::Partitions).await;
    assert_eq!(
        first.layout(),
        Layout::Partitions,
        "chosen though TimescaleDB is there"
    );
    drop(first);
    let again = reopen(&partitioned, LayoutChoice::Auto).await;
    assert_eq!(
        again.layout(),
        Layout::Partitions,
        "a store keeps its layout"
    );

    let hypertable = testing::start_timescaledb_harness();
    let first = reopen(&hypertable, LayoutChoice::Auto).await;
    assert_eq!(
        first.layout(),
        Layout::Hypertable,
        "auto takes TimescaleDB when there"
    );
    drop(first);
    let again = reopen(&hypertable, LayoutChoice::Partitions).await;
    assert_eq!(again.layout(), Layout::Hypertable, "and keeps it");

    // A layout a later version recorded is not guessed at.
    again
        .client()
        .await
        .unwrap()
        .batch_execute("UPDATE schema_layout SET layout = 'columnar'")
        .await
        .unwrap();
    drop(again);
    let options = testing::harness_options(LayoutChoice::Auto);
    let refused = loop {
        match PgStore::connect(&hypertable, options).await {
            Err(logbook_store::StoreError::Unavailable(_)) => continue,
            Err(refused) => break refused,
            Ok(_) => panic!("an unknown layout was taken"),
        }
    };
    assert!(
        refused.to_string().contains("\"columnar\" is unknown"),
        "{refused}"
    );
}

async fn reopen(url: &str, layout: LayoutChoice) -> PgStore {
    let options = testing::harness_options(layout);
    // The harness serves one connection at a time: the one just closed may still be
    // going away (slowly on a busy machine), so a refused try is tried again.
    for _ in 0..5 {
        match PgStore::connect(url, options).await {
            Ok(store) => return store,
            Err(logbook_store::StoreError::Unavailable(_)) => continue,
            Err(other) => panic!("{other}"),
        }
    }
    panic!("the harness took no connection in five tries")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hypertable_without_timescaledb_is_refused_plainly() {
    let url = testing::fresh_postgres_url().await;
    let options = OpenOptions {
        layout: LayoutChoice::Hypertable,
        ..Default::default()
    };
    let refused = PgStore::connect(&url, options)
        .await
        .err()
        .expect("refused");
    assert!(
        refused
            .to_string()
            .contains("needs the timescaledb extension"),
        "{refused}"
    );
    let auto = PgStore::connect(&url, OpenOptions::default())
        .await
        .unwrap();
    assert_eq!(auto.layout(), Layout::Partitions);
}
