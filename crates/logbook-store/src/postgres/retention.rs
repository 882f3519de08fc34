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
            Layout::Partitions if with_partition.contains(&day) => {
                drop_if_whole(client, day, &groups).await?
            }
            Layout::Partitions => None,
            Layout::Hypertable => drop_chunks_if_whole(client, &groups).await?,
        };
        if let Some(rows) = whole {
            removed += rows;
            continue;
        }
        for group in groups {
            removed += remove_keys(client, group).await?;
        }
    }
    Ok(removed)
}

/// Drops `day`'s partition when its rows are exactly the archived ones; the rows
/// dropped, or `None` when some are to stay or the lock is not to be had now.
///
/// `events` is locked before its partition, in the order every query takes them, so no
/// reader can deadlock with the drop; the wait for the lock is bounded, and the count
/// under it is of one day, so ingest and reads wait at most that long.
async fn drop_if_whole(
    client: &mut Client,
    day: NaiveDate,
    groups: &[&ArchivedGroup],
) -> Result<Option<u64>> {
    let archived: u64 = groups.iter().map(|g| g.keys.len() as u64).sum();
    let name = partitions::name(day);
    let tx = client
        .transaction()
        .await
        .map_err(db("starting a partition drop"))?;
    tx.batch_execute(&format!("SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
        .await
        .map_err(db("bounding the wait for a lock"))?;
    // The name comes from a typed date, never from text a client sent.
    let locked = tx
        .batch_execute(&format!(
            "LOCK TABLE events IN ACCESS EXCLUSIVE MODE; LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE"
        ))
        .await;
    match locked {
        Ok(()) => {}
        Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => return Ok(None),
        Err(e) => return Err(db("locking a day partition")(e)),
    }
    let exactly: bool = tx
        .query_one(
            &format!(
                "SELECT COUNT(*) = $2 AND COUNT(*) FILTER (WHERE id = ANY($1)) = $2 FROM {name}"
            ),
            &[&ids(groups), &(archived as i64)],
        )
        .await
        .map_err(db("counting a day partition"))?
        .get(0);
    if !exactly {
        return Ok(None);
    }
    tx.batch_execute(&format!("DROP TABLE {name}"))
        .await
        .map_err(db("dropping a day partition"))?;
    tx.commit()
        .await
        .map_err(db("committing a partition drop"))?;
    Ok(Some(archived))
}

/// Drops `day`'s chunks when the day's rows are exactly the archived ones, as
/// [`drop_if_whole`] does for a partition. TimescaleDB's own retention policy is not
/// used: it would drop days that were never archived.
async fn drop_chunks_if_whole(
    client: &mut Client,
    groups: &[&ArchivedGroup],
) -> Result<Option<u64>> {
    let archived: u64 = groups.iter().map(|g| g.keys.len() as u64).sum();
    let (start, end) = groups[0].group.window();
    let tx = client
        .transaction()
        .await
        .map_err(db("starting a chunk drop"))?;
    tx.batch_execute(&format!("SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
        .await
        .map_err(db("bounding the wait for a lock"))?;
    match tx
        .batch_execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        .await
    {
        Ok(()) => {}
        Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => return Ok(None),
        Err(e) => return Err(db("locking events")(e)),
    }
    let exactly: bool = tx
        .query_one(
            "SELECT COUNT(*) = $4 AND COUNT(*) FILTER (WHERE id = ANY($3)) = $4
               FROM events WHERE created_at >= $1 AND created_at < $2",
            &[&start, &end, &ids(groups), &(archived as i64)],
        )
        .await
        .map_err(db("counting a day's events"))?
        .get(0);
    if !exactly {
        return Ok(None);
    }
    // A chunk reaching past the day (its interval changed by hand) is left whole, and
    // the day's rows go by key.
    let dropped = tx
        .query(
            "SELECT drop_chunks('events', older_than => $2::timestamptz, newer_than => $1::timestamptz)",
            &[&start, &end],
        )
        .await
        .map_err(db("dropping a day's chunks"))?;
    let left: i64 = tx
        .query_one(
            "SELECT COUNT(*) FROM events WHERE created_at >= $1 AND created_at < $2",
            &[&start, &end],
        )
        .await
        .map_err(db("counting a day's events"))?
        .get(0);
    if dropped.is_empty() || left != 0 {
        return Ok(None);
    }
    tx.commit().await.map_err(db("committing a chunk drop"))?;
    Ok(Some(archived))
}

/// The ids of the archived rows: a day goes whole only when it holds exactly these, so
/// a row that arrived after the archive never goes with it, however the counts fall.
fn ids(groups: &[&ArchivedGroup]) -> Vec<Uuid> {
    groups
        .iter()
        .flat_map(|g| g.keys.iter().map(|(_, id)| *id))
        .collect()
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
