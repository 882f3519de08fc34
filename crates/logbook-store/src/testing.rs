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
    static SWEPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !SWEPT.swap(true, std::sync::atomic::Ordering::Relaxed) && is_local(&base) {
        drop_ended_runs_databases(&client).await;
    }
    let name = format!(
        "{DATABASE_PREFIX}{}_{}",
        std::process::id(),
        Uuid::new_v4().simple()
    );
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
    crate::location::with_database(&base, &name)
}

/// A fresh TimescaleDB store: the PGlite harness of `scripts/timescaledb` (installed
/// under `target/timescaledb` by scripts/test), started for this call on a free loopback
/// port. It exits when this process does: it ends when its standard input closes.
/// The harness takes one connection at a time and no COPY, so the store gets one
/// connection and writes with INSERTs.
pub async fn timescaledb() -> std::sync::Arc<dyn Store> {
    let url = start_timescaledb_harness();
    let options = harness_options(crate::postgres::LayoutChoice::Hypertable);
    crate::open_with(&crate::StoreLocation::Postgres(url), options)
        .await
        .unwrap_or_else(|e| panic!("cannot open a store on the TimescaleDB harness: {e}"))
}

/// How a store is opened on the harness: one connection, rows written by INSERTs.
pub fn harness_options(layout: crate::postgres::LayoutChoice) -> crate::OpenOptions {
    crate::OpenOptions {
        layout,
        writes: crate::postgres::RowWrites::Inserts,
        pool_size: 1,
        ..Default::default()
    }
}

/// Starts a harness and returns its URL.
pub fn start_timescaledb_harness() -> String {
    use std::io::BufRead;
    static HARNESSES: std::sync::Mutex<Vec<std::process::Child>> =
        std::sync::Mutex::new(Vec::new());
    let script = std::env::var_os("LOGBOOK_TIMESCALEDB_HARNESS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/timescaledb/harness.mjs")
        });
    assert!(
        script.exists(),
        "the TimescaleDB harness is not installed at {}: run scripts/test, which installs it",
        script.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    let mut child = std::process::Command::new("node")
        .arg(&script)
        .arg(port.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node for the TimescaleDB harness: {e}"));
    let stdout = child.stdout.take().expect("the harness's output");
    let mut ready = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut ready)
        .expect("the harness's first line");
    assert_eq!(
        ready.trim(),
        "ready",
        "the TimescaleDB harness did not start"
    );
    HARNESSES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(child);
    format!("postgres://postgres:harness@127.0.0.1:{port}/postgres?sslmode=disable")
}

/// Whether the server runs on this machine, so the process ids in its test databases'
/// names are this machine's.
fn is_local(url: &str) -> bool {
    url.parse::<tokio_postgres::Config>().is_ok_and(|config| {
        config.get_hosts().iter().all(|host| match host {
            tokio_postgres::config::Host::Tcp(name) => {
                name == "localhost"
                    || name
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
            tokio_postgres::config::Host::Unix(_) => true,
        })
    })
}

/// Drops the test databases of test processes that have ended (see
/// [`remove_ended_runs_files`]); one still in use cannot be dropped and stays.
async fn drop_ended_runs_databases(client: &tokio_postgres::Client) {
    let Ok(rows) = client
        .query(
            "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
            &[&DATABASE_PREFIX],
        )
        .await
    else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        let Some((pid, id)) = name
            .strip_prefix(DATABASE_PREFIX)
            .and_then(|rest| rest.split_once('_'))
        else {
            continue;
        };
        // The name goes into SQL as an identifier (it cannot be a parameter): only names
        // of exactly the shape made above.
        let well_formed = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
        if well_formed && pid.parse().is_ok_and(process_ended) {
            let _ = client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
                .await;
        }
    }
}

/// Only where a live process can be told from an ended one (`/proc`) is any process said
/// to have ended.
fn process_ended(pid: u32) -> bool {
    std::path::Path::new("/proc/self").exists()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

const SCRATCH_PREFIX: &str = "logbook-test-";

/// A path for a new SQLite file in a fresh temporary directory.
pub fn temp_sqlite_path() -> PathBuf {
    static SWEEP: std::sync::Once = std::sync::Once::new();
    SWEEP.call_once(remove_ended_runs_files);
    let dir = std::env::temp_dir().join(format!(
        "{SCRATCH_PREFIX}{}-{}",
        std::process::id(),
        Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir.join("logbook.db")
}

/// Removes the directories of test processes that have ended. A test leaves its files
/// (a failed one's are worth a look), so each run clears what earlier runs left: many
/// runs in a row, as mutation testing makes, would otherwise fill the disk.
fn remove_ended_runs_files() {
    let entries = std::fs::read_dir(std::env::temp_dir())
        .into_iter()
        .flatten();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(SCRATCH_PREFIX)
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if process_ended(pid) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
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

/// A real store with faults switched on by a test: appends that panic (as a bug in a
/// writer would) or batches of several requests refused (as a database refuses a batch
/// for one bad row). Everything else goes to the store underneath unchanged.
pub struct FaultyStore {
    inner: std::sync::Arc<dyn Store>,
    /// Appends panic.
    pub panic_appends: std::sync::atomic::AtomicBool,
    /// Appends of more than one item fail, so the writer stores them one by one.
    pub refuse_batches: std::sync::atomic::AtomicBool,
    /// Appends seen, and how many items each held.
    pub appends: std::sync::Mutex<Vec<usize>>,
}

impl FaultyStore {
    pub fn new(inner: std::sync::Arc<dyn Store>) -> Self {
        Self {
            inner,
            panic_appends: Default::default(),
            refuse_batches: Default::default(),
            appends: Default::default(),
        }
    }
}

mod faulty {
    use std::sync::{Arc, atomic::Ordering};

    use crate::alerts::{AlertWrite, Delivery, Notification, Pending, RuleStats};
    use async_trait::async_trait;
    use chrono::{DateTime, Utc};
    use logbook_model::alerts::{Alert, AlertStatus, Rule};
    use logbook_model::monitors::{Check, Monitor};
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
    use uuid::Uuid;

    use super::FaultyStore;
    use crate::{
        ApiKey, AuditStore, EventStore, ItemOutcome, KeyStore, Lease, LifecycleStore, NewApiKey,
        Result, RollupStore, StoreError, Tenant, WriteItem,
    };

    #[async_trait]
    impl LifecycleStore for FaultyStore {
        fn backend(&self) -> &'static str {
            self.inner.backend()
        }

        async fn ping(&self) -> Result<()> {
            self.inner.ping().await
        }

        async fn event_groups_before(
            &self,
            before: chrono::NaiveDate,
            tenant: Option<TenantId>,
        ) -> Result<Vec<crate::EventGroup>> {
            self.inner.event_groups_before(before, tenant).await
        }
        async fn storage(&self) -> Result<crate::StorageReport> {
            self.inner.storage().await
        }
        async fn retention_rules(
            &self,
        ) -> Result<Vec<(TenantId, logbook_model::retention::RetentionRules)>> {
            self.inner.retention_rules().await
        }
        async fn set_retention_rules(
            &self,
            tenant: TenantId,
            rules: &logbook_model::retention::RetentionRules,
        ) -> Result<()> {
            self.inner.set_retention_rules(tenant, rules).await
        }
        async fn remove_events(&self, archived: &[crate::ArchivedGroup]) -> Result<u64> {
            self.inner.remove_events(archived).await
        }
        async fn maintain(&self) -> Result<crate::Upkeep> {
            self.inner.maintain().await
        }

        async fn try_lead(&self, job: &'static str) -> Result<Option<Box<dyn Lease>>> {
            self.inner.try_lead(job).await
        }

        async fn purge_idempotency_keys(&self, before: DateTime<Utc>) -> Result<u64> {
            self.inner.purge_idempotency_keys(before).await
        }

        async fn oldest_access(&self, tenant: TenantId) -> Result<Option<DateTime<Utc>>> {
            self.inner.oldest_access(tenant).await
        }

        async fn remove_access(
            &self,
            tenant: TenantId,
            from: DateTime<Utc>,
            to: DateTime<Utc>,
            expected: u64,
        ) -> Result<u64> {
            self.inner.remove_access(tenant, from, to, expected).await
        }

        async fn anonymize(
            &self,
            event_type: &EventType,
            before: DateTime<Utc>,
            pseudonymizer: &Pseudonymizer,
        ) -> Result<u64> {
            self.inner
                .anonymize(event_type, before, pseudonymizer)
                .await
        }
    }

    #[async_trait]
    impl EventStore for FaultyStore {
        async fn append(
            &self,
            items: Arc<Vec<WriteItem>>,
            idempotency_since: DateTime<Utc>,
        ) -> Result<Vec<ItemOutcome>> {
            self.appends.lock().unwrap().push(items.len());
            if self.panic_appends.load(Ordering::SeqCst) {
                panic!("a fault injected by the test: the append panics");
            }
            if items.len() > 1 && self.refuse_batches.load(Ordering::SeqCst) {
                return Err(StoreError::Invalid(
                    "a fault injected by the test: the batch is refused".into(),
                ));
            }
            self.inner.append(items, idempotency_since).await
        }

        async fn idempotent_response(
            &self,
            tenant: TenantId,
            key: &str,
            since: DateTime<Utc>,
        ) -> Result<Option<String>> {
            self.inner.idempotent_response(tenant, key, since).await
        }

        async fn list_events(&self, tenant: TenantId, query: &EventQuery) -> Result<Page> {
            self.inner.list_events(tenant, query).await
        }

        async fn get_event(&self, tenant: TenantId, id: Uuid) -> Result<Option<Event>> {
            self.inner.get_event(tenant, id).await
        }

        async fn list_access(&self, tenant: TenantId, query: &AccessQuery) -> Result<AccessPage> {
            self.inner.list_access(tenant, query).await
        }
    }

    #[async_trait]
    impl RollupStore for FaultyStore {
        async fn feature_usage(
            &self,
            tenant: TenantId,
            since: DateTime<Utc>,
            limit: u32,
        ) -> Result<Vec<logbook_model::activity::FeatureUsage>> {
            self.inner.feature_usage(tenant, since, limit).await
        }
        async fn sessions(
            &self,
            tenant: TenantId,
            since: DateTime<Utc>,
            limit: u32,
        ) -> Result<Vec<logbook_model::activity::Session>> {
            self.inner.sessions(tenant, since, limit).await
        }
        async fn user_months(
            &self,
            tenant: TenantId,
            since: DateTime<Utc>,
        ) -> Result<Vec<(String, String)>> {
            self.inner.user_months(tenant, since).await
        }

        async fn count_failed_auth(
            &self,
            tenant: TenantId,
            query: &FailedAuthQuery,
        ) -> Result<i64> {
            self.inner.count_failed_auth(tenant, query).await
        }

        async fn summary(&self, tenant: TenantId, since: DateTime<Utc>) -> Result<Summary> {
            self.inner.summary(tenant, since).await
        }

        async fn hourly(
            &self,
            tenant: TenantId,
            first: DateTime<Utc>,
        ) -> Result<Vec<HourlyBucket>> {
            self.inner.hourly(tenant, first).await
        }

        async fn daily(&self, tenant: TenantId, first: DateTime<Utc>) -> Result<Vec<DailyBucket>> {
            self.inner.daily(tenant, first).await
        }

        async fn by_country(
            &self,
            tenant: TenantId,
            since: DateTime<Utc>,
        ) -> Result<Vec<CountryCount>> {
            self.inner.by_country(tenant, since).await
        }

        async fn action_stats(&self, tenant: TenantId) -> Result<ActionStats> {
            self.inner.action_stats(tenant).await
        }

        async fn integrations(
            &self,
            tenant: TenantId,
            since: DateTime<Utc>,
        ) -> Result<Vec<logbook_model::summary::IntegrationHealth>> {
            self.inner.integrations(tenant, since).await
        }

        async fn endpoints(
            &self,
            tenant: TenantId,
            since: DateTime<Utc>,
            step: logbook_model::summary::EndpointStep,
        ) -> Result<Vec<logbook_model::summary::EndpointMetrics>> {
            self.inner.endpoints(tenant, since, step).await
        }

        async fn compact_rollups(&self) -> Result<crate::Compaction> {
            self.inner.compact_rollups().await
        }
    }

    #[async_trait]
    impl AuditStore for FaultyStore {
        async fn verify_audit(
            &self,
            tenant: TenantId,
            from_seq: i64,
            to_seq: Option<i64>,
            witnessed: Vec<Checkpoint>,
        ) -> Result<Verification> {
            self.inner
                .verify_audit(tenant, from_seq, to_seq, witnessed)
                .await
        }

        async fn audit_range(
            &self,
            tenant: TenantId,
            from_seq: i64,
            to_seq: i64,
            limit: i64,
        ) -> Result<Vec<AuditEvent>> {
            self.inner
                .audit_range(tenant, from_seq, to_seq, limit)
                .await
        }

        async fn audit_head(&self, tenant: TenantId) -> Result<(i64, String)> {
            self.inner.audit_head(tenant).await
        }

        async fn search_audit(
            &self,
            tenant: TenantId,
            query: &AuditQuery,
        ) -> Result<Vec<AuditEvent>> {
            self.inner.search_audit(tenant, query).await
        }

        async fn actor_summary(&self, tenant: TenantId, actor_id: &str) -> Result<ActorSummary> {
            self.inner.actor_summary(tenant, actor_id).await
        }

        async fn audit_heads(&self) -> Result<Vec<(TenantId, i64, String)>> {
            self.inner.audit_heads().await
        }

        async fn add_checkpoint(&self, checkpoint: Checkpoint) -> Result<()> {
            self.inner.add_checkpoint(checkpoint).await
        }

        async fn audit_cut(&self, tenant: TenantId) -> Result<Option<Checkpoint>> {
            self.inner.audit_cut(tenant).await
        }

        async fn audit_cut_point(
            &self,
            tenant: TenantId,
            before: DateTime<Utc>,
        ) -> Result<Option<Checkpoint>> {
            self.inner.audit_cut_point(tenant, before).await
        }

        async fn cut_audit(&self, cut: Checkpoint) -> Result<()> {
            self.inner.cut_audit(cut).await
        }

        async fn remove_cut_audit(&self) -> Result<u64> {
            self.inner.remove_cut_audit().await
        }

        async fn checkpoints(&self, tenant: TenantId) -> Result<Vec<Checkpoint>> {
            self.inner.checkpoints(tenant).await
        }

        async fn trust_signing_key(&self, key_id: &str) -> Result<()> {
            self.inner.trust_signing_key(key_id).await
        }

        async fn retire_signing_key(&self, key_id: &str, at: DateTime<Utc>) -> Result<bool> {
            self.inner.retire_signing_key(key_id, at).await
        }

        async fn keyring(&self) -> Result<Keyring> {
            self.inner.keyring().await
        }
    }

    #[async_trait]
    impl KeyStore for FaultyStore {
        async fn create_tenant(&self, name: &str) -> Result<Tenant> {
            self.inner.create_tenant(name).await
        }

        async fn tenant_by_name(&self, name: &str) -> Result<Option<Tenant>> {
            self.inner.tenant_by_name(name).await
        }

        async fn list_tenants(&self) -> Result<Vec<Tenant>> {
            self.inner.list_tenants().await
        }

        async fn create_api_key(&self, key: NewApiKey) -> Result<ApiKey> {
            self.inner.create_api_key(key).await
        }

        async fn api_key_by_hash(&self, hash: &[u8; 32]) -> Result<Option<ApiKey>> {
            self.inner.api_key_by_hash(hash).await
        }

        async fn list_api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>> {
            self.inner.list_api_keys(tenant).await
        }

        async fn revoke_api_key(&self, tenant: TenantId, id: Uuid) -> Result<Option<ApiKey>> {
            self.inner.revoke_api_key(tenant, id).await
        }

        async fn record_key_use(&self, uses: Vec<(Uuid, DateTime<Utc>)>) -> Result<()> {
            self.inner.record_key_use(uses).await
        }

        async fn key_changes(&self) -> Result<i64> {
            self.inner.key_changes().await
        }

        async fn create_session(&self, session: &crate::ConsoleSession) -> Result<()> {
            self.inner.create_session(session).await
        }

        async fn session_key(
            &self,
            token_hash: &[u8; 32],
            now: DateTime<Utc>,
        ) -> Result<Option<[u8; 32]>> {
            self.inner.session_key(token_hash, now).await
        }

        async fn end_session(&self, token_hash: &[u8; 32]) -> Result<()> {
            self.inner.end_session(token_hash).await
        }
    }

    #[async_trait]
    impl crate::ErrorStore for FaultyStore {
        async fn list_error_groups(
            &self,
            tenant: TenantId,
            query: &logbook_model::error_groups::GroupQuery,
        ) -> Result<logbook_model::error_groups::GroupPage> {
            self.inner.list_error_groups(tenant, query).await
        }

        async fn error_group(
            &self,
            tenant: TenantId,
            id: Uuid,
        ) -> Result<Option<logbook_model::error_groups::ErrorGroup>> {
            self.inner.error_group(tenant, id).await
        }

        async fn error_group_events(
            &self,
            tenant: TenantId,
            id: Uuid,
            limit: u32,
        ) -> Result<Vec<logbook_model::Event>> {
            self.inner.error_group_events(tenant, id, limit).await
        }

        async fn change_error_group(
            &self,
            tenant: TenantId,
            id: Uuid,
            change: &logbook_model::error_groups::GroupChange,
        ) -> Result<
            Option<(
                logbook_model::error_groups::ErrorGroup,
                logbook_model::error_groups::ErrorGroup,
            )>,
        > {
            self.inner.change_error_group(tenant, id, change).await
        }

        async fn error_trend(
            &self,
            tenant: TenantId,
            since: DateTime<Utc>,
        ) -> Result<Vec<logbook_model::error_groups::ErrorTrend>> {
            self.inner.error_trend(tenant, since).await
        }

        async fn unresolved_errors(
            &self,
            tenant: TenantId,
            since: DateTime<Utc>,
        ) -> Result<Vec<logbook_model::error_groups::UnresolvedBySeverity>> {
            self.inner.unresolved_errors(tenant, since).await
        }
    }

    #[async_trait]
    impl crate::AlertStore for FaultyStore {
        async fn alert_rules(&self, tenant: TenantId, defaults: &[Rule]) -> Result<Vec<Rule>> {
            self.inner.alert_rules(tenant, defaults).await
        }
        async fn alert_rule(&self, tenant: TenantId, id: Uuid) -> Result<Option<Rule>> {
            self.inner.alert_rule(tenant, id).await
        }
        async fn put_alert_rule(
            &self,
            tenant: TenantId,
            rule: &Rule,
            replace: bool,
        ) -> Result<bool> {
            self.inner.put_alert_rule(tenant, rule, replace).await
        }
        async fn delete_alert_rule(&self, tenant: TenantId, id: Uuid) -> Result<bool> {
            self.inner.delete_alert_rule(tenant, id).await
        }
        async fn due_alert_rules(
            &self,
            now: DateTime<Utc>,
            limit: u32,
        ) -> Result<Vec<(TenantId, Rule)>> {
            self.inner.due_alert_rules(now, limit).await
        }
        async fn open_alerts(&self, tenant: TenantId, rule: Uuid) -> Result<Vec<Alert>> {
            self.inner.open_alerts(tenant, rule).await
        }
        async fn alerts_raised_since(
            &self,
            tenant: TenantId,
            rule: Uuid,
            since: DateTime<Utc>,
        ) -> Result<u32> {
            self.inner.alerts_raised_since(tenant, rule, since).await
        }
        async fn write_alerts(
            &self,
            tenant: TenantId,
            writes: &[AlertWrite],
            evaluated: Option<(Uuid, DateTime<Utc>)>,
        ) -> Result<Vec<bool>> {
            self.inner.write_alerts(tenant, writes, evaluated).await
        }
        async fn list_alerts(
            &self,
            tenant: TenantId,
            status: Option<AlertStatus>,
            limit: u32,
        ) -> Result<Vec<Alert>> {
            self.inner.list_alerts(tenant, status, limit).await
        }
        async fn alert(&self, tenant: TenantId, id: Uuid) -> Result<Option<Alert>> {
            self.inner.alert(tenant, id).await
        }
        async fn alert_stats(
            &self,
            tenant: TenantId,
            since: DateTime<Utc>,
        ) -> Result<Vec<RuleStats>> {
            self.inner.alert_stats(tenant, since).await
        }
        async fn due_notifications(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Pending>> {
            self.inner.due_notifications(now, limit).await
        }
        async fn notification_delivered(
            &self,
            tenant: TenantId,
            n: &Notification,
            outcome: &Delivery,
        ) -> Result<()> {
            self.inner.notification_delivered(tenant, n, outcome).await
        }
        async fn alert_stream(
            &self,
            tenant: TenantId,
            after: Option<Uuid>,
            limit: u32,
        ) -> Result<Vec<Notification>> {
            self.inner.alert_stream(tenant, after, limit).await
        }
        async fn notify(&self, channel: &str, payload: &str) -> Result<()> {
            self.inner.notify(channel, payload).await
        }
        async fn count_events(
            &self,
            tenant: TenantId,
            filter: &logbook_model::EventFilter,
            group_by: Option<&str>,
            limit: u32,
        ) -> Result<Vec<(Option<String>, i64)>> {
            self.inner
                .count_events(tenant, filter, group_by, limit)
                .await
        }
        async fn hourly_counts(
            &self,
            tenant: TenantId,
            filter: &logbook_model::EventFilter,
        ) -> Result<Vec<(DateTime<Utc>, i64)>> {
            self.inner.hourly_counts(tenant, filter).await
        }
        async fn count_audit_since(&self, tenant: TenantId, since: DateTime<Utc>) -> Result<i64> {
            self.inner.count_audit_since(tenant, since).await
        }
    }

    #[async_trait]
    impl crate::DashboardStore for FaultyStore {
        async fn dashboards(
            &self,
            tenant: TenantId,
            viewer: Option<Uuid>,
        ) -> Result<Vec<logbook_model::dashboards::Dashboard>> {
            self.inner.dashboards(tenant, viewer).await
        }

        async fn dashboard(
            &self,
            tenant: TenantId,
            id: Uuid,
        ) -> Result<Option<logbook_model::dashboards::Dashboard>> {
            self.inner.dashboard(tenant, id).await
        }

        async fn put_dashboard(
            &self,
            tenant: TenantId,
            dashboard: &logbook_model::dashboards::Dashboard,
            replace: bool,
        ) -> Result<bool> {
            self.inner.put_dashboard(tenant, dashboard, replace).await
        }

        async fn delete_dashboard(&self, tenant: TenantId, id: Uuid) -> Result<bool> {
            self.inner.delete_dashboard(tenant, id).await
        }
    }

    #[async_trait]
    impl crate::MonitorStore for FaultyStore {
        async fn monitors(&self, tenant: TenantId) -> Result<Vec<Monitor>> {
            self.inner.monitors(tenant).await
        }
        async fn monitor(&self, tenant: TenantId, id: Uuid) -> Result<Option<Monitor>> {
            self.inner.monitor(tenant, id).await
        }
        async fn put_monitor(
            &self,
            tenant: TenantId,
            monitor: &Monitor,
            replace: bool,
        ) -> Result<bool> {
            self.inner.put_monitor(tenant, monitor, replace).await
        }
        async fn delete_monitor(&self, tenant: TenantId, id: Uuid) -> Result<bool> {
            self.inner.delete_monitor(tenant, id).await
        }
        async fn due_monitors(
            &self,
            now: DateTime<Utc>,
            limit: u32,
        ) -> Result<Vec<(TenantId, Monitor)>> {
            self.inner.due_monitors(now, limit).await
        }
        async fn record_check(
            &self,
            tenant: TenantId,
            monitor: Uuid,
            check: &Check,
            next: DateTime<Utc>,
        ) -> Result<()> {
            self.inner.record_check(tenant, monitor, check, next).await
        }
        async fn recent_checks(
            &self,
            tenant: TenantId,
            monitor: Uuid,
            limit: u32,
        ) -> Result<Vec<Check>> {
            self.inner.recent_checks(tenant, monitor, limit).await
        }
        async fn uptimes(
            &self,
            tenant: TenantId,
            monitor: Uuid,
            starts: [DateTime<Utc>; 3],
        ) -> Result<crate::monitors::Uptimes> {
            self.inner.uptimes(tenant, monitor, starts).await
        }
        async fn response_times(
            &self,
            tenant: TenantId,
            monitor: Uuid,
            since: DateTime<Utc>,
        ) -> Result<Vec<u32>> {
            self.inner.response_times(tenant, monitor, since).await
        }
        async fn purge_checks(&self, before: DateTime<Utc>) -> Result<u64> {
            self.inner.purge_checks(before).await
        }
    }
}
