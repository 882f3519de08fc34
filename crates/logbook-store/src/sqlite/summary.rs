//! Seed 000's dashboard queries: summary, hourly and daily rollups, countries, and the
//! failed-auth count used for rate limiting.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use logbook_model::{
    FailedAuthQuery, TenantId,
    summary::{ActionStats, CountryCount, DailyBucket, HourlyBucket, Summary},
};
use rusqlite::{Connection, params, params_from_iter, types::Value};

use super::{SqliteStore, db, events::Where, from_micros, micros};
use crate::{
    Result, RollupStore,
    conditions::{self, FAILED_AUTH},
};

const HOUR_MICROS: i64 = 3_600_000_000;
const DAY_MICROS: i64 = 24 * HOUR_MICROS;

pub fn summary(conn: &Connection, tenant: TenantId, since: DateTime<Utc>) -> Result<Summary> {
    conn.prepare_cached(
        "SELECT
            COUNT(*) FILTER (WHERE event_type = 'REQUEST'),
            COUNT(*) FILTER (WHERE event_type = 'AUTH_LOGIN' AND success = 1),
            COUNT(*) FILTER (WHERE event_type IN ('AUTH_LOGIN', 'AUTH_FAILURE') AND success = 0),
            COUNT(*) FILTER (WHERE event_type = 'RATE_LIMIT'),
            COUNT(DISTINCT user_id),
            COUNT(DISTINCT ip_address)
         FROM events WHERE tenant_id = ?1 AND created_at >= ?2",
    )
    .and_then(|mut stmt| {
        stmt.query_row(params![tenant.0, micros(since)], |r| {
            Ok(Summary {
                total_requests: r.get(0)?,
                successful_logins: r.get(1)?,
                auth_failures: r.get(2)?,
                rate_limit_hits: r.get(3)?,
                unique_users: r.get(4)?,
                unique_ips: r.get(5)?,
            })
        })
    })
    .map_err(db("computing the summary"))
}

pub fn hourly(
    conn: &Connection,
    tenant: TenantId,
    first_bucket: DateTime<Utc>,
) -> Result<Vec<HourlyBucket>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT (created_at / ?3) * ?3 AS bucket, event_type,
                COUNT(*),
                COUNT(*) FILTER (WHERE success = 1),
                COUNT(*) FILTER (WHERE success = 0),
                COUNT(DISTINCT user_id),
                COUNT(DISTINCT ip_address),
                AVG(response_time_ms),
                MAX(response_time_ms)
             FROM events WHERE tenant_id = ?1 AND created_at >= ?2
             GROUP BY bucket, event_type
             ORDER BY bucket DESC, event_type",
        )
        .map_err(db("preparing the hourly rollup"))?;
    let rows = stmt
        .query_map(params![tenant.0, micros(first_bucket), HOUR_MICROS], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                HourlyBucket {
                    bucket: DateTime::UNIX_EPOCH,
                    event_type: r.get(1)?,
                    total_count: r.get(2)?,
                    success_count: r.get(3)?,
                    failure_count: r.get(4)?,
                    unique_users: r.get(5)?,
                    unique_ips: r.get(6)?,
                    avg_response_time_ms: r.get(7)?,
                    max_response_time_ms: r.get(8)?,
                },
            ))
        })
        .map_err(db("computing the hourly rollup"))?;
    rows.map(|row| {
        let (bucket, mut out) = row.map_err(db("reading the hourly rollup"))?;
        out.bucket = from_micros(bucket)?;
        Ok(out)
    })
    .collect()
}

pub fn daily(
    conn: &Connection,
    tenant: TenantId,
    first_bucket: DateTime<Utc>,
) -> Result<Vec<DailyBucket>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT (created_at / ?3) * ?3 AS bucket, event_type, geo_country,
                COUNT(*),
                COUNT(*) FILTER (WHERE success = 1),
                COUNT(*) FILTER (WHERE success = 0),
                COUNT(DISTINCT user_id),
                COUNT(DISTINCT ip_address),
                COUNT(DISTINCT fingerprint),
                AVG(response_time_ms),
                percentile_95(response_time_ms)
             FROM events WHERE tenant_id = ?1 AND created_at >= ?2
             GROUP BY bucket, event_type, geo_country
             ORDER BY bucket DESC, event_type, geo_country NULLS LAST",
        )
        .map_err(db("preparing the daily rollup"))?;
    let rows = stmt
        .query_map(params![tenant.0, micros(first_bucket), DAY_MICROS], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                DailyBucket {
                    bucket: DateTime::UNIX_EPOCH,
                    event_type: r.get(1)?,
                    geo_country: r.get(2)?,
                    total_count: r.get(3)?,
                    success_count: r.get(4)?,
                    failure_count: r.get(5)?,
                    unique_users: r.get(6)?,
                    unique_ips: r.get(7)?,
                    unique_fingerprints: r.get(8)?,
                    avg_response_time_ms: r.get(9)?,
                    p95_response_time_ms: r.get(10)?,
                },
            ))
        })
        .map_err(db("computing the daily rollup"))?;
    rows.map(|row| {
        let (bucket, mut out) = row.map_err(db("reading the daily rollup"))?;
        out.bucket = from_micros(bucket)?;
        Ok(out)
    })
    .collect()
}

pub fn by_country(
    conn: &Connection,
    tenant: TenantId,
    since: DateTime<Utc>,
) -> Result<Vec<CountryCount>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT geo_country, COUNT(*), COUNT(*) FILTER (WHERE success = 0)
             FROM events WHERE tenant_id = ?1 AND created_at >= ?2
             GROUP BY geo_country
             ORDER BY COUNT(*) DESC, geo_country NULLS LAST",
        )
        .map_err(db("preparing the country breakdown"))?;
    let rows = stmt
        .query_map(params![tenant.0, micros(since)], |r| {
            Ok(CountryCount {
                geo_country: r.get(0)?,
                count: r.get(1)?,
                failures: r.get(2)?,
            })
        })
        .map_err(db("computing the country breakdown"))?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(db("reading the country breakdown"))
}

pub fn count_failed_auth(conn: &Connection, tenant: TenantId, q: &FailedAuthQuery) -> Result<i64> {
    let (sql, params) = failed_auth_statement(tenant, q);
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| stmt.query_row(params_from_iter(params), |r| r.get(0)))
        .map_err(db("counting failed logins"))
}

/// The statement a failed-auth count runs, with its parameters.
pub fn failed_auth_statement(tenant: TenantId, q: &FailedAuthQuery) -> (String, Vec<Value>) {
    let mut clause = Where::new(tenant);
    clause
        .sql
        .push_str(&format!(" AND {FAILED_AUTH} AND success = 0"));
    clause.conditions(conditions::for_failed_auth(q));
    let sql = format!("SELECT COUNT(*) FROM events WHERE {}", clause.sql);
    (sql, clause.params)
}

pub fn action_stats(conn: &Connection, tenant: TenantId) -> Result<ActionStats> {
    let mut stats = conn
        .query_row(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE status = 'success'),
                    COUNT(*) FILTER (WHERE status = 'failure'), COUNT(*) FILTER (WHERE status = 'timeout'),
                    COALESCE(AVG(response_time_ms), 0.0)
             FROM events WHERE tenant_id = ?1 AND event_type = 'ACTION'",
            [tenant.0],
            |r| {
                Ok(ActionStats {
                    total_actions: r.get(0)?,
                    successful_actions: r.get(1)?,
                    failed_actions: r.get(2)?,
                    timed_out_actions: r.get(3)?,
                    average_execution_time_ms: r.get(4)?,
                    ..Default::default()
                })
            },
        )
        .map_err(db("computing action statistics"))?;
    for (column, into) in [
        ("event_subtype", &mut stats.actions_by_type),
        ("provider", &mut stats.actions_by_provider),
    ] {
        let sql = format!(
            "SELECT {column}, COUNT(*) FROM events WHERE tenant_id = ?1 AND event_type = 'ACTION' AND {column} IS NOT NULL GROUP BY {column}"
        );
        let mut stmt = conn
            .prepare_cached(&sql)
            .map_err(db("computing action statistics"))?;
        let rows = stmt
            .query_map([tenant.0], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(db("computing action statistics"))?;
        for row in rows {
            let (key, count) = row.map_err(db("computing action statistics"))?;
            into.insert(key, count);
        }
    }
    Ok(stats)
}

#[async_trait]
impl RollupStore for SqliteStore {
    async fn count_failed_auth(&self, tenant: TenantId, query: &FailedAuthQuery) -> Result<i64> {
        let query = query.clone();
        self.read(move |conn| super::summary::count_failed_auth(conn, tenant, &query))
            .await
    }

    async fn summary(&self, tenant: TenantId, since: DateTime<Utc>) -> Result<Summary> {
        self.read(move |conn| super::summary::summary(conn, tenant, since))
            .await
    }

    async fn hourly(
        &self,
        tenant: TenantId,
        first_bucket: DateTime<Utc>,
    ) -> Result<Vec<HourlyBucket>> {
        self.read(move |conn| super::summary::hourly(conn, tenant, first_bucket))
            .await
    }

    async fn daily(
        &self,
        tenant: TenantId,
        first_bucket: DateTime<Utc>,
    ) -> Result<Vec<DailyBucket>> {
        self.read(move |conn| super::summary::daily(conn, tenant, first_bucket))
            .await
    }

    async fn by_country(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<Vec<CountryCount>> {
        self.read(move |conn| super::summary::by_country(conn, tenant, since))
            .await
    }

    async fn action_stats(&self, tenant: TenantId) -> Result<ActionStats> {
        self.read(move |conn| super::summary::action_stats(conn, tenant))
            .await
    }
}
