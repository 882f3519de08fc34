//! Filters find their indexes: each `/logs` filter and the failed-auth count is
//! explained on a seeded store after upkeep, and an indexed filter must name its index,
//! so a full scan cannot come back unnoticed.

use std::net::IpAddr;

use chrono::{Duration, Utc};
use logbook_model::{
    EventFilter, EventQuery, EventType, FailedAuthQuery, TenantId, filter::IpFilter,
};
use logbook_store::{
    EventStore, LifecycleStore, WriteItem, postgres::PgStore, sqlite::SqliteStore, testing,
};

use crate::support::event;

const EVENTS_PER_TENANT: usize = 20_000;
/// Fewer rows than a whole seeded day holds (about 3,500 per tenant).
const SMALL_PARTITION: i64 = 1_000;

/// Two tenants of a realistic mix over six days: many users, addresses and devices.
async fn seed(store: &(impl EventStore + LifecycleStore)) -> TenantId {
    let now = Utc::now();
    let tenants = [TenantId::new(), TenantId::new()];
    for tenant in tenants {
        let events = (0..EVENTS_PER_TENANT)
            .map(|i| {
                let event_type = match i % 20 {
                    0 | 1 => "AUTH_LOGIN",
                    2 => "AUTH_FAILURE",
                    3 => "RATE_LIMIT",
                    _ => "REQUEST",
                };
                let mut e = event(tenant, event_type, now - Duration::seconds(i as i64 * 25));
                e.user_id = Some(format!("user-{}", i % 1000));
                e.ip_address = Some(IpAddr::from([10, 0, (i % 7) as u8, (i % 250) as u8]));
                e.fingerprint = Some(format!("fp-{}", i % 800));
                e.session_id = Some(format!("session-{}", i % 2000));
                e.request_id = Some(format!("request-{i}"));
                e.success = i % 20 != 2 && i % 41 != 0;
                e
            })
            .collect::<Vec<_>>();
        for chunk in events.chunks(5_000) {
            let item = WriteItem::events(tenant, chunk.to_vec());
            store.append(vec![item].into(), now).await.unwrap();
        }
    }
    store.maintain().await.unwrap();
    tenants[0]
}

fn query(filter: EventFilter) -> EventQuery {
    EventQuery {
        filter,
        ..EventQuery::default()
    }
}

/// Each indexed filter with the index it must use, by its SQLite name (with the hour it
/// seeks first, for the indexes led by the hour) and by the columns that name
/// PostgreSQL's index on each partition (`None`: any plan but a scan of the
/// table). Filters without an index of their own (session, request, service, provider,
/// status, path, message) read the tenant's events in the asked window.
type Expected = Option<(&'static str, &'static str)>;

fn filters() -> Vec<(&'static str, EventFilter, Expected)> {
    let f = EventFilter::default;
    vec![
        (
            "user_id",
            EventFilter {
                user_id: Some("user-7".into()),
                ..f()
            },
            Some((
                "events_user_id (tenant_id=? AND <expr>=? AND user_id=?)",
                "_tenant_id_user_id_created_at_idx",
            )),
        ),
        (
            "ip",
            EventFilter {
                ip: Some(IpFilter::Addr(IpAddr::from([10, 0, 3, 17]))),
                ..f()
            },
            Some((
                "events_ip_address (tenant_id=? AND <expr>=? AND ip_address=?)",
                "_tenant_id_ip_address_created_at_idx",
            )),
        ),
        (
            "fingerprint",
            EventFilter {
                fingerprint: Some("fp-9".into()),
                ..f()
            },
            Some((
                "events_fingerprint (tenant_id=? AND <expr>=? AND fingerprint=?)",
                "_tenant_id_fingerprint_created_at_idx",
            )),
        ),
        (
            "event_type",
            EventFilter {
                event_type: Some(EventType::parse("AUTH_FAILURE").unwrap()),
                ..f()
            },
            Some(("events_event_type", "_tenant_id_event_type_created_at_idx")),
        ),
        (
            "success",
            EventFilter {
                success: Some(false),
                ..f()
            },
            Some(("events_failures", "_tenant_id_created_at_idx ")),
        ),
        // No filter: the tenant's newest events, read in key order.
        ("none", f(), None),
    ]
}

fn failed_auth() -> FailedAuthQuery {
    FailedAuthQuery {
        ip: Some(IpAddr::from([10, 0, 3, 17])),
        user_id: None,
        fingerprint: None,
        since: Utc::now() - Duration::minutes(15),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_filters_use_their_indexes() {
    let store = SqliteStore::open(&testing::temp_sqlite_path(), Default::default())
        .await
        .unwrap();
    let tenant = seed(&store).await;
    for (name, filter, expected) in filters() {
        let plan = store.plan_of_list(tenant, &query(filter)).await.unwrap();
        let plan = plan.join("\n");
        if let Some((index, _)) = expected {
            assert!(plan.contains(index), "{name} should use {index}:\n{plan}");
        }
        assert!(
            !plan.contains("SCAN events"),
            "{name} scans the table:\n{plan}"
        );
    }
    let plan = store
        .plan_of_failed_auth(tenant, &failed_auth())
        .await
        .unwrap();
    assert!(
        plan.join("").contains("USING INDEX events_auth_failures"),
        "{plan:?}"
    );
}

/// On PostgreSQL a sequential scan of a partition of a few rows (an empty one, or the
/// oldest seeded day's tail) is the cheapest plan and harmless; one of a partition
/// holding a day's thousands of rows is what must not happen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_filters_use_their_indexes() {
    let store = PgStore::connect(&testing::fresh_postgres_url().await, Default::default())
        .await
        .unwrap();
    let tenant = seed(&store).await;
    let client = store.client().await.unwrap();
    let holding_rows = |plan: String| {
        let client = &client;
        async move {
            let mut scanned = Vec::new();
            for line in plan.lines() {
                let Some(rest) = line.split("Seq Scan on ").nth(1) else {
                    continue;
                };
                let table = rest.split_whitespace().next().unwrap().to_owned();
                let rows: i64 = client
                    .query_one(&format!("SELECT count(*) FROM {table}"), &[])
                    .await
                    .unwrap()
                    .get(0);
                if rows > SMALL_PARTITION {
                    scanned.push(table);
                }
            }
            scanned
        }
    };
    for (name, filter, expected) in filters() {
        let plan = store.plan_of_list(tenant, &query(filter)).await.unwrap();
        let plan = plan.join("\n");
        if let Some((_, index)) = expected {
            assert!(plan.contains(index), "{name} should use {index}:\n{plan}");
        }
        let scanned = holding_rows(plan.clone()).await;
        assert!(scanned.is_empty(), "{name} scans {scanned:?}:\n{plan}");
    }
    let plan = store
        .plan_of_failed_auth(tenant, &failed_auth())
        .await
        .unwrap();
    let plan = plan.join("\n");
    // Just after midnight the window's day holds a few rows, and a scan of them is the
    // cheaper plan; once the day has filled, the index must be used.
    let today = format!("events_p{}", Utc::now().format("%Y%m%d"));
    let rows_today: i64 = client
        .query_one(&format!("SELECT count(*) FROM {today}"), &[])
        .await
        .unwrap()
        .get(0);
    if rows_today > SMALL_PARTITION {
        assert!(plan.contains("_ip_address_created_at_idx1"), "{plan}");
    }
    assert!(holding_rows(plan.clone()).await.is_empty(), "{plan}");
}
