//! Logbook's storage: one [`Store`] trait, implemented by an embedded SQLite backend
//! (the default) and a PostgreSQL backend (production). Each backend owns its SQL and
//! its migrations; the conformance suite in `tests/` runs every behaviour on both.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use logbook_model::{
    Event, EventQuery, EventType, FailedAuthQuery, Page, Scopes, TenantId,
    audit::{ActorSummary, AuditEvent, AuditQuery, checkpoint::Checkpoint},
    pseudonym::Pseudonymizer,
    summary::{ActionStats, CountryCount, DailyBucket, HourlyBucket, Summary},
};
use uuid::Uuid;

pub mod postgres;
pub mod sqlite;

mod columns;
mod conditions;
mod error;
mod location;
mod pattern;
#[cfg(feature = "testing")]
pub mod testing;
mod verify;

pub use error::StoreError;
pub use location::{StoreLocation, with_database};
pub use verify::verify_audit;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The events of one ingest request, written all or nothing.
#[derive(Clone, Debug)]
pub struct WriteItem {
    pub tenant: TenantId,
    pub events: Vec<Event>,
    /// When set, the items' events are stored only if this key is new for the tenant.
    pub idempotency: Option<IdempotencyRecord>,
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
    Stored,
    /// The key was seen before: nothing was stored, and this is the first response.
    Duplicate {
        response: String,
    },
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

    /// Stores the items in one transaction (group commit), skipping those whose
    /// idempotency key was seen since `idempotency_since`. Returns once durable.
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
    ) -> Result<Vec<AuditEvent>>;
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
}

/// Events changed per anonymization transaction: small enough not to hold locks for long.
pub const ANONYMIZE_BATCH: i64 = 1000;

/// Opens the store a location names and brings its schema up to date.
pub async fn open(location: &StoreLocation) -> Result<Arc<dyn Store>> {
    Ok(match location {
        StoreLocation::Sqlite(path) => Arc::new(sqlite::SqliteStore::open(path).await?),
        StoreLocation::Postgres(url) => Arc::new(postgres::PgStore::connect(url).await?),
    })
}
