//! Fresh storage for tests: a new SQLite file or a new PostgreSQL database per call.
//!
//! PostgreSQL comes from `LOGBOOK_TEST_DATABASE_URL` (scripts/test sets it). Without it,
//! a local server on 127.0.0.1:5432 is tried; a test that cannot reach PostgreSQL fails,
//! it is never skipped.

use std::path::PathBuf;

use logbook_model::{Event, EventFilter, EventQuery, EventType};
use tokio_postgres::NoTls;
use uuid::Uuid;

use crate::Store;

pub const DATABASE_PREFIX: &str = "logbook_test_";

/// The server tests create their databases on.
pub fn postgres_base_url() -> String {
    match std::env::var("LOGBOOK_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "CI=true but LOGBOOK_TEST_DATABASE_URL is not set: run the tests through scripts/test"
            )
        }
        _ => "postgres://postgres@127.0.0.1:5432/postgres".into(),
    }
}

/// Creates an empty database and returns its URL.
pub async fn fresh_postgres_url() -> String {
    let base = postgres_base_url();
    let (client, connection) = tokio_postgres::connect(&base, NoTls).await.unwrap_or_else(|e| {
        panic!("PostgreSQL tests need a server: cannot connect to {base}: {e} (run scripts/test, which starts one)")
    });
    tokio::spawn(connection);
    let name = format!("{DATABASE_PREFIX}{}", Uuid::new_v4().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
    crate::location::with_database(&base, &name)
}

/// A path for a new SQLite file in a fresh temporary directory.
pub fn temp_sqlite_path() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("logbook-test-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir.join("logbook.db")
}

/// Every event of `event_type` in the operator tenant, page by page.
pub async fn operator_events(store: &dyn Store, event_type: &str) -> Vec<Event> {
    let tenant = store.tenant_by_name("default").await.unwrap().unwrap().id;
    let mut query = EventQuery {
        filter: EventFilter {
            event_type: Some(EventType::parse(event_type).unwrap()),
            ..Default::default()
        },
        limit: 1000,
        ..Default::default()
    };
    let mut events = Vec::new();
    loop {
        let page = store.list_events(tenant, &query).await.unwrap();
        events.extend(page.items);
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor.parse().unwrap()),
            None => return events,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            crate::location::with_database("postgres://u@h:5/db?sslmode=disable", "x"),
            "postgres://u@h:5/x?sslmode=disable"
        );
        assert_eq!(
            crate::location::with_database("postgresql://u@h", "x"),
            "postgresql://u@h/x"
        );
    }
}
