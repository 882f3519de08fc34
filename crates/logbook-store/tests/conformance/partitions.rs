//! PostgreSQL only: day partitions are made by maintenance, ahead of time, and never by
//! ingest; an event whose day has none waits in the default partition until maintenance
//! gives it one.

use std::collections::BTreeSet;

use chrono::{Days, NaiveDate, Utc};
use logbook_model::TenantId;
use logbook_store::{
    ArchivedGroup, EventStore, IdempotencyRecord, LifecycleStore, WriteItem,
    postgres::{DAYS_AHEAD, PgStore, partition_days},
    testing,
};

use crate::{audit::audit_events, support::event};

async fn count(client: &deadpool_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_runs_no_ddl_and_maintenance_gives_each_day_its_partition() {
    let url = testing::fresh_postgres_url().await;
    let store = PgStore::connect(&url, Default::default()).await.unwrap();
    let other = PgStore::connect(&url, Default::default()).await.unwrap();
    let client = store.client().await.unwrap();
    // From here on any DDL in this database fails, naming the command.
    client
        .batch_execute(
            "CREATE FUNCTION refuse_ddl() RETURNS event_trigger LANGUAGE plpgsql AS
                 $$ BEGIN RAISE EXCEPTION 'DDL ran during ingest: %', tg_tag; END $$;
             CREATE EVENT TRIGGER refuse_ddl ON ddl_command_start EXECUTE FUNCTION refuse_ddl();",
        )
        .await
        .unwrap();
    let refused = client
        .batch_execute("CREATE TABLE probe ()")
        .await
        .unwrap_err();
    assert!(
        format!("{refused:?}").contains("DDL ran during ingest"),
        "{refused:?}"
    );

    let tenant = TenantId::new();
    let now = Utc::now();
    let days_ago = |n: u64| now.checked_sub_days(Days::new(n)).unwrap();
    let events = vec![
        event(tenant, "REQUEST", now),
        event(tenant, "REQUEST", days_ago(3)),
        // Older than any partition maintenance makes ahead: the default partition's.
        event(tenant, "REQUEST", days_ago(40)),
        event(tenant, "AUTH_FAILURE", days_ago(41)),
    ];
    let mut item = WriteItem::events(tenant, events.clone());
    item.audit = audit_events(tenant, 2);
    item.idempotency = Some(IdempotencyRecord {
        key: "batch-1".into(),
        response: "{}".into(),
    });
    store.append(vec![item].into(), now).await.unwrap();
    let stray = "SELECT count(*) FROM events_default";
    assert_eq!(count(&client, stray).await, 2);
    assert_eq!(count(&client, "SELECT count(*) FROM events").await, 4);

    client
        .batch_execute("DROP EVENT TRIGGER refuse_ddl")
        .await
        .unwrap();
    // Two servers maintaining at once: each day is made once, each event moved once.
    let (first, second) = tokio::join!(store.maintain(), other.maintain());
    let (first, second) = (first.unwrap(), second.unwrap());
    let mut made: Vec<NaiveDate> = [first.partitions_made, second.partitions_made].concat();
    made.sort();
    let day = |n: u64| days_ago(n).date_naive();
    assert_eq!(made, [day(41), day(40)]);
    assert_eq!(first.events_moved + second.events_moved, 2);
    assert_eq!(count(&client, stray).await, 0);

    for e in &events {
        let partition: String = client
            .query_one(
                "SELECT tableoid::regclass::text FROM events WHERE id = $1",
                &[&e.id],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            partition,
            format!("events_p{}", e.created_at.format("%Y%m%d")),
            "each event is in its own day's partition"
        );
    }
    let days = partition_days(&client).await.unwrap();
    let ahead: BTreeSet<NaiveDate> = (0..=DAYS_AHEAD)
        .map(|i| now.date_naive().checked_add_days(Days::new(i)).unwrap())
        .collect();
    assert!(ahead.is_subset(&days), "{DAYS_AHEAD} days ahead: {days:?}");
    let again = store.maintain().await.unwrap();
    assert!(again.partitions_made.is_empty() && again.events_moved == 0);
}

/// A day whose every row is past its time goes as a whole partition; a day where some
/// rows stay loses only the others, row by row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_drops_whole_days_and_deletes_within_kept_ones() {
    let store = PgStore::connect(&testing::fresh_postgres_url().await, Default::default())
        .await
        .unwrap();
    let client = store.client().await.unwrap();
    let tenant = TenantId::new();
    let now = Utc::now();
    let days_ago = |n: u64| now.checked_sub_days(Days::new(n)).unwrap();
    let events = vec![
        event(tenant, "REQUEST", days_ago(60)),
        event(tenant, "REQUEST", days_ago(60)),
        event(tenant, "REQUEST", days_ago(50)),
        event(tenant, "AUTH_LOGIN", days_ago(50)),
    ];
    store
        .append(vec![WriteItem::events(tenant, events.clone())].into(), now)
        .await
        .unwrap();
    store.maintain().await.unwrap();
    let day = |n: u64| days_ago(n).date_naive();
    let before = partition_days(&client).await.unwrap();
    assert!(before.contains(&day(60)) && before.contains(&day(50)));

    // REQUEST is past its time; the login of 50 days ago is kept.
    let groups: Vec<_> = store
        .event_groups_before(day(40), None)
        .await
        .unwrap()
        .into_iter()
        .filter(|g| g.event_type.as_str() == "REQUEST")
        .map(|group| ArchivedGroup {
            keys: events
                .iter()
                .filter(|e| e.event_type.as_str() == "REQUEST")
                .filter(|e| e.created_at.date_naive() == group.day)
                .map(|e| (e.created_at, e.id))
                .collect(),
            group,
        })
        .collect();
    assert_eq!(groups.iter().map(|g| g.keys.len()).sum::<usize>(), 3);
    // A reader holding the day 60 days ago: the drop cannot have its locks within its
    // bound, so that day's rows go one by one and its partition stays for now.
    let mut reader = store.client().await.unwrap();
    let holding = reader.transaction().await.unwrap();
    holding
        .batch_execute(&format!(
            "LOCK TABLE events_p{} IN ACCESS SHARE MODE",
            day(60).format("%Y%m%d")
        ))
        .await
        .unwrap();
    let (sixty, fifty): (Vec<_>, Vec<_>) = groups.into_iter().partition(|g| g.group.day == day(60));
    assert_eq!(store.remove_events(&sixty).await.unwrap(), 2);
    holding.rollback().await.unwrap();
    assert!(partition_days(&client).await.unwrap().contains(&day(60)));
    assert_eq!(store.remove_events(&fifty).await.unwrap(), 1);
    // Archived again with nothing in it, the emptied day goes as a whole now.
    let empty = ArchivedGroup {
        group: logbook_store::EventGroup {
            tenant,
            day: day(60),
            event_type: logbook_model::EventType::parse("REQUEST").unwrap(),
            rows: 0,
        },
        keys: vec![],
    };
    assert_eq!(store.remove_events(&[empty]).await.unwrap(), 0);
    let after = partition_days(&client).await.unwrap();
    assert!(!after.contains(&day(60)), "a wholly expired day is dropped");
    assert!(after.contains(&day(50)), "a day with a kept row stays");
    assert_eq!(
        count(&client, "SELECT count(*) FROM events").await,
        1,
        "the login, kept 90 days"
    );
}
