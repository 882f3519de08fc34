use std::sync::Arc;

use logbook_model::Scopes;
use logbook_store::{NewApiKey, Store, StoreError};

pub async fn tenants_and_keys(store: Arc<dyn Store>) {
    assert!(store.list_tenants().await.unwrap().is_empty());
    let acme = store.create_tenant("acme").await.unwrap();
    assert!(matches!(
        store.create_tenant("acme").await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.tenant_by_name("acme").await.unwrap(),
        Some(acme.clone())
    );
    assert_eq!(store.tenant_by_name("nobody").await.unwrap(), None);
    let globex = store.create_tenant("globex").await.unwrap();
    assert_eq!(
        store.list_tenants().await.unwrap(),
        vec![acme.clone(), globex]
    );

    let hash = [7u8; 32];
    let key = store
        .create_api_key(NewApiKey {
            tenant_id: acme.id,
            name: "ci".into(),
            prefix: "lbk_abcd".into(),
            hash,
            scopes: "ingest,read".parse::<Scopes>().unwrap(),
            expires_at: None,
        })
        .await
        .unwrap();
    assert_eq!(
        store.api_key_by_hash(&hash).await.unwrap(),
        Some(key.clone())
    );
    assert_eq!(key.tenant_id, acme.id);
    assert_eq!(key.scopes.to_string(), "ingest,read");
    assert_eq!(store.api_key_by_hash(&[8u8; 32]).await.unwrap(), None);
    let duplicate = NewApiKey {
        tenant_id: acme.id,
        name: "again".into(),
        prefix: "lbk_abcd".into(),
        hash,
        scopes: Scopes::all(),
        expires_at: None,
    };
    assert!(matches!(
        store.create_api_key(duplicate).await,
        Err(StoreError::Conflict(_))
    ));

    // Listing, use and revocation are per tenant.
    let second = store
        .create_api_key(NewApiKey {
            tenant_id: acme.id,
            name: "ingest-only".into(),
            prefix: "lbk_ef01".into(),
            hash: [9u8; 32],
            scopes: "ingest".parse::<Scopes>().unwrap(),
            expires_at: Some(chrono::Utc::now() + chrono::Duration::days(1)),
        })
        .await
        .unwrap();
    let listed = store.list_api_keys(acme.id).await.unwrap();
    assert_eq!(
        listed.iter().map(|k| k.id).collect::<Vec<_>>(),
        vec![second.id, key.id]
    );
    assert!(
        store
            .list_api_keys(globex_id(&store).await)
            .await
            .unwrap()
            .is_empty()
    );

    let used_at: chrono::DateTime<chrono::Utc> = "2026-03-10T12:00:00Z".parse().unwrap();
    store
        .record_key_use(vec![
            (key.id, used_at),
            (key.id, used_at - chrono::Duration::hours(1)),
        ])
        .await
        .unwrap();
    store
        .record_key_use(vec![(key.id, used_at - chrono::Duration::hours(2))])
        .await
        .unwrap();
    let used = store.api_key_by_hash(&hash).await.unwrap().unwrap();
    assert_eq!(
        used.last_used_at,
        Some(used_at),
        "the latest use wins, whatever the order"
    );

    assert!(
        store
            .revoke_api_key(globex_id(&store).await, key.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .api_key_by_hash(&hash)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );
    let revoked = store
        .revoke_api_key(acme.id, key.id)
        .await
        .unwrap()
        .unwrap();
    let at = revoked.revoked_at.expect("revoked");
    assert!(!revoked.is_live(chrono::Utc::now()));
    let again = store
        .revoke_api_key(acme.id, key.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        again.revoked_at,
        Some(at),
        "revoking twice keeps the first time"
    );
    assert!(second.is_live(chrono::Utc::now()));
    assert!(!second.is_live(chrono::Utc::now() + chrono::Duration::days(2)));
}

async fn globex_id(store: &Arc<dyn Store>) -> logbook_model::TenantId {
    store.tenant_by_name("globex").await.unwrap().unwrap().id
}
