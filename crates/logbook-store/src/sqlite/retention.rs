//! Events past their retention: found by day and type, removed in small transactions so
//! the single writer is never held for long.

use chrono::{DateTime, NaiveDate, Utc};
use logbook_model::{EventType, TenantId, retention::RetentionRules};
use rusqlite::{Connection, params};
use uuid::Uuid;

use super::{db, micros};
use crate::{EventGroup, Result, StoreError};

const DAY_MICROS: i64 = 86_400_000_000;

pub fn groups_before(
    conn: &Connection,
    before: NaiveDate,
    tenant: Option<TenantId>,
) -> Result<Vec<EventGroup>> {
    let before = micros(before.and_time(chrono::NaiveTime::MIN).and_utc());
    let mut stmt = conn
        .prepare_cached(
            // Tenant by tenant, so each reads a range of the primary key.
            // Days by floor division, so a time before 1970 falls on its own day.
            "SELECT e.tenant_id, (e.created_at - ((e.created_at % ?2) + ?2) % ?2) / ?2 AS day,
                    e.event_type, COUNT(*)
               FROM tenants t JOIN events e ON e.tenant_id = t.id AND e.created_at < ?1
              WHERE ?3 IS NULL OR t.id = ?3
              GROUP BY e.tenant_id, day, e.event_type
              ORDER BY 2, 1, 3",
        )
        .map_err(db("preparing the retention query"))?;
    let rows = stmt
        .query_map(params![before, DAY_MICROS, tenant.map(|t| t.0)], |r| {
            Ok((
                r.get::<_, Uuid>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })
        .map_err(db("finding events past their retention"))?;
    let mut groups = Vec::new();
    for row in rows {
        let (tenant, day, event_type, count) = row.map_err(db("reading a retention group"))?;
        let event_type = EventType::parse(&event_type)
            .map_err(|e| StoreError::Invalid(format!("stored event_type: {e}")))?;
        let day = day_of(day)?;
        groups.push(EventGroup {
            tenant: TenantId(tenant),
            day,
            event_type,
            rows: count as u64,
        });
    }
    Ok(groups)
}

/// The UTC day of a count of days since 1970-01-01.
pub fn day_of(days: i64) -> Result<NaiveDate> {
    i32::try_from(days)
        .ok()
        .and_then(|d| NaiveDate::from_num_days_from_ce_opt(d.checked_add(719_163)?))
        .ok_or_else(|| StoreError::Invalid(format!("stored day {days} is out of range")))
}

/// Removes archived rows by primary key, in one transaction; returns how many were
/// still there.
pub fn remove_keys(
    conn: &mut Connection,
    tenant: TenantId,
    keys: &[(DateTime<Utc>, Uuid)],
) -> Result<u64> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(db("starting a removal"))?;
    let mut removed = 0;
    {
        let mut stmt = tx
            .prepare_cached(
                "DELETE FROM events WHERE tenant_id = ?1 AND created_at = ?2 AND id = ?3",
            )
            .map_err(db("preparing a removal"))?;
        for (created_at, id) in keys {
            removed += stmt
                .execute(params![tenant.0, micros(*created_at), id])
                .map_err(db("removing events past their retention"))? as u64;
        }
    }
    tx.commit().map_err(db("committing a removal"))?;
    Ok(removed)
}

pub fn rules(conn: &Connection) -> Result<Vec<(TenantId, RetentionRules)>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT tenant_id, event_type, days FROM retention_rules ORDER BY tenant_id, event_type",
        )
        .map_err(db("preparing the retention rules"))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, Uuid>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u32>(2)?,
            ))
        })
        .map_err(db("reading the retention rules"))?;
    crate::retention_rows::gather(rows.map(|row| {
        let (tenant, event_type, days) = row.map_err(db("reading a retention rule"))?;
        Ok((TenantId(tenant), event_type, days))
    }))
}

pub fn set_rules(conn: &mut Connection, tenant: TenantId, rules: &RetentionRules) -> Result<()> {
    let tx = conn
        .transaction()
        .map_err(db("starting to set retention rules"))?;
    tx.execute(
        "DELETE FROM retention_rules WHERE tenant_id = ?1",
        [tenant.0],
    )
    .map_err(db("clearing retention rules"))?;
    for (event_type, days) in crate::retention_rows::rows(rules) {
        tx.execute(
            "INSERT INTO retention_rules (tenant_id, event_type, days) VALUES (?1, ?2, ?3)",
            params![tenant.0, event_type, days],
        )
        .map_err(db("setting a retention rule"))?;
    }
    tx.commit().map_err(db("committing retention rules"))
}

/// Forgets the tenant's error occurrences in `[from, to)` — their events are gone — in
/// small transactions, so ingest never waits long; returns how many.
pub fn forget_occurrences(
    conn: &mut Connection,
    tenant: TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<u64> {
    let mut forgotten = 0;
    loop {
        let n = conn
            .execute(
                "DELETE FROM error_occurrences WHERE rowid IN (SELECT rowid FROM error_occurrences \
                 WHERE tenant_id = ?1 AND occurred_at >= ?2 AND occurred_at < ?3 LIMIT ?4)",
                params![
                    tenant.0,
                    micros(from),
                    micros(to),
                    crate::RANGE_REMOVE_BATCH
                ],
            )
            .map_err(db("forgetting error occurrences past their retention"))?;
        forgotten += n as u64;
        if (n as i64) < crate::RANGE_REMOVE_BATCH {
            return Ok(forgotten);
        }
    }
}
