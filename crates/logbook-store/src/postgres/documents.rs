//! Statements over rows kept whole as JSON (`body`), for the alert and monitor tables:
//! run one or several in one transaction, read bodies (with their tenant), read a count.

use deadpool_postgres::{Client, GenericClient};
use logbook_model::TenantId;

use super::{
    column, db,
    dialect::{Postgres, refs},
};
use crate::{Result, alerts::from_json, dialect::Where};

pub(super) async fn execute<C: GenericClient>(
    client: &C,
    (sql, w): (String, Where<Postgres>),
    what: &'static str,
) -> Result<u64> {
    client
        .execute(&sql, &refs(&w.params))
        .await
        .map_err(db(what))
}

pub(super) async fn bodies<C: GenericClient, T: for<'de> serde::Deserialize<'de>>(
    client: &C,
    (sql, w): (String, Where<Postgres>),
    what: &'static str,
) -> Result<Vec<T>> {
    let rows = client
        .query(&sql, &refs(&w.params))
        .await
        .map_err(db(what))?;
    rows.iter()
        .map(|r| from_json(&column::<String>(r, 0)?))
        .collect()
}

pub(super) async fn count<C: GenericClient>(
    client: &C,
    (sql, w): (String, Where<Postgres>),
    what: &'static str,
) -> Result<i64> {
    let row = client
        .query_one(&sql, &refs(&w.params))
        .await
        .map_err(db(what))?;
    column(&row, 0)
}

/// Runs the statements in order in one transaction; the rows the last one affected.
pub(super) async fn in_one_transaction(
    client: &mut Client,
    statements: impl IntoIterator<Item = (String, Where<Postgres>)>,
    what: &'static str,
) -> Result<u64> {
    let tx = client.transaction().await.map_err(db(what))?;
    let mut affected = 0;
    for statement in statements {
        affected = execute(&tx, statement, what).await?;
    }
    tx.commit().await.map_err(db(what))?;
    Ok(affected)
}

/// Rows of `(tenant_id, body)`.
pub(super) async fn tenant_bodies<T: for<'de> serde::Deserialize<'de>>(
    client: &Client,
    (sql, w): (String, Where<Postgres>),
    what: &'static str,
) -> Result<Vec<(TenantId, T)>> {
    let rows = client
        .query(&sql, &refs(&w.params))
        .await
        .map_err(db(what))?;
    rows.iter()
        .map(|r| {
            Ok((
                TenantId(column(r, 0)?),
                from_json(&column::<String>(r, 1)?)?,
            ))
        })
        .collect()
}
