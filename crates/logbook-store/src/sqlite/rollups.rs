//! Rollup rows in SQLite: appended by ingest, merged by compaction, read by the dashboard
//! answers, expired by age (see [`crate::rollups`]).

use chrono::{DateTime, Utc};
use logbook_model::TenantId;
use rusqlite::{Connection, params};

use super::{db, micros};
use crate::{
    Result,
    rollups::{self, Kind, Measures, Row, StoredSample},
};

/// Appends rows: deltas from ingest, or a compaction's merged rows.
pub fn append(conn: &Connection, rows: &[Row], compacted: bool) -> Result<()> {
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO rollups (tenant_id, kind, bucket, key, compacted, measures, sketches) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(db("preparing the rollup insert"))?;
    for row in rows {
        let (counts, sketches) = row.measures.encode();
        insert
            .execute(params![
                row.tenant.0,
                row.kind.code(),
                row.bucket,
                rollups::encode_key(&row.key),
                compacted,
                counts,
                sketches
            ])
            .map_err(db("appending a rollup row"))?;
    }
    Ok(())
}

fn row_of(tenant: TenantId, kind: Kind, r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        tenant,
        kind,
        bucket: r.get(0)?,
        key: r.get(1)?,
        measures: r.get(2)?,
        sketches: r.get(3)?,
    })
}

/// A row as stored, decoded outside the statement so a bad value is an error, not a panic.
struct RawRow {
    tenant: TenantId,
    kind: Kind,
    bucket: i64,
    key: String,
    measures: Vec<u8>,
    sketches: Option<Vec<u8>>,
}

impl RawRow {
    fn decode(self) -> Result<Row> {
        Ok(Row {
            tenant: self.tenant,
            kind: self.kind,
            bucket: self.bucket,
            key: rollups::decode_key(&self.key)?,
            measures: Measures::decode(&self.measures, self.sketches.as_deref())?,
        })
    }
}

/// Rows of the first of `kinds` (and stored rows of the others, of the same width) for
/// whole buckets from `since` on, and the events before the first whole bucket rolled up
/// on the spot as the first kind; read in one transaction so all see the same moment.
pub fn window(
    conn: &Connection,
    tenant: TenantId,
    kinds: &[Kind],
    since: DateTime<Utc>,
) -> Result<Vec<Row>> {
    let tx = conn
        .unchecked_transaction()
        .map_err(db("starting a rollup read"))?;
    let (raw_from, whole_from) = rollups::ragged_edge(kinds[0], since);
    let mut rows = Vec::new();
    for kind in kinds {
        rows.extend(stored(&tx, tenant, *kind, whole_from)?);
    }
    let edge = samples(&tx, tenant, raw_from, whole_from)?;
    rows.extend(rollups::of_samples(kinds[0], &edge));
    Ok(rows)
}

fn stored(conn: &Connection, tenant: TenantId, kind: Kind, from: i64) -> Result<Vec<Row>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT bucket, key, measures, {} FROM rollups \
             WHERE tenant_id = ?1 AND kind = ?2 AND bucket >= ?3",
            kind.sketches_read().column()
        ))
        .map_err(db("preparing a rollup read"))?;
    let raw = stmt
        .query_map(params![tenant.0, kind.code(), from], |r| {
            row_of(tenant, kind, r)
        })
        .map_err(db("reading rollups"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db("reading rollups"))?;
    raw.into_iter().map(RawRow::decode).collect()
}

/// The event columns rollups read, in [`read_sample`]'s order.
const SAMPLE_COLUMNS: &str = "tenant_id, created_at, event_type, success, user_id, ip_address, \
    fingerprint, geo_country, response_time_ms, event_subtype, provider, status, service, \
    http_method, request_path, \
    CASE WHEN json_valid(metadata) AND json_type(metadata, '$.route') = 'text' \
        THEN json_extract(metadata, '$.route') END, \
    response_status_code";

fn read_sample(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredSample> {
    Ok(StoredSample {
        tenant: TenantId(r.get(0)?),
        micros: r.get(1)?,
        event_type: r.get(2)?,
        success: r.get(3)?,
        user_id: r.get(4)?,
        // Stored as the parser wrote it; an address that no longer parses counts as none.
        ip_address: r
            .get::<_, Option<String>>(5)?
            .and_then(|ip| ip.parse().ok()),
        fingerprint: r.get(6)?,
        geo_country: r.get(7)?,
        response_time_ms: r.get(8)?,
        event_subtype: r.get(9)?,
        provider: r.get(10)?,
        status: r.get(11)?,
        service: r.get(12)?,
        http_method: r.get(13)?,
        request_path: r.get(14)?,
        route: r.get(15)?,
        response_status_code: r.get(16)?,
    })
}

/// The events in `[from, to)` as rollups read them.
fn samples(conn: &Connection, tenant: TenantId, from: i64, to: i64) -> Result<Vec<StoredSample>> {
    if from >= to {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {SAMPLE_COLUMNS} FROM events \
             WHERE tenant_id = ?1 AND created_at >= ?2 AND created_at < ?3"
        ))
        .map_err(db("preparing a window edge read"))?;
    stmt.query_map(params![tenant.0, from, to], read_sample)
        .map_err(db("reading a window edge"))?
        .collect::<rusqlite::Result<_>>()
        .map_err(db("reading a window edge"))
}

/// Every row of `kind` a tenant has, for all-time answers.
pub fn all(conn: &Connection, tenant: TenantId, kind: Kind) -> Result<Vec<Row>> {
    stored(conn, tenant, kind, i64::MIN)
}

/// The buckets holding deltas now, at most [`rollups::MAX_PENDING`]: what one
/// compaction round merges. Deltas that ingest adds meanwhile wait for the next round, so
/// a round ends however busy ingest is.
pub fn pending(conn: &Connection) -> Result<Vec<(TenantId, Kind, i64)>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT DISTINCT tenant_id, kind, bucket FROM rollups WHERE compacted = 0 LIMIT ?1",
        )
        .map_err(db("finding rollups to compact"))?;
    let groups = stmt
        .query_map([rollups::MAX_PENDING as i64], |r| {
            Ok((r.get::<_, uuid::Uuid>(0)?, r.get::<_, i64>(1)?, r.get(2)?))
        })
        .map_err(db("finding rollups to compact"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db("finding rollups to compact"))?;
    groups
        .into_iter()
        .map(|(tenant, kind, bucket)| Ok((TenantId(tenant), Kind::from_code(kind)?, bucket)))
        .collect()
}

/// Merges each bucket's rows into one row per key, in one short write transaction;
/// returns the rows removed and written.
pub fn compact(conn: &mut Connection, buckets: &[(TenantId, Kind, i64)]) -> Result<(u64, u64)> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(db("starting compaction"))?;
    let (mut removed, mut written) = (0, 0);
    for &(tenant, kind, bucket) in buckets {
        let raw = {
            let mut stmt = tx
                .prepare_cached(
                    "DELETE FROM rollups WHERE tenant_id = ?1 AND kind = ?2 AND bucket = ?3 \
                     RETURNING bucket, key, measures, sketches",
                )
                .map_err(db("compacting rollups"))?;
            stmt.query_map(params![tenant.0, kind.code(), bucket], |r| {
                row_of(tenant, kind, r)
            })
            .map_err(db("compacting rollups"))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db("compacting rollups"))?
        };
        removed += raw.len() as u64;
        let rows = raw
            .into_iter()
            .map(RawRow::decode)
            .collect::<Result<Vec<_>>>()?;
        let merged = rollups::merge(rows);
        written += merged.len() as u64;
        append(&tx, &merged, true)?;
    }
    tx.commit().map_err(db("committing compaction"))?;
    Ok((removed, written))
}

/// Removes rows older than their kind keeps them.
pub fn expire(conn: &mut Connection, now: DateTime<Utc>) -> Result<u64> {
    let mut removed = 0;
    for kind in Kind::ALL {
        let cutoff = micros(now) - kind.retention_days() * 86_400_000_000;
        if kind.ages_into().is_some() {
            removed += age(conn, kind, kind.floor(cutoff))?;
            continue;
        }
        removed += conn
            .execute(
                "DELETE FROM rollups WHERE kind = ?1 AND bucket < ?2",
                params![kind.code(), kind.floor(cutoff)],
            )
            .map_err(db("expiring rollups"))? as u64;
    }
    Ok(removed)
}

/// Turns rows of `kind` older than `before` into the kind they age into, in one
/// transaction: a reader sees each hour as one or the other, never both.
fn age(conn: &mut Connection, kind: Kind, before: i64) -> Result<u64> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(db("starting to age rollups"))?;
    let raw = {
        let mut stmt = tx
            .prepare_cached(
                "DELETE FROM rollups WHERE kind = ?1 AND bucket < ?2 \
                 RETURNING bucket, key, measures, sketches, tenant_id",
            )
            .map_err(db("aging rollups"))?;
        stmt.query_map(params![kind.code(), before], |r| {
            row_of(TenantId(r.get(4)?), kind, r)
        })
        .map_err(db("aging rollups"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db("aging rollups"))?
    };
    let count = raw.len() as u64;
    let rows = raw
        .into_iter()
        .map(RawRow::decode)
        .collect::<Result<Vec<_>>>()?;
    append(&tx, &rollups::aged(rows), true)?;
    tx.commit().map_err(db("aging rollups"))?;
    Ok(count)
}

/// Rolls up every stored event: run once, in the migration that makes the rollup table,
/// for the events stored before it existed.
pub fn rebuild(conn: &Connection) -> Result<()> {
    const CHUNK: usize = 10_000;
    let mut stmt = conn
        .prepare(&format!("SELECT {SAMPLE_COLUMNS} FROM events"))
        .map_err(db("reading events to roll up"))?;
    let mut chunk = Vec::with_capacity(CHUNK);
    for sample in stmt
        .query_map([], read_sample)
        .map_err(db("reading events to roll up"))?
    {
        chunk.push(sample.map_err(db("reading events to roll up"))?);
        if chunk.len() == CHUNK {
            append(conn, &rollups::of_stored(&chunk), false)?;
            chunk.clear();
        }
    }
    append(conn, &rollups::of_stored(&chunk), false)
}
