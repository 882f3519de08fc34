//! What the store takes: rows counted, bytes from the `dbstat` table of SQLite's pages.

use std::collections::BTreeMap;

use rusqlite::Connection;

use super::{db, from_micros, retention::day_of};
use crate::{DaySize, IndexUse, Result, StorageReport, TableSize};

/// The tables of the streams, in the order reported.
const STREAMS: [&str; 3] = ["events", "audit_events", "access_log"];

pub fn report(conn: &Connection) -> Result<StorageReport> {
    let mut pages = conn
        .prepare(
            "SELECT s.tbl_name, s.name, s.type, d.pgsize
               FROM dbstat AS d JOIN sqlite_schema AS s ON s.name = d.name
              WHERE d.aggregate = TRUE",
        )
        .map_err(db("preparing the storage report"))?;
    let btrees = pages
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })
        .map_err(db("measuring tables"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db("reading table sizes"))?;
    let mut bytes: BTreeMap<&str, i64> = BTreeMap::new();
    let mut indexes = Vec::new();
    for (table, name, kind, size) in &btrees {
        if !STREAMS.contains(&table.as_str()) {
            continue;
        }
        *bytes.entry(table.as_str()).or_default() += size;
        if kind == "index" {
            indexes.push(IndexUse {
                index: name.clone(),
                table: table.clone(),
                bytes: *size,
                scans: None,
                primary_key: name.starts_with("sqlite_autoindex_"),
            });
        }
    }
    let mut tables = Vec::new();
    for table in STREAMS {
        // The name is one of the constants above, never text a client sent.
        let rows: i64 = conn
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .map_err(db("counting rows"))?;
        tables.push(TableSize {
            table: table.into(),
            rows,
            bytes: bytes.get(table).copied().unwrap_or(0),
        });
    }
    let mut by_day = conn
        .prepare(
            "SELECT (created_at - ((created_at % 86400000000) + 86400000000) % 86400000000)
                    / 86400000000, COUNT(*)
               FROM events GROUP BY 1 ORDER BY 1",
        )
        .map_err(db("preparing events by day"))?;
    let days = by_day
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
        .map_err(db("counting events by day"))?;
    let mut events_by_day = Vec::new();
    for row in days {
        let (day, rows) = row.map_err(db("reading events by day"))?;
        events_by_day.push(DaySize {
            day: day_of(day)?,
            rows,
            bytes: None,
        });
    }
    let oldest: Option<i64> = conn
        .query_row("SELECT MIN(created_at) FROM events", [], |r| r.get(0))
        .map_err(db("finding the oldest event"))?;
    Ok(StorageReport {
        tables,
        events_by_day,
        oldest_event: oldest.map(from_micros).transpose()?,
        indexes,
        compression: None,
    })
}
