//! Production storage: PostgreSQL ≥ 14 through tokio-postgres and a deadpool pool.
//! Ingest is one binary COPY per batch into `events`, partitioned by day.

mod events;
mod ingest;
mod migrations;
mod partitions;
mod summary;
mod tenants;

use std::{str::FromStr, sync::Arc, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Client, Manager, ManagerConfig, Pool, RecyclingMethod, Timeouts};
use logbook_model::{
    Event, EventQuery, FailedAuthQuery, Page, TenantId,
    summary::{CountryCount, DailyBucket, HourlyBucket, Summary},
};
use tokio_postgres::NoTls;
use uuid::Uuid;

pub use ingest::{copy_events, insert_single};
pub use partitions::Partitions;

use crate::{
    ApiKey, ItemOutcome, NewApiKey, Result, Store, StoreError, Tenant, WriteItem,
    location::redact_password,
};

/// Connections in the pool: ingest writers plus concurrent readers.
pub const POOL_SIZE: usize = 16;

#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    partitions: Arc<Partitions>,
}

impl PgStore {
    /// Connects, applies pending migrations and makes the next days' partitions.
    pub async fn connect(url: &str) -> Result<Self> {
        let config = tokio_postgres::Config::from_str(url).map_err(|e| {
            StoreError::Invalid(format!(
                "invalid PostgreSQL URL {}: {e}",
                redact_password(url)
            ))
        })?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .timeouts(Timeouts {
                wait: Some(Duration::from_secs(30)),
                create: Some(Duration::from_secs(10)),
                recycle: Some(Duration::from_secs(5)),
            })
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Invalid(format!("cannot build the connection pool: {e}")))?;
        let store = Self {
            pool,
            partitions: Arc::default(),
        };
        let mut client = store.client().await?;
        migrations::apply(&mut client).await?;
        store.partitions.ensure_ahead(&mut client).await?;
        Ok(store)
    }

    /// A pooled connection; fails with [`StoreError::Unavailable`] when PostgreSQL is down.
    pub async fn client(&self) -> Result<Client> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    pub fn partitions(&self) -> &Partitions {
        &self.partitions
    }
}

/// Shorthand for mapping tokio-postgres errors with what was being done. A closed or
/// refused connection is reported as unavailable, not as a query bug.
fn db(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |e| {
        if e.is_closed() {
            StoreError::Unavailable(format!("{context}: {e}"))
        } else {
            StoreError::database(context, e)
        }
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<()> {
        let client = self.client().await?;
        client.simple_query("SELECT 1").await.map_err(db("ping"))?;
        Ok(())
    }

    async fn append(
        &self,
        items: Arc<Vec<WriteItem>>,
        idempotency_since: DateTime<Utc>,
    ) -> Result<Vec<ItemOutcome>> {
        let mut client = self.client().await?;
        let days: Vec<_> = items
            .iter()
            .flat_map(|i| &i.events)
            .map(|e| e.created_at.date_naive())
            .collect();
        self.partitions.ensure(&mut client, days).await?;
        ingest::append(&mut client, &items, idempotency_since).await
    }

    async fn idempotent_response(
        &self,
        tenant: TenantId,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<String>> {
        let client = self.client().await?;
        ingest::idempotent_response(&client, tenant, key, since).await
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

    async fn list_events(&self, tenant: TenantId, query: &EventQuery) -> Result<Page> {
        events::list(&self.client().await?, tenant, query).await
    }

    async fn get_event(&self, tenant: TenantId, id: Uuid) -> Result<Option<Event>> {
        events::get(&self.client().await?, tenant, id).await
    }

    async fn summary(&self, tenant: TenantId, since: DateTime<Utc>) -> Result<Summary> {
        summary::summary(&self.client().await?, tenant, since).await
    }

    async fn hourly(
        &self,
        tenant: TenantId,
        first_bucket: DateTime<Utc>,
    ) -> Result<Vec<HourlyBucket>> {
        summary::hourly(&self.client().await?, tenant, first_bucket).await
    }

    async fn daily(
        &self,
        tenant: TenantId,
        first_bucket: DateTime<Utc>,
    ) -> Result<Vec<DailyBucket>> {
        summary::daily(&self.client().await?, tenant, first_bucket).await
    }

    async fn by_country(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<Vec<CountryCount>> {
        summary::by_country(&self.client().await?, tenant, since).await
    }

    async fn count_failed_auth(&self, tenant: TenantId, query: &FailedAuthQuery) -> Result<i64> {
        summary::count_failed_auth(&self.client().await?, tenant, query).await
    }

    async fn create_tenant(&self, name: &str) -> Result<Tenant> {
        tenants::create_tenant(&self.client().await?, name).await
    }

    async fn tenant_by_name(&self, name: &str) -> Result<Option<Tenant>> {
        tenants::tenant_by_name(&self.client().await?, name).await
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        tenants::list_tenants(&self.client().await?).await
    }

    async fn create_api_key(&self, key: NewApiKey) -> Result<ApiKey> {
        tenants::create_api_key(&self.client().await?, key).await
    }

    async fn api_key_by_hash(&self, hash: &[u8; 32]) -> Result<Option<ApiKey>> {
        tenants::api_key_by_hash(&self.client().await?, hash).await
    }

    async fn list_api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>> {
        tenants::list_api_keys(&self.client().await?, tenant).await
    }

    async fn revoke_api_key(&self, tenant: TenantId, id: Uuid) -> Result<Option<ApiKey>> {
        tenants::revoke_api_key(&self.client().await?, tenant, id).await
    }

    async fn record_key_use(&self, uses: Vec<(Uuid, DateTime<Utc>)>) -> Result<()> {
        tenants::record_key_use(&self.client().await?, uses).await
    }
}
