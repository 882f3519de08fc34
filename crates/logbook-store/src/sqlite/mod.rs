//! The embedded default: one SQLite file in WAL mode, one writer, a few readers.
//!
//! rusqlite is synchronous, so every call runs on tokio's blocking pool. Writes share one
//! connection behind a mutex (SQLite allows one writer); reads take a connection from a
//! small pool, and WAL lets them run beside the writer.

mod access;
mod anonymize;
mod audit;
mod events;
mod functions;
mod ingest;
mod limits;
mod migrations;
mod summary;
mod tenants;

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use logbook_model::{
    Event, EventQuery, EventType, FailedAuthQuery, Page, TenantId,
    access::{AccessPage, AccessQuery},
    audit::{
        ActorSummary, AuditEvent, AuditQuery,
        chain::Verification,
        checkpoint::{Checkpoint, Keyring},
    },
    pseudonym::Pseudonymizer,
    summary::{ActionStats, CountryCount, DailyBucket, HourlyBucket, Summary},
};
use rusqlite::Connection;
use uuid::Uuid;

use crate::{
    ApiKey, ItemOutcome, Lease, NewApiKey, OpenMode, OpenOptions, Result, Store, StoreError,
    Tenant, WriteItem,
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
            Ok(Self {
                inner: Arc::new(Inner {
                    path,
                    read_time_limit: options.read_time_limit,
                    writer: Mutex::new(writer),
                    readers: Mutex::new(Vec::new()),
                }),
            })
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("sqlite open task failed: {e}")))?
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
            f(&mut conn)
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
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 10000;",
    )
    .map_err(|e| StoreError::Unavailable(format!("cannot configure {}: {e}", path.display())))?;
    functions::register(&conn).map_err(|e| StoreError::database("registering SQL functions", e))?;
    Ok(conn)
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
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
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

    async fn append(
        &self,
        items: Arc<Vec<WriteItem>>,
        idempotency_since: DateTime<Utc>,
    ) -> Result<Vec<ItemOutcome>> {
        self.write(move |conn| ingest::append(conn, &items, idempotency_since))
            .await
    }

    async fn idempotent_response(
        &self,
        tenant: TenantId,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<String>> {
        let key = key.to_owned();
        self.read(move |conn| ingest::idempotent_response(conn, tenant, &key, since))
            .await
    }

    async fn purge_idempotency_keys(&self, before: DateTime<Utc>) -> Result<u64> {
        self.write(move |conn| ingest::purge(conn, before)).await
    }

    async fn list_events(&self, tenant: TenantId, query: &EventQuery) -> Result<Page> {
        let query = query.clone();
        self.read(move |conn| events::list(conn, tenant, &query))
            .await
    }

    async fn get_event(&self, tenant: TenantId, id: Uuid) -> Result<Option<Event>> {
        self.read(move |conn| events::get(conn, tenant, id)).await
    }

    async fn summary(&self, tenant: TenantId, since: DateTime<Utc>) -> Result<Summary> {
        self.read(move |conn| summary::summary(conn, tenant, since))
            .await
    }

    async fn hourly(
        &self,
        tenant: TenantId,
        first_bucket: DateTime<Utc>,
    ) -> Result<Vec<HourlyBucket>> {
        self.read(move |conn| summary::hourly(conn, tenant, first_bucket))
            .await
    }

    async fn daily(
        &self,
        tenant: TenantId,
        first_bucket: DateTime<Utc>,
    ) -> Result<Vec<DailyBucket>> {
        self.read(move |conn| summary::daily(conn, tenant, first_bucket))
            .await
    }

    async fn by_country(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<Vec<CountryCount>> {
        self.read(move |conn| summary::by_country(conn, tenant, since))
            .await
    }

    async fn count_failed_auth(&self, tenant: TenantId, query: &FailedAuthQuery) -> Result<i64> {
        let query = query.clone();
        self.read(move |conn| summary::count_failed_auth(conn, tenant, &query))
            .await
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

    async fn verify_audit(
        &self,
        tenant: TenantId,
        from_seq: i64,
        to_seq: Option<i64>,
        witnessed: Vec<Checkpoint>,
    ) -> Result<Verification> {
        self.read(move |conn| audit::verify(conn, tenant, from_seq, to_seq, witnessed))
            .await
    }

    async fn audit_range(
        &self,
        tenant: TenantId,
        from_seq: i64,
        to_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditEvent>> {
        self.read(move |conn| audit::range(conn, tenant, from_seq, to_seq, limit))
            .await
    }

    async fn audit_head(&self, tenant: TenantId) -> Result<(i64, String)> {
        self.read(move |conn| audit::head(conn, tenant)).await
    }

    async fn search_audit(&self, tenant: TenantId, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        let query = query.clone();
        self.read(move |conn| audit::search(conn, tenant, &query))
            .await
    }

    async fn actor_summary(&self, tenant: TenantId, actor_id: &str) -> Result<ActorSummary> {
        let actor_id = actor_id.to_owned();
        self.read(move |conn| audit::actor_summary(conn, tenant, &actor_id))
            .await
    }

    async fn action_stats(&self, tenant: TenantId) -> Result<ActionStats> {
        self.read(move |conn| summary::action_stats(conn, tenant))
            .await
    }

    async fn audit_heads(&self) -> Result<Vec<(TenantId, i64, String)>> {
        self.read(audit::heads).await
    }

    async fn add_checkpoint(&self, checkpoint: Checkpoint) -> Result<()> {
        self.write(move |conn| audit::add_checkpoint(conn, &checkpoint))
            .await
    }

    async fn checkpoints(&self, tenant: TenantId) -> Result<Vec<Checkpoint>> {
        self.read(move |conn| audit::checkpoints(conn, tenant))
            .await
    }

    async fn trust_signing_key(&self, key_id: &str) -> Result<()> {
        let key_id = key_id.to_owned();
        self.write(move |conn| audit::trust_signing_key(conn, &key_id))
            .await
    }

    async fn retire_signing_key(&self, key_id: &str, at: DateTime<Utc>) -> Result<bool> {
        let key_id = key_id.to_owned();
        self.write(move |conn| audit::retire_signing_key(conn, &key_id, at))
            .await
    }

    async fn keyring(&self) -> Result<Keyring> {
        self.read(audit::keyring).await
    }

    async fn list_access(&self, tenant: TenantId, query: &AccessQuery) -> Result<AccessPage> {
        let query = query.clone();
        self.read(move |conn| access::list(conn, tenant, &query))
            .await
    }

    async fn create_tenant(&self, name: &str) -> Result<Tenant> {
        let name = name.to_owned();
        self.write(move |conn| tenants::create_tenant(conn, &name))
            .await
    }

    async fn tenant_by_name(&self, name: &str) -> Result<Option<Tenant>> {
        let name = name.to_owned();
        self.read(move |conn| tenants::tenant_by_name(conn, &name))
            .await
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        self.read(tenants::list_tenants).await
    }

    async fn create_api_key(&self, key: NewApiKey) -> Result<ApiKey> {
        self.write(move |conn| tenants::create_api_key(conn, key))
            .await
    }

    async fn api_key_by_hash(&self, hash: &[u8; 32]) -> Result<Option<ApiKey>> {
        let hash = *hash;
        self.read(move |conn| tenants::api_key_by_hash(conn, &hash))
            .await
    }

    async fn list_api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>> {
        self.read(move |conn| tenants::list_api_keys(conn, tenant))
            .await
    }

    async fn revoke_api_key(&self, tenant: TenantId, id: Uuid) -> Result<Option<ApiKey>> {
        self.write(move |conn| tenants::revoke_api_key(conn, tenant, id))
            .await
    }

    async fn record_key_use(&self, uses: Vec<(Uuid, DateTime<Utc>)>) -> Result<()> {
        self.write(move |conn| tenants::record_key_use(conn, &uses))
            .await
    }

    async fn key_changes(&self) -> Result<i64> {
        self.read(tenants::key_changes).await
    }
}

/// The lease of a store no other server shares.
struct Alone;

#[async_trait]
impl Lease for Alone {
    async fn release(self: Box<Self>) {}
}
