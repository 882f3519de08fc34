//! PostgreSQL only: row-level security holds even for a query with no tenant condition.

use chrono::Utc;
use logbook_model::TenantId;
use logbook_store::{EventStore, WriteItem, postgres::PgStore, testing};

use crate::support::event;

async fn count(client: &deadpool_postgres::Client) -> i64 {
    client
        .query_one("SELECT count(*) FROM events", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unscoped_query_sees_only_the_sessions_tenant() {
    let store = PgStore::connect(&testing::fresh_postgres_url().await, Default::default())
        .await
        .unwrap();
    assert!(
        store.row_security(),
        "the test server lets the migration make logbook_reader"
    );
    let (a, b) = (TenantId::new(), TenantId::new());
    let now = Utc::now();
    let items = vec![
        WriteItem::events(a, (0..3).map(|_| event(a, "REQUEST", now)).collect()),
        WriteItem::events(b, vec![event(b, "REQUEST", now)]),
    ];
    store.append(items.into(), now).await.unwrap();

    // Deliberately no WHERE clause: the policy alone keeps other tenants' rows out.
    assert_eq!(count(&store.tenant_client(b).await.unwrap()).await, 1);
    assert_eq!(count(&store.tenant_client(a).await.unwrap()).await, 3);
    assert_eq!(
        count(&store.tenant_client(TenantId::new()).await.unwrap()).await,
        0
    );

    // A day partition cannot be read around the policy.
    let scoped = store.tenant_client(b).await.unwrap();
    let partition = format!("events_p{}", now.format("%Y%m%d"));
    let direct = scoped
        .query_one(&format!("SELECT count(*) FROM {partition}"), &[])
        .await;
    assert!(
        direct.is_err(),
        "reading {partition} directly must be refused"
    );
    // A session whose tenant setting is dropped sees no rows rather than all of them.
    // (The session could RESET ROLE: the role is a guard against queries that forget
    // their tenant, not against Logbook's own code, which binds every parameter.)
    drop(scoped);
    let scoped = store.tenant_client(b).await.unwrap();
    scoped
        .batch_execute("RESET logbook.tenant_id")
        .await
        .unwrap();
    assert_eq!(count(&scoped).await, 0);

    // A connection taken for other work starts clean, as its login role.
    let plain = store.client().await.unwrap();
    let role: String = plain
        .query_one("SELECT current_user::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_ne!(role, "logbook_reader");
    assert_eq!(
        store
            .list_events(a, &Default::default())
            .await
            .unwrap()
            .items
            .len(),
        3
    );
}
