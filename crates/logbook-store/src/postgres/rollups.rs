//! Rollup rows in PostgreSQL: appended by ingest, merged by compaction, read by the
//! dashboard answers, expired by age (see [`crate::rollups`]). Ingest only ever inserts,
//! so writers on several servers never wait on each other's rows.

use chrono::{DateTime, Utc};
use deadpool_postgres::{Client, GenericClient};
use logbook_model::TenantId;
use uuid::Uuid;

use super::{column, db};
use crate::{
    Compaction, Result,
    rollups::{self, Kind, Measures, Row, StoredSample},
};

/// Appends rows in one statement, whatever their number.
pub async fn append<C: GenericClient>(client: &C, rows: &[Row], compacted: bool) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let tenants: Vec<Uuid> = rows.iter().map(|r| r.tenant.0).collect();
    let kinds: Vec<i16> = rows.iter().map(|r| r.kind.code()).collect();
    let buckets: Vec<i64> = rows.iter().map(|r| r.bucket).collect();
    let keys: Vec<String> = rows.iter().map(|r| rollups::encode_key(&r.key)).collect();
    let (measures, sketches): (Vec<Vec<u8>>, Vec<Option<Vec<u8>>>) =
        rows.iter().map(|r| r.measures.encode()).unzip();
    client
        .execute(
            "INSERT INTO rollups (tenant_id, kind, bucket, key, compacted, measures, sketches)
             SELECT t, k, b, key, $6, m, s
             FROM unnest($1::uuid[], $2::int2[], $3::int8[], $4::text[], $5::bytea[], $7::bytea[])
                 AS r(t, k, b, key, m, s)",
            &[
                &tenants, &kinds, &buckets, &keys, &measures, &compacted, &sketches,
            ],
        )
        .await
        .map_err(db("appending rollup rows"))?;
    Ok(())
}

fn decode(tenant: TenantId, kind: Kind, row: &tokio_postgres::Row) -> Result<Row> {
    Ok(Row {
        tenant,
        kind,
        bucket: column(row, 0)?,
        key: rollups::decode_key(column(row, 1)?)?,
        measures: Measures::decode(column(row, 2)?, column(row, 3)?)?,
    })
}

/// Rows of the first of `kinds` (and stored rows of the others, of the same width) for
/// whole buckets from `since` on, and the events before the first whole bucket rolled up
/// on the spot as the first kind, all read from one snapshot.
pub async fn window(
    client: &mut Client,
    tenant: TenantId,
    kinds: &[Kind],
    since: DateTime<Utc>,
) -> Result<Vec<Row>> {
    let tx = super::snapshot(client, "starting a rollup read").await?;
    let (raw_from, whole_from) = rollups::ragged_edge(kinds[0], since);
    let mut rows = Vec::new();
    for kind in kinds {
        rows.extend(stored(&tx, tenant, *kind, whole_from).await?);
    }
    let edge = samples(&tx, tenant, raw_from, whole_from).await?;
    rows.extend(rollups::of_samples(kinds[0], &edge));
    tx.commit().await.map_err(db("finishing a rollup read"))?;
    Ok(rows)
}

async fn stored<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    kind: Kind,
    from: i64,
) -> Result<Vec<Row>> {
    client
        .query(
            &format!(
                "SELECT bucket, key, measures, {} FROM rollups
                 WHERE tenant_id = $1 AND kind = $2 AND bucket >= $3",
                kind.sketches_read().column()
            ),
            &[&tenant.0, &kind.code(), &from],
        )
        .await
        .map_err(db("reading rollups"))?
        .iter()
        .map(|r| decode(tenant, kind, r))
        .collect()
}

/// Every row of `kind` a tenant has, for all-time answers.
pub async fn all(client: &Client, tenant: TenantId, kind: Kind) -> Result<Vec<Row>> {
    stored(client, tenant, kind, i64::MIN).await
}

/// The event columns rollups read, in [`read_sample`]'s order.
const SAMPLE_COLUMNS: &str = "tenant_id, created_at, \
    event_type::text, success, user_id::text, ip_address, fingerprint::text, geo_country::text, \
    response_time_ms, event_subtype::text, provider::text, status::text, service::text, \
    http_method::text, request_path::text, \
    CASE WHEN jsonb_typeof(metadata -> 'route') = 'string' THEN metadata ->> 'route' END, \
    response_status_code";

fn read_sample(r: &tokio_postgres::Row) -> Result<StoredSample> {
    Ok(StoredSample {
        tenant: TenantId(column(r, 0)?),
        micros: column::<DateTime<Utc>>(r, 1)?.timestamp_micros(),
        event_type: column(r, 2)?,
        success: column(r, 3)?,
        user_id: column(r, 4)?,
        ip_address: column(r, 5)?,
        fingerprint: column(r, 6)?,
        geo_country: column(r, 7)?,
        response_time_ms: column(r, 8)?,
        event_subtype: column(r, 9)?,
        provider: column(r, 10)?,
        status: column(r, 11)?,
        service: column(r, 12)?,
        http_method: column(r, 13)?,
        request_path: column(r, 14)?,
        route: column(r, 15)?,
        response_status_code: column(r, 16)?,
    })
}

/// The events in `[from, to)` as rollups read them.
async fn samples<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    from: i64,
    to: i64,
) -> Result<Vec<StoredSample>> {
    if from >= to {
        return Ok(Vec::new());
    }
    let time = |micros: i64| {
        DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or(DateTime::<Utc>::MIN_UTC)
    };
    client
        .query(
            &format!(
                "SELECT {SAMPLE_COLUMNS} FROM events
                 WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3"
            ),
            &[&tenant.0, &time(from), &time(to)],
        )
        .await
        .map_err(db("reading a window edge"))?
        .iter()
        .map(read_sample)
        .collect()
}

/// Merges the rows of every bucket holding deltas when the round starts (at most
/// [`rollups::MAX_PENDING`]), [`rollups::COMPACT_BATCH`] buckets per transaction, then
/// removes rows older than their kind keeps them. Deltas ingest adds meanwhile wait for
/// the next round. A concurrent compaction of the same bucket waits on the rows this one
/// deletes and then finds them gone.
pub async fn compact(client: &mut Client) -> Result<Compaction> {
    let mut done = Compaction::default();
    let pending = client
        .query(
            "SELECT DISTINCT tenant_id, kind, bucket FROM rollups WHERE NOT compacted LIMIT $1",
            &[&(rollups::MAX_PENDING as i64)],
        )
        .await
        .map_err(db("finding rollups to compact"))?
        .iter()
        .map(|r| {
            Ok((
                TenantId(column(r, 0)?),
                Kind::from_code(i64::from(column::<i16>(r, 1)?))?,
                column::<i64>(r, 2)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    for buckets in pending.chunks(rollups::COMPACT_BATCH) {
        let tx = client
            .transaction()
            .await
            .map_err(db("starting compaction"))?;
        for &(tenant, kind, bucket) in buckets {
            let rows = tx
                .query(
                    "DELETE FROM rollups WHERE tenant_id = $1 AND kind = $2 AND bucket = $3
                     RETURNING bucket, key, measures, sketches",
                    &[&tenant.0, &kind.code(), &bucket],
                )
                .await
                .map_err(db("compacting rollups"))?
                .iter()
                .map(|r| decode(tenant, kind, r))
                .collect::<Result<Vec<_>>>()?;
            done.rows_merged += rows.len() as u64;
            let merged = rollups::merge(rows);
            done.rows_written += merged.len() as u64;
            append(&tx, &merged, true).await?;
        }
        tx.commit().await.map_err(db("committing compaction"))?;
    }
    done.rows_expired = expire(&mut *client, Utc::now()).await?;
    Ok(done)
}

async fn expire(client: &mut Client, now: DateTime<Utc>) -> Result<u64> {
    let mut removed = 0;
    for kind in Kind::ALL {
        let cutoff = now.timestamp_micros() - kind.retention_days() * 86_400_000_000;
        if kind.ages_into().is_some() {
            removed += age(client, kind, kind.floor(cutoff)).await?;
            continue;
        }
        removed += client
            .execute(
                "DELETE FROM rollups WHERE kind = $1 AND bucket < $2",
                &[&kind.code(), &kind.floor(cutoff)],
            )
            .await
            .map_err(db("expiring rollups"))?;
    }
    Ok(removed)
}

/// Turns rows of `kind` older than `before` into the kind they age into, in one
/// transaction: a reader sees each hour as one or the other, never both.
async fn age(client: &mut Client, kind: Kind, before: i64) -> Result<u64> {
    let tx = client
        .transaction()
        .await
        .map_err(db("starting to age rollups"))?;
    let rows = tx
        .query(
            "DELETE FROM rollups WHERE kind = $1 AND bucket < $2
             RETURNING bucket, key, measures, sketches, tenant_id",
            &[&kind.code(), &before],
        )
        .await
        .map_err(db("aging rollups"))?
        .iter()
        .map(|r| decode(TenantId(column(r, 4)?), kind, r))
        .collect::<Result<Vec<_>>>()?;
    let count = rows.len() as u64;
    append(&tx, &rollups::aged(rows), true).await?;
    tx.commit().await.map_err(db("aging rollups"))?;
    Ok(count)
}

/// Rolls up every stored event, through a cursor: run once, in the migration that makes
/// the rollup table, for the events stored before it existed.
pub async fn rebuild(tx: &deadpool_postgres::Transaction<'_>) -> Result<()> {
    tx.batch_execute(&format!(
        "DECLARE rollup_rebuild NO SCROLL CURSOR FOR SELECT {SAMPLE_COLUMNS} FROM events"
    ))
    .await
    .map_err(db("reading events to roll up"))?;
    loop {
        let chunk = tx
            .query("FETCH 10000 FROM rollup_rebuild", &[])
            .await
            .map_err(db("reading events to roll up"))?
            .iter()
            .map(read_sample)
            .collect::<Result<Vec<_>>>()?;
        if chunk.is_empty() {
            break;
        }
        append(tx, &rollups::of_stored(&chunk), false).await?;
    }
    tx.batch_execute("CLOSE rollup_rebuild")
        .await
        .map_err(db("reading events to roll up"))
}
