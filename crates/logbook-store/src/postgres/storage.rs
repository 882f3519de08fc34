//! What the store takes: rows counted, bytes from PostgreSQL's relation sizes, and how
//! often each index was used since the statistics were last reset, each day
//! partition's index counted under the index of `events` it belongs to.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use deadpool_postgres::Client;

use super::{Layout, column, db, partitions};
use crate::{Compression, DaySize, IndexUse, Result, StorageReport, TableSize};

pub async fn report(client: &Client, layout: Layout) -> Result<StorageReport> {
    let mut tables = Vec::new();
    let events_size = match layout {
        Layout::Partitions => {
            "SELECT COALESCE(SUM(pg_total_relation_size(inhrelid)), 0)::bigint
               FROM pg_inherits WHERE inhparent = 'events'::regclass"
        }
        // Compressed chunks' data lives in tables of their own, which this counts.
        Layout::Hypertable => "SELECT COALESCE(hypertable_size('events'), 0)::bigint",
    };
    for (table, size) in [
        ("events", events_size),
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
    let partition_bytes: BTreeMap<NaiveDate, i64> = match layout {
        Layout::Partitions => partition_bytes(client).await?,
        Layout::Hypertable => chunk_bytes(client).await?,
    };
    let compression = match layout {
        Layout::Partitions => None,
        Layout::Hypertable => compression(client).await?,
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
            // A partition's index is attached to its parent's; a TimescaleDB chunk's is
            // not, and is named after the hypertable's index it copies.
            "SELECT COALESCE(pi.relname, h.relname, i.relname), COALESCE(pt.relname, t.relname),
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
               LEFT JOIN LATERAL (
                    SELECT hc.relname FROM pg_index hx JOIN pg_class hc ON hc.oid = hx.indexrelid
                     WHERE pi.oid IS NULL AND hx.indrelid = pt.oid
                       AND right(i.relname, length(hc.relname) + 1) = '_' || hc.relname
                     ORDER BY length(hc.relname) DESC LIMIT 1) h ON true
              WHERE s.schemaname IN (current_schema(), '_timescaledb_internal')
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
        compression,
    })
}

/// Bytes of each day's partition.
async fn partition_bytes(client: &Client) -> Result<BTreeMap<NaiveDate, i64>> {
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
    Ok(sizes)
}

/// Bytes of each day's chunks, compressed ones as compressed.
async fn chunk_bytes(client: &Client) -> Result<BTreeMap<NaiveDate, i64>> {
    let rows = client
        .query(
            "SELECT (c.range_start AT TIME ZONE 'UTC')::date, SUM(d.total_bytes)::bigint
               FROM timescaledb_information.chunks c
               JOIN chunks_detailed_size('events') d
                 ON d.chunk_schema = c.chunk_schema AND d.chunk_name = c.chunk_name
              WHERE c.hypertable_name = 'events' AND c.hypertable_schema = current_schema()
              GROUP BY 1",
            &[],
        )
        .await
        .map_err(db("measuring chunks"))?;
    rows.iter()
        .map(|row| Ok((column(row, 0)?, column(row, 1)?)))
        .collect()
}

async fn compression(client: &Client) -> Result<Option<Compression>> {
    let row = client
        .query_opt(
            "SELECT total_chunks, number_compressed_chunks,
                    COALESCE(before_compression_total_bytes, 0), COALESCE(after_compression_total_bytes, 0)
               FROM hypertable_compression_stats('events')",
            &[],
        )
        .await
        .map_err(db("reading compression figures"))?;
    row.map(|row| {
        Ok(Compression {
            chunks: column(&row, 0)?,
            compressed_chunks: column(&row, 1)?,
            bytes_before: column(&row, 2)?,
            bytes_after: column(&row, 3)?,
        })
    })
    .transpose()
}
