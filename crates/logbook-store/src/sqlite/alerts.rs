//! Alert rules, alerts and notifications on SQLite: changed by the one writer in immediate
//! transactions, read from a snapshot.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use logbook_model::{
    EventFilter, TenantId,
    alerts::{Alert, AlertStatus, Rule},
};
use rusqlite::{TransactionBehavior, params_from_iter};
use uuid::Uuid;

use super::{SqliteStore, db, dialect::Sqlite, from_micros};
use crate::{
    AlertStore, Result, StoreError,
    alerts::{
        self as statements, AlertWrite, Delivery, Notification, Pending, RuleStats, from_json,
    },
};

use super::documents::{bodies, count, execute, in_one_transaction, tenant_bodies};

#[async_trait]
impl AlertStore for SqliteStore {
    async fn alert_rules(&self, tenant: TenantId, defaults: &[Rule]) -> Result<Vec<Rule>> {
        let defaults = defaults.to_vec();
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db("starting a read of alert rules"))?;
            let now = Utc::now();
            if execute(
                &tx,
                statements::claim_defaults(tenant),
                "giving default rules",
            )? == 1
            {
                for rule in &defaults {
                    execute(
                        &tx,
                        statements::insert_rule(tenant, rule, now),
                        "storing a default rule",
                    )?;
                }
            }
            let rules = bodies(&tx, statements::list_rules(tenant), "listing alert rules")?;
            tx.commit().map_err(db("committing default rules"))?;
            Ok(rules)
        })
        .await
    }

    async fn alert_rule(&self, tenant: TenantId, id: Uuid) -> Result<Option<Rule>> {
        self.read(move |conn| {
            Ok(bodies(
                conn,
                statements::get_rule(tenant, id),
                "reading an alert rule",
            )?
            .pop())
        })
        .await
    }

    async fn put_alert_rule(&self, tenant: TenantId, rule: &Rule, replace: bool) -> Result<bool> {
        let rule = rule.clone();
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db("starting an alert rule change"))?;
            let taken = count(
                &tx,
                statements::name_taken("alert_rules", tenant, &rule.name, rule.id),
                "checking a rule name",
            )?;
            if taken > 0 {
                return Err(StoreError::Conflict(format!(
                    "a rule named {:?} exists",
                    rule.name
                )));
            }
            let now = Utc::now();
            let changed = if replace {
                execute(
                    &tx,
                    statements::update_rule(tenant, &rule, now),
                    "replacing an alert rule",
                )?
            } else {
                execute(
                    &tx,
                    statements::insert_rule(tenant, &rule, now),
                    "storing an alert rule",
                )?
            };
            if changed == 0 && !replace {
                return Err(StoreError::Conflict(format!(
                    "a rule with id {} exists",
                    rule.id
                )));
            }
            tx.commit().map_err(db("committing an alert rule"))?;
            Ok(changed == 1)
        })
        .await
    }

    async fn delete_alert_rule(&self, tenant: TenantId, id: Uuid) -> Result<bool> {
        self.write(move |conn| {
            let statements = statements::delete_rule(tenant, id);
            Ok(in_one_transaction(conn, statements, "deleting an alert rule")? == 1)
        })
        .await
    }

    async fn due_alert_rules(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(TenantId, Rule)>> {
        self.read(move |conn| {
            tenant_bodies(conn, statements::due_rules(now, limit), "finding rules due")
        })
        .await
    }

    async fn open_alerts(&self, tenant: TenantId, rule: Uuid) -> Result<Vec<Alert>> {
        self.read(move |conn| {
            bodies(
                conn,
                statements::open_alerts(tenant, rule),
                "reading open alerts",
            )
        })
        .await
    }

    async fn alerts_raised_since(
        &self,
        tenant: TenantId,
        rule: Uuid,
        since: DateTime<Utc>,
    ) -> Result<u32> {
        self.read(move |conn| {
            count(
                conn,
                statements::raised_since(tenant, rule, since),
                "counting a rule's alerts",
            )
            .map(|n| n as u32)
        })
        .await
    }

    async fn write_alerts(
        &self,
        tenant: TenantId,
        writes: &[AlertWrite],
        evaluated: Option<(Uuid, DateTime<Utc>)>,
    ) -> Result<Vec<bool>> {
        let writes = writes.to_vec();
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db("starting an alert change"))?;
            let mut applied = Vec::with_capacity(writes.len());
            for write in &writes {
                let (statement, notifications) = match write {
                    AlertWrite::Insert(alert, n) => {
                        (statements::insert_alert(tenant, alert), n.as_slice())
                    }
                    AlertWrite::Update(alert, n) => {
                        (statements::update_alert(tenant, alert), n.as_slice())
                    }
                    AlertWrite::Delete(alert) => (statements::delete_alert(tenant, alert), &[][..]),
                };
                let done = execute(&tx, statement, "changing an alert")? == 1;
                if done {
                    for n in notifications {
                        execute(
                            &tx,
                            statements::insert_notification(tenant, n),
                            "queueing a notification",
                        )?;
                    }
                }
                applied.push(done);
            }
            if let Some((rule, next)) = evaluated {
                execute(
                    &tx,
                    statements::rule_evaluated(tenant, rule, next),
                    "marking a rule evaluated",
                )?;
            }
            tx.commit().map_err(db("committing an alert change"))?;
            Ok(applied)
        })
        .await
    }

    async fn list_alerts(
        &self,
        tenant: TenantId,
        status: Option<AlertStatus>,
        limit: u32,
    ) -> Result<Vec<Alert>> {
        self.read(move |conn| {
            bodies(
                conn,
                statements::list_alerts(tenant, status, limit),
                "listing alerts",
            )
        })
        .await
    }

    async fn alert(&self, tenant: TenantId, id: Uuid) -> Result<Option<Alert>> {
        self.read(move |conn| {
            Ok(bodies(conn, statements::get_alert(tenant, id), "reading an alert")?.pop())
        })
        .await
    }

    async fn alert_stats(&self, tenant: TenantId, since: DateTime<Utc>) -> Result<Vec<RuleStats>> {
        self.read(move |conn| {
            let (sql, w) = statements::stats::<Sqlite>(tenant, since);
            type Row = (Uuid, i64, i64, i64, Option<i64>, Option<f64>);
            let rows: Vec<Row> = conn
                .prepare_cached(&sql)
                .and_then(|mut stmt| {
                    stmt.query_map(params_from_iter(w.params), |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                        ))
                    })?
                    .collect()
                })
                .map_err(db("reading alert statistics"))?;
            rows.into_iter()
                .map(|(rule_id, total, active, resolved, last, seconds)| {
                    Ok(RuleStats {
                        rule_id,
                        total_alerts: total,
                        active_alerts: active,
                        resolved_alerts: resolved,
                        last_triggered: last.map(from_micros).transpose()?,
                        avg_resolution_time_minutes: seconds.map(statements::minutes),
                    })
                })
                .collect()
        })
        .await
    }

    async fn due_notifications(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Pending>> {
        self.read(move |conn| {
            let (sql, w) = statements::due_notifications::<Sqlite>(now, limit);
            let rows: Vec<(Uuid, i64, String)> = conn
                .prepare_cached(&sql)
                .and_then(|mut stmt| {
                    stmt.query_map(params_from_iter(w.params), |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })?
                    .collect()
                })
                .map_err(db("finding notifications due"))?;
            rows.into_iter()
                .map(|(tenant, attempts, body)| {
                    Ok(Pending {
                        tenant: TenantId(tenant),
                        attempts: attempts as u32,
                        notification: from_json(&body)?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn notification_delivered(
        &self,
        tenant: TenantId,
        notification: &Notification,
        outcome: &Delivery,
    ) -> Result<()> {
        let (notification, outcome) = (notification.clone(), outcome.clone());
        self.write(move |conn| {
            let statement = statements::delivered(tenant, &notification, &outcome, Utc::now());
            execute(conn, statement, "recording a delivery").map(drop)
        })
        .await
    }

    async fn alert_stream(
        &self,
        tenant: TenantId,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Notification>> {
        self.read(move |conn| {
            bodies(
                conn,
                statements::stream(tenant, after, limit),
                "reading the alert stream",
            )
        })
        .await
    }

    async fn notify(&self, _channel: &str, _payload: &str) -> Result<()> {
        Err(StoreError::Invalid(
            "notify channels need PostgreSQL: SQLite has no NOTIFY".into(),
        ))
    }

    async fn count_events(
        &self,
        tenant: TenantId,
        filter: &EventFilter,
        group_by: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(Option<String>, i64)>> {
        let (sql, w) = statements::count_events::<Sqlite>(tenant, filter, group_by, limit)?;
        let grouped = group_by.is_some();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&sql).map_err(db("counting events"))?;
            let rows = stmt
                .query_map(params_from_iter(w.params), |r| {
                    Ok(if grouped {
                        (Some(r.get(0)?), r.get(1)?)
                    } else {
                        (None, r.get(0)?)
                    })
                })
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(db("counting events"))?;
            Ok(rows)
        })
        .await
    }

    async fn hourly_counts(
        &self,
        tenant: TenantId,
        filter: &EventFilter,
    ) -> Result<Vec<(DateTime<Utc>, i64)>> {
        let (sql, w) = statements::hourly_counts::<Sqlite>(tenant, filter);
        self.read(move |conn| {
            let rows: Vec<(i64, i64)> = conn
                .prepare_cached(&sql)
                .and_then(|mut stmt| {
                    stmt.query_map(params_from_iter(w.params), |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect()
                })
                .map_err(db("counting events per hour"))?;
            rows.into_iter()
                .map(|(hour, n)| Ok((from_micros(hour)?, n)))
                .collect()
        })
        .await
    }

    async fn count_audit_since(&self, tenant: TenantId, since: DateTime<Utc>) -> Result<i64> {
        self.read(move |conn| {
            count(
                conn,
                statements::count_audit(tenant, since),
                "counting audit events",
            )
        })
        .await
    }
}
