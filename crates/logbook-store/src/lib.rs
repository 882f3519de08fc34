//! Logbook's storage: one [`Store`] trait, implemented by an embedded SQLite backend
//! (the default) and a PostgreSQL backend (production). Each backend owns its SQL and
//! its migrations; the conformance suite in `tests/` runs every behaviour on both.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use logbook_model::{
    Event, EventQuery, EventType, FailedAuthQuery, Page, Scopes, TenantId,
    access::{AccessPage, AccessQuery, AccessRecord},
    audit::{
        ActorSummary, AuditEvent, AuditQuery,
        chain::Verification,
        checkpoint::{Checkpoint, Keyring},
    },
    pseudonym::Pseudonymizer,
    summary::{ActionStats, CountryCount, DailyBucket, HourlyBucket, Summary},
};
use uuid::Uuid;

pub mod postgres;
pub mod sqlite;

mod columns;
pub use columns::AUDIT_COLUMNS;
mod conditions;
mod error;
pub mod files;
mod location;
mod pattern;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{StoreError, with_causes};
pub use location::{OpenMode, StoreLocation, with_database};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What one request writes, all or nothing: events, audit events appended to the
/// tenant's chain in order, and records of its own reads.
#[derive(Clone, Debug)]
pub struct WriteItem {
    pub tenant: TenantId,
    pub events: Vec<Event>,
    /// Linked onto the tenant's chain by the store (seq, prev_hash and hash set there).
    pub audit: Vec<AuditEvent>,
    pub access: Vec<AccessRecord>,
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

/// Everything Logbook keeps. Every read takes the tenant it is scoped to.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`, for logs and `/ready`.
    fn backend(&self) -> &'static str;

    /// Checks that storage answers.
    async fn ping(&self) -> Result<()>;

    /// Periodic upkeep, such as making the coming days' partitions.
    async fn maintain(&self) -> Result<()> {
        Ok(())
    }

    /// Makes the server wait before running `job`, so one server of many runs it at a
    /// time; `None` when another server runs it now.
    async fn try_lead(&self, job: &'static str) -> Result<Option<Box<dyn Lease>>>;

    /// Stores the items in one transaction (group commit), skipping those whose
    /// idempotency key was seen since `idempotency_since`. Audit events are linked onto
    /// their tenant's chain under the chain head's lock. Returns once durable.
    async fn append(
        &self,
        items: Arc<Vec<WriteItem>>,
        idempotency_since: DateTime<Utc>,
    ) -> Result<Vec<ItemOutcome>>;

    /// The response first given for `key`, if it was seen since `since`.
    async fn idempotent_response(
        &self,
        tenant: TenantId,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<String>>;

    /// Forgets idempotency keys older than `before`; returns how many.
    async fn purge_idempotency_keys(&self, before: DateTime<Utc>) -> Result<u64>;

    async fn list_events(&self, tenant: TenantId, query: &EventQuery) -> Result<Page>;
    async fn get_event(&self, tenant: TenantId, id: Uuid) -> Result<Option<Event>>;

    /// Seed 000 getSummary over events created at or after `since`.
    async fn summary(&self, tenant: TenantId, since: DateTime<Utc>) -> Result<Summary>;
    /// Hourly buckets starting at or after `first_bucket`, newest first.
    async fn hourly(
        &self,
        tenant: TenantId,
        first_bucket: DateTime<Utc>,
    ) -> Result<Vec<HourlyBucket>>;
    /// Daily buckets starting at or after `first_bucket`, newest first.
    async fn daily(
        &self,
        tenant: TenantId,
        first_bucket: DateTime<Utc>,
    ) -> Result<Vec<DailyBucket>>;
    async fn by_country(&self, tenant: TenantId, since: DateTime<Utc>)
    -> Result<Vec<CountryCount>>;
    async fn count_failed_auth(&self, tenant: TenantId, query: &FailedAuthQuery) -> Result<i64>;

    /// Anonymizes every tenant's `event_type` events created before `before`:
    /// `ip_address` and `user_agent` emptied, `user_id` replaced by its pseudonym. Events
    /// already anonymized are left alone. Returns how many events changed.
    async fn anonymize(
        &self,
        event_type: &EventType,
        before: DateTime<Utc>,
        pseudonymizer: &Pseudonymizer,
    ) -> Result<u64>;

    /// Appends audit events to the tenant's chain in one transaction, setting each one's
    /// seq, prev_hash and hash; returns them as stored.
    async fn append_audit(
        &self,
        tenant: TenantId,
        events: Vec<AuditEvent>,
    ) -> Result<Vec<AuditEvent>> {
        let n = events.len() as i64;
        let outcome = self
            .append(Arc::new(vec![WriteItem::audit(tenant, events)]), Utc::now())
            .await?;
        match outcome.first() {
            Some(ItemOutcome::Stored {
                audit: Some(range), ..
            }) => self.audit_range(tenant, range.first, range.last, n).await,
            _ => Ok(Vec::new()),
        }
    }

    /// Verifies `from_seq..=to_seq` of the tenant's chain (to the end when `to_seq` is
    /// `None`) in one consistent snapshot, while appends go on: every link and hash, no
    /// gaps, the end against the chain head read in the same snapshot, and every
    /// checkpoint of the run — stored ones and `witnessed` ones from outside the database
    /// — vouched for by the keyring and holding the hash it signed.
    async fn verify_audit(
        &self,
        tenant: TenantId,
        from_seq: i64,
        to_seq: Option<i64>,
        witnessed: Vec<Checkpoint>,
    ) -> Result<Verification>;
    /// The tenant's audit events with `from_seq <= seq <= to_seq`, in seq order, at most
    /// `limit` of them.
    async fn audit_range(
        &self,
        tenant: TenantId,
        from_seq: i64,
        to_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditEvent>>;
    /// The tenant's chain head: the last seq and hash appended (0 and the genesis hash
    /// for an empty trail).
    async fn audit_head(&self, tenant: TenantId) -> Result<(i64, String)>;
    /// Audit events matching `query`, newest (highest seq) first.
    async fn search_audit(&self, tenant: TenantId, query: &AuditQuery) -> Result<Vec<AuditEvent>>;
    /// What one actor did in the audit trail.
    async fn actor_summary(&self, tenant: TenantId, actor_id: &str) -> Result<ActorSummary>;
    /// Seed 004's statistics over ACTION events.
    async fn action_stats(&self, tenant: TenantId) -> Result<ActionStats>;
    /// Every tenant's chain head: (tenant, seq, hash).
    async fn audit_heads(&self) -> Result<Vec<(TenantId, i64, String)>>;
    /// Keeps a signed checkpoint (a second checkpoint at one seq is ignored).
    async fn add_checkpoint(&self, checkpoint: Checkpoint) -> Result<()>;
    /// The tenant's checkpoints in seq order.
    async fn checkpoints(&self, tenant: TenantId) -> Result<Vec<Checkpoint>>;
    /// Trusts a server's checkpoint signing key (hex of its public half) from now on;
    /// a key already trusted stays as it is.
    async fn trust_signing_key(&self, key_id: &str) -> Result<()>;
    /// Stops trusting a key for checkpoints signed after `at`; `false` if unknown.
    async fn retire_signing_key(&self, key_id: &str, at: DateTime<Utc>) -> Result<bool>;
    /// Every key trusted to sign checkpoints.
    async fn keyring(&self) -> Result<Keyring>;

    /// The tenant's access records, newest first unless asked otherwise.
    async fn list_access(&self, tenant: TenantId, query: &AccessQuery) -> Result<AccessPage>;

    async fn create_tenant(&self, name: &str) -> Result<Tenant>;
    async fn tenant_by_name(&self, name: &str) -> Result<Option<Tenant>>;
    async fn list_tenants(&self) -> Result<Vec<Tenant>>;
    async fn create_api_key(&self, key: NewApiKey) -> Result<ApiKey>;
    async fn api_key_by_hash(&self, hash: &[u8; 32]) -> Result<Option<ApiKey>>;
    /// The tenant's keys, newest first, revoked ones included.
    async fn list_api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>>;
    /// Revokes one of the tenant's keys; `None` when the tenant has no such key.
    async fn revoke_api_key(&self, tenant: TenantId, id: Uuid) -> Result<Option<ApiKey>>;
    /// Records when keys were last used (a batch, so requests never wait on this write).
    async fn record_key_use(&self, uses: Vec<(Uuid, DateTime<Utc>)>) -> Result<()>;
    /// A number that changes whenever a key is created or revoked, by any server or the
    /// CLI: each server's key cache starts over when it sees it change.
    async fn key_changes(&self) -> Result<i64>;
}

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
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            mode: OpenMode::Create,
            read_time_limit: std::time::Duration::from_secs(25),
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
