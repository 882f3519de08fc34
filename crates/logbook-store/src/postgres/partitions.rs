//! Daily partitions of `events`, made ahead of time by maintenance and never by ingest:
//! an event whose day has no partition lands in `events_default`, and the next
//! maintenance moves it into a partition of its own.
//!
//! A day's partition is made apart from `events`, filled with that day's rows from the
//! default partition, and then attached, in one transaction: a day is either still in
//! the default partition or wholly in its own. Maintenance on several servers is
//! serialized by an advisory lock.

use std::collections::BTreeSet;

use chrono::{DateTime, Days, NaiveDate, Utc};
use deadpool_postgres::Client;
use logbook_model::event::Limits;
use tokio_postgres::error::SqlState;

use super::{column, db};
use crate::{Result, Upkeep};

const PARTITION_LOCK: i64 = 0x6c6f_6762_6f6f_6b02;

/// How many days past today get a partition before any event needs it.
pub const DAYS_AHEAD: u64 = 7;
/// How many days before today get one: the default back-fill window. A server with a
/// longer window sends older days to the default partition until maintenance.
const DAYS_BEHIND: u64 = Limits::BACKFILL_DAYS as u64;

/// Makes the partitions from [`DAYS_BEHIND`] days ago to [`DAYS_AHEAD`] days ahead, and
/// one for every day that has events in the default partition, moving those in.
pub async fn maintain(client: &mut Client, upkeep: &mut Upkeep) -> Result<()> {
    let today = Utc::now().date_naive();
    let existing = existing_days(client).await?;
    let stray = client
        .query(
            "SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date FROM events_default",
            &[],
        )
        .await
        .map_err(db("finding events without a day partition"))?
        .iter()
        .map(|row| column::<NaiveDate>(row, 0))
        .collect::<Result<BTreeSet<_>>>()?;
    let wanted: BTreeSet<NaiveDate> = (0..=DAYS_BEHIND + DAYS_AHEAD)
        .filter_map(|i| (today - Days::new(DAYS_BEHIND)).checked_add_days(Days::new(i)))
        .chain(stray.iter().copied())
        .collect();
    for day in wanted.difference(&existing) {
        if let Some(moved) = make(client, *day, stray.contains(day)).await? {
            upkeep.partitions_made.push(*day);
            upkeep.events_moved += moved;
        }
    }
    Ok(())
}

/// The days that have a partition of their own.
pub async fn existing_days(client: &Client) -> Result<BTreeSet<NaiveDate>> {
    let rows = client
        .query(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = 'events'::regclass",
            &[],
        )
        .await
        .map_err(db("listing the day partitions"))?;
    rows.iter()
        .map(|row| column::<String>(row, 0))
        .filter_map(|name| match name {
            Ok(name) => day_of(&name).map(Ok),
            Err(e) => Some(Err(e)),
        })
        .collect()
}

/// Makes `day`'s partition with that day's events from the default partition; the
/// number moved, or `None` when another server made it first.
///
/// When rows move, `events` itself is locked against every reader and writer until the
/// partition is attached: a query planned before the move would otherwise read the
/// default partition after the rows left it, without the partition they went to.
async fn make(client: &mut Client, day: NaiveDate, moving: bool) -> Result<Option<u64>> {
    let (Some(start), Some(end)) = (midnight(day), day.succ_opt().and_then(midnight)) else {
        return Ok(None);
    };
    let tx = client
        .transaction()
        .await
        .map_err(db("starting partition upkeep"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PARTITION_LOCK])
        .await
        .map_err(db("taking the partition lock"))?;
    let name = name(day);
    let taken: bool = tx
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])
        .await
        .map_err(db("looking for a day partition"))?
        .get(0);
    if taken {
        return Ok(None);
    }
    // Locks first, parent before partition as every query takes them, each wait
    // bounded: a day that cannot be had now is made on a later round. Attaching needs
    // the default partition to itself; moving rows needs `events` to itself.
    let locks = if moving {
        "LOCK TABLE events IN ACCESS EXCLUSIVE MODE"
    } else {
        "LOCK TABLE events IN SHARE UPDATE EXCLUSIVE MODE; \
         LOCK TABLE events_default IN ACCESS EXCLUSIVE MODE"
    };
    let locked = tx
        .batch_execute(&format!("SET LOCAL lock_timeout = '2s'; {locks}"))
        .await;
    match locked {
        Ok(()) => {}
        Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => return Ok(None),
        Err(e) => return Err(db("locking events to make a day partition")(e)),
    }
    // DDL cannot take bind parameters; the name and bounds come from a typed date,
    // never from text a client sent.
    tx.batch_execute(&format!(
        "CREATE TABLE {name} (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    ))
    .await
    .map_err(db("making a day partition"))?;
    let moved = tx
        .execute(
            &format!(
                "WITH moved AS (DELETE FROM events_default
                                 WHERE created_at >= $1 AND created_at < $2 RETURNING *)
                 INSERT INTO {name} SELECT * FROM moved"
            ),
            &[&start, &end],
        )
        .await
        .map_err(db("moving events out of the default partition"))?;
    tx.batch_execute(&format!(
        "ALTER TABLE events ATTACH PARTITION {name} \
         FOR VALUES FROM ('{start}') TO ('{end}')",
        start = start.format("%Y-%m-%d %H:%M:%S+00"),
        end = end.format("%Y-%m-%d %H:%M:%S+00"),
    ))
    .await
    .map_err(db("attaching a day partition"))?;
    tx.commit()
        .await
        .map_err(db("committing partition upkeep"))?;
    Ok(Some(moved))
}

/// The day a partition holds, from its name.
pub fn day_of(partition: &str) -> Option<NaiveDate> {
    let day = partition.strip_prefix("events_p")?;
    NaiveDate::parse_from_str(day, "%Y%m%d").ok()
}

/// The partition of `day`.
pub fn name(day: NaiveDate) -> String {
    format!("events_p{}", day.format("%Y%m%d"))
}

fn midnight(day: NaiveDate) -> Option<DateTime<Utc>> {
    day.and_hms_opt(0, 0, 0).map(|t| t.and_utc())
}
