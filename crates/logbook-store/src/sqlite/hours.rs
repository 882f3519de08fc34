//! The hours a lookup by user, device fingerprint or address reads. SQLite's indexes on
//! those columns are led by the event's hour (migration 0009), so new events touch only
//! the current hour's part of each index however much the store holds (PostgreSQL gets
//! the same from its day partitions); a lookup names its hours, newest or oldest first as
//! it pages, and SQLite seeks each one in turn until the page is full.

use chrono::{DateTime, Utc};
use logbook_model::{EventFilter, EventQuery, FailedAuthQuery, Order, TenantId, filter::IpFilter};
use rusqlite::Connection;

use super::{db, micros};
use crate::{Result, dialect::Buckets};

/// The hour of a row, exactly as the indexes spell it (SQLite's integer division, which
/// Rust's matches: both truncate toward zero).
const OF_ROW: &str = "created_at / 3600000000";
const MICROS_PER_HOUR: i64 = 3_600_000_000;
/// Ten years of hours. A tenant whose events span more is looked up without naming
/// them: still correct, as an index without the hour would answer.
const MOST_LISTED: i64 = 24 * 3_660;

/// The hours a `/logs` page reads, when its filter uses an hour-led index.
pub fn of_list(conn: &Connection, tenant: TenantId, query: &EventQuery) -> Result<Option<Buckets>> {
    if !uses_hour_led_index(&query.filter) {
        return Ok(None);
    }
    let cursor = query.cursor.map(|c| micros(c.created_at));
    let (after, before) = match query.order {
        Order::Asc => (cursor, None),
        Order::Desc => (None, cursor),
    };
    let first = latest([query.filter.from.map(micros), after]);
    let last = earliest([query.filter.to.map(just_before), before]);
    stored(conn, tenant, first, last)
}

/// The hours a failed-auth count reads, when it names a user or device but no address:
/// an address is counted from the failed logins' own index, which is not led by the hour
/// (it holds a twentieth of the rows, so its inserts stay few).
pub fn of_failed_auth(
    conn: &Connection,
    tenant: TenantId,
    q: &FailedAuthQuery,
) -> Result<Option<Buckets>> {
    if q.ip.is_some() || (q.user_id.is_none() && q.fingerprint.is_none()) {
        return Ok(None);
    }
    stored(conn, tenant, Some(micros(q.since)), None)
}

fn uses_hour_led_index(f: &EventFilter) -> bool {
    f.user_id.is_some() || f.fingerprint.is_some() || matches!(f.ip, Some(IpFilter::Addr(_)))
}

fn just_before(at: DateTime<Utc>) -> i64 {
    micros(at).saturating_sub(1)
}

fn latest(bounds: [Option<i64>; 2]) -> Option<i64> {
    bounds.into_iter().flatten().max()
}

fn earliest(bounds: [Option<i64>; 2]) -> Option<i64> {
    bounds.into_iter().flatten().min()
}

/// The hours from the tenant's oldest event to its newest, narrowed to `[first, last]`
/// (microseconds, inclusive); none when the tenant has no events or too many hours.
fn stored(
    conn: &Connection,
    tenant: TenantId,
    first: Option<i64>,
    last: Option<i64>,
) -> Result<Option<Buckets>> {
    let (oldest, newest): (Option<i64>, Option<i64>) = conn
        .prepare_cached(
            "SELECT (SELECT created_at FROM events WHERE tenant_id = ?1 ORDER BY created_at LIMIT 1), \
                    (SELECT created_at FROM events WHERE tenant_id = ?1 ORDER BY created_at DESC LIMIT 1)",
        )
        .and_then(|mut stmt| stmt.query_row([tenant.0], |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(db("reading the hours a tenant's events span"))?;
    let (Some(oldest), Some(newest)) = (oldest, newest) else {
        return Ok(None);
    };
    let first = first.map_or(oldest, |f| f.max(oldest)) / MICROS_PER_HOUR;
    let last = last.map_or(newest, |l| l.min(newest)) / MICROS_PER_HOUR;
    Ok((last - first <= MOST_LISTED).then_some(Buckets {
        of_row: OF_ROW,
        first,
        last,
    }))
}
