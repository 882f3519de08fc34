use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use logbook_model::{Event, EventType, TenantId};
use logbook_store::{ItemOutcome, Store, StoreLocation, WriteItem, testing};

pub async fn sqlite() -> Arc<dyn Store> {
    logbook_store::open(&StoreLocation::Sqlite(testing::temp_sqlite_path()))
        .await
        .unwrap()
}

pub async fn postgres() -> Arc<dyn Store> {
    let url = testing::fresh_postgres_url().await;
    logbook_store::open(&StoreLocation::Postgres(url))
        .await
        .unwrap()
}

pub async fn timescaledb() -> Arc<dyn Store> {
    testing::timescaledb().await
}

/// The fixed "now" of the suite; the store itself never reads the clock for these.
pub fn now() -> DateTime<Utc> {
    "2026-03-10T12:30:00Z".parse().unwrap()
}

pub fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

pub fn minutes_ago(m: i64) -> DateTime<Utc> {
    now() - Duration::minutes(m)
}

pub fn event(tenant: TenantId, event_type: &str, created_at: DateTime<Utc>) -> Event {
    Event::new(tenant, EventType::parse(event_type).unwrap(), created_at)
}

pub async fn append(store: &Arc<dyn Store>, events: &[Event]) {
    let mut by_tenant: Vec<WriteItem> = Vec::new();
    for e in events {
        match by_tenant.iter_mut().find(|i| i.tenant == e.tenant_id) {
            Some(item) => item.events.push(e.clone()),
            None => by_tenant.push(WriteItem::events(e.tenant_id, vec![e.clone()])),
        }
    }
    let n = by_tenant.len();
    let outcomes = store
        .append(by_tenant.into(), now() - Duration::hours(24))
        .await
        .unwrap();
    assert_eq!(outcomes, vec![ItemOutcome::STORED; n]);
}

pub fn ids(events: &[Event]) -> Vec<uuid::Uuid> {
    events.iter().map(|e| e.id).collect()
}
