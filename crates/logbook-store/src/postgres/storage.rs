//! What the store takes: rows counted, bytes from PostgreSQL's relation sizes, and how
//! often each index was used since the statistics were last reset, each day
//! partition's index counted under the index of `events` it belongs to.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use deadpool_postgres::Client;

use super::{column, db, partitions};
use crate::{DaySize, IndexUse, Result, StorageReport, TableSize};

pub async fn report(client: &Client) -> Result<StorageReport> {
    let mut tables = Vec::new();
    for (table, size) in [
        (
            "events",
            "SELECT COALESCE(SUM(pg_total_relation_size(inhrelid)), 0)::bigint
               FROM pg_inherits WHERE inhparent = 'events'::regclass",
        ),
        (
            "audit_events",
            "SELECT pg_total_relation_size('audit_events')",
        ),
        ("access_log", "SELECT pg_total_relation_size('access_log')"),
    ] {
        // The name is one of the constants above, never text a client sent.
        let rows: i64 = client
            .query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
            .await
            .map_err(db("counting rows"))?
            .get(0);
        let bytes: i64 = client
            .query_one(size, &[])
            .await
            .map_err(db("measuring a table"))?
            .get(0);
        tables.push(TableSize {
            table: table.into(),
            rows,
            bytes,
        });
    }
    let partition_bytes: BTreeMap<NaiveDate, i64> = {
        let rows = client
            .query(
                "SELECT c.relname, pg_total_relation_size(c.oid)
                   FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                  WHERE i.inhparent = 'events'::regclass",
                &[],
            )
            .await
            .map_err(db("measuring day partitions"))?;
        let mut sizes = BTreeMap::new();
        for row in &rows {
            let name: String = column(row, 0)?;
            if let Some(day) = partitions::day_of(&name) {
                sizes.insert(day, column(row, 1)?);
            }
        }
        sizes
    };
    let days = client
        .query(
            "SELECT (created_at AT TIME ZONE 'UTC')::date, COUNT(*) FROM events
              GROUP BY 1 ORDER BY 1",
            &[],
        )
        .await
        .map_err(db("counting events by day"))?;
    let mut events_by_day = Vec::new();
    for row in &days {
        let day: NaiveDate = column(row, 0)?;
        events_by_day.push(DaySize {
            day,
            rows: column(row, 1)?,
            bytes: partition_bytes.get(&day).copied(),
        });
    }
    let oldest = client
        .query_one("SELECT MIN(created_at) FROM events", &[])
        .await
        .map_err(db("finding the oldest event"))?;
    let indexes = client
        .query(
            "SELECT COALESCE(pi.relname, i.relname), COALESCE(pt.relname, t.relname),
                    SUM(pg_relation_size(s.indexrelid))::bigint, SUM(s.idx_scan)::bigint,
                    bool_or(x.indisprimary)
               FROM pg_stat_user_indexes s
               JOIN pg_class i ON i.oid = s.indexrelid
               JOIN pg_class t ON t.oid = s.relid
               JOIN pg_index x ON x.indexrelid = s.indexrelid
               LEFT JOIN pg_inherits ii ON ii.inhrelid = s.indexrelid
               LEFT JOIN pg_class pi ON pi.oid = ii.inhparent
               LEFT JOIN pg_inherits ti ON ti.inhrelid = s.relid
               LEFT JOIN pg_class pt ON pt.oid = ti.inhparent
              WHERE s.schemaname = current_schema()
                AND COALESCE(pt.relname, t.relname) IN ('events', 'audit_events', 'access_log')
              GROUP BY 1, 2 ORDER BY 2, 1",
            &[],
        )
        .await
        .map_err(db("measuring indexes"))?
        .iter()
        .map(|row| {
            Ok(IndexUse {
                index: column(row, 0)?,
                table: column(row, 1)?,
                bytes: column(row, 2)?,
                scans: Some(column(row, 3)?),
                primary_key: column(row, 4)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(StorageReport {
        tables,
        events_by_day,
        oldest_event: column(&oldest, 0)?,
        indexes,
    })
}
