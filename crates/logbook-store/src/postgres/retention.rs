//! Events past their retention. A day whose every row expires goes as a whole partition
//! (`DROP TABLE`, no row-by-row DELETE to vacuum afterwards); rows that expire while
//! others of their day are kept go in small DELETEs.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use deadpool_postgres::Client;
use logbook_model::{EventType, TenantId, retention::RetentionRules};
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use super::{Layout, column, db, partitions};
use crate::{ArchivedGroup, EventGroup, REMOVE_BATCH, Result, StoreError};

pub async fn groups_before(
    client: &Client,
    before: NaiveDate,
    tenant: Option<TenantId>,
) -> Result<Vec<EventGroup>> {
    let before = before.and_time(chrono::NaiveTime::MIN).and_utc();
    let rows = client
        .query(
            "SELECT tenant_id, (created_at AT TIME ZONE 'UTC')::date, event_type, COUNT(*)
               FROM events WHERE created_at < $1 AND ($2::uuid IS NULL OR tenant_id = $2)
              GROUP BY 1, 2, 3 ORDER BY 2, 1, 3",
            &[&before, &tenant.map(|t| t.0)],
        )
        .await
        .map_err(db("finding events past their retention"))?;
    let mut groups = Vec::new();
    for row in &rows {
        let event_type: String = column(row, 2)?;
        let event_type = EventType::parse(&event_type)
            .map_err(|e| StoreError::Invalid(format!("stored event_type: {e}")))?;
        groups.push(EventGroup {
            tenant: TenantId(column::<Uuid>(row, 0)?),
            day: column(row, 1)?,
            event_type,
            rows: column::<i64>(row, 3)? as u64,
        });
    }
    Ok(groups)
}

pub async fn remove(
    client: &mut Client,
    layout: Layout,
    archived: &[ArchivedGroup],
) -> Result<u64> {
    let mut by_day: BTreeMap<NaiveDate, Vec<&ArchivedGroup>> = BTreeMap::new();
    for group in archived {
        by_day.entry(group.group.day).or_default().push(group);
    }
    let with_partition = match layout {
        Layout::Partitions => partitions::existing_days(client).await?,
        Layout::Hypertable => BTreeSet::new(),
    };
    let mut removed = 0;
    for (day, groups) in by_day {
        let whole = match layout {
            Layout::Partitions if !with_partition.contains(&day) => None,
            _ => drop_day_if_whole(client, layout, &groups).await?,
        };
        if let Some(rows) = whole {
            removed += rows;
            continue;
        }
        for group in groups {
            removed += remove_keys(client, group).await?;
        }
    }
    for group in archived.iter().filter(|g| g.group.holds_errors()) {
        // Their events are gone: the groups keep their counts, not pointers to nothing.
        let (from, to) = group.group.window();
        client
            .execute(
                "DELETE FROM error_occurrences WHERE tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $3",
                &[&group.group.tenant.0, &from, &to],
            )
            .await
            .map_err(db("forgetting error occurrences past their retention"))?;
    }
    Ok(removed)
}

/// Drops a day as a whole — its partition, or on a hypertable its chunks — when it holds
/// exactly the archived rows; the rows dropped, or `None` when some are to stay, the
/// day's storage reaches past it, or the lock is not to be had now. TimescaleDB's own
/// retention policy is not used: it would drop days that were never archived.
///
/// `events` is locked before its partition, in the order every query takes them, so no
/// reader can deadlock with the drop; the wait for the lock is bounded, and the check
/// under it is of one day, so ingest and reads wait at most that long.
async fn drop_day_if_whole(
    client: &mut Client,
    layout: Layout,
    groups: &[&ArchivedGroup],
) -> Result<Option<u64>> {
    let archived: u64 = groups.iter().map(|g| g.keys.len() as u64).sum();
    let (start, end) = groups[0].group.window();
    // The name comes from a typed date, never from text a client sent.
    let partition = partitions::name(groups[0].group.day);
    let tx = client
        .transaction()
        .await
        .map_err(db("starting a day's drop"))?;
    tx.batch_execute(&format!("SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
        .await
        .map_err(db("bounding the wait for a lock"))?;
    let locks = match layout {
        Layout::Partitions => format!(
            "LOCK TABLE events IN ACCESS EXCLUSIVE MODE; LOCK TABLE {partition} IN ACCESS EXCLUSIVE MODE"
        ),
        Layout::Hypertable => "LOCK TABLE events IN ACCESS EXCLUSIVE MODE".to_owned(),
    };
    match tx.batch_execute(&locks).await {
        Ok(()) => {}
        Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => return Ok(None),
        Err(e) => return Err(db("locking a day's events")(e)),
    }
    if !holds_exactly(&tx, start, end, groups, archived).await? {
        return Ok(None);
    }
    match layout {
        Layout::Partitions => tx
            .batch_execute(&format!("DROP TABLE {partition}"))
            .await
            .map_err(db("dropping a day partition"))?,
        Layout::Hypertable => {
            let dropped = tx
                .query(
                    "SELECT drop_chunks('events', older_than => $2::timestamptz, newer_than => $1::timestamptz)",
                    &[&start, &end],
                )
                .await
                .map_err(db("dropping a day's chunks"))?;
            // A chunk reaching past the day (its interval changed by hand) is left
            // whole, and the day's rows go by key.
            if dropped.is_empty() || !holds_exactly(&tx, start, end, &[], 0).await? {
                return Ok(None);
            }
        }
    }
    tx.commit().await.map_err(db("committing a day's drop"))?;
    Ok(Some(archived))
}

/// Whether the day holds exactly the archived rows: as many, and each of them, so a row
/// that arrived after the archive never goes with it, however the counts fall.
async fn holds_exactly(
    tx: &deadpool_postgres::Transaction<'_>,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
    groups: &[&ArchivedGroup],
    archived: u64,
) -> Result<bool> {
    let ids: Vec<Uuid> = groups
        .iter()
        .flat_map(|g| g.keys.iter().map(|(_, id)| *id))
        .collect();
    Ok(tx
        .query_one(
            "SELECT COUNT(*) = $4 AND COUNT(*) FILTER (WHERE id = ANY($3)) = $4
               FROM events WHERE created_at >= $1 AND created_at < $2",
            &[&start, &end, &ids, &(archived as i64)],
        )
        .await
        .map_err(db("counting a day's events"))?
        .get(0))
}

/// How long a partition drop waits for its locks before leaving the day to row
/// removal; also bounds how long it can hold up queries queued behind it.
const LOCK_WAIT: &str = "2s";

/// Removes the archived rows by key, [`REMOVE_BATCH`] per statement.
async fn remove_keys(client: &Client, group: &ArchivedGroup) -> Result<u64> {
    let (start, end) = group.group.window();
    let tenant = group.group.tenant.0;
    let mut removed = 0;
    for batch in group.keys.chunks(REMOVE_BATCH as usize) {
        let ids: Vec<Uuid> = batch.iter().map(|(_, id)| *id).collect();
        removed += client
            .execute(
                "DELETE FROM events
                  WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3
                    AND id = ANY($4)",
                &[&tenant, &start, &end, &ids],
            )
            .await
            .map_err(db("removing events past their retention"))?;
    }
    Ok(removed)
}

pub async fn rules(client: &Client) -> Result<Vec<(TenantId, RetentionRules)>> {
    let rows = client
        .query(
            "SELECT tenant_id, event_type, days FROM retention_rules ORDER BY tenant_id, event_type",
            &[],
        )
        .await
        .map_err(db("reading the retention rules"))?;
    crate::retention_rows::gather(rows.iter().map(|row| {
        Ok((
            TenantId(column(row, 0)?),
            column::<String>(row, 1)?,
            column::<i32>(row, 2)? as u32,
        ))
    }))
}

pub async fn set_rules(
    client: &mut Client,
    tenant: TenantId,
    rules: &RetentionRules,
) -> Result<()> {
    let tx = client
        .transaction()
        .await
        .map_err(db("starting to set retention rules"))?;
    tx.execute(
        "DELETE FROM retention_rules WHERE tenant_id = $1",
        &[&tenant.0],
    )
    .await
    .map_err(db("clearing retention rules"))?;
    for (event_type, days) in crate::retention_rows::rows(rules) {
        tx.execute(
            "INSERT INTO retention_rules (tenant_id, event_type, days) VALUES ($1, $2, $3)",
            &[&tenant.0, &event_type, &(days as i32)],
        )
        .await
        .map_err(db("setting a retention rule"))?;
    }
    tx.commit().await.map_err(db("committing retention rules"))
}
