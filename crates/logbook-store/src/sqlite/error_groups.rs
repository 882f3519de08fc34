//! Error groups on SQLite: counted in the ingest transaction by the one writer, read from
//! one snapshot, changed by the writer.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use logbook_model::{
    Event, TenantId,
    error_groups::{
        ErrorGroup, ErrorTrend, GroupChange, GroupPage, GroupQuery, UnresolvedBySeverity,
        gravest_first,
    },
};
use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};
use uuid::Uuid;

use super::{SqliteStore, db, dialect::Sqlite, from_micros};
use crate::{
    ErrorStore, Result, StoreError,
    dialect::Where,
    error_groups::{self as statements, ENVIRONMENT, Tally, USER},
};

/// Counts a batch's occurrences into their groups.
pub fn record(conn: &Connection, tallies: &[Tally<'_>]) -> Result<()> {
    let now = Utc::now();
    let run = |(sql, w): (String, Where<Sqlite>), what: &'static str| {
        conn.prepare_cached(&sql)
            .and_then(|mut stmt| stmt.execute(params_from_iter(w.params)))
            .map_err(db(what))
    };
    for t in tallies {
        let (sql, w) = statements::upsert::<Sqlite>(t, now);
        let group: Uuid = conn
            .prepare_cached(&sql)
            .and_then(|mut stmt| stmt.query_row(params_from_iter(w.params), |r| r.get(0)))
            .map_err(db("counting an error group"))?;
        let mut new_users = 0;
        for user in &t.users {
            new_users += run(
                statements::add_value::<Sqlite>(t.tenant, group, USER, user),
                "remembering an error group's user",
            )? as i64;
        }
        if new_users > 0 {
            run(
                statements::add_users::<Sqlite>(t.tenant, group, new_users),
                "counting an error group's users",
            )?;
        }
        for environment in &t.environments {
            run(
                statements::add_value::<Sqlite>(t.tenant, group, ENVIRONMENT, environment),
                "remembering an error group's environment",
            )?;
        }
        for o in &t.occurrences {
            run(
                statements::add_occurrence::<Sqlite>(t.tenant, group, o),
                "recording an error occurrence",
            )?;
        }
    }
    Ok(())
}

#[async_trait]
impl ErrorStore for SqliteStore {
    async fn list_error_groups(&self, tenant: TenantId, query: &GroupQuery) -> Result<GroupPage> {
        let query = query.clone();
        self.read(move |conn| {
            let tx = conn
                .unchecked_transaction()
                .map_err(db("starting a read of error groups"))?;
            let (sql, w) = statements::list::<Sqlite>(tenant, &query);
            let mut stmt = tx
                .prepare_cached(&sql)
                .map_err(db("listing error groups"))?;
            let rows = stmt
                .query_map(params_from_iter(w.params), read)
                .map_err(db("listing error groups"))?;
            let mut groups = Vec::new();
            for row in rows {
                let group = row.map_err(db("reading an error group"))??;
                groups.push(with_environments(&tx, tenant, group)?);
            }
            Ok(GroupPage::from_rows(groups, query.limit, query.order))
        })
        .await
    }

    async fn error_group(&self, tenant: TenantId, id: Uuid) -> Result<Option<ErrorGroup>> {
        self.read(move |conn| {
            let tx = conn
                .unchecked_transaction()
                .map_err(db("starting a read of an error group"))?;
            get(&tx, tenant, id)
        })
        .await
    }

    async fn error_group_events(
        &self,
        tenant: TenantId,
        id: Uuid,
        limit: u32,
    ) -> Result<Vec<Event>> {
        self.read(move |conn| {
            let tx = conn
                .unchecked_transaction()
                .map_err(db("starting a read of error occurrences"))?;
            let (sql, w) = statements::recent_occurrences::<Sqlite>(tenant, id, limit);
            let ids: Vec<Uuid> = tx
                .prepare_cached(&sql)
                .and_then(|mut stmt| {
                    stmt.query_map(params_from_iter(w.params), |r| r.get(0))?
                        .collect()
                })
                .map_err(db("listing an error group's occurrences"))?;
            let mut events = Vec::with_capacity(ids.len());
            for id in ids {
                events.extend(super::events::get(&tx, tenant, id)?);
            }
            Ok(events)
        })
        .await
    }

    async fn change_error_group(
        &self,
        tenant: TenantId,
        id: Uuid,
        change: &GroupChange,
    ) -> Result<Option<(ErrorGroup, ErrorGroup)>> {
        let change = change.clone();
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db("starting an error group change"))?;
            let Some(before) = get(&tx, tenant, id)? else {
                return Ok(None);
            };
            let (sql, w) = statements::change::<Sqlite>(tenant, id, &change, Utc::now());
            tx.execute(&sql, params_from_iter(w.params))
                .map_err(db("changing an error group"))?;
            let after = get(&tx, tenant, id)?.ok_or_else(|| {
                StoreError::Invalid("an error group vanished while changed".into())
            })?;
            tx.commit()
                .map_err(db("committing an error group change"))?;
            Ok(Some((before, after)))
        })
        .await
    }

    async fn error_trend(&self, tenant: TenantId, since: DateTime<Utc>) -> Result<Vec<ErrorTrend>> {
        self.read(move |conn| {
            let (sql, w) = statements::trend::<Sqlite>(tenant, since);
            let rows: Vec<(String, i64, i64, i64)> = conn
                .prepare_cached(&sql)
                .and_then(|mut stmt| {
                    stmt.query_map(params_from_iter(w.params), |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })?
                    .collect()
                })
                .map_err(db("reading the error trend"))?;
            rows.into_iter()
                .map(|(error_type, day, error_count, affected_users)| {
                    Ok(ErrorTrend {
                        error_type,
                        day: from_micros(day)?,
                        error_count,
                        affected_users,
                    })
                })
                .collect()
        })
        .await
    }

    async fn unresolved_errors(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<Vec<UnresolvedBySeverity>> {
        self.read(move |conn| {
            let (sql, w) = statements::unresolved_by_severity::<Sqlite>(tenant, since);
            let rows: Vec<(String, i64, i64, i64)> = conn
                .prepare_cached(&sql)
                .and_then(|mut stmt| {
                    stmt.query_map(params_from_iter(w.params), |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })?
                    .collect()
                })
                .map_err(db("counting unresolved errors"))?;
            let mut counts = rows
                .into_iter()
                .map(
                    |(severity, unresolved_count, total_occurrences, total_users_affected)| {
                        Ok(UnresolvedBySeverity {
                            severity: severity.parse().map_err(StoreError::Invalid)?,
                            unresolved_count,
                            total_occurrences,
                            total_users_affected,
                        })
                    },
                )
                .collect::<Result<Vec<_>>>()?;
            gravest_first(&mut counts);
            Ok(counts)
        })
        .await
    }
}

fn get(conn: &Connection, tenant: TenantId, id: Uuid) -> Result<Option<ErrorGroup>> {
    let (sql, w) = statements::get::<Sqlite>(tenant, id);
    let group = conn
        .prepare_cached(&sql)
        .and_then(|mut stmt| stmt.query_row(params_from_iter(w.params), read).optional())
        .map_err(db("reading an error group"))?
        .transpose()?;
    group
        .map(|g| with_environments(conn, tenant, g))
        .transpose()
}

fn with_environments(
    conn: &Connection,
    tenant: TenantId,
    mut group: ErrorGroup,
) -> Result<ErrorGroup> {
    let (sql, w) = statements::environments::<Sqlite>(tenant, group.id);
    group.environments = conn
        .prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_map(params_from_iter(w.params), |r| r.get(0))?
                .collect()
        })
        .map_err(db("reading an error group's environments"))?;
    Ok(group)
}

fn read(r: &Row<'_>) -> rusqlite::Result<Result<ErrorGroup>> {
    let (severity, status): (String, String) = (r.get(4)?, r.get(7)?);
    let times: [Option<i64>; 4] = [r.get(10)?, r.get(11)?, r.get(14)?, r.get(15)?];
    let mut group = ErrorGroup {
        id: r.get(0)?,
        fingerprint: r.get(1)?,
        error_type: r.get(2)?,
        message: r.get(3)?,
        severity: Default::default(),
        culprit: r.get(5)?,
        service: r.get(6)?,
        environments: Vec::new(),
        status: logbook_model::error_groups::ErrorStatus::New,
        occurrence_count: r.get(8)?,
        affected_users: r.get(9)?,
        first_seen: chrono::DateTime::UNIX_EPOCH,
        last_seen: chrono::DateTime::UNIX_EPOCH,
        assigned_to: r.get(12)?,
        resolution_note: r.get(13)?,
        resolved_at: None,
        regressed_at: None,
        times_regressed: r.get(16)?,
    };
    Ok((|| {
        let time = |t: Option<i64>| t.map(from_micros).transpose();
        group.severity = severity.parse().map_err(StoreError::Invalid)?;
        group.status = status.parse().map_err(StoreError::Invalid)?;
        group.first_seen = time(times[0])?.unwrap_or_default();
        group.last_seen = time(times[1])?.unwrap_or_default();
        group.resolved_at = time(times[2])?;
        group.regressed_at = time(times[3])?;
        Ok(group)
    })())
}
