//! Monitors and their checks on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use logbook_model::{
    TenantId,
    monitors::{Check, Monitor},
};
use rusqlite::{Connection, TransactionBehavior, params_from_iter};
use uuid::Uuid;

use super::{SqliteStore, db, dialect::Sqlite};
use crate::{
    MonitorStore, Result, StoreError,
    alerts::from_json,
    dialect::Where,
    monitors::{self as statements, Uptimes},
};

fn execute(
    conn: &Connection,
    (sql, w): (String, Where<Sqlite>),
    what: &'static str,
) -> Result<usize> {
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| stmt.execute(params_from_iter(w.params)))
        .map_err(db(what))
}

fn bodies<T: for<'de> serde::Deserialize<'de>>(
    conn: &Connection,
    (sql, w): (String, Where<Sqlite>),
    what: &'static str,
) -> Result<Vec<T>> {
    let texts: Vec<String> = conn
        .prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_map(params_from_iter(w.params), |r| r.get(0))?
                .collect()
        })
        .map_err(db(what))?;
    texts.iter().map(|t| from_json(t)).collect()
}

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
            let (sql, w) = statements::name_taken::<Sqlite>(tenant, &monitor.name, monitor.id);
            let taken: i64 = tx
                .query_row(&sql, params_from_iter(w.params), |r| r.get(0))
                .map_err(db("checking a monitor name"))?;
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
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db("starting a monitor deletion"))?;
            let mut deleted = 0;
            for statement in statements::delete(tenant, id) {
                deleted = execute(&tx, statement, "deleting a monitor")?;
            }
            tx.commit().map_err(db("committing a monitor deletion"))?;
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
            let (sql, w) = statements::due::<Sqlite>(now, limit);
            let rows: Vec<(Uuid, String)> = conn
                .prepare_cached(&sql)
                .and_then(|mut stmt| {
                    stmt.query_map(params_from_iter(w.params), |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect()
                })
                .map_err(db("finding monitors due"))?;
            rows.into_iter()
                .map(|(tenant, body)| Ok((TenantId(tenant), from_json(&body)?)))
                .collect()
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
