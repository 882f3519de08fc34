//! Planner statistics for the tables autovacuum has not caught up with: a partition
//! filled since it was made has none at all until autovacuum's next visit, and the
//! planner, guessing one row, walks the primary key instead of the index a filter needs.

use deadpool_postgres::Client;

use super::{column, db};
use crate::Result;

/// Analyzes Logbook's tables that were never analyzed or changed by a tenth since;
/// returns how many. Each ANALYZE reads a bounded sample, however large the table.
pub async fn refresh(client: &Client) -> Result<u64> {
    let stale = client
        .query(
            "SELECT format('%I.%I', n.nspname, c.relname)
               FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
              WHERE n.nspname = current_schema() AND c.relkind = 'r'
                AND (c.reltuples < 0
                     OR s.n_mod_since_analyze > greatest(1000, c.reltuples / 10))",
            &[],
        )
        .await
        .map_err(db("finding tables without planner statistics"))?;
    for row in &stale {
        // The name comes from the catalogue, quoted by format('%I').
        let table: String = column(row, 0)?;
        client
            .batch_execute(&format!("ANALYZE {table}"))
            .await
            .map_err(db("refreshing planner statistics"))?;
    }
    Ok(stale.len() as u64)
}
