//! The embedded default: one SQLite file in WAL mode, one writer, a few readers.
//!
//! rusqlite is synchronous, so every call runs on tokio's blocking pool. Writes share one
//! connection behind a mutex (SQLite allows one writer); reads take a connection from a
//! small pool, and WAL lets them run beside the writer.

mod access;
mod alerts;
mod anonymize;
mod audit;
mod checkpoints;
mod dashboards;
mod dialect;
mod documents;
mod error_groups;
mod events;
mod functions;
mod hours;
mod ingest;
mod limits;
mod migrations;
mod monitors;
mod retention;
mod rollups;
mod storage;
mod summary;
mod tenants;

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use logbook_model::{
    EventQuery, EventType, FailedAuthQuery, TenantId, pseudonym::Pseudonymizer,
    retention::RetentionRules,
};
use rusqlite::Connection;

use crate::{
    ArchivedGroup, EventGroup, Lease, LifecycleStore, OpenMode, OpenOptions, Result, StorageReport,
    StoreError, Upkeep,
};

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    read_time_limit: std::time::Duration,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    checkpoints: checkpoints::BackgroundCheckpoints,
}

/// Idle read connections kept open.
const READER_POOL: usize = 4;

impl SqliteStore {
    /// Opens the database file and applies pending migrations. With [`OpenMode::Create`]
    /// a missing file is made, private to this user (its directory 0700, the file 0600;
    /// SQLite gives its WAL and shared-memory files the file's mode).
    pub async fn open(path: &Path, options: OpenOptions) -> Result<Self> {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || {
            match options.mode {
                OpenMode::Create => crate::files::create_private(&path)?,
                OpenMode::Existing if !path.exists() => {
                    return Err(StoreError::Unavailable(format!(
                        "there is no store at {} (run `logbook serve` or `logbook migrate` to make one, or pass --data-dir or --database-url)",
                        path.display()
                    )));
                }
                OpenMode::Existing => {}
            }
            crate::files::warn_if_loose(&crate::files::database_files(&path));
            let mut writer = connect(&path)?;
            migrations::apply(&mut writer)?;
            refresh_statistics(&writer)?;
            writer
                .pragma_update(None, "wal_autocheckpoint", checkpoints::WRITER_CHECKPOINT_PAGES)
                .map_err(db("configuring checkpoints"))?;
            let checkpoints = checkpoints::BackgroundCheckpoints::start(&path)?;
            Ok(Self {
                inner: Arc::new(Inner {
                    path,
                    read_time_limit: options.read_time_limit,
                    writer: Mutex::new(writer),
                    readers: Mutex::new(Vec::new()),
                    checkpoints,
                }),
            })
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("sqlite open task failed: {e}")))?
    }

    /// How a `/logs` query would be answered (`EXPLAIN QUERY PLAN`), to check that its
    /// filter finds an index.
    pub async fn plan_of_list(&self, tenant: TenantId, query: &EventQuery) -> Result<Vec<String>> {
        let query = query.clone();
        self.read(move |conn| {
            let (sql, params) = events::list_statement(conn, tenant, &query)?;
            events::plan(conn, &sql, params)
        })
        .await
    }

    /// How a failed-auth count would be answered.
    pub async fn plan_of_failed_auth(
        &self,
        tenant: TenantId,
        query: &FailedAuthQuery,
    ) -> Result<Vec<String>> {
        let query = query.clone();
        self.read(move |conn| {
            let (sql, params) = summary::failed_auth_statement(conn, tenant, &query)?;
            events::plan(conn, &sql, params)
        })
        .await
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        blocking(move || {
            let pooled = inner.readers.lock().expect("reader pool lock").pop();
            let mut conn = match pooled {
                Some(conn) => conn,
                None => connect(&inner.path)?,
            };
            let result = limits::with_time_limit(&mut conn, inner.read_time_limit, f);
            let mut readers = inner.readers.lock().expect("reader pool lock");
            if readers.len() < READER_POOL {
                readers.push(conn);
            }
            result
        })
        .await
    }

    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        blocking(move || {
            let mut conn = inner.writer.lock().expect("writer lock");
            let result = f(&mut conn);
            drop(conn);
            inner.checkpoints.after_commit();
            result
        })
        .await
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Unavailable(format!("sqlite task failed: {e}")))?
}

fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)
        .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
    // FULL: a 2xx from ingest promises the batch survives a power cut, so each commit
    // syncs the WAL. Group commit keeps the cost per batch, not per event.
    // Page cache and memory map sized for a store of tens of millions of events: index
    // inserts land on pages all over each index, and re-reading them from the file for
    // every batch is what slows ingest as the store fills. Both are ceilings, taken only
    // as the store grows; the map is of the file the kernel caches anyway.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 10000;
         PRAGMA cache_size = -262144;
         PRAGMA mmap_size = 4294967296;",
    )
    .map_err(|e| StoreError::Unavailable(format!("cannot configure {}: {e}", path.display())))?;
    functions::register(&conn).map_err(|e| StoreError::database("registering SQL functions", e))?;
    Ok(conn)
}

/// Analyzes the tables whose statistics are missing or stale, reading a bounded sample
/// of each index, so cheap however large the store has grown. Without statistics the
/// planner walks the primary key rather than the index a filter needs.
fn refresh_statistics(conn: &Connection) -> Result<()> {
    conn.execute_batch("PRAGMA optimize = 0x10002")
        .map_err(db("refreshing the planner's statistics"))
}

/// Shorthand for mapping rusqlite errors with what was being done. A read stopped at
/// its time limit is reported as such.
fn db(context: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::OperationInterrupted) => StoreError::Unavailable(format!(
            "{context}: the read took longer than its time limit"
        )),
        _ => StoreError::database(context, e),
    }
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn from_micros(value: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| StoreError::Invalid(format!("stored time {value} is out of range")))
}

#[async_trait]
impl LifecycleStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn event_groups_before(
        &self,
        before: NaiveDate,
        tenant: Option<TenantId>,
    ) -> Result<Vec<EventGroup>> {
        self.read(move |conn| retention::groups_before(conn, before, tenant))
            .await
    }

    async fn storage(&self) -> Result<StorageReport> {
        self.read(storage::report).await
    }

    async fn retention_rules(&self) -> Result<Vec<(TenantId, RetentionRules)>> {
        self.read(retention::rules).await
    }

    async fn set_retention_rules(&self, tenant: TenantId, rules: &RetentionRules) -> Result<()> {
        let rules = rules.clone();
        self.write(move |conn| retention::set_rules(conn, tenant, &rules))
            .await
    }

    async fn remove_events(&self, archived: &[ArchivedGroup]) -> Result<u64> {
        let mut removed = 0;
        for group in archived {
            // One short transaction per batch: the writer is free between them.
            for batch in group.keys.chunks(crate::REMOVE_BATCH as usize) {
                let (tenant, keys) = (group.group.tenant, batch.to_vec());
                removed += self
                    .write(move |conn| retention::remove_keys(conn, tenant, &keys))
                    .await?;
            }
            if group.group.holds_errors() {
                let (tenant, (from, to)) = (group.group.tenant, group.group.window());
                self.write(move |conn| retention::forget_occurrences(conn, tenant, from, to))
                    .await?;
            }
        }
        Ok(removed)
    }

    async fn maintain(&self) -> Result<Upkeep> {
        self.write(|conn| refresh_statistics(conn)).await?;
        Ok(Upkeep {
            statistics_refreshed: true,
            ..Upkeep::default()
        })
    }

    async fn ping(&self) -> Result<()> {
        self.read(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(db("ping"))
        })
        .await
    }

    async fn try_lead(&self, _job: &'static str) -> Result<Option<Box<dyn Lease>>> {
        // One SQLite file has one server: it always leads.
        Ok(Some(Box::new(Alone)))
    }

    async fn purge_idempotency_keys(&self, before: DateTime<Utc>) -> Result<u64> {
        self.write(move |conn| ingest::purge(conn, before)).await
    }

    async fn oldest_access(&self, tenant: TenantId) -> Result<Option<DateTime<Utc>>> {
        self.read(move |conn| access::oldest(conn, tenant)).await
    }

    async fn remove_access(
        &self,
        tenant: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        expected: u64,
    ) -> Result<u64> {
        let found = self
            .read(move |conn| access::count(conn, tenant, from, to))
            .await?;
        if found != expected {
            return Ok(0);
        }
        let mut removed = 0;
        // One batch per write: ingest waits behind one batch at most.
        loop {
            let batch = self
                .write(move |conn| access::remove_batch(conn, tenant, from, to))
                .await?;
            removed += batch;
            if batch < crate::RANGE_REMOVE_BATCH as u64 {
                return Ok(removed);
            }
        }
    }

    async fn anonymize(
        &self,
        event_type: &EventType,
        before: DateTime<Utc>,
        pseudonymizer: &Pseudonymizer,
    ) -> Result<u64> {
        let (event_type, pseudonymizer) = (event_type.clone(), pseudonymizer.clone());
        self.write(move |conn| anonymize::anonymize(conn, &event_type, before, &pseudonymizer))
            .await
    }
}

/// The lease of a store no other server shares.
struct Alone;

#[async_trait]
impl Lease for Alone {
    async fn release(self: Box<Self>) {}
}
