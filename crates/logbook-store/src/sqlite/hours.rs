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

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use logbook_model::{Cursor, EventType};

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn hour(at: DateTime<Utc>) -> i64 {
        micros(at) / MICROS_PER_HOUR
    }

    /// A tenant whose events run from `oldest` to `newest`.
    fn store(tenant: TenantId, oldest: DateTime<Utc>, newest: DateTime<Utc>) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE events (tenant_id BLOB, created_at INTEGER)")
            .unwrap();
        for at in [oldest, newest] {
            conn.execute(
                "INSERT INTO events VALUES (?1, ?2)",
                rusqlite::params![tenant.0, micros(at)],
            )
            .unwrap();
        }
        conn
    }

    fn by_user(f: impl FnOnce(&mut EventQuery)) -> EventQuery {
        let mut query = EventQuery {
            filter: EventFilter {
                user_id: Some("u".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        f(&mut query);
        query
    }

    fn hours(first: DateTime<Utc>, last: DateTime<Utc>) -> Option<Buckets> {
        Some(Buckets {
            of_row: OF_ROW,
            first: hour(first),
            last: hour(last),
        })
    }

    #[test]
    fn a_lookup_reads_the_hours_of_its_window_and_cursor_within_the_tenants_span() {
        let t = TenantId::new();
        let (oldest, newest) = (at("2026-01-01T10:30:00Z"), at("2026-03-01T08:15:00Z"));
        let conn = store(t, oldest, newest);
        let of = |query: EventQuery| of_list(&conn, t, &query).unwrap();
        assert_eq!(of(by_user(|_| {})), hours(oldest, newest));
        // A window ending on an hour's edge does not read that hour.
        let (from, to) = (at("2026-02-01T05:59:59Z"), at("2026-02-02T07:00:00Z"));
        let window = |q: &mut EventQuery| {
            q.filter.from = Some(from);
            q.filter.to = Some(to);
        };
        assert_eq!(of(by_user(window)), hours(from, at("2026-02-02T06:00:00Z")));
        // A window wider than the events reads only the events' hours.
        let wide = |q: &mut EventQuery| {
            q.filter.from = Some(oldest - Duration::days(9));
            q.filter.to = Some(newest + Duration::days(9));
        };
        assert_eq!(of(by_user(wide)), hours(oldest, newest));
        let cursor = at("2026-02-10T12:00:00Z");
        let paged = |order| {
            by_user(move |q| {
                q.order = order;
                q.cursor = Some(Cursor {
                    created_at: cursor,
                    id: uuid::Uuid::nil(),
                });
            })
        };
        assert_eq!(of(paged(Order::Desc)), hours(oldest, cursor));
        assert_eq!(of(paged(Order::Asc)), hours(cursor, newest));
    }

    #[test]
    fn only_lookups_by_user_device_or_address_name_hours() {
        let t = TenantId::new();
        let conn = store(t, at("2026-01-01T00:00:00Z"), at("2026-01-02T00:00:00Z"));
        let of = |filter: EventFilter| {
            let query = EventQuery {
                filter,
                ..Default::default()
            };
            of_list(&conn, t, &query).unwrap().is_some()
        };
        assert!(!of(EventFilter {
            event_type: Some(EventType::parse("REQUEST").unwrap()),
            ..Default::default()
        }));
        assert!(!of(EventFilter {
            ip: Some("10.0.0.0/8".parse().unwrap()),
            ..Default::default()
        }));
        for filter in [
            EventFilter {
                fingerprint: Some("f".into()),
                ..Default::default()
            },
            EventFilter {
                ip: Some("10.0.0.1".parse().unwrap()),
                ..Default::default()
            },
        ] {
            assert!(of(filter));
        }
        let empty = TenantId::new();
        assert_eq!(of_list(&conn, empty, &by_user(|_| {})).unwrap(), None);
    }

    #[test]
    fn a_failed_auth_count_names_hours_for_a_user_or_device_without_an_address() {
        let t = TenantId::new();
        let since = at("2026-01-01T23:50:00Z");
        let conn = store(t, at("2026-01-01T00:00:00Z"), at("2026-01-02T00:10:00Z"));
        let count = |ip: bool, user: bool, fingerprint: bool| {
            let q = FailedAuthQuery {
                ip: ip.then(|| "10.0.0.1".parse().unwrap()),
                user_id: user.then(|| "u".into()),
                fingerprint: fingerprint.then(|| "f".into()),
                since,
            };
            of_failed_auth(&conn, t, &q).unwrap()
        };
        let named = hours(since, at("2026-01-02T00:10:00Z"));
        assert_eq!(count(false, true, false), named);
        assert_eq!(count(false, false, true), named);
        assert_eq!(count(true, false, false), None);
        assert_eq!(count(true, true, true), None);
        assert_eq!(count(false, false, false), None);
    }

    #[test]
    fn a_year_of_hours_is_named_and_more_than_ten_years_is_not() {
        let t = TenantId::new();
        let newest = at("2026-01-01T00:00:00Z");
        let year = store(t, newest - Duration::days(366), newest);
        assert!(of_list(&year, t, &by_user(|_| {})).unwrap().is_some());
        let decades = store(t, newest - Duration::days(3_661), newest);
        assert_eq!(of_list(&decades, t, &by_user(|_| {})).unwrap(), None);
    }
}
