//! Seed 000's dashboard answers from the rollups, and the failed-auth count used for rate
//! limiting, which filters raw events.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use logbook_model::{
    FailedAuthQuery, TenantId,
    summary::{
        ActionStats, CountryCount, DailyBucket, EndpointMetrics, EndpointStep, HourlyBucket,
        Summary,
    },
};
use rusqlite::{Connection, params_from_iter, types::Value};

use super::{SqliteStore, db, dialect::Sqlite, rollups};
use logbook_model::{
    activity::{FeatureUsage, Session},
    monitors::round2,
};

use crate::{
    Compaction, Result, RollupStore, activity,
    rollups::{Kind, shape},
    statements,
};

pub fn count_failed_auth(conn: &Connection, tenant: TenantId, q: &FailedAuthQuery) -> Result<i64> {
    // One snapshot for the hours named and the count (see `events::list`).
    let tx = conn
        .unchecked_transaction()
        .map_err(db("starting a failed-login count"))?;
    let (sql, params) = failed_auth_statement(&tx, tenant, q)?;
    tx.prepare_cached(&sql)
        .and_then(|mut stmt| stmt.query_row(params_from_iter(params), |r| r.get(0)))
        .map_err(db("counting failed logins"))
}

/// The statement a failed-auth count runs, with its parameters.
pub fn failed_auth_statement(
    conn: &Connection,
    tenant: TenantId,
    q: &FailedAuthQuery,
) -> Result<(String, Vec<Value>)> {
    let hours = super::hours::of_failed_auth(conn, tenant, q)?;
    let (sql, clause) = statements::failed_auth::<Sqlite>(tenant, q, hours);
    Ok((sql, clause.params))
}

#[async_trait]
impl RollupStore for SqliteStore {
    async fn feature_usage(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<FeatureUsage>> {
        self.read(move |conn| {
            let (sql, w) = activity::feature_usage::<Sqlite>(tenant, since, limit);
            conn.prepare_cached(&sql)
                .and_then(|mut stmt| {
                    stmt.query_map(params_from_iter(w.params), |r| {
                        Ok(FeatureUsage {
                            module: r.get(0)?,
                            feature: r.get(1)?,
                            unique_users: r.get(2)?,
                            total_uses: r.get(3)?,
                            avg_duration_seconds: r.get::<_, Option<f64>>(4)?.map(round2),
                        })
                    })?
                    .collect()
                })
                .map_err(db("reading feature usage"))
        })
        .await
    }

    async fn sessions(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Session>> {
        self.read(move |conn| {
            let (sql, w) = activity::sessions::<Sqlite>(tenant, since, limit);
            type Row = (String, Option<String>, i64, i64, i64, i64, i64);
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
                            r.get(6)?,
                        ))
                    })?
                    .collect()
                })
                .map_err(db("reading sessions"))?;
            rows.into_iter()
                .map(
                    |(session_id, user_id, start, end, page_views, actions, events)| {
                        let (started_at, ended_at) =
                            (super::from_micros(start)?, super::from_micros(end)?);
                        Ok(Session {
                            session_id,
                            user_id,
                            duration_seconds: (ended_at - started_at).num_seconds(),
                            started_at,
                            ended_at,
                            page_views,
                            actions,
                            events,
                        })
                    },
                )
                .collect()
        })
        .await
    }

    async fn user_months(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<Vec<(String, String)>> {
        self.read(move |conn| {
            let (sql, w) = activity::user_months::<Sqlite>(tenant, since);
            conn.prepare_cached(&sql)
                .and_then(|mut stmt| {
                    stmt.query_map(params_from_iter(w.params), |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect()
                })
                .map_err(db("reading active months"))
        })
        .await
    }

    async fn count_failed_auth(&self, tenant: TenantId, query: &FailedAuthQuery) -> Result<i64> {
        let query = query.clone();
        self.read(move |conn| super::summary::count_failed_auth(conn, tenant, &query))
            .await
    }

    async fn summary(&self, tenant: TenantId, since: DateTime<Utc>) -> Result<Summary> {
        let rows = self
            .read(move |conn| rollups::window(conn, tenant, &[Kind::Hour], since))
            .await?;
        Ok(shape::summary(rows))
    }

    async fn hourly(
        &self,
        tenant: TenantId,
        first_bucket: DateTime<Utc>,
    ) -> Result<Vec<HourlyBucket>> {
        let rows = self
            .read(move |conn| rollups::window(conn, tenant, &[Kind::Hour], first_bucket))
            .await?;
        shape::hourly(rows)
    }

    async fn daily(
        &self,
        tenant: TenantId,
        first_bucket: DateTime<Utc>,
    ) -> Result<Vec<DailyBucket>> {
        let rows = self
            .read(move |conn| rollups::window(conn, tenant, &[Kind::Day], first_bucket))
            .await?;
        shape::daily(rows)
    }

    async fn by_country(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<Vec<CountryCount>> {
        let rows = self
            .read(move |conn| rollups::window(conn, tenant, &[Kind::CountryHour], since))
            .await?;
        Ok(shape::by_country(rows))
    }

    async fn integrations(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<Vec<logbook_model::summary::IntegrationHealth>> {
        let hour_ago = Utc::now() - chrono::Duration::hours(1);
        let rows = self
            .read(move |conn| {
                let (sql, w) = crate::integrations::statement::<super::dialect::Sqlite>(
                    tenant, since, hour_ago,
                );
                type Raw = (
                    String,
                    Option<String>,
                    i64,
                    i64,
                    i64,
                    i64,
                    i64,
                    Option<i64>,
                    i64,
                );
                let raw: Vec<Raw> = conn
                    .prepare_cached(&sql)
                    .and_then(|mut stmt| {
                        stmt.query_map(rusqlite::params_from_iter(w.params), |r| {
                            Ok((
                                r.get(0)?,
                                r.get(1)?,
                                r.get(2)?,
                                r.get(3)?,
                                r.get(4)?,
                                r.get(5)?,
                                r.get(6)?,
                                r.get(7)?,
                                r.get(8)?,
                            ))
                        })?
                        .collect()
                    })
                    .map_err(db("reading integration health"))?;
                raw.into_iter()
                    .map(
                        |(
                            provider,
                            event_type,
                            total,
                            failures,
                            failures_last_hour,
                            timed,
                            time_sum,
                            last_success,
                            last_seen,
                        )| {
                            Ok(crate::integrations::Row {
                                provider,
                                event_type,
                                total,
                                failures,
                                failures_last_hour,
                                timed,
                                time_sum,
                                last_success: last_success.map(super::from_micros).transpose()?,
                                last_seen: super::from_micros(last_seen)?,
                            })
                        },
                    )
                    .collect::<Result<Vec<_>>>()
            })
            .await?;
        Ok(crate::integrations::health(rows))
    }

    async fn action_stats(&self, tenant: TenantId) -> Result<ActionStats> {
        let rows = self
            .read(move |conn| rollups::all(conn, tenant, Kind::ActionDay))
            .await?;
        Ok(shape::action_stats(&rows))
    }

    async fn endpoints(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
        step: EndpointStep,
    ) -> Result<Vec<EndpointMetrics>> {
        let rows = self
            .read(move |conn| rollups::window(conn, tenant, shape::endpoint_kinds(step), since))
            .await?;
        shape::endpoints(rows, step, crate::rollups::seconds_since(since))
    }

    async fn compact_rollups(&self) -> Result<Compaction> {
        let mut done = Compaction::default();
        let pending = self.read(rollups::pending).await?;
        // Short transactions, so ingest waits on the writer for a few buckets at most.
        for buckets in pending.chunks(crate::rollups::COMPACT_BATCH) {
            let buckets = buckets.to_vec();
            let (merged, written) = self
                .write(move |conn| rollups::compact(conn, &buckets))
                .await?;
            done.rows_merged += merged;
            done.rows_written += written;
        }
        done.rows_expired = self.write(|conn| rollups::expire(conn, Utc::now())).await?;
        Ok(done)
    }
}
