//! Alert rules, alerts and notifications on PostgreSQL. Tenant reads run under row-level
//! security; the evaluator's and sender's reads span tenants and run as the owner. A
//! change to an alert applies only if the alert is still at the version read, so several
//! servers (or a person and the evaluator) never overwrite each other.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use logbook_model::{
    EventFilter, TenantId,
    alerts::{Alert, AlertStatus, Rule},
};
use uuid::Uuid;

use super::{
    PgStore, column, db,
    dialect::{Postgres, refs},
};
use crate::{
    AlertStore, Result, StoreError,
    alerts::{
        self as statements, AlertWrite, Delivery, Notification, Pending, RuleStats, from_json,
    },
};

use super::documents::{bodies, count, execute, in_one_transaction, tenant_bodies};

#[async_trait]
impl AlertStore for PgStore {
    async fn alert_rules(&self, tenant: TenantId, defaults: &[Rule]) -> Result<Vec<Rule>> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(db("starting a read of alert rules"))?;
        let now = Utc::now();
        if execute(
            &tx,
            statements::claim_defaults(tenant),
            "giving default rules",
        )
        .await?
            == 1
        {
            for rule in defaults {
                execute(
                    &tx,
                    statements::insert_rule(tenant, rule, now),
                    "storing a default rule",
                )
                .await?;
            }
        }
        let rules = bodies(&tx, statements::list_rules(tenant), "listing alert rules").await?;
        tx.commit().await.map_err(db("committing default rules"))?;
        Ok(rules)
    }

    async fn alert_rule(&self, tenant: TenantId, id: Uuid) -> Result<Option<Rule>> {
        let client = self.tenant_client(tenant).await?;
        Ok(bodies(
            &client,
            statements::get_rule(tenant, id),
            "reading an alert rule",
        )
        .await?
        .pop())
    }

    async fn put_alert_rule(&self, tenant: TenantId, rule: &Rule, replace: bool) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(db("starting an alert rule change"))?;
        // Rule changes of one tenant take turns, so the name check holds until commit.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('alert_rules' || $1::uuid::text, 0))",
            &[&tenant.0],
        )
        .await
        .map_err(db("locking the tenant's alert rules"))?;
        let taken = count(
            &tx,
            statements::name_taken("alert_rules", tenant, &rule.name, rule.id),
            "checking a rule name",
        )
        .await?;
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
                statements::update_rule(tenant, rule, now),
                "replacing an alert rule",
            )
            .await?
        } else {
            execute(
                &tx,
                statements::insert_rule(tenant, rule, now),
                "storing an alert rule",
            )
            .await?
        };
        if changed == 0 && !replace {
            return Err(StoreError::Conflict(format!(
                "a rule with id {} exists",
                rule.id
            )));
        }
        tx.commit().await.map_err(db("committing an alert rule"))?;
        Ok(changed == 1)
    }

    async fn delete_alert_rule(&self, tenant: TenantId, id: Uuid) -> Result<bool> {
        let mut client = self.client().await?;
        let statements = statements::delete_rule(tenant, id);
        let deleted = in_one_transaction(&mut client, statements, "deleting an alert rule").await?;
        Ok(deleted == 1)
    }

    async fn due_alert_rules(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(TenantId, Rule)>> {
        let client = self.client().await?;
        tenant_bodies(
            &client,
            statements::due_rules(now, limit),
            "finding rules due",
        )
        .await
    }

    async fn open_alerts(&self, tenant: TenantId, rule: Uuid) -> Result<Vec<Alert>> {
        let client = self.client().await?;
        bodies(
            &client,
            statements::open_alerts(tenant, rule),
            "reading open alerts",
        )
        .await
    }

    async fn alerts_raised_since(
        &self,
        tenant: TenantId,
        rule: Uuid,
        since: DateTime<Utc>,
    ) -> Result<u32> {
        let client = self.client().await?;
        let n = count(
            &client,
            statements::raised_since(tenant, rule, since),
            "counting a rule's alerts",
        )
        .await?;
        Ok(n as u32)
    }

    async fn write_alerts(
        &self,
        tenant: TenantId,
        writes: &[AlertWrite],
        evaluated: Option<(Uuid, DateTime<Utc>)>,
    ) -> Result<Vec<bool>> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(db("starting an alert change"))?;
        let mut applied = Vec::with_capacity(writes.len());
        for write in writes {
            let (statement, notifications) = match write {
                AlertWrite::Insert(alert, n) => {
                    (statements::insert_alert(tenant, alert), n.as_slice())
                }
                AlertWrite::Update(alert, n) => {
                    (statements::update_alert(tenant, alert), n.as_slice())
                }
                AlertWrite::Delete(alert) => (statements::delete_alert(tenant, alert), &[][..]),
            };
            let done = execute(&tx, statement, "changing an alert").await? == 1;
            if done {
                for n in notifications {
                    execute(
                        &tx,
                        statements::insert_notification(tenant, n),
                        "queueing a notification",
                    )
                    .await?;
                }
            }
            applied.push(done);
        }
        if let Some((rule, next)) = evaluated {
            execute(
                &tx,
                statements::rule_evaluated(tenant, rule, next),
                "marking a rule evaluated",
            )
            .await?;
        }
        tx.commit()
            .await
            .map_err(db("committing an alert change"))?;
        Ok(applied)
    }

    async fn list_alerts(
        &self,
        tenant: TenantId,
        status: Option<AlertStatus>,
        limit: u32,
    ) -> Result<Vec<Alert>> {
        let client = self.tenant_client(tenant).await?;
        bodies(
            &client,
            statements::list_alerts(tenant, status, limit),
            "listing alerts",
        )
        .await
    }

    async fn alert(&self, tenant: TenantId, id: Uuid) -> Result<Option<Alert>> {
        let client = self.tenant_client(tenant).await?;
        Ok(bodies(
            &client,
            statements::get_alert(tenant, id),
            "reading an alert",
        )
        .await?
        .pop())
    }

    async fn alert_stats(&self, tenant: TenantId, since: DateTime<Utc>) -> Result<Vec<RuleStats>> {
        let client = self.tenant_client(tenant).await?;
        let (sql, w) = statements::stats::<Postgres>(tenant, since);
        let rows = client
            .query(&sql, &refs(&w.params))
            .await
            .map_err(db("reading alert statistics"))?;
        rows.iter()
            .map(|r| {
                Ok(RuleStats {
                    rule_id: column(r, 0)?,
                    total_alerts: column(r, 1)?,
                    active_alerts: column(r, 2)?,
                    resolved_alerts: column(r, 3)?,
                    last_triggered: column(r, 4)?,
                    avg_resolution_time_minutes: column::<Option<f64>>(r, 5)?
                        .map(statements::minutes),
                })
            })
            .collect()
    }

    async fn due_notifications(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Pending>> {
        let client = self.client().await?;
        let (sql, w) = statements::due_notifications::<Postgres>(now, limit);
        let rows = client
            .query(&sql, &refs(&w.params))
            .await
            .map_err(db("finding notifications due"))?;
        rows.iter()
            .map(|r| {
                Ok(Pending {
                    tenant: TenantId(column(r, 0)?),
                    attempts: column::<i32>(r, 1)? as u32,
                    notification: from_json(&column::<String>(r, 2)?)?,
                })
            })
            .collect()
    }

    async fn notification_delivered(
        &self,
        tenant: TenantId,
        notification: &Notification,
        outcome: &Delivery,
    ) -> Result<()> {
        let client = self.client().await?;
        let statement = statements::delivered(tenant, notification, outcome, Utc::now());
        execute(&client, statement, "recording a delivery")
            .await
            .map(drop)
    }

    async fn alert_stream(
        &self,
        tenant: TenantId,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Notification>> {
        let client = self.tenant_client(tenant).await?;
        bodies(
            &client,
            statements::stream(tenant, after, limit),
            "reading the alert stream",
        )
        .await
    }

    async fn notify(&self, channel: &str, payload: &str) -> Result<()> {
        let client = self.client().await?;
        client
            .execute("SELECT pg_notify($1, $2)", &[&channel, &payload])
            .await
            .map_err(db("sending NOTIFY"))?;
        Ok(())
    }

    async fn count_events(
        &self,
        tenant: TenantId,
        filter: &EventFilter,
        group_by: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(Option<String>, i64)>> {
        let client = self.tenant_client(tenant).await?;
        let (sql, w) = statements::count_events::<Postgres>(tenant, filter, group_by, limit)?;
        let rows = client
            .query(&sql, &refs(&w.params))
            .await
            .map_err(db("counting events"))?;
        rows.iter()
            .map(|r| {
                Ok(match group_by {
                    Some(_) => (Some(column(r, 0)?), column(r, 1)?),
                    None => (None, column(r, 0)?),
                })
            })
            .collect()
    }

    async fn hourly_counts(
        &self,
        tenant: TenantId,
        filter: &EventFilter,
    ) -> Result<Vec<(DateTime<Utc>, i64)>> {
        let client = self.tenant_client(tenant).await?;
        let (sql, w) = statements::hourly_counts::<Postgres>(tenant, filter);
        let rows = client
            .query(&sql, &refs(&w.params))
            .await
            .map_err(db("counting events per hour"))?;
        rows.iter()
            .map(|r| Ok((column(r, 0)?, column(r, 1)?)))
            .collect()
    }

    async fn count_audit_since(&self, tenant: TenantId, since: DateTime<Utc>) -> Result<i64> {
        let client = self.tenant_client(tenant).await?;
        count(
            &client,
            statements::count_audit(tenant, since),
            "counting audit events",
        )
        .await
    }
}
