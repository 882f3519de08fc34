use std::{collections::HashSet, sync::Arc};

use chrono::Duration;
use logbook_model::{EventQuery, EventType, TenantId, pseudonym::Pseudonymizer};
use logbook_store::Store;

use crate::support::{append, event, now};

/// Seed 001 6.3: old ACTIVITY events lose IP and user agent and get pseudonymous user ids;
/// unique-user counts hold; newer events and other types are untouched; running again
/// changes nothing.
pub async fn old_events_of_a_type_are_anonymized(store: Arc<dyn Store>) {
    let (t, other) = (TenantId::new(), TenantId::new());
    let cutoff = now() - Duration::days(30);
    let activity = |tenant, user: Option<&str>, at| {
        let mut e = event(tenant, "ACTIVITY", at);
        e.user_id = user.map(str::to_owned);
        e.ip_address = Some("203.0.113.5".parse().unwrap());
        e.user_agent = Some("Mozilla/5.0".into());
        e
    };
    let old = cutoff - Duration::days(1);
    let mut request = activity(t, Some("u1"), old);
    request.event_type = EventType::parse("REQUEST").unwrap();
    // Looks like a pseudonym by its prefix, but is a person's e-mail address.
    let mut lookalike = activity(t, Some("anon_jane.doe@example.com"), old);
    (lookalike.ip_address, lookalike.user_agent) = (None, None);
    let events = vec![
        activity(t, Some("u1"), old),
        activity(t, Some("u1"), old - Duration::hours(1)),
        activity(t, Some("u2"), old),
        activity(t, None, old),
        activity(t, Some("u1"), cutoff + Duration::seconds(1)),
        activity(other, Some("u1"), old),
        request,
        lookalike.clone(),
    ];
    append(&store, &events).await;
    let p = Pseudonymizer::new([7; 32]);
    let activity_type = EventType::parse("ACTIVITY").unwrap();
    let changed = store.anonymize(&activity_type, cutoff, &p).await.unwrap();
    assert_eq!(changed, 6);
    assert_eq!(
        store.anonymize(&activity_type, cutoff, &p).await.unwrap(),
        0,
        "a second run changes nothing"
    );

    let all = |tenant| {
        let store = store.clone();
        async move {
            store
                .list_events(
                    tenant,
                    &EventQuery {
                        limit: 1000,
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
                .items
        }
    };
    let mine = all(t).await;
    let by_id = |id| mine.iter().find(|e| e.id == id).unwrap().clone();
    for (i, original) in events.iter().enumerate().take(4) {
        let stored = by_id(original.id);
        assert_eq!(
            (stored.ip_address, stored.user_agent.as_deref()),
            (None, None),
            "event {i}"
        );
        assert_eq!(
            stored.user_id,
            original.user_id.as_deref().map(|u| p.pseudonym(u)),
            "event {i}"
        );
    }
    assert_eq!(
        by_id(lookalike.id).user_id,
        Some(p.pseudonym("anon_jane.doe@example.com")),
        "only a pseudonym's exact form is left alone"
    );
    let users: HashSet<_> = events[..4]
        .iter()
        .filter_map(|e| by_id(e.id).user_id)
        .collect();
    assert_eq!(users.len(), 2, "u1 twice and u2 stay two users");
    let recent = by_id(events[4].id);
    assert_eq!(recent.user_id.as_deref(), Some("u1"));
    assert!(recent.ip_address.is_some());
    assert_eq!(
        by_id(events[6].id).user_id.as_deref(),
        Some("u1"),
        "other types are untouched"
    );
    let theirs = all(other).await;
    assert_eq!(
        theirs[0].user_id,
        Some(p.pseudonym("u1")),
        "every tenant's events are anonymized"
    );
}
