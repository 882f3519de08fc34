//! Anonymization of old events, a batch per transaction.

use chrono::{DateTime, Utc};
use deadpool_postgres::Client;
use logbook_model::{EventType, pseudonym::Pseudonymizer};
use uuid::Uuid;

use super::{column, db};
use crate::{ANONYMIZE_BATCH, Result};

pub async fn anonymize(
    client: &mut Client,
    event_type: &EventType,
    before: DateTime<Utc>,
    pseudonymizer: &Pseudonymizer,
) -> Result<u64> {
    let mut changed = 0;
    loop {
        let tx = client
            .transaction()
            .await
            .map_err(db("starting anonymization"))?;
        let rows = tx
            .query(
                "SELECT tenant_id, created_at, id, user_id::text FROM events
                 WHERE event_type = $1 AND created_at < $2
                   AND (ip_address IS NOT NULL OR user_agent IS NOT NULL
                        OR (user_id IS NOT NULL AND user_id !~ '^anon_[0-9a-f]{32}$'))
                 LIMIT $3
                 FOR UPDATE",
                &[&event_type.as_str(), &before, &ANONYMIZE_BATCH],
            )
            .await
            .map_err(db("finding events to anonymize"))?;
        if rows.is_empty() {
            tx.commit().await.map_err(db("finishing anonymization"))?;
            return Ok(changed);
        }
        let mut tenants: Vec<Uuid> = Vec::with_capacity(rows.len());
        let mut times: Vec<DateTime<Utc>> = Vec::with_capacity(rows.len());
        let mut ids: Vec<Uuid> = Vec::with_capacity(rows.len());
        let mut users: Vec<Option<String>> = Vec::with_capacity(rows.len());
        for row in &rows {
            tenants.push(column(row, 0)?);
            times.push(column(row, 1)?);
            ids.push(column(row, 2)?);
            users.push(column::<Option<&str>>(row, 3)?.map(|u| pseudonymizer.pseudonym(u)));
        }
        tx.execute(
            "UPDATE events AS e SET ip_address = NULL, user_agent = NULL, user_id = u.user_id
             FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::text[]) AS u(tenant_id, created_at, id, user_id)
             WHERE e.tenant_id = u.tenant_id AND e.created_at = u.created_at AND e.id = u.id",
            &[&tenants, &times, &ids, &users],
        )
        .await
        .map_err(db("anonymizing events"))?;
        tx.commit().await.map_err(db("committing anonymization"))?;
        changed += rows.len() as u64;
    }
}
