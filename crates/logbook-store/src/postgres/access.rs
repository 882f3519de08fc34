//! Access records: appended with the batch that answers a read, listed by admins.

use deadpool_postgres::Client;
use logbook_model::{
    TenantId,
    access::{AccessPage, AccessQuery, AccessRecord},
};
use tokio_postgres::{
    Row, Transaction,
    types::{ToSql, Type},
};

use super::{
    column, db,
    dialect::{Postgres, refs},
    rows::{RowWriter, RowWrites},
};
use crate::{Result, statements};

const COLUMNS: &str =
    "tenant_id, at, id, key_id, method, route, path, filters, rows, status, outcome, client_ip";

const TYPES: [Type; 12] = [
    Type::UUID,
    Type::TIMESTAMPTZ,
    Type::UUID,
    Type::UUID,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::JSONB,
    Type::INT8,
    Type::INT2,
    Type::VARCHAR,
    Type::INET,
];

/// Writes access records in the ingest transaction.
pub async fn write<'r>(
    tx: &Transaction<'_>,
    writes: RowWrites,
    records: impl IntoIterator<Item = &'r AccessRecord>,
) -> Result<()> {
    let mut records = records.into_iter().peekable();
    if records.peek().is_none() {
        return Ok(());
    }
    let mut writer = RowWriter::start(tx, writes, "access_log", COLUMNS, &TYPES).await?;
    for r in records {
        let values: [&(dyn ToSql + Sync); 12] = [
            &r.tenant_id.0,
            &r.at,
            &r.id,
            &r.key_id,
            &r.method,
            &r.route,
            &r.path,
            &r.filters,
            &r.rows,
            &r.status,
            &r.outcome,
            &r.client_ip,
        ];
        writer.write(&values).await?;
    }
    writer.finish().await?;
    Ok(())
}

pub async fn list(client: &Client, tenant: TenantId, q: &AccessQuery) -> Result<AccessPage> {
    let (sql, clause) = statements::list_access::<Postgres>(tenant, q, COLUMNS);
    let rows = client
        .query(&sql, &refs(&clause.params))
        .await
        .map_err(db("listing access records"))?;
    let records = rows.iter().map(read).collect::<Result<Vec<_>>>()?;
    Ok(AccessPage::from_rows(records, q.limit))
}

fn read(r: &Row) -> Result<AccessRecord> {
    Ok(AccessRecord {
        tenant_id: TenantId(column(r, 0)?),
        at: column(r, 1)?,
        id: column(r, 2)?,
        key_id: column(r, 3)?,
        method: column(r, 4)?,
        route: column(r, 5)?,
        path: column(r, 6)?,
        filters: column(r, 7)?,
        rows: column(r, 8)?,
        status: column(r, 9)?,
        outcome: column(r, 10)?,
        client_ip: column(r, 11)?,
    })
}
