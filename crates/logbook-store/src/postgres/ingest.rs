//! Group commit into PostgreSQL: idempotency keys claimed, then one binary COPY of every
//! stored item's events, all in one transaction.

use chrono::{DateTime, Utc};
use deadpool_postgres::{Client, GenericClient};
use futures_util::pin_mut;
use logbook_model::{Event, TenantId};
use tokio_postgres::{
    binary_copy::BinaryCopyInWriter,
    types::{ToSql, Type},
};

use super::db;
use crate::{ItemOutcome, Result, WriteItem, columns::EVENT_COLUMNS};

pub async fn append(
    client: &mut Client,
    items: &[WriteItem],
    idempotency_since: DateTime<Utc>,
) -> Result<Vec<ItemOutcome>> {
    let tx = client
        .transaction()
        .await
        .map_err(db("starting an ingest transaction"))?;
    let mut outcomes = Vec::with_capacity(items.len());
    for item in items {
        let outcome = match &item.idempotency {
            None => ItemOutcome::Stored,
            Some(record) => {
                // Claims the key, or takes over one older than the window. A concurrent
                // claim by another transaction makes this wait for its commit, and then
                // see its row: one of them stores the events, never both.
                let claimed = tx
                    .query_opt(
                        "INSERT INTO idempotency_keys (tenant_id, key, response) VALUES ($1, $2, $3)
                         ON CONFLICT (tenant_id, key) DO UPDATE
                            SET response = EXCLUDED.response, created_at = now()
                            WHERE idempotency_keys.created_at < $4
                         RETURNING 1",
                        &[&item.tenant.0, &record.key, &record.response, &idempotency_since],
                    )
                    .await
                    .map_err(db("claiming an idempotency key"))?;
                match claimed {
                    Some(_) => ItemOutcome::Stored,
                    None => ItemOutcome::Duplicate {
                        response: idempotent_response(
                            &tx,
                            item.tenant,
                            &record.key,
                            idempotency_since,
                        )
                        .await?
                        .unwrap_or_default(),
                    },
                }
            }
        };
        outcomes.push(outcome);
    }
    let mut stored: Vec<&Event> = Vec::new();
    for (item, outcome) in items.iter().zip(&outcomes) {
        if *outcome == ItemOutcome::Stored {
            stored.extend(&item.events);
        }
    }
    copy_events(&tx, stored).await?;
    tx.commit()
        .await
        .map_err(db("committing an ingest batch"))?;
    Ok(outcomes)
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
) -> Result<u64> {
    let sink = tx
        .copy_in(&format!(
            "COPY events ({EVENT_COLUMNS}) FROM STDIN (FORMAT binary)"
        ))
        .await
        .map_err(db("starting COPY"))?;
    let writer = BinaryCopyInWriter::new(sink, &TYPES);
    pin_mut!(writer);
    for e in events {
        let row = EventRow::new(e);
        writer
            .as_mut()
            .write(&row.values())
            .await
            .map_err(db("writing a COPY row"))?;
    }
    writer.finish().await.map_err(db("finishing COPY"))
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

pub async fn idempotent_response<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    key: &str,
    since: DateTime<Utc>,
) -> Result<Option<String>> {
    let row = client
        .query_opt(
            "SELECT response FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND created_at >= $3",
            &[&tenant.0, &key, &since],
        )
        .await
        .map_err(db("looking up an idempotency key"))?;
    Ok(row.map(|r| r.get(0)))
}
