//! Anonymization of old events, a batch per transaction.

use chrono::{DateTime, Utc};
use logbook_model::{EventType, pseudonym::Pseudonymizer};
use rusqlite::{Connection, TransactionBehavior, params};
use uuid::Uuid;

use super::{db, micros};
use crate::{ANONYMIZE_BATCH, Result};

pub fn anonymize(
    conn: &mut Connection,
    event_type: &EventType,
    before: DateTime<Utc>,
    pseudonymizer: &Pseudonymizer,
) -> Result<u64> {
    let mut changed = 0;
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db("starting anonymization"))?;
        let rows: Vec<(Uuid, i64, Uuid, Option<String>)> = {
            let mut select = tx
                .prepare_cached(
                    "SELECT tenant_id, created_at, id, user_id FROM events
                     WHERE event_type = ?1 AND created_at < ?2
                       AND (ip_address IS NOT NULL OR user_agent IS NOT NULL
                            OR (user_id IS NOT NULL AND NOT (length(user_id) = 37
                                AND substr(user_id, 1, 5) = 'anon_'
                                AND substr(user_id, 6) NOT GLOB '*[^0-9a-f]*')))
                     LIMIT ?3",
                )
                .map_err(db("finding events to anonymize"))?;
            let found = select
                .query_map(
                    params![event_type.as_str(), micros(before), ANONYMIZE_BATCH],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .map_err(db("finding events to anonymize"))?;
            found
                .collect::<rusqlite::Result<_>>()
                .map_err(db("finding events to anonymize"))?
        };
        if rows.is_empty() {
            tx.commit().map_err(db("finishing anonymization"))?;
            return Ok(changed);
        }
        {
            let mut update = tx
                .prepare_cached(
                    "UPDATE events SET ip_address = NULL, user_agent = NULL, user_id = ?4
                     WHERE tenant_id = ?1 AND created_at = ?2 AND id = ?3",
                )
                .map_err(db("anonymizing events"))?;
            for (tenant, created_at, id, user_id) in &rows {
                let pseudonym = user_id.as_deref().map(|u| pseudonymizer.pseudonym(u));
                update
                    .execute(params![tenant, created_at, id, pseudonym])
                    .map_err(db("anonymizing events"))?;
            }
        }
        tx.commit().map_err(db("committing anonymization"))?;
        changed += rows.len() as u64;
    }
}
