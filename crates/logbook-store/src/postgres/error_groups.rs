//! Error groups on PostgreSQL: counted in the ingest transaction, read under the
//! tenant's row-level security, changed under the group row's lock.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use logbook_model::{
    Event, TenantId,
    error_groups::{
        ErrorGroup, ErrorTrend, GroupChange, GroupPage, GroupQuery, UnresolvedBySeverity,
        gravest_first,
    },
};
use tokio_postgres::{Row, Transaction};
use uuid::Uuid;

use super::{
    PgStore, column, db,
    dialect::{Postgres, refs},
};
use crate::{
    ErrorStore, Result, StoreError,
    error_groups::{self as statements, ENVIRONMENT, Tally, USER},
};

/// Counts a batch's occurrences into their groups.
pub async fn record(tx: &Transaction<'_>, tallies: &[Tally<'_>]) -> Result<()> {
    let now = Utc::now();
    for t in tallies {
        let (sql, v) = statements::upsert::<Postgres>(t, now);
        let group: Uuid = column(
            &tx.query_one(&sql, &refs(&v.params))
                .await
                .map_err(db("counting an error group"))?,
            0,
        )?;
        let mut new_users = 0;
        for user in &t.users {
            let (sql, v) = statements::add_value::<Postgres>(t.tenant, group, USER, user);
            new_users += tx
                .execute(&sql, &refs(&v.params))
                .await
                .map_err(db("remembering an error group's user"))? as i64;
        }
        if new_users > 0 {
            let (sql, v) = statements::add_users::<Postgres>(t.tenant, group, new_users);
            tx.execute(&sql, &refs(&v.params))
                .await
                .map_err(db("counting an error group's users"))?;
        }
        for environment in &t.environments {
            let (sql, v) =
                statements::add_value::<Postgres>(t.tenant, group, ENVIRONMENT, environment);
            tx.execute(&sql, &refs(&v.params))
                .await
                .map_err(db("remembering an error group's environment"))?;
        }
        for o in &t.occurrences {
            let (sql, v) = statements::add_occurrence::<Postgres>(t.tenant, group, o);
            tx.execute(&sql, &refs(&v.params))
                .await
                .map_err(db("recording an error occurrence"))?;
        }
    }
    Ok(())
}

#[async_trait]
impl ErrorStore for PgStore {
    async fn list_error_groups(&self, tenant: TenantId, query: &GroupQuery) -> Result<GroupPage> {
        let client = self.tenant_client(tenant).await?;
        let (sql, w) = statements::list::<Postgres>(tenant, query);
        let rows = client
            .query(&sql, &refs(&w.params))
            .await
            .map_err(db("listing error groups"))?;
        let mut groups = Vec::with_capacity(rows.len());
        for row in &rows {
            groups.push(with_environments(&client, tenant, read(row)?).await?);
        }
        Ok(GroupPage::from_rows(groups, query.limit, query.order))
    }

    async fn error_group(&self, tenant: TenantId, id: Uuid) -> Result<Option<ErrorGroup>> {
        let client = self.tenant_client(tenant).await?;
        get(&client, tenant, id).await
    }

    async fn error_group_events(
        &self,
        tenant: TenantId,
        id: Uuid,
        limit: u32,
    ) -> Result<Vec<Event>> {
        let client = self.tenant_client(tenant).await?;
        let (sql, w) = statements::recent_occurrences::<Postgres>(tenant, id, limit);
        let rows = client
            .query(&sql, &refs(&w.params))
            .await
            .map_err(db("listing an error group's occurrences"))?;
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(event) = super::events::get(&client, tenant, column(row, 0)?).await? {
                events.push(event);
            }
        }
        Ok(events)
    }

    async fn change_error_group(
        &self,
        tenant: TenantId,
        id: Uuid,
        change: &GroupChange,
    ) -> Result<Option<(ErrorGroup, ErrorGroup)>> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(db("starting an error group change"))?;
        tx.execute(
            "SELECT 1 FROM error_groups WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            &[&tenant.0, &id],
        )
        .await
        .map_err(db("locking an error group"))?;
        let Some(before) = get(&tx, tenant, id).await? else {
            return Ok(None);
        };
        let (sql, w) = statements::change::<Postgres>(tenant, id, change, Utc::now());
        tx.execute(&sql, &refs(&w.params))
            .await
            .map_err(db("changing an error group"))?;
        let after = get(&tx, tenant, id)
            .await?
            .ok_or_else(|| StoreError::Invalid("an error group vanished while changed".into()))?;
        tx.commit()
            .await
            .map_err(db("committing an error group change"))?;
        Ok(Some((before, after)))
    }

    async fn error_trend(&self, tenant: TenantId, since: DateTime<Utc>) -> Result<Vec<ErrorTrend>> {
        let client = self.tenant_client(tenant).await?;
        let (sql, w) = statements::trend::<Postgres>(tenant, since);
        let rows = client
            .query(&sql, &refs(&w.params))
            .await
            .map_err(db("reading the error trend"))?;
        rows.iter()
            .map(|r| {
                Ok(ErrorTrend {
                    error_type: column(r, 0)?,
                    day: column(r, 1)?,
                    error_count: column(r, 2)?,
                    affected_users: column(r, 3)?,
                })
            })
            .collect()
    }

    async fn unresolved_errors(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<Vec<UnresolvedBySeverity>> {
        let client = self.tenant_client(tenant).await?;
        let (sql, w) = statements::unresolved_by_severity::<Postgres>(tenant, since);
        let rows = client
            .query(&sql, &refs(&w.params))
            .await
            .map_err(db("counting unresolved errors"))?;
        let mut counts = rows
            .iter()
            .map(|r| {
                let severity: String = column(r, 0)?;
                Ok(UnresolvedBySeverity {
                    severity: severity.parse().map_err(StoreError::Invalid)?,
                    unresolved_count: column(r, 1)?,
                    total_occurrences: column(r, 2)?,
                    total_users_affected: column(r, 3)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        gravest_first(&mut counts);
        Ok(counts)
    }
}

async fn get<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<ErrorGroup>> {
    let (sql, w) = statements::get::<Postgres>(tenant, id);
    let row = client
        .query_opt(&sql, &refs(&w.params))
        .await
        .map_err(db("reading an error group"))?;
    match row {
        Some(row) => Ok(Some(with_environments(client, tenant, read(&row)?).await?)),
        None => Ok(None),
    }
}

async fn with_environments<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    mut group: ErrorGroup,
) -> Result<ErrorGroup> {
    let (sql, w) = statements::environments::<Postgres>(tenant, group.id);
    group.environments = client
        .query(&sql, &refs(&w.params))
        .await
        .map_err(db("reading an error group's environments"))?
        .iter()
        .map(|r| column(r, 0))
        .collect::<Result<_>>()?;
    Ok(group)
}

fn read(r: &Row) -> Result<ErrorGroup> {
    let severity: String = column(r, 4)?;
    let status: String = column(r, 7)?;
    Ok(ErrorGroup {
        id: column(r, 0)?,
        fingerprint: column(r, 1)?,
        error_type: column(r, 2)?,
        message: column(r, 3)?,
        severity: severity.parse().map_err(StoreError::Invalid)?,
        culprit: column(r, 5)?,
        service: column(r, 6)?,
        environments: Vec::new(),
        status: status.parse().map_err(StoreError::Invalid)?,
        occurrence_count: column(r, 8)?,
        affected_users: column(r, 9)?,
        first_seen: column(r, 10)?,
        last_seen: column(r, 11)?,
        assigned_to: column(r, 12)?,
        resolution_note: column(r, 13)?,
        resolved_at: column(r, 14)?,
        regressed_at: column(r, 15)?,
        times_regressed: column(r, 16)?,
    })
}
