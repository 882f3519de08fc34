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
}
