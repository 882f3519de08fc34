use std::sync::Arc;

use chrono::Duration;
use logbook_model::{
    Cursor, EventFilter, EventQuery, EventType, Order, Severity, TenantId, filter::IpFilter,
};
use logbook_store::{EventStore, Store};
use serde_json::json;
use uuid::Uuid;

use crate::support::{append, at, event, ids, minutes_ago, now};

pub async fn round_trips_every_field(store: Arc<dyn Store>) {
    let tenant = TenantId::new();
    let mut e = event(tenant, "AUTH_LOGIN", at_micros());
    e.event_subtype = Some("password".into());
    e.user_id = Some("user-123".into());
    e.fingerprint = Some("fp".into());
    e.device_id = Some("device".into());
    e.ip_address = Some("2001:db8::7".parse().unwrap());
    e.user_agent = Some("Mozilla/5.0 é".into());
    e.http_method = Some("POST".into());
    e.request_path = Some("/api/auth/login".into());
    e.request_params = Some(json!({"redirect": "/home"}));
    e.request_body_summary = Some(json!({"email": "a@b.c", "password": "[REDACTED]"}));
    e.response_status_code = Some(401);
    e.response_time_ms = Some(87);
    e.geo_country = Some("US".into());
    e.geo_region = Some("CA".into());
    e.geo_city = Some("San Francisco".into());
    e.geo_timezone = Some("America/Los_Angeles".into());
    e.session_id = Some("sess".into());
    e.referrer = Some("https://example.com/".into());
    e.origin = Some("https://example.com".into());
    e.success = false;
    e.message = Some("bad password; 'quotes' and \"doubles\"".into());
    e.error_code = Some("AUTH_001".into());
    e.metadata = Some(json!({"nested": {"list": [1, "two", null, true]}}));
    e.service = Some("api".into());
    e.severity = Severity::Warning;
    e.request_id = Some("req-1".into());
    e.provider = Some("stripe".into());
    e.status = Some("failure".into());
    let bare = event(tenant, "REQUEST", at_micros() + Duration::seconds(1));
    append(&store, &[e.clone(), bare.clone()]).await;

    assert_eq!(store.get_event(tenant, e.id).await.unwrap(), Some(e));
    assert_eq!(store.get_event(tenant, bare.id).await.unwrap(), Some(bare));
}

fn at_micros() -> chrono::DateTime<chrono::Utc> {
    "2026-03-10T11:22:33.456789Z".parse().unwrap()
}

pub async fn get_is_scoped_to_the_tenant(store: Arc<dyn Store>) {
    let (a, b) = (TenantId::new(), TenantId::new());
    let e = event(a, "REQUEST", now());
    append(&store, std::slice::from_ref(&e)).await;
    assert!(store.get_event(b, e.id).await.unwrap().is_none());
    assert!(store.get_event(a, Uuid::now_v7()).await.unwrap().is_none());
    assert!(
        store.get_event(a, Uuid::new_v4()).await.unwrap().is_none(),
        "a v4 id has no time"
    );
}

pub async fn filters_select_the_right_events(store: Arc<dyn Store>) {
    let t = TenantId::new();
    let mut e0 = event(t, "REQUEST", minutes_ago(1));
    e0.user_id = Some("u1".into());
    e0.ip_address = Some("10.0.0.1".parse().unwrap());
    e0.fingerprint = Some("f1".into());
    e0.session_id = Some("s1".into());
    e0.request_id = Some("r1".into());
    e0.service = Some("api".into());
    e0.response_status_code = Some(200);
    e0.request_path = Some("/api/users/1".into());
    e0.message = Some("Fetched user".into());
    let mut e1 = event(t, "REQUEST", minutes_ago(2));
    e1.user_id = Some("u2".into());
    e1.ip_address = Some("10.0.0.2".parse().unwrap());
    e1.service = Some("api".into());
    e1.response_status_code = Some(404);
    e1.request_path = Some("/api/users/2".into());
    e1.success = false;
    e1.severity = Severity::Warning;
    e1.message = Some("Not Found: user".into());
    let mut e2 = event(t, "AUTH_LOGIN", minutes_ago(3));
    e2.event_subtype = Some("password".into());
    e2.user_id = Some("u1".into());
    e2.ip_address = Some("10.0.1.5".parse().unwrap());
    e2.fingerprint = Some("f1".into());
    let mut e3 = event(t, "AUTH_FAILURE", minutes_ago(4));
    e3.event_subtype = Some("password".into());
    e3.user_id = Some("u1".into());
    e3.ip_address = Some("192.168.1.1".parse().unwrap());
    e3.fingerprint = Some("f2".into());
    e3.success = false;
    e3.severity = Severity::Error;
    e3.message = Some("Bad password 50%".into());
    let mut e4 = event(t, "REQUEST", minutes_ago(5));
    e4.service = Some("web".into());
    e4.request_path = Some("/health".into());
    e4.ip_address = Some("2001:db8::1".parse().unwrap());
    e4.response_status_code = Some(200);
    let mut e5 = event(t, "RATE_LIMIT", minutes_ago(6));
    e5.ip_address = Some("192.168.1.1".parse().unwrap());
    e5.success = false;
    e5.session_id = Some("s2".into());
    e5.request_id = Some("r2".into());
    let mut other = event(TenantId::new(), "REQUEST", minutes_ago(1));
    other.user_id = Some("u1".into());
    other.ip_address = Some("10.0.0.1".parse().unwrap());
    append(
        &store,
        &[
            e0.clone(),
            e1.clone(),
            e2.clone(),
            e3.clone(),
            e4.clone(),
            e5.clone(),
            other,
        ],
    )
    .await;

    let all = [&e0, &e1, &e2, &e3, &e4, &e5];
    let expect = |picked: &[usize]| picked.iter().map(|i| all[*i].id).collect::<Vec<_>>();
    let cases: Vec<(&str, EventFilter, Vec<Uuid>)> = vec![
        ("none", EventFilter::default(), expect(&[0, 1, 2, 3, 4, 5])),
        (
            "event_type",
            EventFilter {
                event_type: Some(EventType::parse("REQUEST").unwrap()),
                ..Default::default()
            },
            expect(&[0, 1, 4]),
        ),
        (
            "event_subtype",
            EventFilter {
                event_subtype: Some("password".into()),
                ..Default::default()
            },
            expect(&[2, 3]),
        ),
        (
            "user_id",
            EventFilter {
                user_id: Some("u1".into()),
                ..Default::default()
            },
            expect(&[0, 2, 3]),
        ),
        (
            "ip",
            EventFilter {
                ip: Some(ip("10.0.0.1")),
                ..Default::default()
            },
            expect(&[0]),
        ),
        (
            "ip mapped",
            EventFilter {
                ip: Some(ip("::ffff:10.0.0.1")),
                ..Default::default()
            },
            expect(&[0]),
        ),
        (
            "cidr v4",
            EventFilter {
                ip: Some(ip("10.0.0.0/16")),
                ..Default::default()
            },
            expect(&[0, 1, 2]),
        ),
        (
            "cidr v6",
            EventFilter {
                ip: Some(ip("2001:db8::/32")),
                ..Default::default()
            },
            expect(&[4]),
        ),
        (
            "fingerprint",
            EventFilter {
                fingerprint: Some("f1".into()),
                ..Default::default()
            },
            expect(&[0, 2]),
        ),
        (
            "session_id",
            EventFilter {
                session_id: Some("s2".into()),
                ..Default::default()
            },
            expect(&[5]),
        ),
        (
            "request_id",
            EventFilter {
                request_id: Some("r1".into()),
                ..Default::default()
            },
            expect(&[0]),
        ),
        (
            "service",
            EventFilter {
                service: Some("api".into()),
                ..Default::default()
            },
            expect(&[0, 1]),
        ),
        (
            "success",
            EventFilter {
                success: Some(false),
                ..Default::default()
            },
            expect(&[1, 3, 5]),
        ),
        (
            "severity",
            EventFilter {
                severity: Some(Severity::Warning),
                ..Default::default()
            },
            expect(&[1]),
        ),
        (
            "status_code",
            EventFilter {
                status_code: Some(200),
                ..Default::default()
            },
            expect(&[0, 4]),
        ),
        (
            "path",
            EventFilter {
                path_prefix: Some("/api/users".into()),
                ..Default::default()
            },
            expect(&[0, 1]),
        ),
        (
            "path case",
            EventFilter {
                path_prefix: Some("/API".into()),
                ..Default::default()
            },
            expect(&[]),
        ),
        (
            "path wildcard",
            EventFilter {
                path_prefix: Some("/api/users/_".into()),
                ..Default::default()
            },
            expect(&[]),
        ),
        (
            "q case",
            EventFilter {
                message_contains: Some("not found".into()),
                ..Default::default()
            },
            expect(&[1]),
        ),
        (
            "q percent",
            EventFilter {
                message_contains: Some("%".into()),
                ..Default::default()
            },
            expect(&[3]),
        ),
        (
            "q underscore",
            EventFilter {
                message_contains: Some("_".into()),
                ..Default::default()
            },
            expect(&[]),
        ),
        (
            "from/to",
            EventFilter {
                from: Some(minutes_ago(4)),
                to: Some(minutes_ago(1)),
                ..Default::default()
            },
            expect(&[1, 2, 3]),
        ),
        (
            "combined",
            EventFilter {
                user_id: Some("u1".into()),
                success: Some(false),
                ..Default::default()
            },
            expect(&[3]),
        ),
    ];
    for (name, filter, expected) in cases {
        let page = store
            .list_events(
                t,
                &EventQuery {
                    filter,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(ids(&page.items), expected, "filter {name}");
        assert_eq!(page.next_cursor, None, "filter {name}");
    }
    let asc = store
        .list_events(
            t,
            &EventQuery {
                order: Order::Asc,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(&asc.items), expect(&[5, 4, 3, 2, 1, 0]));
}

fn ip(text: &str) -> IpFilter {
    text.parse().unwrap()
}

/// 25 events, five of them sharing one timestamp so the id breaks ties.
async fn paging_fixture(store: &Arc<dyn Store>) -> (TenantId, Vec<logbook_model::Event>) {
    let t = TenantId::new();
    let mut events: Vec<_> = (0..20)
        .map(|i| event(t, "REQUEST", minutes_ago(i)))
        .collect();
    events.extend((0..5).map(|_| event(t, "REQUEST", minutes_ago(7))));
    append(store, &events).await;
    events.sort_by_key(|e| std::cmp::Reverse((e.created_at, e.id)));
    (t, events)
}

pub async fn cursor_pages_cover_everything_once(store: Arc<dyn Store>) {
    let (t, newest_first) = paging_fixture(&store).await;
    for order in [Order::Desc, Order::Asc] {
        let mut expected = ids(&newest_first);
        if order == Order::Asc {
            expected.reverse();
        }
        let mut seen = Vec::new();
        let mut cursor: Option<Cursor> = None;
        let mut pages = 0;
        loop {
            let query = EventQuery {
                order,
                limit: 10,
                cursor,
                ..Default::default()
            };
            let page = store.list_events(t, &query).await.unwrap();
            pages += 1;
            seen.extend(ids(&page.items));
            match page.next_cursor {
                Some(next) => cursor = Some(next.parse().unwrap()),
                None => break,
            }
        }
        assert_eq!(pages, 3, "{order:?}");
        assert_eq!(seen, expected, "{order:?}");
    }
}

pub async fn skip_offsets_the_page(store: Arc<dyn Store>) {
    let (t, newest_first) = paging_fixture(&store).await;
    let page = store
        .list_events(
            t,
            &EventQuery {
                limit: 5,
                skip: 3,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(&page.items), ids(&newest_first[3..8]));
    assert!(page.next_cursor.is_some());
    let last = store
        .list_events(
            t,
            &EventQuery {
                limit: 5,
                skip: 22,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(&last.items), ids(&newest_first[22..]));
    assert_eq!(last.next_cursor, None);
}

/// The ingest benchmark's reference path (one INSERT per event, seed 000's way) stores
/// the very event it is given, so the benchmark compares like with like.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_one_insert_per_event_stores_the_event() {
    let url = logbook_store::testing::fresh_postgres_url().await;
    let store = logbook_store::postgres::PgStore::connect(&url, Default::default())
        .await
        .unwrap();
    let client = store.client().await.unwrap();
    let tenant = TenantId::new();
    // Today: the store makes the partitions around now when it opens.
    let today = chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 6);
    let mut e = event(tenant, "AUTH_FAILURE", today);
    e.user_id = Some("user-9".into());
    e.metadata = Some(json!({"attempt": 3}));
    let inserted = logbook_store::postgres::insert_single(&client, &e)
        .await
        .unwrap();
    assert_eq!(inserted, 1);
    assert_eq!(store.get_event(tenant, e.id).await.unwrap(), Some(e));
}

/// Lookups by user, device and address page across hour and day edges: events a
/// microsecond either side of midnight, ties at midnight, in both orders, with windows
/// cut at midnight and with offsets. (SQLite reads these lookups hour by hour; an edge
/// counted into the wrong hour would lose or repeat an event here.)
pub async fn lookups_page_across_day_edges(store: Arc<dyn Store>) {
    let t = TenantId::new();
    let midnight = at("2026-03-06T00:00:00Z");
    let day = Duration::days(1);
    let micro = Duration::microseconds(1);
    let mut events = Vec::new();
    for k in 0..4 {
        let edge = midnight + day * k;
        for at in [edge - micro, edge, edge, edge + Duration::hours(6)] {
            let mut e = event(t, "AUTH_LOGIN", at);
            e.user_id = Some("u".into());
            e.fingerprint = Some("f".into());
            e.ip_address = Some("192.0.2.7".parse().unwrap());
            events.push(e);
            let mut other = event(t, "AUTH_LOGIN", at);
            other.user_id = Some("someone else".into());
            other.fingerprint = Some("g".into());
            other.ip_address = Some("192.0.2.8".parse().unwrap());
            events.push(other);
        }
    }
    append(&store, &events).await;
    events.retain(|e| e.user_id.as_deref() == Some("u"));
    events.sort_by_key(|e| std::cmp::Reverse((e.created_at, e.id)));
    let newest_first = events;
    let filters = [
        EventFilter {
            user_id: Some("u".into()),
            ..Default::default()
        },
        EventFilter {
            fingerprint: Some("f".into()),
            ..Default::default()
        },
        EventFilter {
            ip: Some(ip("192.0.2.7")),
            ..Default::default()
        },
    ];
    let second_day = midnight + day;
    let within =
        |e: &&logbook_model::Event| e.created_at >= second_day && e.created_at < second_day + day;
    for filter in filters {
        for order in [Order::Desc, Order::Asc] {
            let ordered = |events: Vec<&logbook_model::Event>| {
                let mut ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
                if order == Order::Asc {
                    ids.reverse();
                }
                ids
            };
            let all = ordered(newest_first.iter().collect());
            let page = |cursor, skip, window: bool| {
                let mut filter = filter.clone();
                if window {
                    filter.from = Some(second_day);
                    filter.to = Some(second_day + day);
                }
                EventQuery {
                    filter,
                    order,
                    limit: 3,
                    cursor,
                    skip,
                }
            };
            let mut seen = Vec::new();
            let mut cursor: Option<Cursor> = None;
            loop {
                let found = store.list_events(t, &page(cursor, 0, false)).await.unwrap();
                seen.extend(ids(&found.items));
                match found.next_cursor {
                    Some(next) => cursor = Some(next.parse().unwrap()),
                    None => break,
                }
            }
            assert_eq!(seen, all, "{filter:?} {order:?}");
            let skipped = store.list_events(t, &page(None, 5, false)).await.unwrap();
            assert_eq!(ids(&skipped.items), all[5..8], "{filter:?} {order:?}");
            let day_two = store.list_events(t, &page(None, 0, true)).await.unwrap();
            let expected = ordered(newest_first.iter().filter(within).collect());
            assert_eq!(expected.len(), 4);
            assert_eq!(ids(&day_two.items), expected[..3], "{filter:?} {order:?}");
        }
    }
}

/// A user's events decades apart are all found, oldest and newest, in order.
pub async fn lookups_find_events_decades_apart(store: Arc<dyn Store>) {
    let t = TenantId::new();
    let events: Vec<_> = [
        now() - Duration::days(365 * 20),
        now() - Duration::days(1),
        now(),
    ]
    .into_iter()
    .map(|at| {
        let mut e = event(t, "AUTH_LOGIN", at);
        e.user_id = Some("u".into());
        e
    })
    .collect();
    append(&store, &events).await;
    let query = EventQuery {
        filter: EventFilter {
            user_id: Some("u".into()),
            ..Default::default()
        },
        order: Order::Asc,
        ..Default::default()
    };
    let found = store.list_events(t, &query).await.unwrap();
    assert_eq!(ids(&found.items), ids(&events));
}

/// A tenant's access records page by cursor in both orders, each record once, the last
/// page saying there is no next one; another tenant's records never appear.
pub async fn access_pages_cover_every_record_once(store: Arc<dyn Store>) {
    use logbook_model::access::{AccessQuery, AccessRecord};

    let (t, other) = (TenantId::new(), TenantId::new());
    let record = |tenant, at| AccessRecord {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        at,
        key_id: Uuid::nil(),
        method: "GET".into(),
        route: "/api/v1/logs".into(),
        path: "/api/v1/logs".into(),
        filters: None,
        rows: None,
        status: 200,
        outcome: "completed".into(),
        client_ip: None,
    };
    // Seven records, two of them at the same instant so the id breaks the tie.
    let mut records: Vec<_> = (0..6).map(|i| record(t, minutes_ago(i))).collect();
    records.push(record(t, minutes_ago(3)));
    store
        .append(
            vec![
                logbook_store::WriteItem::access(t, records.clone()),
                logbook_store::WriteItem::access(other, vec![record(other, minutes_ago(2))]),
            ]
            .into(),
            now(),
        )
        .await
        .unwrap();
    records.sort_by_key(|r| std::cmp::Reverse((r.at, r.id)));
    for order in [Order::Desc, Order::Asc] {
        let mut expected: Vec<Uuid> = records.iter().map(|r| r.id).collect();
        if order == Order::Asc {
            expected.reverse();
        }
        let (mut seen, mut pages, mut cursor) = (Vec::new(), 0, None);
        loop {
            let query = AccessQuery {
                order,
                limit: 3,
                cursor,
                ..Default::default()
            };
            let page = store.list_access(t, &query).await.unwrap();
            pages += 1;
            assert!(page.items.len() <= 3, "{order:?}");
            seen.extend(page.items.iter().map(|r| r.id));
            match page.next_cursor {
                Some(next) => cursor = Some(next.parse().unwrap()),
                None => break,
            }
        }
        assert_eq!(pages, 3, "{order:?}");
        assert_eq!(seen, expected, "{order:?}");
    }
}

/// A lookup pages truly while writers append newer events: the walk in order, no event
/// twice, every event stored before the reading began found, and at the end every event.
pub async fn lookups_page_truly_while_writers_run(store: Arc<dyn Store>) {
    const WRITERS: i64 = 2;
    const BATCHES: i64 = 15;
    const PER_BATCH: usize = 20;
    let t = TenantId::new();
    let by_user = move |at: chrono::DateTime<chrono::Utc>| {
        let mut e = event(t, "REQUEST", at);
        e.user_id = Some("u".into());
        e
    };
    let before: Vec<_> = (0..60).map(|i| by_user(minutes_ago(i * 6 + 1))).collect();
    append(&store, &before).await;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for b in 0..BATCHES {
                    // Later than every stored event, across the next hours.
                    let events: Vec<_> = (0..PER_BATCH as i64)
                        .map(|i| {
                            by_user(now() + Duration::seconds(((w * BATCHES + b) * 20 + i) * 17))
                        })
                        .collect();
                    append(&store, &events).await;
                }
            })
        })
        .collect();
    let query = |cursor| EventQuery {
        filter: EventFilter {
            user_id: Some("u".into()),
            ..Default::default()
        },
        limit: 7,
        cursor,
        ..Default::default()
    };
    let mut rounds = 0;
    while rounds < 3 || !writers.iter().all(|w| w.is_finished()) {
        rounds += 1;
        let (mut seen, mut cursor) = (Vec::<logbook_model::Event>::new(), None);
        loop {
            let page = store.list_events(t, &query(cursor)).await.unwrap();
            seen.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next.parse().unwrap()),
                None => break,
            }
        }
        assert!(
            seen.windows(2)
                .all(|w| (w[0].created_at, w[0].id) > (w[1].created_at, w[1].id)),
            "a page out of order, or an event twice"
        );
        let found: std::collections::HashSet<Uuid> = seen.iter().map(|e| e.id).collect();
        assert!(
            before.iter().all(|e| found.contains(&e.id)),
            "an old event lost"
        );
        let new = seen.len() - before.len();
        // Each page is read from one snapshot, but pages from several: a batch committed
        // between two pages lands above the cursor, where this walk never looks again.
        assert!(new <= WRITERS as usize * BATCHES as usize * PER_BATCH);
        tokio::task::yield_now().await;
    }
    for w in writers {
        w.await.unwrap();
    }
    let all = store
        .list_events(
            t,
            &EventQuery {
                limit: 1_000,
                ..query(None)
            },
        )
        .await
        .unwrap();
    assert_eq!(
        all.items.len(),
        before.len() + WRITERS as usize * BATCHES as usize * PER_BATCH
    );
}
