//! Seed 000's dashboard answers from the rollups, and the failed-auth count used for rate
//! limiting, which filters raw events.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::Client;
use logbook_model::{
    FailedAuthQuery, TenantId,
    summary::{
        ActionStats, CountryCount, DailyBucket, EndpointMetrics, EndpointStep, HourlyBucket,
        Summary,
    },
};

use super::{
    PgStore, column, db,
    dialect::{Postgres, Value, refs},
    rollups,
};
use logbook_model::{
    activity::{FeatureUsage, Session},
    monitors::round2,
};

use crate::{
    Compaction, Result, RollupStore, activity,
    rollups::{Kind, shape},
    statements,
};

pub async fn count_failed_auth(
    client: &Client,
    tenant: TenantId,
    q: &FailedAuthQuery,
) -> Result<i64> {
    let (sql, params) = failed_auth_statement(tenant, q);
    let row = client
        .query_one(&sql, &refs(&params))
        .await
        .map_err(db("counting failed logins"))?;
    column(&row, 0)
}

/// The statement a failed-auth count runs, with its parameters.
pub fn failed_auth_statement(tenant: TenantId, q: &FailedAuthQuery) -> (String, Vec<Value>) {
    let (sql, clause) = statements::failed_auth::<Postgres>(tenant, q, None);
    (sql, clause.params)
}

#[async_trait]
impl RollupStore for PgStore {
    async fn feature_usage(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<FeatureUsage>> {
        let client = self.tenant_client(tenant).await?;
        let (sql, w) = activity::feature_usage::<Postgres>(tenant, since, limit);
        let rows = client
            .query(&sql, &refs(&w.params))
            .await
            .map_err(db("reading feature usage"))?;
        rows.iter()
            .map(|r| {
                Ok(FeatureUsage {
                    module: column(r, 0)?,
                    feature: column(r, 1)?,
                    unique_users: column(r, 2)?,
                    total_uses: column(r, 3)?,
                    avg_duration_seconds: column::<Option<f64>>(r, 4)?.map(round2),
                })
            })
            .collect()
    }

    async fn sessions(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Session>> {
        let client = self.tenant_client(tenant).await?;
        let (sql, w) = activity::sessions::<Postgres>(tenant, since, limit);
        let rows = client
            .query(&sql, &refs(&w.params))
            .await
            .map_err(db("reading sessions"))?;
        rows.iter()
            .map(|r| {
                let (started_at, ended_at): (DateTime<Utc>, DateTime<Utc>) =
                    (column(r, 2)?, column(r, 3)?);
                Ok(Session {
                    session_id: column(r, 0)?,
                    user_id: column(r, 1)?,
                    duration_seconds: (ended_at - started_at).num_seconds(),
                    started_at,
                    ended_at,
                    page_views: column(r, 4)?,
                    actions: column(r, 5)?,
                    events: column(r, 6)?,
                })
            })
            .collect()
    }

    async fn user_months(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<Vec<(String, String)>> {
        let client = self.tenant_client(tenant).await?;
        let (sql, w) = activity::user_months::<Postgres>(tenant, since);
        let rows = client
            .query(&sql, &refs(&w.params))
            .await
            .map_err(db("reading active months"))?;
        rows.iter()
            .map(|r| Ok((column(r, 0)?, column(r, 1)?)))
            .collect()
    }

    async fn count_failed_auth(&self, tenant: TenantId, query: &FailedAuthQuery) -> Result<i64> {
        count_failed_auth(&self.tenant_client(tenant).await?, tenant, query).await
    }

    async fn summary(&self, tenant: TenantId, since: DateTime<Utc>) -> Result<Summary> {
        let rows = self.window(tenant, Kind::Hour, since).await?;
        Ok(shape::summary(rows))
    }

    async fn hourly(
        &self,
        tenant: TenantId,
        first_bucket: DateTime<Utc>,
    ) -> Result<Vec<HourlyBucket>> {
        shape::hourly(self.window(tenant, Kind::Hour, first_bucket).await?)
    }

    async fn daily(
        &self,
        tenant: TenantId,
        first_bucket: DateTime<Utc>,
    ) -> Result<Vec<DailyBucket>> {
        shape::daily(self.window(tenant, Kind::Day, first_bucket).await?)
    }

    async fn by_country(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<Vec<CountryCount>> {
        Ok(shape::by_country(
            self.window(tenant, Kind::CountryHour, since).await?,
        ))
    }

    async fn integrations(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<Vec<logbook_model::summary::IntegrationHealth>> {
        let client = self.tenant_client(tenant).await?;
        let hour_ago = Utc::now() - chrono::Duration::hours(1);
        let (sql, w) =
            crate::integrations::statement::<super::dialect::Postgres>(tenant, since, hour_ago);
        let rows = client
            .query(&sql, &super::dialect::refs(&w.params))
            .await
            .map_err(db("reading integration health"))?;
        let rows = rows
            .iter()
            .map(|r| {
                Ok(crate::integrations::Row {
                    provider: column(r, 0)?,
                    event_type: column(r, 1)?,
                    total: column(r, 2)?,
                    failures: column(r, 3)?,
                    failures_last_hour: column(r, 4)?,
                    timed: column(r, 5)?,
                    time_sum: column(r, 6)?,
                    last_success: column(r, 7)?,
                    last_seen: column(r, 8)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(crate::integrations::health(rows))
    }

    async fn action_stats(&self, tenant: TenantId) -> Result<ActionStats> {
        let client = self.tenant_client(tenant).await?;
        Ok(shape::action_stats(
            &rollups::all(&client, tenant, Kind::ActionDay).await?,
        ))
    }

    async fn endpoints(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
        step: EndpointStep,
    ) -> Result<Vec<EndpointMetrics>> {
        let rows = rollups::window(
            &mut self.tenant_client(tenant).await?,
            tenant,
            shape::endpoint_kinds(step),
            since,
        )
        .await?;
        shape::endpoints(rows, step, crate::rollups::seconds_since(since))
    }

    async fn compact_rollups(&self) -> Result<Compaction> {
        rollups::compact(&mut self.client().await?).await
    }
}

impl PgStore {
    async fn window(
        &self,
        tenant: TenantId,
        kind: Kind,
        since: DateTime<Utc>,
    ) -> Result<Vec<crate::rollups::Row>> {
        rollups::window(
            &mut self.tenant_client(tenant).await?,
            tenant,
            &[kind],
            since,
        )
        .await
    }
}
