//! Retention: events are counted by tenant, day and type for the retention job, groups
//! are removed once archived unless they changed since, and tenants' own rules are kept.

use std::sync::Arc;

use logbook_model::{
    EventFilter, EventQuery, EventType, TenantId,
    retention::{RetentionRules, TypeDays},
};
use logbook_store::{ArchivedGroup, EventGroup, Store};

use crate::support::{append, at, event};

fn day(text: &str) -> chrono::NaiveDate {
    text.parse().unwrap()
}

async fn count(store: &Arc<dyn Store>, tenant: TenantId) -> usize {
    let query = EventQuery {
        limit: 1000,
        ..EventQuery::default()
    };
    store.list_events(tenant, &query).await.unwrap().items.len()
}

pub async fn old_events_are_grouped_and_removed(store: Arc<dyn Store>) {
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
    let groups = store
        .event_groups_before(day("2026-02-08"), None)
        .await
        .unwrap();
    let group = |tenant, d: &str, event_type: &str, rows| EventGroup {
        tenant,
        day: day(d),
        event_type: EventType::parse(event_type).unwrap(),
        rows,
    };
    let mut same_day = vec![
        group(a, "2026-02-07", "AUTH_LOGIN", 1),
        group(a, "2026-02-07", "REQUEST", 2),
    ];
    same_day.sort_by_key(|g| g.event_type.as_str().to_owned());
    let mut expected = vec![
        group(b, "2025-11-01", "AUTH_LOGIN", 1),
        group(a, "2026-01-20", "REQUEST", 1),
        group(b, "2026-02-01", "REQUEST", 1),
    ];
    expected.extend(same_day);
    assert_eq!(
        groups, expected,
        "oldest day first; the 8th is not before itself"
    );
    let only_b = store
        .event_groups_before(day("2026-02-08"), Some(b))
        .await
        .unwrap();
    assert_eq!(only_b, vec![expected[0].clone(), expected[2].clone()]);

    // Archived: the requests before the 8th. A request of b's that arrives after its
    // group was archived is not in the archive, so it stays.
    let archived = |group: EventGroup, of: &[&logbook_model::Event]| ArchivedGroup {
        group,
        keys: of.iter().map(|e| (e.created_at, e.id)).collect(),
    };
    let to_remove = vec![
        archived(expected[1].clone(), &[&events[4]]),
        archived(expected[2].clone(), &[&events[5]]),
        archived(expected[4].clone(), &[&events[0], &events[1]]),
    ];
    let late = event(b, "REQUEST", at("2026-02-01T09:00:00Z"));
    append(&store, std::slice::from_ref(&late)).await;
    assert_eq!(store.remove_events(&to_remove).await.unwrap(), 4);
    assert_eq!(
        count(&store, a).await,
        2,
        "a's login and its request of the 8th"
    );
    assert_eq!(count(&store, b).await, 2, "b's login and the late request");
    assert_eq!(
        store.remove_events(&to_remove).await.unwrap(),
        0,
        "removing again finds nothing"
    );
    let kept = store
        .list_events(
            a,
            &EventQuery {
                filter: EventFilter {
                    event_type: Some(EventType::parse("REQUEST").unwrap()),
                    ..EventFilter::default()
                },
                ..EventQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(kept.items.len(), 1);
    assert_eq!(kept.items[0].created_at, at("2026-02-08T00:00:00Z"));
}

/// A group larger than one removal transaction goes whole, batch after batch.
pub async fn a_large_group_is_removed_whole(store: Arc<dyn Store>) {
    let tenant = store.create_tenant("busy").await.unwrap().id;
    let start = at("2026-01-10T00:00:00Z");
    let rows = 2 * logbook_store::REMOVE_BATCH as usize + 500;
    let events: Vec<_> = (0..rows)
        .map(|i| {
            event(
                tenant,
                "REQUEST",
                start + chrono::Duration::seconds(i as i64),
            )
        })
        .collect();
    for chunk in events.chunks(1000) {
        append(&store, chunk).await;
    }
    let groups = store
        .event_groups_before(day("2026-01-11"), None)
        .await
        .unwrap();
    let group = EventGroup {
        tenant,
        day: day("2026-01-10"),
        event_type: EventType::parse("REQUEST").unwrap(),
        rows: rows as u64,
    };
    assert_eq!(groups, vec![group.clone()]);
    let archived = ArchivedGroup {
        group,
        keys: events.iter().map(|e| (e.created_at, e.id)).collect(),
    };
    assert_eq!(store.remove_events(&[archived]).await.unwrap(), rows as u64);
    assert_eq!(count(&store, tenant).await, 0);
}

/// A day is dropped whole only when it holds exactly the archived rows: after its
/// archived rows went, a late row of the same count is not mistaken for them. The day is
/// recent, so on PostgreSQL it has a partition (or chunk) of its own.
pub async fn a_day_goes_whole_only_with_exactly_its_archived_rows(store: Arc<dyn Store>) {
    let tenant = store.create_tenant("late-rows").await.unwrap().id;
    let day = chrono::Utc::now().date_naive() - chrono::Days::new(2);
    let noon = day.and_hms_opt(12, 0, 0).unwrap().and_utc();
    let archived_event = event(tenant, "REQUEST", noon);
    let late = event(tenant, "REQUEST", noon + chrono::Duration::minutes(1));
    append(&store, &[archived_event.clone(), late.clone()]).await;
    let archived = ArchivedGroup {
        group: EventGroup {
            tenant,
            day,
            event_type: EventType::parse("REQUEST").unwrap(),
            rows: 1,
        },
        keys: vec![(archived_event.created_at, archived_event.id)],
    };
    assert_eq!(
        store
            .remove_events(std::slice::from_ref(&archived))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.remove_events(&[archived]).await.unwrap(),
        0,
        "the day now holds one row, but not the archived one"
    );
    let kept = store
        .list_events(tenant, &EventQuery::default())
        .await
        .unwrap();
    assert_eq!(crate::support::ids(&kept.items), vec![late.id]);
}

pub async fn tenants_keep_their_own_retention_rules(store: Arc<dyn Store>) {
    let (a, b) = (TenantId::new(), TenantId::new());
    assert_eq!(store.retention_rules().await.unwrap(), vec![]);
    let rules = RetentionRules {
        days: Some(400),
        by_type: vec![
            "AUTH_FAILURE=3650".parse::<TypeDays>().unwrap(),
            "REQUEST=7".parse().unwrap(),
        ],
        audit_days: Some(3650),
        access_days: Some(400),
    };
    store.set_retention_rules(a, &rules).await.unwrap();
    let only_types = RetentionRules {
        by_type: vec!["LOG=1".parse().unwrap()],
        access_days: Some(30),
        ..Default::default()
    };
    store.set_retention_rules(b, &only_types).await.unwrap();
    let mut stored = store.retention_rules().await.unwrap();
    stored.sort_by_key(|(t, _)| *t == b);
    assert_eq!(stored, vec![(a, rules), (b, only_types)]);
    store
        .set_retention_rules(a, &RetentionRules::default())
        .await
        .unwrap();
    let stored = store.retention_rules().await.unwrap();
    assert_eq!(stored.len(), 1, "empty rules bring the defaults back");
    assert_eq!(stored[0].0, b);
}

pub async fn storage_counts_rows_by_stream_and_day(store: Arc<dyn Store>) {
    let tenant = store.create_tenant("measured").await.unwrap().id;
    let events = vec![
        event(tenant, "REQUEST", at("2026-03-08T01:00:00Z")),
        event(tenant, "REQUEST", at("2026-03-08T23:00:00Z")),
        event(tenant, "LOG", at("2026-03-08T12:00:00Z")),
        event(tenant, "REQUEST", at("2026-03-09T00:00:00Z")),
        event(tenant, "REQUEST", at("2026-03-09T10:00:00Z")),
    ];
    append(&store, &events).await;
    store
        .append_audit(tenant, crate::audit::audit_events(tenant, 2))
        .await
        .unwrap();
    let report = store.storage().await.unwrap();
    let rows: Vec<(&str, i64)> = report
        .tables
        .iter()
        .map(|t| (t.table.as_str(), t.rows))
        .collect();
    assert_eq!(
        rows,
        [("events", 5), ("audit_events", 2), ("access_log", 0)]
    );
    assert!(
        report.tables.iter().all(|t| t.bytes > 0),
        "{:?}",
        report.tables
    );
    let days: Vec<(chrono::NaiveDate, i64)> = report
        .events_by_day
        .iter()
        .map(|d| (d.day, d.rows))
        .collect();
    assert_eq!(days, [(day("2026-03-08"), 3), (day("2026-03-09"), 2)]);
    assert_eq!(report.oldest_event, Some(at("2026-03-08T01:00:00Z")));
    let user_index = report
        .indexes
        .iter()
        .find(|i| i.index == "events_user_id")
        .expect("the user index is reported under its own name");
    assert_eq!(user_index.table, "events");
    assert!(!user_index.primary_key);
    assert!(
        report
            .indexes
            .iter()
            .any(|i| i.primary_key && i.table == "events")
    );
}

/// Access records of a day go only as counted: a day that holds more than was archived
/// keeps all of them; otherwise every one goes, past one removal batch, and no other
/// day's or tenant's.
pub async fn access_records_go_only_as_counted(store: Arc<dyn Store>) {
    use chrono::Duration;
    use logbook_model::access::AccessRecord;

    let (t, other) = (TenantId::new(), TenantId::new());
    let day = at("2026-01-10T00:00:00Z");
    let record = |tenant, at| AccessRecord {
        id: uuid::Uuid::now_v7(),
        tenant_id: tenant,
        at,
        key_id: uuid::Uuid::nil(),
        method: "GET".into(),
        route: "/api/v1/logs".into(),
        path: "/api/v1/logs".into(),
        filters: None,
        rows: None,
        status: 200,
        outcome: "completed".into(),
        client_ip: None,
    };
    let many: Vec<_> = (0..5_002)
        .map(|i| record(t, day + Duration::seconds(i)))
        .chain([record(t, day + Duration::days(1))])
        .collect();
    store
        .append(
            vec![
                logbook_store::WriteItem::access(t, many),
                logbook_store::WriteItem::access(other, vec![record(other, day)]),
            ]
            .into(),
            day,
        )
        .await
        .unwrap();
    assert_eq!(store.oldest_access(t).await.unwrap(), Some(day));
    assert_eq!(store.oldest_access(TenantId::new()).await.unwrap(), None);
    let next = day + Duration::days(1);
    assert_eq!(store.remove_access(t, day, next, 5_001).await.unwrap(), 0);
    assert_eq!(
        store.remove_access(t, day, next, 5_002).await.unwrap(),
        5_002
    );
    assert_eq!(store.oldest_access(t).await.unwrap(), Some(next));
    assert_eq!(store.oldest_access(other).await.unwrap(), Some(day));
}
