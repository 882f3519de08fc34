//! Monitors and their checks on PostgreSQL: tenant reads under row-level security, the
//! checker's reads across tenants as the owner.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use logbook_model::{
    TenantId,
    monitors::{Check, Monitor},
};
use uuid::Uuid;

use super::{
    PgStore, column, db,
    dialect::{Postgres, refs},
};
use crate::{
    MonitorStore, Result, StoreError,
    monitors::{self as statements, Uptimes},
};

use super::documents::{bodies, count, execute, in_one_transaction, tenant_bodies};

#[async_trait]
impl MonitorStore for PgStore {
    async fn monitors(&self, tenant: TenantId) -> Result<Vec<Monitor>> {
        let client = self.tenant_client(tenant).await?;
        bodies(&client, statements::list(tenant), "listing monitors").await
    }

    async fn monitor(&self, tenant: TenantId, id: Uuid) -> Result<Option<Monitor>> {
        let client = self.tenant_client(tenant).await?;
        Ok(
            bodies(&client, statements::get(tenant, id), "reading a monitor")
                .await?
                .pop(),
        )
    }

    async fn put_monitor(
        &self,
        tenant: TenantId,
        monitor: &Monitor,
        replace: bool,
    ) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(db("starting a monitor change"))?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('monitors' || $1::uuid::text, 0))",
            &[&tenant.0],
        )
        .await
        .map_err(db("locking the tenant's monitors"))?;
        let taken = count(
            &tx,
            crate::alerts::name_taken("monitors", tenant, &monitor.name, monitor.id),
            "checking a monitor name",
        )
        .await?;
        if taken > 0 {
            return Err(StoreError::Conflict(format!(
                "a monitor named {:?} exists",
                monitor.name
            )));
        }
        let now = Utc::now();
        let changed = if replace {
            execute(
                &tx,
                statements::update(tenant, monitor, now),
                "replacing a monitor",
            )
            .await?
        } else {
            execute(
                &tx,
                statements::insert(tenant, monitor, now),
                "storing a monitor",
            )
            .await?
        };
        tx.commit().await.map_err(db("committing a monitor"))?;
        Ok(changed == 1)
    }

    async fn delete_monitor(&self, tenant: TenantId, id: Uuid) -> Result<bool> {
        let mut client = self.client().await?;
        let deleted = in_one_transaction(
            &mut client,
            statements::delete(tenant, id),
            "deleting a monitor",
        )
        .await?;
        Ok(deleted == 1)
    }

    async fn due_monitors(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(TenantId, Monitor)>> {
        let client = self.client().await?;
        tenant_bodies(&client, statements::due(now, limit), "finding monitors due").await
    }

    async fn record_check(
        &self,
        tenant: TenantId,
        monitor: Uuid,
        check: &Check,
        next: DateTime<Utc>,
    ) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(db("starting a check record"))?;
        execute(
            &tx,
            statements::insert_check(tenant, monitor, check),
            "recording a check",
        )
        .await?;
        execute(
            &tx,
            statements::checked(tenant, monitor, next),
            "scheduling a monitor",
        )
        .await?;
        tx.commit().await.map_err(db("committing a check"))
    }

    async fn recent_checks(
        &self,
        tenant: TenantId,
        monitor: Uuid,
        limit: u32,
    ) -> Result<Vec<Check>> {
        let client = self.tenant_client(tenant).await?;
        bodies(
            &client,
            statements::recent(tenant, monitor, limit),
            "reading checks",
        )
        .await
    }

    async fn uptimes(
        &self,
        tenant: TenantId,
        monitor: Uuid,
        starts: [DateTime<Utc>; 3],
    ) -> Result<Uptimes> {
        let client = self.tenant_client(tenant).await?;
        let (sql, w) = statements::uptimes::<Postgres>(tenant, monitor, starts);
        let row = client
            .query_one(&sql, &refs(&w.params))
            .await
            .map_err(db("computing uptimes"))?;
        let n = |i| column::<Option<i64>>(&row, i).map(Option::unwrap_or_default);
        Ok(Uptimes {
            checks: [n(0)?, n(1)?, n(2)?],
            up: [n(3)?, n(4)?, n(5)?],
        })
    }

    async fn response_times(
        &self,
        tenant: TenantId,
        monitor: Uuid,
        since: DateTime<Utc>,
    ) -> Result<Vec<u32>> {
        let client = self.tenant_client(tenant).await?;
        let (sql, w) = statements::response_times::<Postgres>(tenant, monitor, since);
        let rows = client
            .query(&sql, &refs(&w.params))
            .await
            .map_err(db("reading response times"))?;
        rows.iter()
            .map(|r| Ok(column::<i64>(r, 0)?.clamp(0, i64::from(u32::MAX)) as u32))
            .collect()
    }

    async fn purge_checks(&self, before: DateTime<Utc>) -> Result<u64> {
        let client = self.client().await?;
        execute(&client, statements::purge(before), "forgetting old checks").await
    }
}
