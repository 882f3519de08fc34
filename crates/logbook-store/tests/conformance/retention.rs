//! Retention: events past their time are found by tenant, day and type, and removed
//! once archived, unless their group changed since.

use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use logbook_model::{EventFilter, EventQuery, EventType, TenantId, retention::EventRetention};
use logbook_store::{ExpiredEvents, Store};

use crate::support::{append, at, event, now};

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

async fn count(store: &Arc<dyn Store>, tenant: TenantId) -> usize {
    let query = EventQuery {
        limit: 1000,
        ..EventQuery::default()
    };
    store.list_events(tenant, &query).await.unwrap().items.len()
}

pub async fn expired_events_are_found_and_removed(store: Arc<dyn Store>) {
    // now() is 2026-03-10T12:30Z: with 30 days, 2026-02-08 is the first day kept.
    let a = store.create_tenant("kept-30-days").await.unwrap().id;
    let b = store.create_tenant("another").await.unwrap().id;
    let events = vec![
        event(a, "REQUEST", at("2026-02-07T23:59:59.999999Z")),
        event(a, "REQUEST", at("2026-02-07T00:00:00Z")),
        event(a, "AUTH_LOGIN", at("2026-02-07T10:00:00Z")),
        event(a, "REQUEST", at("2026-02-08T00:00:00Z")),
        event(a, "REQUEST", at("2026-01-20T08:00:00Z")),
        event(b, "REQUEST", at("2026-02-01T08:00:00Z")),
        event(b, "AUTH_LOGIN", at("2025-11-01T08:00:00Z")),
    ];
    append(&store, &events).await;
    let retention = EventRetention {
        days: 30,
        by_type: vec!["AUTH_LOGIN=120".parse().unwrap()],
    };
    let groups = store.expired_events(&retention, now()).await.unwrap();
    let request = EventType::parse("REQUEST").unwrap();
    let group = |tenant, d: &str, rows| ExpiredEvents {
        tenant,
        day: day(d),
        event_type: request.clone(),
        rows,
    };
    let mut expected = vec![
        group(a, "2026-01-20", 1),
        group(b, "2026-02-01", 1),
        group(a, "2026-02-07", 2),
    ];
    // AUTH_LOGIN keeps 120 days: from 2025-11-10 on; b's login of 2025-11-01 is past.
    expected.insert(
        0,
        ExpiredEvents {
            tenant: b,
            day: day("2025-11-01"),
            event_type: EventType::parse("AUTH_LOGIN").unwrap(),
            rows: 1,
        },
    );
    assert_eq!(groups, expected);

    // A group that grew since it was counted (archived) stays for the next round.
    let mut grown = groups.clone();
    grown[2].rows = 2;
    let removed = store.remove_events(&grown).await.unwrap();
    assert_eq!(removed, 4);
    assert_eq!(count(&store, a).await, 2, "a's kept request and login");
    assert_eq!(count(&store, b).await, 1, "b's grown group is left");
    let kept = store
        .list_events(
            a,
            &EventQuery {
                filter: EventFilter {
                    event_type: Some(request.clone()),
                    ..EventFilter::default()
                },
                ..EventQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(kept.items.len(), 1);
    assert_eq!(kept.items[0].created_at, at("2026-02-08T00:00:00Z"));
    let left = store.expired_events(&retention, now()).await.unwrap();
    assert_eq!(left, vec![group(b, "2026-02-01", 1)]);
    assert_eq!(
        store
            .expired_events(&retention, now() - Duration::days(400))
            .await
            .unwrap(),
        vec![],
        "nothing is past its time a year earlier"
    );
}
