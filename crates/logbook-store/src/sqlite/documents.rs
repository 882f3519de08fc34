//! Statements over rows kept whole as JSON (`body`), for the alert and monitor tables:
//! run one or several in one transaction, read bodies (with their tenant), read a count.

use logbook_model::TenantId;
use rusqlite::{Connection, TransactionBehavior, params_from_iter};
use uuid::Uuid;

use super::{db, dialect::Sqlite};
use crate::{Result, alerts::from_json, dialect::Where};

pub(super) fn execute(
    conn: &Connection,
    (sql, w): (String, Where<Sqlite>),
    what: &'static str,
) -> Result<usize> {
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| stmt.execute(params_from_iter(w.params)))
        .map_err(db(what))
}

/// The JSON bodies a statement selects, parsed.
pub(super) fn bodies<T: for<'de> serde::Deserialize<'de>>(
    conn: &Connection,
    (sql, w): (String, Where<Sqlite>),
    what: &'static str,
) -> Result<Vec<T>> {
    let texts: Vec<String> = conn
        .prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_map(params_from_iter(w.params), |r| r.get(0))?
                .collect()
        })
        .map_err(db(what))?;
    texts.iter().map(|t| from_json(t)).collect()
}

pub(super) fn count(
    conn: &Connection,
    (sql, w): (String, Where<Sqlite>),
    what: &'static str,
) -> Result<i64> {
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| stmt.query_row(params_from_iter(w.params), |r| r.get(0)))
        .map_err(db(what))
}

/// Runs the statements in order in one immediate transaction; the rows the last one
/// affected.
pub(super) fn in_one_transaction(
    conn: &mut Connection,
    statements: impl IntoIterator<Item = (String, Where<Sqlite>)>,
    what: &'static str,
) -> Result<usize> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db(what))?;
    let mut affected = 0;
    for statement in statements {
        affected = execute(&tx, statement, what)?;
    }
    tx.commit().map_err(db(what))?;
    Ok(affected)
}

/// Rows of `(tenant_id, body)`.
pub(super) fn tenant_bodies<T: for<'de> serde::Deserialize<'de>>(
    conn: &Connection,
    (sql, w): (String, Where<Sqlite>),
    what: &'static str,
) -> Result<Vec<(TenantId, T)>> {
    let rows: Vec<(Uuid, String)> = conn
        .prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_map(params_from_iter(w.params), |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .map_err(db(what))?;
    rows.into_iter()
        .map(|(tenant, body)| Ok((TenantId(tenant), from_json(&body)?)))
        .collect()
}
