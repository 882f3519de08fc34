//! Access records: appended with the batch that answers a read, listed by admins.

use logbook_model::{
    TenantId,
    access::{AccessPage, AccessQuery, AccessRecord},
};
use rusqlite::{Connection, Row, params, params_from_iter};
use uuid::Uuid;

use super::{db, dialect::Sqlite, from_micros, micros};
use crate::{Result, StoreError, statements};

const COLUMNS: &str =
    "tenant_id, at, id, key_id, method, route, path, filters, rows, status, outcome, client_ip";

pub fn insert(tx: &Connection, records: &[AccessRecord]) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let mut insert = tx
        .prepare_cached(&format!(
            "INSERT INTO access_log ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        ))
        .map_err(db("preparing the access insert"))?;
    for r in records {
        insert
            .execute(params![
                r.tenant_id.0,
                micros(r.at),
                r.id,
                r.key_id,
                r.method,
                r.route,
                r.path,
                r.filters,
                r.rows,
                r.status,
                r.outcome,
                r.client_ip.map(|ip| ip.to_string()),
            ])
            .map_err(db("recording an access"))?;
    }
    Ok(())
}

/// When the tenant's oldest access record was made.
pub fn oldest(
    conn: &Connection,
    tenant: TenantId,
) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    let at: Option<i64> = conn
        .query_row(
            "SELECT MIN(at) FROM access_log WHERE tenant_id = ?1",
            [tenant.0],
            |r| r.get(0),
        )
        .map_err(db("finding the oldest access record"))?;
    at.map(from_micros).transpose()
}

/// The tenant's access records made in `[from, to)`.
pub fn count(
    conn: &Connection,
    tenant: TenantId,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> Result<u64> {
    conn.query_row(
        "SELECT COUNT(*) FROM access_log WHERE tenant_id = ?1 AND at >= ?2 AND at < ?3",
        rusqlite::params![tenant.0, micros(from), micros(to)],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
    .map_err(db("counting access records"))
}

/// Removes up to [`crate::RANGE_REMOVE_BATCH`] of the tenant's access records made in `[from, to)`.
pub fn remove_batch(
    conn: &mut Connection,
    tenant: TenantId,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> Result<u64> {
    conn.execute(
        "DELETE FROM access_log WHERE tenant_id = ?1 AND (at, id) IN
             (SELECT at, id FROM access_log WHERE tenant_id = ?1 AND at >= ?2 AND at < ?3 LIMIT ?4)",
        rusqlite::params![tenant.0, micros(from), micros(to), crate::RANGE_REMOVE_BATCH],
    )
    .map(|n| n as u64)
    .map_err(db("removing access records"))
}

pub fn list(conn: &Connection, tenant: TenantId, q: &AccessQuery) -> Result<AccessPage> {
    let (sql, clause) = statements::list_access::<Sqlite>(tenant, q, COLUMNS);
    let mut stmt = conn
        .prepare_cached(&sql)
        .map_err(db("listing access records"))?;
    let rows = stmt
        .query_map(params_from_iter(clause.params), read)
        .map_err(db("listing access records"))?;
    let mut records = Vec::new();
    for row in rows {
        records.push(row.map_err(db("reading an access record"))??);
    }
    Ok(AccessPage::from_rows(records, q.limit))
}

fn read(r: &Row<'_>) -> rusqlite::Result<Result<AccessRecord>> {
    let (tenant, at, ip): (Uuid, i64, Option<String>) = (r.get(0)?, r.get(1)?, r.get(11)?);
    let mut record = AccessRecord {
        id: r.get(2)?,
        tenant_id: TenantId(tenant),
        at: chrono::DateTime::UNIX_EPOCH,
        key_id: r.get(3)?,
        method: r.get(4)?,
        route: r.get(5)?,
        path: r.get(6)?,
        filters: r.get(7)?,
        rows: r.get(8)?,
        status: r.get(9)?,
        outcome: r.get(10)?,
        client_ip: None,
    };
    Ok((|| {
        record.at = from_micros(at)?;
        record.client_ip = ip
            .map(|ip| ip.parse())
            .transpose()
            .map_err(|e| StoreError::Invalid(format!("stored access client_ip: {e}")))?;
        Ok(record)
    })())
}
