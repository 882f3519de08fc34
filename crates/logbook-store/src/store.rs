//! The store's interface, one trait per resource so each backend file implements one;
//! [`Store`] is all of them, and what the server holds.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use logbook_model::{
    Event, EventFilter, EventQuery, EventType, FailedAuthQuery, Page, TenantId,
    access::{AccessPage, AccessQuery},
    activity::{FeatureUsage, Session},
    alerts::{Alert, AlertStatus, Rule},
    audit::{
        ActorSummary, AuditEvent, AuditQuery,
        chain::Verification,
        checkpoint::{Checkpoint, Keyring},
    },
    dashboards::Dashboard,
    error_groups::{
        ErrorGroup, ErrorTrend, GroupChange, GroupPage, GroupQuery, UnresolvedBySeverity,
    },
    monitors::{Check, Monitor},
    pseudonym::Pseudonymizer,
    retention::RetentionRules,
    summary::{
        ActionStats, CountryCount, DailyBucket, EndpointMetrics, EndpointStep, HourlyBucket,
        IntegrationHealth, Summary,
    },
};
use uuid::Uuid;

use crate::{
    ApiKey, ArchivedGroup, Compaction, ConsoleSession, EventGroup, ItemOutcome, Lease, NewApiKey,
    Result, StorageReport, Tenant, Upkeep, WriteItem,
    alerts::{AlertWrite, Delivery, Notification, Pending, RuleStats},
};

/// Everything Logbook keeps. Every read takes the tenant it is scoped to.
#[async_trait]
pub trait Store:
    LifecycleStore
    + EventStore
    + RollupStore
    + AuditStore
    + KeyStore
    + ErrorStore
    + AlertStore
    + MonitorStore
    + DashboardStore
{
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
}

impl<T> Store for T where
    T: LifecycleStore
        + EventStore
        + RollupStore
        + AuditStore
        + KeyStore
        + ErrorStore
        + AlertStore
        + MonitorStore
        + DashboardStore
{
}

/// Upkeep of the store itself: health, leadership of periodic jobs, maintenance, and
/// the jobs that change stored rows in bulk.
#[async_trait]
pub trait LifecycleStore: Send + Sync + 'static {
    /// `sqlite` or `postgres`, for logs and `/ready`.
    fn backend(&self) -> &'static str;
    /// Checks that storage answers.
    async fn ping(&self) -> Result<()>;
    /// Events created before `before` (a UTC day) — one tenant's, or every tenant's —
    /// counted by tenant, day and type, oldest day first: the candidates for retention.
    async fn event_groups_before(
        &self,
        before: NaiveDate,
        tenant: Option<TenantId>,
    ) -> Result<Vec<EventGroup>>;

    /// Removes the rows of archived groups, by their keys; returns how many went. On
    /// PostgreSQL a day whose rows are exactly the archived ones is dropped as a partition.
    async fn remove_events(&self, archived: &[ArchivedGroup]) -> Result<u64>;

    /// Rows and bytes by stream, day and index (every tenant's: for operators).
    async fn storage(&self) -> Result<StorageReport>;

    /// Every tenant's own retention rules (tenants without any are left out).
    async fn retention_rules(&self) -> Result<Vec<(TenantId, RetentionRules)>>;

    /// Replaces a tenant's retention rules; empty rules bring back the defaults.
    async fn set_retention_rules(&self, tenant: TenantId, rules: &RetentionRules) -> Result<()>;

    /// Periodic upkeep: on PostgreSQL the coming days' partitions, and a partition of its
    /// own for any day found in the default one; on SQLite the planner's statistics.
    async fn maintain(&self) -> Result<Upkeep>;
    /// Makes the server wait before running `job`, so one server of many runs it at a
    /// time; `None` when another server runs it now.
    async fn try_lead(&self, job: &'static str) -> Result<Option<Box<dyn Lease>>>;
    /// Anonymizes every tenant's `event_type` events created before `before`:
    /// `ip_address` and `user_agent` emptied, `user_id` replaced by its pseudonym. Events
    /// already anonymized are left alone. Returns how many events changed.
    async fn anonymize(
        &self,
        event_type: &EventType,
        before: DateTime<Utc>,
        pseudonymizer: &Pseudonymizer,
    ) -> Result<u64>;
    /// Forgets idempotency keys older than `before`; returns how many.
    async fn purge_idempotency_keys(&self, before: DateTime<Utc>) -> Result<u64>;
    /// When the tenant's oldest access record was made, if it has any.
    async fn oldest_access(&self, tenant: TenantId) -> Result<Option<DateTime<Utc>>>;
    /// Removes the tenant's access records made in `[from, to)` — only if they are
    /// `expected` in number (what was archived), else none — in batches, so ingest
    /// waits on none for long; returns how many.
    async fn remove_access(
        &self,
        tenant: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        expected: u64,
    ) -> Result<u64>;
}

/// What ingest writes (events, audit appends, access records, idempotency) and the
/// reads of single events and records.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
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
    async fn list_events(&self, tenant: TenantId, query: &EventQuery) -> Result<Page>;
    async fn get_event(&self, tenant: TenantId, id: Uuid) -> Result<Option<Event>>;
    /// The tenant's access records, newest first unless asked otherwise.
    async fn list_access(&self, tenant: TenantId, query: &AccessQuery) -> Result<AccessPage>;
    /// Notes of the events other servers commit to this store, as they commit; `None`
    /// where no other server can write (SQLite).
    fn commit_notes(&self) -> Option<tokio::sync::mpsc::Receiver<crate::CommitNote>> {
        None
    }
}

/// Summaries over many events: the dashboards' questions.
#[async_trait]
pub trait RollupStore: Send + Sync + 'static {
    async fn count_failed_auth(&self, tenant: TenantId, query: &FailedAuthQuery) -> Result<i64>;

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
    /// Seed 004's statistics over ACTION events.
    async fn action_stats(&self, tenant: TenantId) -> Result<ActionStats>;
    /// Seed 001's integration health: each provider's ACTION events since `since`, the
    /// most errors first.
    async fn integrations(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<Vec<IntegrationHealth>>;
    /// Seed 001's endpoint performance from `since` on: one row per endpoint over the
    /// window, or per endpoint and five minutes or hour.
    async fn endpoints(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
        step: EndpointStep,
    ) -> Result<Vec<EndpointMetrics>>;
    /// Seed 001's feature usage since `since`, the most used first.
    async fn feature_usage(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<FeatureUsage>>;
    /// Sessions active since `since`, the latest first.
    async fn sessions(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Session>>;
    /// Each user's active months (`YYYY-MM`) since `since`.
    async fn user_months(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<Vec<(String, String)>>;
    /// Merges the rollup rows ingest appended into one row per bucket and key, and
    /// removes rows older than their kind keeps them. Answers are the same before and
    /// after; reads just get faster.
    async fn compact_rollups(&self) -> Result<Compaction>;
}

/// The tenants' audit chains, their checkpoints and the keys trusted to sign them.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// Verifies `from_seq..=to_seq` of the tenant's chain (to the end when `to_seq` is
    /// `None`) in one consistent snapshot, while appends go on: every link and hash, no
    /// gaps, the end against the chain head read in the same snapshot, and every
    /// checkpoint of the run — stored ones and `witnessed` ones from outside the database
    /// — vouched for by the keyring and holding the hash it signed. A run asked to start
    /// at or before the newest cut (stored or witnessed) starts after it, and only if a
    /// trusted key signed it.
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
    /// The tenant's newest signed cut: retention removed its chain up to that seq.
    async fn audit_cut(&self, tenant: TenantId) -> Result<Option<Checkpoint>>;
    /// Where the tenant's chain may be cut: its newest checkpoint past the newest cut
    /// whose event was received before `before` and still holds the signed hash.
    async fn audit_cut_point(
        &self,
        tenant: TenantId,
        before: DateTime<Utc>,
    ) -> Result<Option<Checkpoint>>;
    /// Keeps a signed cut, whose event must still hold the hash it names. The events up
    /// to it are removed apart, by [`AuditStore::remove_cut_audit`].
    async fn cut_audit(&self, cut: Checkpoint) -> Result<()>;
    /// Removes the audit events at or before each tenant's newest cut, in small
    /// batches so appends wait on none for long; returns how many.
    async fn remove_cut_audit(&self) -> Result<u64>;
}

/// Tenants and their API keys.
#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
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
    /// Keeps a new console session, and forgets every session expired by its start and
    /// the key's oldest past [`crate::SESSIONS_PER_KEY`].
    async fn create_session(&self, session: &ConsoleSession) -> Result<()>;
    /// The hash of the key behind a session that has not expired at `now`.
    async fn session_key(
        &self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<Option<[u8; 32]>>;
    /// Ends a session (signing out); nothing happens when there is none.
    async fn end_session(&self, token_hash: &[u8; 32]) -> Result<()>;
}

/// Error groups: counted by [`EventStore::append`] from each item's occurrences, read
/// and moved through their workflow here.
#[async_trait]
pub trait ErrorStore: Send + Sync + 'static {
    async fn list_error_groups(&self, tenant: TenantId, query: &GroupQuery) -> Result<GroupPage>;
    async fn error_group(&self, tenant: TenantId, id: Uuid) -> Result<Option<ErrorGroup>>;
    /// The events of the group's newest occurrences, newest first (those retention has
    /// removed are left out).
    async fn error_group_events(
        &self,
        tenant: TenantId,
        id: Uuid,
        limit: u32,
    ) -> Result<Vec<Event>>;
    /// Changes the group's status, assignee or note; returns it as it was and as it is,
    /// or `None` when the tenant has no such group.
    async fn change_error_group(
        &self,
        tenant: TenantId,
        id: Uuid,
        change: &GroupChange,
    ) -> Result<Option<(ErrorGroup, ErrorGroup)>>;
    /// Occurrences and distinct users per error type and UTC day since `since`, newest
    /// day first.
    async fn error_trend(&self, tenant: TenantId, since: DateTime<Utc>) -> Result<Vec<ErrorTrend>>;
    /// Open groups (new, acknowledged, in progress) seen since `since`, by severity,
    /// the gravest first.
    async fn unresolved_errors(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<Vec<UnresolvedBySeverity>>;
}

/// Alert rules, the alerts they raise, the notifications queued for delivery, and the
/// counts rules measure that no summary answers.
#[async_trait]
pub trait AlertStore: Send + Sync + 'static {
    /// The tenant's rules by name. The first call for a tenant stores `defaults` for it,
    /// once: a default deleted later stays deleted.
    async fn alert_rules(&self, tenant: TenantId, defaults: &[Rule]) -> Result<Vec<Rule>>;
    async fn alert_rule(&self, tenant: TenantId, id: Uuid) -> Result<Option<Rule>>;
    /// Stores a new rule (`Conflict` when its id or name is taken), or with `replace`
    /// replaces the rule of its id (`false` when there is none). Either way the rule is
    /// due for evaluation at once.
    async fn put_alert_rule(&self, tenant: TenantId, rule: &Rule, replace: bool) -> Result<bool>;
    /// Deletes a rule with its alerts and their notifications; `false` when none.
    async fn delete_alert_rule(&self, tenant: TenantId, id: Uuid) -> Result<bool>;
    /// Every tenant's enabled or testing rules due for evaluation at `now`.
    async fn due_alert_rules(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(TenantId, Rule)>>;
    /// The rule's alerts not yet resolved.
    async fn open_alerts(&self, tenant: TenantId, rule: Uuid) -> Result<Vec<Alert>>;
    /// How many of the rule's alerts fired at or after `since`.
    async fn alerts_raised_since(
        &self,
        tenant: TenantId,
        rule: Uuid,
        since: DateTime<Utc>,
    ) -> Result<u32>;
    /// In one transaction: each write, only if its alert is still at the version it was
    /// read at (or, inserted, if the rule and group have no open alert), with the
    /// notifications of the writes that applied; and, when `evaluated` names a rule, its
    /// next evaluation. Returns whether each write applied.
    async fn write_alerts(
        &self,
        tenant: TenantId,
        writes: &[AlertWrite],
        evaluated: Option<(Uuid, DateTime<Utc>)>,
    ) -> Result<Vec<bool>>;
    /// The newest alerts, of one status or any.
    async fn list_alerts(
        &self,
        tenant: TenantId,
        status: Option<AlertStatus>,
        limit: u32,
    ) -> Result<Vec<Alert>>;
    async fn alert(&self, tenant: TenantId, id: Uuid) -> Result<Option<Alert>>;
    /// Per rule, statistics of the alerts that fired since `since`.
    async fn alert_stats(&self, tenant: TenantId, since: DateTime<Utc>) -> Result<Vec<RuleStats>>;
    /// Every tenant's notifications due for a delivery attempt at `now`.
    async fn due_notifications(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Pending>>;
    async fn notification_delivered(
        &self,
        tenant: TenantId,
        notification: &Notification,
        outcome: &Delivery,
    ) -> Result<()>;
    /// The tenant's alert stream (notifications to `sse` channels) after a notification.
    async fn alert_stream(
        &self,
        tenant: TenantId,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Notification>>;
    /// `NOTIFY channel, payload` on PostgreSQL; SQLite has no such thing and refuses.
    async fn notify(&self, channel: &str, payload: &str) -> Result<()>;
    /// Events matching `filter`, counted per value of the `group_by` event field (the
    /// largest counts first, at most `limit`) or in all (one count, named `None`).
    async fn count_events(
        &self,
        tenant: TenantId,
        filter: &EventFilter,
        group_by: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(Option<String>, i64)>>;
    /// Events matching `filter` per UTC hour (hours without any left out), oldest first.
    async fn hourly_counts(
        &self,
        tenant: TenantId,
        filter: &EventFilter,
    ) -> Result<Vec<(DateTime<Utc>, i64)>>;
    /// Audit events the tenant appended since `since`.
    async fn count_audit_since(&self, tenant: TenantId, since: DateTime<Utc>) -> Result<i64>;
}

/// Dashboards and their widgets (seed 001).
#[async_trait]
pub trait DashboardStore: Send + Sync + 'static {
    /// The tenant's dashboards the key `viewer` may see (its own, and those not private),
    /// by name; with no viewer, all of them.
    async fn dashboards(&self, tenant: TenantId, viewer: Option<Uuid>) -> Result<Vec<Dashboard>>;
    async fn dashboard(&self, tenant: TenantId, id: Uuid) -> Result<Option<Dashboard>>;
    /// Stores a new dashboard, or with `replace` replaces the one of its id (`false`
    /// when none).
    async fn put_dashboard(
        &self,
        tenant: TenantId,
        dashboard: &Dashboard,
        replace: bool,
    ) -> Result<bool>;
    /// Deletes a dashboard and its widgets; `false` when none.
    async fn delete_dashboard(&self, tenant: TenantId, id: Uuid) -> Result<bool>;
}

/// Monitors (seed 001 service health) and their checks.
#[async_trait]
pub trait MonitorStore: Send + Sync + 'static {
    async fn monitors(&self, tenant: TenantId) -> Result<Vec<Monitor>>;
    async fn monitor(&self, tenant: TenantId, id: Uuid) -> Result<Option<Monitor>>;
    /// Stores a new monitor (`Conflict` when its name is taken), or with `replace`
    /// replaces the one of its id (`false` when none); either way it is due at once.
    async fn put_monitor(&self, tenant: TenantId, monitor: &Monitor, replace: bool)
    -> Result<bool>;
    /// Deletes a monitor and its checks; `false` when none.
    async fn delete_monitor(&self, tenant: TenantId, id: Uuid) -> Result<bool>;
    /// Every tenant's enabled monitors due at `now`.
    async fn due_monitors(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(TenantId, Monitor)>>;
    /// Keeps a check's result and when the monitor is next due.
    async fn record_check(
        &self,
        tenant: TenantId,
        monitor: Uuid,
        check: &Check,
        next: DateTime<Utc>,
    ) -> Result<()>;
    /// The monitor's newest checks, newest first.
    async fn recent_checks(
        &self,
        tenant: TenantId,
        monitor: Uuid,
        limit: u32,
    ) -> Result<Vec<Check>>;
    /// Checks, and checks not down, since each of three starts.
    async fn uptimes(
        &self,
        tenant: TenantId,
        monitor: Uuid,
        starts: [DateTime<Utc>; 3],
    ) -> Result<crate::monitors::Uptimes>;
    /// Response times (ms) of the checks since `since`, ascending.
    async fn response_times(
        &self,
        tenant: TenantId,
        monitor: Uuid,
        since: DateTime<Utc>,
    ) -> Result<Vec<u32>>;
    /// Forgets every tenant's checks older than `before`; returns how many.
    async fn purge_checks(&self, before: DateTime<Utc>) -> Result<u64>;
}
