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
