//! Access records: appended with the batch that answers a read, listed by admins.

use logbook_model::{
    TenantId,
    access::{AccessPage, AccessQuery, AccessRecord},
};
use rusqlite::{Connection, Row, params, params_from_iter, types::Value};
use uuid::Uuid;

use super::{db, from_micros, micros};
use crate::{Result, StoreError, columns::keyset};

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

pub fn list(conn: &Connection, tenant: TenantId, q: &AccessQuery) -> Result<AccessPage> {
    let mut sql = String::from("tenant_id = ?");
    let mut params = vec![Value::Blob(tenant.0.as_bytes().to_vec())];
    let mut and = |condition: &str, value: Value| {
        sql.push_str(" AND ");
        sql.push_str(condition);
        params.push(value);
    };
    if let Some(key) = q.key_id {
        and("key_id = ?", Value::Blob(key.as_bytes().to_vec()));
    }
    if let Some(route) = &q.route {
        and("route = ?", Value::Text(route.clone()));
    }
    if let Some(method) = &q.method {
        and("method = ?", Value::Text(method.clone()));
    }
    if let Some(status) = q.status {
        and("status = ?", Value::Integer(status.into()));
    }
    if let Some(from) = q.from {
        and("at >= ?", Value::Integer(micros(from)));
    }
    if let Some(to) = q.to {
        and("at < ?", Value::Integer(micros(to)));
    }
    let (cmp, dir) = keyset(q.order);
    if let Some(cursor) = q.cursor {
        let at = micros(cursor.created_at);
        sql.push_str(&format!(" AND (at {cmp} ? OR (at = ? AND id {cmp} ?))"));
        params.extend([
            Value::Integer(at),
            Value::Integer(at),
            Value::Blob(cursor.id.as_bytes().to_vec()),
        ]);
    }
    params.push(Value::Integer(i64::from(q.limit) + 1));
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM access_log WHERE {sql} ORDER BY at {dir}, id {dir} LIMIT ?"
        ))
        .map_err(db("listing access records"))?;
    let rows = stmt
        .query_map(params_from_iter(params), read)
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
