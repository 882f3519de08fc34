//! Tenants and API keys.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::Client;
use logbook_model::TenantId;
use tokio_postgres::{Row, error::SqlState};
use uuid::Uuid;

use super::{PgStore, column, db};
use crate::{ApiKey, ConsoleSession, KeyStore, NewApiKey, Result, StoreError, Tenant};

pub async fn create_tenant(client: &Client, name: &str) -> Result<Tenant> {
    let row = client
        .query_one(
            "INSERT INTO tenants (id, name) VALUES ($1, $2) RETURNING id, name, created_at",
            &[&TenantId::new().0, &name],
        )
        .await
        .map_err(|e| match e.code() {
            Some(&SqlState::UNIQUE_VIOLATION) => {
                StoreError::Conflict(format!("tenant {name:?} already exists"))
            }
            _ => db("creating a tenant")(e),
        })?;
    read_tenant(&row)
}

pub async fn tenant_by_name(client: &Client, name: &str) -> Result<Option<Tenant>> {
    let row = client
        .query_opt(
            "SELECT id, name, created_at FROM tenants WHERE name = $1",
            &[&name],
        )
        .await
        .map_err(db("reading a tenant"))?;
    row.as_ref().map(read_tenant).transpose()
}

pub async fn list_tenants(client: &Client) -> Result<Vec<Tenant>> {
    let rows = client
        .query(
            "SELECT id, name, created_at FROM tenants ORDER BY created_at, name",
            &[],
        )
        .await
        .map_err(db("listing tenants"))?;
    rows.iter().map(read_tenant).collect()
}

fn read_tenant(row: &Row) -> Result<Tenant> {
    Ok(Tenant {
        id: TenantId(column(row, 0)?),
        name: column(row, 1)?,
        created_at: column(row, 2)?,
    })
}

pub async fn create_api_key(client: &Client, key: NewApiKey) -> Result<ApiKey> {
    let row = client
        .query_one(
            "WITH bump AS (UPDATE key_changes SET counter = counter + 1 WHERE id = 1)
             INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, scopes, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             RETURNING id, tenant_id, name, prefix, scopes, created_at, expires_at, revoked_at, last_used_at",
            &[
                &Uuid::now_v7(),
                &key.tenant_id.0,
                &key.name,
                &key.prefix,
                &key.hash.as_slice(),
                &key.scopes.to_string(),
                &key.expires_at,
            ],
        )
        .await
        .map_err(|e| match e.code() {
            Some(&SqlState::FOREIGN_KEY_VIOLATION) | Some(&SqlState::UNIQUE_VIOLATION) => {
                StoreError::Conflict("the tenant does not exist or the key is not unique".into())
            }
            _ => db("creating an API key")(e),
        })?;
    read_key(&row)
}

pub async fn api_key_by_hash(client: &Client, hash: &[u8; 32]) -> Result<Option<ApiKey>> {
    let row = client
        .query_opt(
            "SELECT id, tenant_id, name, prefix, scopes, created_at, expires_at, revoked_at, last_used_at
             FROM api_keys WHERE key_hash = $1",
            &[&hash.as_slice()],
        )
        .await
        .map_err(db("looking up an API key"))?;
    row.as_ref().map(read_key).transpose()
}

fn read_key(row: &Row) -> Result<ApiKey> {
    let scopes: &str = column(row, 4)?;
    Ok(ApiKey {
        id: column(row, 0)?,
        tenant_id: TenantId(column(row, 1)?),
        name: column(row, 2)?,
        prefix: column(row, 3)?,
        scopes: scopes.parse().map_err(StoreError::Invalid)?,
        created_at: column(row, 5)?,
        expires_at: column(row, 6)?,
        revoked_at: column(row, 7)?,
        last_used_at: column(row, 8)?,
    })
}

pub async fn list_api_keys(client: &Client, tenant: TenantId) -> Result<Vec<ApiKey>> {
    let rows = client
        .query(
            "SELECT id, tenant_id, name, prefix, scopes, created_at, expires_at, revoked_at, last_used_at
             FROM api_keys WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC",
            &[&tenant.0],
        )
        .await
        .map_err(db("listing API keys"))?;
    rows.iter().map(read_key).collect()
}

pub async fn revoke_api_key(client: &Client, tenant: TenantId, id: Uuid) -> Result<Option<ApiKey>> {
    // One statement: the revocation and the count every server's key cache watches.
    client
        .execute(
            "WITH revoked AS (
                UPDATE api_keys SET revoked_at = now()
                WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING 1)
             UPDATE key_changes SET counter = counter + (SELECT count(*) FROM revoked) WHERE id = 1",
            &[&tenant.0, &id],
        )
        .await
        .map_err(db("revoking an API key"))?;
    let row = client
        .query_opt(
            "SELECT id, tenant_id, name, prefix, scopes, created_at, expires_at, revoked_at, last_used_at
             FROM api_keys WHERE tenant_id = $1 AND id = $2",
            &[&tenant.0, &id],
        )
        .await
        .map_err(db("reading an API key"))?;
    row.as_ref().map(read_key).transpose()
}

pub async fn record_key_use(client: &Client, uses: Vec<(Uuid, DateTime<Utc>)>) -> Result<()> {
    let (ids, times): (Vec<Uuid>, Vec<DateTime<Utc>>) = uses.into_iter().unzip();
    client
        .execute(
            "UPDATE api_keys AS k SET last_used_at = GREATEST(k.last_used_at, u.at)
             FROM (SELECT id, max(at) AS at FROM unnest($1::uuid[], $2::timestamptz[]) AS t(id, at) GROUP BY id) AS u
             WHERE k.id = u.id",
            &[&ids, &times],
        )
        .await
        .map_err(db("recording key use"))?;
    Ok(())
}

pub async fn key_changes(client: &Client) -> Result<i64> {
    let row = client
        .query_one("SELECT counter FROM key_changes WHERE id = 1", &[])
        .await
        .map_err(db("reading key changes"))?;
    column(&row, 0)
}

async fn create_session(client: &mut Client, session: &ConsoleSession) -> Result<()> {
    let what = "starting a console session";
    let tx = client.transaction().await.map_err(db(what))?;
    tx.execute(
        "DELETE FROM console_sessions WHERE expires_at <= $1",
        &[&session.created_at],
    )
    .await
    .map_err(db(what))?;
    tx.execute(
        "INSERT INTO console_sessions (token_hash, tenant_id, key_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &session.token_hash.as_slice(),
            &session.tenant_id.0,
            &session.key_hash.as_slice(),
            &session.created_at,
            &session.expires_at,
        ],
    )
    .await
    .map_err(db(what))?;
    tx.execute(
        "DELETE FROM console_sessions WHERE key_hash = $1 AND token_hash NOT IN (
             SELECT token_hash FROM console_sessions WHERE key_hash = $1
             ORDER BY created_at DESC LIMIT $2)",
        &[&session.key_hash.as_slice(), &crate::SESSIONS_PER_KEY],
    )
    .await
    .map_err(db(what))?;
    tx.commit().await.map_err(db(what))
}

async fn session_key(
    client: &Client,
    token_hash: &[u8; 32],
    now: DateTime<Utc>,
) -> Result<Option<[u8; 32]>> {
    let row = client
        .query_opt(
            "SELECT key_hash FROM console_sessions WHERE token_hash = $1 AND expires_at > $2",
            &[&token_hash.as_slice(), &now],
        )
        .await
        .map_err(db("reading a console session"))?;
    row.map(|row| {
        let hash: &[u8] = column(&row, 0)?;
        <[u8; 32]>::try_from(hash)
            .map_err(|_| StoreError::Invalid("a console session's key hash is not 32 bytes".into()))
    })
    .transpose()
}

#[async_trait]
impl KeyStore for PgStore {
    async fn create_tenant(&self, name: &str) -> Result<Tenant> {
        super::tenants::create_tenant(&self.client().await?, name).await
    }

    async fn tenant_by_name(&self, name: &str) -> Result<Option<Tenant>> {
        super::tenants::tenant_by_name(&self.client().await?, name).await
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        super::tenants::list_tenants(&self.client().await?).await
    }

    async fn create_api_key(&self, key: NewApiKey) -> Result<ApiKey> {
        super::tenants::create_api_key(&self.client().await?, key).await
    }

    async fn api_key_by_hash(&self, hash: &[u8; 32]) -> Result<Option<ApiKey>> {
        super::tenants::api_key_by_hash(&self.client().await?, hash).await
    }

    async fn list_api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>> {
        super::tenants::list_api_keys(&self.client().await?, tenant).await
    }

    async fn revoke_api_key(&self, tenant: TenantId, id: Uuid) -> Result<Option<ApiKey>> {
        super::tenants::revoke_api_key(&self.client().await?, tenant, id).await
    }

    async fn record_key_use(&self, uses: Vec<(Uuid, DateTime<Utc>)>) -> Result<()> {
        super::tenants::record_key_use(&self.client().await?, uses).await
    }

    async fn key_changes(&self) -> Result<i64> {
        super::tenants::key_changes(&self.client().await?).await
    }

    async fn create_session(&self, session: &ConsoleSession) -> Result<()> {
        create_session(&mut self.client().await?, session).await
    }

    async fn session_key(
        &self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<Option<[u8; 32]>> {
        session_key(&self.client().await?, token_hash, now).await
    }

    async fn end_session(&self, token_hash: &[u8; 32]) -> Result<()> {
        self.client()
            .await?
            .execute(
                "DELETE FROM console_sessions WHERE token_hash = $1",
                &[&token_hash.as_slice()],
            )
            .await
            .map_err(db("ending a console session"))?;
        Ok(())
    }
}
