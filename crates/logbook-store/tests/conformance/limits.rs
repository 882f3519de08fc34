//! Every read has a time limit, so a read whose request gave up does not go on holding a
//! connection (PostgreSQL `statement_timeout`, an SQLite progress handler).

use std::{sync::Arc, time::Duration};

use logbook_model::{EventFilter, EventQuery, TenantId};
use logbook_store::{OpenOptions, Store, StoreError, StoreLocation, testing};

use crate::support::{append, event, minutes_ago};

async fn a_read_past_its_limit_stops(location: StoreLocation) {
    let limited = OpenOptions {
        read_time_limit: Duration::from_millis(1),
        ..Default::default()
    };
    let store: Arc<dyn Store> = logbook_store::open_with(&location, limited).await.unwrap();
    let tenant = TenantId::new();
    let events: Vec<_> = (0..60_000)
        .map(|i| {
            let mut e = event(tenant, "REQUEST", minutes_ago(i % 600));
            e.message = Some(format!("message number {i}"));
            e
        })
        .collect();
    for chunk in events.chunks(10_000) {
        append(&store, chunk).await;
    }
    // A search no index helps: every message is read.
    let query = EventQuery {
        filter: EventFilter {
            message_contains: Some("no such text".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let stopped = store.list_events(tenant, &query).await.unwrap_err();
    assert!(
        matches!(&stopped, StoreError::Unavailable(reason) if reason.contains("time limit")),
        "{stopped}"
    );
    // With the usual limit the same read answers.
    let store = logbook_store::open(&location).await.unwrap();
    assert!(
        store
            .list_events(tenant, &query)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reads_stop_at_their_time_limit() {
    a_read_past_its_limit_stops(StoreLocation::Sqlite(testing::temp_sqlite_path())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_reads_stop_at_their_time_limit() {
    a_read_past_its_limit_stops(StoreLocation::Postgres(testing::fresh_postgres_url().await)).await;
}

/// Background jobs run on one server at a time: while one store holds a job's lease, a
/// second store on the same database is refused it; released (or its connection gone),
/// the lease passes on. Other jobs are not held up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_one_server_leads_each_job() {
    let location = StoreLocation::Postgres(testing::fresh_postgres_url().await);
    let (one, two) = (
        logbook_store::open(&location).await.unwrap(),
        logbook_store::open(&location).await.unwrap(),
    );
    let lease = one
        .try_lead("maintenance")
        .await
        .unwrap()
        .expect("the first asks first");
    assert!(
        two.try_lead("maintenance").await.unwrap().is_none(),
        "one leader at a time"
    );
    let other = two
        .try_lead("checkpoints")
        .await
        .unwrap()
        .expect("another job is free");
    lease.release().await;
    let taken = two
        .try_lead("maintenance")
        .await
        .unwrap()
        .expect("released, it passes on");
    drop(taken);
    // Dropped unreleased, its connection closes and the lock goes with it.
    let mut again = None;
    for _ in 0..50 {
        again = one.try_lead("maintenance").await.unwrap();
        if again.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "a dropped lease is given up");
    other.release().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_one_server_always_leads() {
    let store = logbook_store::open(&StoreLocation::Sqlite(testing::temp_sqlite_path()))
        .await
        .unwrap();
    let first = store.try_lead("maintenance").await.unwrap();
    assert!(first.is_some());
    assert!(
        store.try_lead("maintenance").await.unwrap().is_some(),
        "one file, one server"
    );
}
