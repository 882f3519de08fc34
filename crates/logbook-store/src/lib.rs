//! Logbook's storage: the [`Store`] traits, one per resource, implemented by an embedded
//! SQLite backend (the default) and a PostgreSQL backend (production). Each backend owns
//! its SQL and its migrations; the conformance suite in `tests/` runs every behaviour on both.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use logbook_model::{
    Event, Scopes, TenantId, access::AccessRecord, audit::AuditEvent, error_groups::ErrorOccurrence,
};
use uuid::Uuid;

pub mod postgres;
pub mod sqlite;

mod activity;
pub mod alerts;
pub mod archive;
mod columns;
pub use columns::AUDIT_COLUMNS;
mod conditions;
pub mod dashboards;
mod dialect;
mod error;
mod error_groups;
pub mod files;
mod integrations;
mod location;
pub mod monitors;
mod pattern;
mod retention_rows;
pub mod rollups;
mod statements;
mod store;
pub use store::{
    AlertStore, AuditStore, DashboardStore, ErrorStore, EventStore, KeyStore, LifecycleStore,
    MonitorStore, RollupStore, Store,
};
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{StoreError, with_causes};
pub use location::{OpenMode, StoreLocation, with_database};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Another server committed the tenant's events created between `first` and `last`
/// (inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitNote {
    pub tenant: TenantId,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

/// What one request writes, all or nothing: events, audit events appended to the
/// tenant's chain in order, and records of its own reads.
#[derive(Clone, Debug)]
pub struct WriteItem {
    pub tenant: TenantId,
    pub events: Vec<Event>,
    /// Linked onto the tenant's chain by the store (seq, prev_hash and hash set there).
    pub audit: Vec<AuditEvent>,
    pub access: Vec<AccessRecord>,
    /// The error groups its ERROR events count into (one per such event).
    pub errors: Vec<ErrorOccurrence>,
    /// When set, the item is stored only if this key is new for the tenant.
    pub idempotency: Option<IdempotencyRecord>,
}

impl WriteItem {
    pub fn events(tenant: TenantId, events: Vec<Event>) -> Self {
        Self {
            tenant,
            events,
            audit: Vec::new(),
            access: Vec::new(),
            errors: Vec::new(),
            idempotency: None,
        }
    }

    pub fn audit(tenant: TenantId, audit: Vec<AuditEvent>) -> Self {
        Self {
            audit,
            ..Self::events(tenant, Vec::new())
        }
    }

    pub fn access(tenant: TenantId, access: Vec<AccessRecord>) -> Self {
        Self {
            access,
            ..Self::events(tenant, Vec::new())
        }
    }

    /// Rows it writes, as the ingest queue counts them.
    pub fn len(&self) -> usize {
        self.events.len() + self.audit.len() + self.access.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The seqs an item's audit events were given, first to last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqRange {
    pub first: i64,
    pub last: i64,
}

/// An `Idempotency-Key` and the response first given for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub key: String,
    pub response: String,
}

/// What became of one [`WriteItem`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemOutcome {
    Stored {
        audit: Option<SeqRange>,
    },
    /// The key was seen before: nothing was stored, and this is the first response
    /// (with the seqs its audit events were given then).
    Duplicate {
        response: String,
        audit: Option<SeqRange>,
    },
}

impl ItemOutcome {
    /// Stored, with no audit events.
    pub const STORED: Self = Self::Stored { audit: None };
}

/// What one round of rollup compaction did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Compaction {
    /// Delta rows merged away, and the rows they became.
    pub rows_merged: u64,
    pub rows_written: u64,
    /// Rows older than their kind keeps them, removed.
    pub rows_expired: u64,
}

/// What one round of [`LifecycleStore::maintain`] did, for the log and `logbook maintain`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Upkeep {
    /// Days whose `events` partition was made (PostgreSQL), oldest first.
    pub partitions_made: Vec<chrono::NaiveDate>,
    /// Events moved out of the default partition into their day's own.
    pub events_moved: u64,
    /// Whether the query planner's statistics were brought up to date (SQLite, which
    /// analyzes what needs it in one step).
    pub statistics_refreshed: bool,
    /// Tables analyzed because autovacuum had not yet (PostgreSQL).
    pub tables_analyzed: u64,
}

/// One tenant's events of one type on one day, past their retention.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventGroup {
    pub tenant: TenantId,
    pub day: chrono::NaiveDate,
    pub event_type: logbook_model::EventType,
    pub rows: u64,
}

impl EventGroup {
    /// Whether its events are error occurrences, which error groups point at.
    pub fn holds_errors(&self) -> bool {
        self.event_type.as_str() == logbook_model::error_groups::EVENT_TYPE
    }

    /// The group's `[start, end)` of `created_at`.
    pub fn window(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = self.day.and_time(chrono::NaiveTime::MIN).and_utc();
        (start, start + chrono::Duration::days(1))
    }

    /// The first page of the group's events, oldest first, as many as a page holds.
    pub fn first_page(&self) -> logbook_model::EventQuery {
        let (from, to) = self.window();
        logbook_model::EventQuery {
            filter: logbook_model::EventFilter {
                event_type: Some(self.event_type.clone()),
                from: Some(from),
                to: Some(to),
                ..Default::default()
            },
            order: logbook_model::filter::Order::Asc,
            limit: logbook_model::filter::MAX_PAGE,
            cursor: None,
            skip: 0,
        }
    }
}

/// What the store holds and what it takes on disk, for `GET /api/v1/storage`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct StorageReport {
    /// Each stream's table: rows (counted) and bytes on disk, indexes included.
    pub tables: Vec<TableSize>,
    /// Events per UTC day, oldest first; bytes where a day is its own partition.
    pub events_by_day: Vec<DaySize>,
    pub oldest_event: Option<DateTime<Utc>>,
    /// Each index with its size, and on PostgreSQL how often it was used since the
    /// statistics were last reset (summed over the day partitions).
    pub indexes: Vec<IndexUse>,
    /// TimescaleDB's compression of `events`, in the hypertable layout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
}

/// Chunks of `events` and their bytes before and after compression (of the compressed
/// chunks alone).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Compression {
    pub chunks: i64,
    pub compressed_chunks: i64,
    pub bytes_before: i64,
    pub bytes_after: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TableSize {
    pub table: String,
    pub rows: i64,
    pub bytes: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DaySize {
    pub day: chrono::NaiveDate,
    pub rows: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct IndexUse {
    pub index: String,
    pub table: String,
    pub bytes: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scans: Option<i64>,
    pub primary_key: bool,
}

/// A group as archived: the primary keys of the rows written to its file, which alone
/// are removed — a row that arrived since stays for the next round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchivedGroup {
    pub group: EventGroup,
    pub keys: Vec<(DateTime<Utc>, Uuid)>,
}

/// Rows removed per transaction when a group cannot go as a whole partition: small
/// enough that ingest never waits long behind retention.
pub const REMOVE_BATCH: i64 = 1000;

/// Rows a delete by range (the audit trail before a cut, a day of access records)
/// removes per transaction: no key list to bind, so larger, and still brief.
pub const RANGE_REMOVE_BATCH: i64 = 5_000;

/// One job's turn as the leader of every server on this store; dropping it without
/// [`Lease::release`] gives the turn up too, when the connection holding it closes.
#[async_trait]
pub trait Lease: Send {
    async fn release(self: Box<Self>);
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// An API key as stored: only the SHA-256 of the secret is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub name: String,
    /// The first characters of the secret, to tell keys apart in listings.
    pub prefix: String,
    pub scopes: Scopes,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// When the key was last used, to the minute or so: uses are recorded in batches.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// Whether the key may be used at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

/// A key to create; the caller made the secret and hashed it.
#[derive(Clone, Debug)]
pub struct NewApiKey {
    pub tenant_id: TenantId,
    pub name: String,
    pub prefix: String,
    pub hash: [u8; 32],
    pub scopes: Scopes,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A console sign-in. The cookie's token is kept only as its SHA-256; the session names
/// the API key it was made from by that key's hash, so each request is authorised through
/// the key exactly as an API call is, and revoking the key ends the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleSession {
    pub token_hash: [u8; 32],
    pub tenant_id: TenantId,
    pub key_hash: [u8; 32],
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Console sessions kept per key: signing in again past this ends the oldest.
pub const SESSIONS_PER_KEY: i64 = 20;

/// Events changed per anonymization transaction: small enough not to hold locks for long.
pub const ANONYMIZE_BATCH: i64 = 1000;

/// How a store is opened.
#[derive(Clone, Copy, Debug)]
pub struct OpenOptions {
    pub mode: OpenMode,
    /// Every read stops after this long (PostgreSQL `statement_timeout`, an SQLite
    /// progress handler): a little under the server's 30 s request limit, so a read
    /// whose request has given up does not go on holding a connection.
    pub read_time_limit: std::time::Duration,
    /// How a new PostgreSQL store lays out `events`; an existing one keeps its own.
    pub layout: postgres::LayoutChoice,
    /// How PostgreSQL rows are written.
    pub writes: postgres::RowWrites,
    /// PostgreSQL connections in the pool.
    pub pool_size: usize,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            mode: OpenMode::Create,
            read_time_limit: std::time::Duration::from_secs(25),
            layout: postgres::LayoutChoice::Auto,
            writes: postgres::RowWrites::Copy,
            pool_size: postgres::POOL_SIZE,
        }
    }
}

/// Opens the store a location names and brings its schema up to date.
pub async fn open(location: &StoreLocation) -> Result<Arc<dyn Store>> {
    open_with(location, OpenOptions::default()).await
}

/// With [`OpenMode::Existing`] a missing SQLite file is an error rather than a new store.
pub async fn open_with(location: &StoreLocation, options: OpenOptions) -> Result<Arc<dyn Store>> {
    Ok(match location {
        StoreLocation::Sqlite(path) => Arc::new(sqlite::SqliteStore::open(path, options).await?),
        StoreLocation::Postgres(url) => Arc::new(postgres::PgStore::connect(url, options).await?),
    })
}
