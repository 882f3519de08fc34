//! Group commit into SQLite: every item of a batch in one immediate transaction.

use chrono::{DateTime, Utc};
use logbook_model::{Event, TenantId};
use rusqlite::{Connection, OptionalExtension, Statement, TransactionBehavior, params};

use super::{db, micros};
use crate::{ItemOutcome, Result, SeqRange, WriteItem, columns::EVENT_COLUMNS, rollups::Rollup};

pub fn append(
    conn: &mut Connection,
    items: &[WriteItem],
    idempotency_since: DateTime<Utc>,
) -> Result<Vec<ItemOutcome>> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db("starting an ingest transaction"))?;
    let mut outcomes = Vec::with_capacity(items.len());
    let mut rollup = Rollup::default();
    let mut stored = Vec::with_capacity(items.len());
    {
        let sql = format!(
            "INSERT INTO events ({EVENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, \
             ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, \
             ?28, ?29, ?30, ?31, ?32)"
        );
        let mut insert = tx
            .prepare_cached(&sql)
            .map_err(db("preparing the event insert"))?;
        let now = micros(Utc::now());
        for item in items {
            if let Some(record) = &item.idempotency
                && let Some((response, audit)) =
                    idempotent(&tx, item.tenant, &record.key, idempotency_since)?
            {
                outcomes.push(ItemOutcome::Duplicate { response, audit });
                continue;
            }
            for event in &item.events {
                insert_event(&mut insert, event)?;
                rollup.add_event(event);
            }
            let audit = super::audit::append(&tx, item.tenant, &item.audit)?;
            super::access::insert(&tx, &item.access)?;
            if let Some(record) = &item.idempotency {
                // A key older than the window is forgotten: replace it.
                tx.execute(
                    "INSERT OR REPLACE INTO idempotency_keys (tenant_id, key, response, created_at, first_seq, last_seq) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        item.tenant.0,
                        record.key,
                        record.response,
                        now,
                        audit.map(|r| r.first),
                        audit.map(|r| r.last)
                    ],
                )
                .map_err(db("recording an idempotency key"))?;
            }
            outcomes.push(ItemOutcome::Stored { audit });
            stored.push(item);
        }
    }
    super::rollups::append(&tx, &rollup.rows(), false)?;
    super::error_groups::record(&tx, &crate::error_groups::tally(stored))?;
    tx.commit().map_err(db("committing an ingest batch"))?;
    Ok(outcomes)
}

fn insert_event(insert: &mut Statement<'_>, e: &Event) -> Result<()> {
    insert
        .execute(params![
            e.id,
            e.tenant_id.0,
            micros(e.created_at),
            e.event_type.as_str(),
            e.event_subtype,
            e.user_id,
            e.fingerprint,
            e.device_id,
            e.ip_address.map(|ip| ip.to_string()),
            e.user_agent,
            e.http_method,
            e.request_path,
            e.request_params,
            e.request_body_summary,
            e.response_status_code,
            e.response_time_ms,
            e.geo_country,
            e.geo_region,
            e.geo_city,
            e.geo_timezone,
            e.session_id,
            e.referrer,
            e.origin,
            e.success,
            e.message,
            e.error_code,
            e.metadata,
            e.service,
            e.severity.as_str(),
            e.request_id,
            e.provider,
            e.status,
        ])
        .map_err(db("inserting an event"))?;
    Ok(())
}

/// The first response given for `key` since `since`, with the seqs its audit events got.
pub fn idempotent(
    conn: &Connection,
    tenant: TenantId,
    key: &str,
    since: DateTime<Utc>,
) -> Result<Option<(String, Option<SeqRange>)>> {
    conn.prepare_cached(
        "SELECT response, first_seq, last_seq FROM idempotency_keys \
         WHERE tenant_id = ?1 AND key = ?2 AND created_at >= ?3",
    )
    .and_then(|mut stmt| {
        stmt.query_row(params![tenant.0, key, micros(since)], |r| {
            let range = match (r.get::<_, Option<i64>>(1)?, r.get::<_, Option<i64>>(2)?) {
                (Some(first), Some(last)) => Some(SeqRange { first, last }),
                _ => None,
            };
            Ok((r.get(0)?, range))
        })
        .optional()
    })
    .map_err(db("looking up an idempotency key"))
}

pub fn idempotent_response(
    conn: &Connection,
    tenant: TenantId,
    key: &str,
    since: DateTime<Utc>,
) -> Result<Option<String>> {
    Ok(idempotent(conn, tenant, key, since)?.map(|(response, _)| response))
}

pub fn purge(conn: &mut Connection, before: DateTime<Utc>) -> Result<u64> {
    conn.execute(
        "DELETE FROM idempotency_keys WHERE created_at < ?1",
        [micros(before)],
    )
    .map(|n| n as u64)
    .map_err(db("purging idempotency keys"))
}
