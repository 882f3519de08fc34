use std::sync::Arc;

use chrono::Duration;
use logbook_model::{EventQuery, TenantId};
use logbook_store::{IdempotencyRecord, ItemOutcome, Store, WriteItem};

use crate::support::{event, minutes_ago, now};

fn item(tenant: TenantId, key: &str, response: &str, n: usize) -> WriteItem {
    WriteItem {
        idempotency: Some(IdempotencyRecord {
            key: key.into(),
            response: response.into(),
        }),
        ..WriteItem::events(
            tenant,
            (0..n)
                .map(|i| event(tenant, "REQUEST", minutes_ago(i as i64)))
                .collect(),
        )
    }
}

async fn count(store: &Arc<dyn Store>, tenant: TenantId) -> usize {
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
        .len()
}

pub async fn a_key_is_stored_once(store: Arc<dyn Store>) {
    let (t, other) = (TenantId::new(), TenantId::new());
    let since = now() - Duration::hours(24);
    let first = store
        .append(vec![item(t, "k1", "first", 3)].into(), since)
        .await
        .unwrap();
    assert_eq!(first, vec![ItemOutcome::STORED]);
    let again = store
        .append(vec![item(t, "k1", "second", 3)].into(), since)
        .await
        .unwrap();
    assert_eq!(
        again,
        vec![ItemOutcome::Duplicate {
            response: "first".into(),
            audit: None,
        }]
    );
    assert_eq!(count(&store, t).await, 3);
    assert_eq!(
        store.idempotent_response(t, "k1", since).await.unwrap(),
        Some("first".into())
    );
    // Keys belong to a tenant: the same key elsewhere is new.
    assert_eq!(
        store
            .append(vec![item(other, "k1", "x", 1)].into(), since)
            .await
            .unwrap(),
        vec![ItemOutcome::STORED]
    );
    assert_eq!(
        store.idempotent_response(t, "k2", since).await.unwrap(),
        None
    );
}

pub async fn a_key_repeated_in_one_batch_is_stored_once(store: Arc<dyn Store>) {
    let t = TenantId::new();
    let since = now() - Duration::hours(24);
    let plain = WriteItem::events(t, vec![event(t, "REQUEST", now())]);
    let outcomes = store
        .append(
            vec![item(t, "k", "one", 2), plain, item(t, "k", "two", 2)].into(),
            since,
        )
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            ItemOutcome::STORED,
            ItemOutcome::STORED,
            ItemOutcome::Duplicate {
                response: "one".into(),
                audit: None,
            }
        ]
    );
    assert_eq!(count(&store, t).await, 3);
}

pub async fn an_expired_key_is_forgotten(store: Arc<dyn Store>) {
    let t = TenantId::new();
    let long_ago = now() - Duration::days(30);
    store
        .append(vec![item(t, "k", "old", 1)].into(), long_ago)
        .await
        .unwrap();
    // A window that starts after the key was stored treats it as new.
    let future_window = chrono::Utc::now() + Duration::seconds(5);
    assert_eq!(
        store
            .idempotent_response(t, "k", future_window)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .append(vec![item(t, "k", "new", 1)].into(), future_window)
            .await
            .unwrap(),
        vec![ItemOutcome::STORED]
    );
    assert_eq!(count(&store, t).await, 2);
    assert_eq!(
        store
            .purge_idempotency_keys(chrono::Utc::now() + Duration::minutes(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.idempotent_response(t, "k", long_ago).await.unwrap(),
        None
    );
}

/// An audit append retried under its key is stored once, and the retry is told the seqs
/// the first one got.
pub async fn a_retried_audit_append_answers_with_its_first_seqs(store: Arc<dyn Store>) {
    let tenant = TenantId::new();
    let since = now() - Duration::hours(24);
    let parser = logbook_model::audit::AuditParser::default();
    let audit_item = |response: &str| {
        WriteItem {
        audit: (0..2)
            .map(|i| {
                let raw = serde_json::json!({
                    "action": "update", "resource_type": "invoice", "resource_id": format!("inv-{i}"),
                });
                parser
                    .parse_json(tenant, &raw.to_string(), chrono::Utc::now())
                    .unwrap()
            })
            .collect(),
        idempotency: Some(IdempotencyRecord {
            key: "audit:k1".into(),
            response: response.into(),
        }),
        ..WriteItem::events(tenant, Vec::new())
    }
    };
    let seqs = Some(logbook_store::SeqRange { first: 1, last: 2 });
    let first = store
        .append(vec![audit_item("first")].into(), since)
        .await
        .unwrap();
    assert_eq!(first, vec![ItemOutcome::Stored { audit: seqs }]);
    let again = store
        .append(vec![audit_item("second")].into(), since)
        .await
        .unwrap();
    assert_eq!(
        again,
        vec![ItemOutcome::Duplicate {
            response: "first".into(),
            audit: seqs,
        }]
    );
    assert_eq!(store.audit_head(tenant).await.unwrap().0, 2, "stored once");
}
