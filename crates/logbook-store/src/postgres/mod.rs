//! Production storage: PostgreSQL ≥ 14 through tokio-postgres and a deadpool pool.
//! Ingest is one binary COPY per batch into `events`, partitioned by day.

mod access;
mod alerts;
mod anonymize;
mod audit;
mod commits;
mod dashboards;
mod dialect;
mod documents;
mod error_groups;
mod events;
mod ingest;
mod layout;
mod leadership;
mod migrations;
mod monitors;
mod partitions;
mod retention;
mod rollups;
mod rows;
mod statistics;
mod storage;
mod summary;
mod tenants;

use std::{str::FromStr, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::{Client, Manager, ManagerConfig, Pool, RecyclingMethod, Timeouts};
use logbook_model::{
    EventQuery, EventType, FailedAuthQuery, TenantId, pseudonym::Pseudonymizer,
    retention::RetentionRules,
};
use tokio_postgres::NoTls;

pub use ingest::{copy_events, insert_single};
pub use layout::{Layout, LayoutChoice};
pub use partitions::{DAYS_AHEAD, existing_days as partition_days};
pub use rows::RowWrites;

use crate::{
    ArchivedGroup, EventGroup, Lease, LifecycleStore, Result, StorageReport, StoreError, Upkeep,
    location::redact_password,
};

/// Connections in the pool: ingest writers plus concurrent readers.
pub const POOL_SIZE: usize = 16;

#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// Whether reads can run as `logbook_reader`, under the row-level security policy.
    row_security: bool,
    /// `statement_timeout` of every read.
    read_time_limit: String,
    layout: Layout,
    writes: RowWrites,
    /// Where the live tail's listener connects; and this instance's id in commit notes.
    config: tokio_postgres::Config,
    instance: uuid::Uuid,
}

impl PgStore {
    /// Connects, applies pending migrations and makes the next days' partitions.
    pub async fn connect(url: &str, options: crate::OpenOptions) -> Result<Self> {
        let config = tokio_postgres::Config::from_str(url).map_err(|e| {
            StoreError::Invalid(format!(
                "invalid PostgreSQL URL {}: {e}",
                redact_password(url)
            ))
        })?;
        // A pooled connection may come back with a read's role and tenant set: each
        // checkout starts from the login role and no tenant.
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Custom(
                    "RESET ROLE; RESET logbook.tenant_id; RESET statement_timeout".into(),
                ),
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .timeouts(Timeouts {
                wait: Some(Duration::from_secs(30)),
                create: Some(Duration::from_secs(10)),
                recycle: Some(Duration::from_secs(5)),
            })
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Invalid(format!("cannot build the connection pool: {e}")))?;
        let mut store = Self {
            pool,
            row_security: false,
            read_time_limit: format!("{}ms", options.read_time_limit.as_millis().max(1)),
            layout: Layout::Partitions,
            writes: options.writes,
            config,
            instance: uuid::Uuid::new_v4(),
        };
        let mut client = store.client().await?;
        store.layout = migrations::apply(&mut client, options.layout).await?;
        if store.layout == Layout::Partitions {
            partitions::maintain(&mut client, &mut Upkeep::default()).await?;
        }
        store.row_security = client
            .query_one(
                "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'logbook_reader')
                        THEN pg_has_role(current_user, 'logbook_reader', 'MEMBER') ELSE false END",
                &[],
            )
            .await
            .map_err(db("checking for row-level security"))?
            .get(0);
        if !store.row_security {
            tracing::warn!(
                "the role logbook_reader is missing (making it needs CREATEROLE): tenant isolation \
                 rests on query conditions alone, without row-level security"
            );
        }
        if store.layout == Layout::Hypertable {
            tracing::info!(
                "events are a TimescaleDB hypertable: TimescaleDB compresses no table under \
                 row-level security, so events are kept to their tenant by query conditions \
                 alone; the audit trail and access records keep their policies"
            );
        }
        Ok(store)
    }

    /// A pooled connection; fails with [`StoreError::Unavailable`] when PostgreSQL is down.
    pub async fn client(&self) -> Result<Client> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(crate::with_causes(&e)))
    }

    /// How a `/logs` query would be answered (`EXPLAIN`), to check that its filter finds
    /// an index.
    pub async fn plan_of_list(&self, tenant: TenantId, query: &EventQuery) -> Result<Vec<String>> {
        let (sql, clause) = events::list_statement(tenant, query);
        events::plan(&self.tenant_client(tenant).await?, &sql, &clause).await
    }

    /// How a failed-auth count would be answered.
    pub async fn plan_of_failed_auth(
        &self,
        tenant: TenantId,
        query: &FailedAuthQuery,
    ) -> Result<Vec<String>> {
        let (sql, clause) = summary::failed_auth_statement(tenant, query);
        events::plan(&self.tenant_client(tenant).await?, &sql, &clause).await
    }

    /// A connection that sees only `tenant`'s rows: the tenant is set for the session
    /// and, where the role exists, the session runs as `logbook_reader`, whom the
    /// row-level security policy shows that tenant's rows alone. Every read of tenant
    /// data goes through here, under a statement time limit a little under the request
    /// timeout, so a read whose request has given up stops too.
    pub async fn tenant_client(&self, tenant: TenantId) -> Result<Client> {
        let client = self.client().await?;
        let tenant = tenant.to_string();
        let limit = &self.read_time_limit;
        if self.row_security {
            client
                .execute(
                    "SELECT set_config('logbook.tenant_id', $1, false), set_config('statement_timeout', $2, false), \
                            set_config('role', 'logbook_reader', false)",
                    &[&tenant, &limit],
                )
                .await
        } else {
            client
                .execute(
                    "SELECT set_config('logbook.tenant_id', $1, false), set_config('statement_timeout', $2, false)",
                    &[&tenant, &limit],
                )
                .await
        }
        .map_err(db("scoping a connection to a tenant"))?;
        Ok(client)
    }

    /// Whether reads run under row-level security.
    pub fn row_security(&self) -> bool {
        self.row_security
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }
}

/// A read-only REPEATABLE READ transaction: several statements that see one moment, so
/// writes committed meanwhile are neither half seen nor mistaken for damage.
pub(crate) async fn snapshot<'c>(
    client: &'c mut Client,
    context: &'static str,
) -> Result<deadpool_postgres::Transaction<'c>> {
    client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(db(context))
}

/// A stored value, or an error naming its column: no read may panic on stored data.
pub(crate) fn column<'r, T: tokio_postgres::types::FromSql<'r>>(
    row: &'r tokio_postgres::Row,
    index: usize,
) -> Result<T> {
    row.try_get(index).map_err(|e| {
        let name = row.columns().get(index).map_or("?", |c| c.name());
        StoreError::Invalid(format!("the stored {name} cannot be read: {e}"))
    })
}

/// Shorthand for mapping tokio-postgres errors with what was being done. A closed or
/// refused connection is reported as unavailable, not as a query bug, and so is a read
/// stopped at its time limit.
fn db(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |e| {
        if e.is_closed() {
            StoreError::Unavailable(format!("{context}: {}", crate::with_causes(&e)))
        } else if e.code() == Some(&tokio_postgres::error::SqlState::QUERY_CANCELED) {
            StoreError::Unavailable(format!(
                "{context}: the read took longer than its time limit"
            ))
        } else {
            StoreError::database(context, e)
        }
    }
}

#[async_trait]
impl LifecycleStore for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn event_groups_before(
        &self,
        before: NaiveDate,
        tenant: Option<TenantId>,
    ) -> Result<Vec<EventGroup>> {
        retention::groups_before(&self.client().await?, before, tenant).await
    }

    async fn storage(&self) -> Result<StorageReport> {
        storage::report(&self.client().await?, self.layout).await
    }

    async fn retention_rules(&self) -> Result<Vec<(TenantId, RetentionRules)>> {
        retention::rules(&self.client().await?).await
    }

    async fn set_retention_rules(&self, tenant: TenantId, rules: &RetentionRules) -> Result<()> {
        retention::set_rules(&mut self.client().await?, tenant, rules).await
    }

    async fn remove_events(&self, archived: &[ArchivedGroup]) -> Result<u64> {
        retention::remove(&mut self.client().await?, self.layout, archived).await
    }

    async fn maintain(&self) -> Result<Upkeep> {
        let mut client = self.client().await?;
        let mut upkeep = Upkeep::default();
        if self.layout == Layout::Partitions {
            partitions::maintain(&mut client, &mut upkeep).await?;
        }
        upkeep.tables_analyzed = statistics::refresh(&client).await?;
        Ok(upkeep)
    }

    async fn ping(&self) -> Result<()> {
        let client = self.client().await?;
        client.simple_query("SELECT 1").await.map_err(db("ping"))?;
        Ok(())
    }

    async fn try_lead(&self, job: &'static str) -> Result<Option<Box<dyn Lease>>> {
        leadership::try_lead(self.client().await?, job).await
    }

    async fn purge_idempotency_keys(&self, before: DateTime<Utc>) -> Result<u64> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM idempotency_keys WHERE created_at < $1",
                &[&before],
            )
            .await
            .map_err(db("purging idempotency keys"))
    }

    async fn oldest_access(&self, tenant: TenantId) -> Result<Option<DateTime<Utc>>> {
        let row = self
            .client()
            .await?
            .query_one(
                "SELECT MIN(at) FROM access_log WHERE tenant_id = $1",
                &[&tenant.0],
            )
            .await
            .map_err(db("finding the oldest access record"))?;
        column(&row, 0)
    }

    async fn remove_access(
        &self,
        tenant: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        expected: u64,
    ) -> Result<u64> {
        let client = self.client().await?;
        let found: i64 = column(
            &client
                .query_one(
                    "SELECT COUNT(*) FROM access_log WHERE tenant_id = $1 AND at >= $2 AND at < $3",
                    &[&tenant.0, &from, &to],
                )
                .await
                .map_err(db("counting access records"))?,
            0,
        )?;
        if found as u64 != expected {
            return Ok(0);
        }
        let mut removed = 0;
        // One batch per statement: no lock is held long, no transaction grows large.
        loop {
            let batch = client
                .execute(
                    "DELETE FROM access_log WHERE tenant_id = $1 AND (at, id) IN
                         (SELECT at, id FROM access_log
                          WHERE tenant_id = $1 AND at >= $2 AND at < $3 LIMIT $4)",
                    &[&tenant.0, &from, &to, &crate::RANGE_REMOVE_BATCH],
                )
                .await
                .map_err(db("removing access records"))?;
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
        anonymize::anonymize(&mut self.client().await?, event_type, before, pseudonymizer).await
    }
}
