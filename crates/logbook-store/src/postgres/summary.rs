//! Seed 000's dashboard queries: summary, hourly and daily rollups, countries, and the
//! failed-auth count used for rate limiting. Buckets are UTC (date_bin from the epoch),
//! whatever the session's time zone.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::Client;
use logbook_model::{
    FailedAuthQuery, TenantId,
    summary::{ActionStats, CountryCount, DailyBucket, HourlyBucket, Summary},
};

use super::{PgStore, column, db, events::Where};
use crate::{
    Result, RollupStore,
    conditions::{self, FAILED_AUTH},
};

pub async fn summary(client: &Client, tenant: TenantId, since: DateTime<Utc>) -> Result<Summary> {
    let row = client
        .query_one(
            "SELECT
                COUNT(*) FILTER (WHERE event_type = 'REQUEST'),
                COUNT(*) FILTER (WHERE event_type = 'AUTH_LOGIN' AND success),
                COUNT(*) FILTER (WHERE event_type IN ('AUTH_LOGIN', 'AUTH_FAILURE') AND NOT success),
                COUNT(*) FILTER (WHERE event_type = 'RATE_LIMIT'),
                COUNT(DISTINCT user_id),
                COUNT(DISTINCT ip_address)
             FROM events WHERE tenant_id = $1 AND created_at >= $2",
            &[&tenant.0, &since],
        )
        .await
        .map_err(db("computing the summary"))?;
    Ok(Summary {
        total_requests: column(&row, 0)?,
        successful_logins: column(&row, 1)?,
        auth_failures: column(&row, 2)?,
        rate_limit_hits: column(&row, 3)?,
        unique_users: column(&row, 4)?,
        unique_ips: column(&row, 5)?,
    })
}

pub async fn hourly(
    client: &Client,
    tenant: TenantId,
    first_bucket: DateTime<Utc>,
) -> Result<Vec<HourlyBucket>> {
    let rows = client
        .query(
            "SELECT date_bin('1 hour', created_at, TIMESTAMPTZ 'epoch') AS bucket, event_type::text,
                COUNT(*),
                COUNT(*) FILTER (WHERE success),
                COUNT(*) FILTER (WHERE NOT success),
                COUNT(DISTINCT user_id),
                COUNT(DISTINCT ip_address),
                AVG(response_time_ms)::float8,
                MAX(response_time_ms)
             FROM events WHERE tenant_id = $1 AND created_at >= $2
             GROUP BY 1, 2
             ORDER BY 1 DESC, 2",
            &[&tenant.0, &first_bucket],
        )
        .await
        .map_err(db("computing the hourly rollup"))?;
    rows.iter()
        .map(|r| {
            Ok(HourlyBucket {
                bucket: column(r, 0)?,
                event_type: column(r, 1)?,
                total_count: column(r, 2)?,
                success_count: column(r, 3)?,
                failure_count: column(r, 4)?,
                unique_users: column(r, 5)?,
                unique_ips: column(r, 6)?,
                avg_response_time_ms: column(r, 7)?,
                max_response_time_ms: column(r, 8)?,
            })
        })
        .collect()
}

pub async fn daily(
    client: &Client,
    tenant: TenantId,
    first_bucket: DateTime<Utc>,
) -> Result<Vec<DailyBucket>> {
    let rows = client
        .query(
            "SELECT date_bin('1 day', created_at, TIMESTAMPTZ 'epoch') AS bucket, event_type::text,
                geo_country::text,
                COUNT(*),
                COUNT(*) FILTER (WHERE success),
                COUNT(*) FILTER (WHERE NOT success),
                COUNT(DISTINCT user_id),
                COUNT(DISTINCT ip_address),
                COUNT(DISTINCT fingerprint),
                AVG(response_time_ms)::float8,
                PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY response_time_ms)
             FROM events WHERE tenant_id = $1 AND created_at >= $2
             GROUP BY 1, 2, 3
             ORDER BY 1 DESC, 2, 3 NULLS LAST",
            &[&tenant.0, &first_bucket],
        )
        .await
        .map_err(db("computing the daily rollup"))?;
    rows.iter()
        .map(|r| {
            Ok(DailyBucket {
                bucket: column(r, 0)?,
                event_type: column(r, 1)?,
                geo_country: column(r, 2)?,
                total_count: column(r, 3)?,
                success_count: column(r, 4)?,
                failure_count: column(r, 5)?,
                unique_users: column(r, 6)?,
                unique_ips: column(r, 7)?,
                unique_fingerprints: column(r, 8)?,
                avg_response_time_ms: column(r, 9)?,
                p95_response_time_ms: column(r, 10)?,
            })
        })
        .collect()
}

pub async fn by_country(
    client: &Client,
    tenant: TenantId,
    since: DateTime<Utc>,
) -> Result<Vec<CountryCount>> {
    let rows = client
        .query(
            "SELECT geo_country::text, COUNT(*), COUNT(*) FILTER (WHERE NOT success)
             FROM events WHERE tenant_id = $1 AND created_at >= $2
             GROUP BY 1
             ORDER BY 2 DESC, 1 NULLS LAST",
            &[&tenant.0, &since],
        )
        .await
        .map_err(db("computing the country breakdown"))?;
    rows.iter()
        .map(|r| {
            Ok(CountryCount {
                geo_country: column(r, 0)?,
                count: column(r, 1)?,
                failures: column(r, 2)?,
            })
        })
        .collect()
}

pub async fn count_failed_auth(
    client: &Client,
    tenant: TenantId,
    q: &FailedAuthQuery,
) -> Result<i64> {
    let (sql, clause) = failed_auth_statement(tenant, q);
    let row = client
        .query_one(&sql, &clause.refs())
        .await
        .map_err(db("counting failed logins"))?;
    column(&row, 0)
}

/// The statement a failed-auth count runs, with its parameters.
pub fn failed_auth_statement(tenant: TenantId, q: &FailedAuthQuery) -> (String, Where) {
    let mut clause = Where::new(tenant);
    clause
        .sql
        .push_str(&format!(" AND {FAILED_AUTH} AND NOT success"));
    clause.conditions(conditions::for_failed_auth(q));
    let sql = format!("SELECT COUNT(*) FROM events WHERE {}", clause.sql);
    (sql, clause)
}

pub async fn action_stats(client: &Client, tenant: TenantId) -> Result<ActionStats> {
    let r = client
        .query_one(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE status = 'success'),
                    COUNT(*) FILTER (WHERE status = 'failure'), COUNT(*) FILTER (WHERE status = 'timeout'),
                    COALESCE(AVG(response_time_ms), 0)::float8
             FROM events WHERE tenant_id = $1 AND event_type = 'ACTION'",
            &[&tenant.0],
        )
        .await
        .map_err(db("computing action statistics"))?;
    let mut stats = ActionStats {
        total_actions: column(&r, 0)?,
        successful_actions: column(&r, 1)?,
        failed_actions: column(&r, 2)?,
        timed_out_actions: column(&r, 3)?,
        average_execution_time_ms: column(&r, 4)?,
        ..Default::default()
    };
    for (grouped, into) in [
        ("event_subtype", &mut stats.actions_by_type),
        ("provider", &mut stats.actions_by_provider),
    ] {
        let sql = format!(
            "SELECT {grouped}::text, COUNT(*) FROM events WHERE tenant_id = $1 AND event_type = 'ACTION' AND {grouped} IS NOT NULL GROUP BY 1"
        );
        for row in client
            .query(&sql, &[&tenant.0])
            .await
            .map_err(db("computing action statistics"))?
        {
            into.insert(column(&row, 0)?, column(&row, 1)?);
        }
    }
    Ok(stats)
}

#[async_trait]
impl RollupStore for PgStore {
    async fn count_failed_auth(&self, tenant: TenantId, query: &FailedAuthQuery) -> Result<i64> {
        super::summary::count_failed_auth(&self.tenant_client(tenant).await?, tenant, query).await
    }

    async fn summary(&self, tenant: TenantId, since: DateTime<Utc>) -> Result<Summary> {
        super::summary::summary(&self.tenant_client(tenant).await?, tenant, since).await
    }

    async fn hourly(
        &self,
        tenant: TenantId,
        first_bucket: DateTime<Utc>,
    ) -> Result<Vec<HourlyBucket>> {
        super::summary::hourly(&self.tenant_client(tenant).await?, tenant, first_bucket).await
    }

    async fn daily(
        &self,
        tenant: TenantId,
        first_bucket: DateTime<Utc>,
    ) -> Result<Vec<DailyBucket>> {
        super::summary::daily(&self.tenant_client(tenant).await?, tenant, first_bucket).await
    }

    async fn by_country(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<Vec<CountryCount>> {
        super::summary::by_country(&self.tenant_client(tenant).await?, tenant, since).await
    }

    async fn action_stats(&self, tenant: TenantId) -> Result<ActionStats> {
        super::summary::action_stats(&self.tenant_client(tenant).await?, tenant).await
    }
}
