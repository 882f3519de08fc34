//! Group commit into PostgreSQL: idempotency keys claimed, then one binary COPY of every
//! stored item's events, all in one transaction.

use chrono::{DateTime, Utc};
use deadpool_postgres::{Client, GenericClient};
use logbook_model::{Event, TenantId, access::AccessRecord};
use tokio_postgres::types::{ToSql, Type};

use super::{
    audit, column, db, rollups,
    rows::{RowWriter, RowWrites},
};
use crate::{
    IdempotencyRecord, ItemOutcome, Result, SeqRange, WriteItem, columns::EVENT_COLUMNS,
    rollups::Rollup,
};

pub async fn append(
    client: &mut Client,
    origin: uuid::Uuid,
    writes: RowWrites,
    items: &[WriteItem],
    idempotency_since: DateTime<Utc>,
) -> Result<Vec<ItemOutcome>> {
    let tx = client
        .transaction()
        .await
        .map_err(db("starting an ingest transaction"))?;
    // The chain heads of every tenant appending audit events, locked first and in one
    // order, so two writers never wait on each other in a circle.
    let mut chains: Vec<TenantId> = items
        .iter()
        .filter(|i| !i.audit.is_empty())
        .map(|i| i.tenant)
        .collect();
    chains.sort_unstable_by_key(|t| t.0);
    chains.dedup();
    let mut heads = audit::lock_heads(&tx, &chains).await?;
    let mut outcomes = Vec::with_capacity(items.len());
    for item in items {
        outcomes.push(match &item.idempotency {
            None => ItemOutcome::STORED,
            Some(record) => claim(&tx, item.tenant, record, idempotency_since).await?,
        });
    }
    let stored: Vec<&WriteItem> = items
        .iter()
        .zip(&outcomes)
        .filter(|(_, outcome)| matches!(outcome, ItemOutcome::Stored { .. }))
        .map(|(item, _)| item)
        .collect();
    let events: Vec<&Event> = stored.iter().flat_map(|i| i.events.iter()).collect();
    if !events.is_empty() {
        let mut rollup = Rollup::default();
        for event in &events {
            rollup.add_event(event);
        }
        rollups::append(&tx, &rollup.rows(), false).await?;
        super::commits::announce(&tx, origin, &stored).await?;
        write_events(&tx, writes, events).await?;
        super::error_groups::record(&tx, &crate::error_groups::tally(stored.iter().copied()))
            .await?;
    }
    let mut linked = Vec::new();
    for (item, outcome) in items.iter().zip(outcomes.iter_mut()) {
        if let ItemOutcome::Stored { audit } = outcome {
            *audit = audit::link(&mut heads, item.tenant, &item.audit, &mut linked);
        }
    }
    audit::write(&tx, writes, &linked).await?;
    audit::move_heads(&tx, &heads).await?;
    let access: Vec<&AccessRecord> = stored.iter().flat_map(|i| i.access.iter()).collect();
    super::access::write(&tx, writes, access).await?;
    for (item, outcome) in items.iter().zip(&outcomes) {
        if let (Some(record), ItemOutcome::Stored { audit: Some(range) }) =
            (&item.idempotency, outcome)
        {
            tx.execute(
                "UPDATE idempotency_keys SET first_seq = $3, last_seq = $4 WHERE tenant_id = $1 AND key = $2",
                &[&item.tenant.0, &record.key, &range.first, &range.last],
            )
            .await
            .map_err(db("recording an append's seqs"))?;
        }
    }
    tx.commit()
        .await
        .map_err(db("committing an ingest batch"))?;
    Ok(outcomes)
}

/// Claims an idempotency key, or takes over one older than the window. A concurrent
/// claim by another transaction makes this wait for its commit, and then see its row:
/// one of them stores the item, never both.
async fn claim(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: TenantId,
    record: &IdempotencyRecord,
    since: DateTime<Utc>,
) -> Result<ItemOutcome> {
    let claimed = tx
        .query_opt(
            "INSERT INTO idempotency_keys (tenant_id, key, response) VALUES ($1, $2, $3)
             ON CONFLICT (tenant_id, key) DO UPDATE
                SET response = EXCLUDED.response, created_at = now(), first_seq = NULL, last_seq = NULL
                WHERE idempotency_keys.created_at < $4
             RETURNING 1",
            &[&tenant.0, &record.key, &record.response, &since],
        )
        .await
        .map_err(db("claiming an idempotency key"))?;
    if claimed.is_some() {
        return Ok(ItemOutcome::STORED);
    }
    let (response, audit) = idempotent(tx, tenant, &record.key, since)
        .await?
        .unwrap_or_default();
    Ok(ItemOutcome::Duplicate { response, audit })
}

/// Column types of [`EVENT_COLUMNS`] for the binary COPY.
const TYPES: [Type; 32] = [
    Type::UUID,
    Type::UUID,
    Type::TIMESTAMPTZ,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::INET,
    Type::TEXT,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::JSONB,
    Type::JSONB,
    Type::INT2,
    Type::INT4,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::BOOL,
    Type::TEXT,
    Type::VARCHAR,
    Type::JSONB,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
];

/// Streams events into `events` with one binary COPY; their day partitions must exist.
/// Public so the ingest benchmark can measure this path alone.
pub async fn copy_events<'e>(
    tx: &tokio_postgres::Transaction<'_>,
    events: impl IntoIterator<Item = &'e Event>,
) -> Result<()> {
    write_events(tx, RowWrites::Copy, events).await
}

async fn write_events<'e>(
    tx: &tokio_postgres::Transaction<'_>,
    writes: RowWrites,
    events: impl IntoIterator<Item = &'e Event>,
) -> Result<()> {
    let mut writer = RowWriter::start(tx, writes, "events", EVENT_COLUMNS, &TYPES).await?;
    for e in events {
        writer.write(&EventRow::new(e).values()).await?;
    }
    writer.finish().await
}

/// One INSERT per event, in autocommit: seed 000's way, kept only as the reference the
/// ingest benchmark measures against; the server never writes like this. Like seed 000's
/// node-postgres `pool.query(sql, params)`, each call sends an unnamed statement with its
/// parameters in one round trip, and the server parses it every time.
pub async fn insert_single(client: &Client, event: &Event) -> Result<u64> {
    let sql = format!(
        "INSERT INTO events ({EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
         $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, \
         $30, $31, $32)"
    );
    let row = EventRow::new(event);
    let values = row.values();
    let typed: Vec<(&(dyn ToSql + Sync), Type)> =
        values.iter().copied().zip(TYPES.iter().cloned()).collect();
    client
        .execute_typed(&sql, &typed)
        .await
        .map_err(db("inserting an event"))
}

/// An event's values in [`EVENT_COLUMNS`] order, as tokio-postgres parameters.
struct EventRow<'e> {
    e: &'e Event,
    event_type: &'e str,
    severity: &'static str,
}

impl<'e> EventRow<'e> {
    fn new(e: &'e Event) -> Self {
        Self {
            e,
            event_type: e.event_type.as_str(),
            severity: e.severity.as_str(),
        }
    }

    fn values(&self) -> [&(dyn ToSql + Sync); 32] {
        let e = self.e;
        [
            &e.id,
            &e.tenant_id.0,
            &e.created_at,
            &self.event_type,
            &e.event_subtype,
            &e.user_id,
            &e.fingerprint,
            &e.device_id,
            &e.ip_address,
            &e.user_agent,
            &e.http_method,
            &e.request_path,
            &e.request_params,
            &e.request_body_summary,
            &e.response_status_code,
            &e.response_time_ms,
            &e.geo_country,
            &e.geo_region,
            &e.geo_city,
            &e.geo_timezone,
            &e.session_id,
            &e.referrer,
            &e.origin,
            &e.success,
            &e.message,
            &e.error_code,
            &e.metadata,
            &e.service,
            &self.severity,
            &e.request_id,
            &e.provider,
            &e.status,
        ]
    }
}

/// The first response given for `key` since `since`, with the seqs its audit events got.
pub async fn idempotent<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    key: &str,
    since: DateTime<Utc>,
) -> Result<Option<(String, Option<SeqRange>)>> {
    let row = client
        .query_opt(
            "SELECT response, first_seq, last_seq FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND created_at >= $3",
            &[&tenant.0, &key, &since],
        )
        .await
        .map_err(db("looking up an idempotency key"))?;
    row.map(|r| {
        let response: String = column(&r, 0)?;
        let first: Option<i64> = column(&r, 1)?;
        let last: Option<i64> = column(&r, 2)?;
        let range = first
            .zip(last)
            .map(|(first, last)| SeqRange { first, last });
        Ok((response, range))
    })
    .transpose()
}

pub async fn idempotent_response<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    key: &str,
    since: DateTime<Utc>,
) -> Result<Option<String>> {
    Ok(idempotent(client, tenant, key, since)
        .await?
        .map(|(response, _)| response))
}
