//! Monitors and their checks on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use logbook_model::{
    TenantId,
    monitors::{Check, Monitor},
};
use rusqlite::{TransactionBehavior, params_from_iter};
use uuid::Uuid;

use super::{SqliteStore, db, dialect::Sqlite};
use crate::{
    MonitorStore, Result, StoreError,
    monitors::{self as statements, Uptimes},
};

use super::documents::{bodies, count, execute, in_one_transaction, tenant_bodies};

#[async_trait]
impl MonitorStore for SqliteStore {
    async fn monitors(&self, tenant: TenantId) -> Result<Vec<Monitor>> {
        self.read(move |conn| bodies(conn, statements::list(tenant), "listing monitors"))
            .await
    }

    async fn monitor(&self, tenant: TenantId, id: Uuid) -> Result<Option<Monitor>> {
        self.read(move |conn| {
            Ok(bodies(conn, statements::get(tenant, id), "reading a monitor")?.pop())
        })
        .await
    }

    async fn put_monitor(
        &self,
        tenant: TenantId,
        monitor: &Monitor,
        replace: bool,
    ) -> Result<bool> {
        let monitor = monitor.clone();
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db("starting a monitor change"))?;
            let taken = count(
                &tx,
                crate::alerts::name_taken("monitors", tenant, &monitor.name, monitor.id),
                "checking a monitor name",
            )?;
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
                    statements::update(tenant, &monitor, now),
                    "replacing a monitor",
                )?
            } else {
                execute(
                    &tx,
                    statements::insert(tenant, &monitor, now),
                    "storing a monitor",
                )?
            };
            tx.commit().map_err(db("committing a monitor"))?;
            Ok(changed == 1)
        })
        .await
    }

    async fn delete_monitor(&self, tenant: TenantId, id: Uuid) -> Result<bool> {
        self.write(move |conn| {
            let deleted =
                in_one_transaction(conn, statements::delete(tenant, id), "deleting a monitor")?;
            Ok(deleted == 1)
        })
        .await
    }

    async fn due_monitors(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(TenantId, Monitor)>> {
        self.read(move |conn| {
            tenant_bodies(conn, statements::due(now, limit), "finding monitors due")
        })
        .await
    }

    async fn record_check(
        &self,
        tenant: TenantId,
        monitor: Uuid,
        check: &Check,
        next: DateTime<Utc>,
    ) -> Result<()> {
        let check = check.clone();
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db("starting a check record"))?;
            execute(
                &tx,
                statements::insert_check(tenant, monitor, &check),
                "recording a check",
            )?;
            execute(
                &tx,
                statements::checked(tenant, monitor, next),
                "scheduling a monitor",
            )?;
            tx.commit().map_err(db("committing a check"))
        })
        .await
    }

    async fn recent_checks(
        &self,
        tenant: TenantId,
        monitor: Uuid,
        limit: u32,
    ) -> Result<Vec<Check>> {
        self.read(move |conn| {
            bodies(
                conn,
                statements::recent(tenant, monitor, limit),
                "reading checks",
            )
        })
        .await
    }

    async fn uptimes(
        &self,
        tenant: TenantId,
        monitor: Uuid,
        starts: [DateTime<Utc>; 3],
    ) -> Result<Uptimes> {
        self.read(move |conn| {
            let (sql, w) = statements::uptimes::<Sqlite>(tenant, monitor, starts);
            conn.prepare_cached(&sql)
                .and_then(|mut stmt| {
                    stmt.query_row(params_from_iter(w.params), |r| {
                        let n = |i| r.get::<_, Option<i64>>(i).map(Option::unwrap_or_default);
                        Ok(Uptimes {
                            checks: [n(0)?, n(1)?, n(2)?],
                            up: [n(3)?, n(4)?, n(5)?],
                        })
                    })
                })
                .map_err(db("computing uptimes"))
        })
        .await
    }

    async fn response_times(
        &self,
        tenant: TenantId,
        monitor: Uuid,
        since: DateTime<Utc>,
    ) -> Result<Vec<u32>> {
        self.read(move |conn| {
            let (sql, w) = statements::response_times::<Sqlite>(tenant, monitor, since);
            let rows: Vec<i64> = conn
                .prepare_cached(&sql)
                .and_then(|mut stmt| {
                    stmt.query_map(params_from_iter(w.params), |r| r.get(0))?
                        .collect()
                })
                .map_err(db("reading response times"))?;
            Ok(rows
                .into_iter()
                .map(|ms| ms.clamp(0, i64::from(u32::MAX)) as u32)
                .collect())
        })
        .await
    }

    async fn purge_checks(&self, before: DateTime<Utc>) -> Result<u64> {
        self.write(move |conn| {
            execute(conn, statements::purge(before), "forgetting old checks").map(|n| n as u64)
        })
        .await
    }
}
