//! Access records: appended with the batch that answers a read, listed by admins.

use deadpool_postgres::Client;
use futures_util::pin_mut;
use logbook_model::{
    TenantId,
    access::{AccessPage, AccessQuery, AccessRecord},
};
use tokio_postgres::{
    Row, Transaction,
    binary_copy::BinaryCopyInWriter,
    types::{ToSql, Type},
};

use super::{
    column, db,
    dialect::{Postgres, refs},
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

/// Writes access records with one binary COPY.
pub async fn copy<'r>(
    tx: &Transaction<'_>,
    records: impl IntoIterator<Item = &'r AccessRecord>,
) -> Result<()> {
    let mut records = records.into_iter().peekable();
    if records.peek().is_none() {
        return Ok(());
    }
    let sink = tx
        .copy_in(&format!(
            "COPY access_log ({COLUMNS}) FROM STDIN (FORMAT binary)"
        ))
        .await
        .map_err(db("starting the access COPY"))?;
    let writer = BinaryCopyInWriter::new(sink, &TYPES);
    pin_mut!(writer);
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
        writer
            .as_mut()
            .write(&values)
            .await
            .map_err(db("writing an access record"))?;
    }
    writer
        .finish()
        .await
        .map_err(db("finishing the access COPY"))?;
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
