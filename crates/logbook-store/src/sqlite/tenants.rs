//! Tenants and API keys.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use logbook_model::TenantId;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, params};
use uuid::Uuid;

use super::{SqliteStore, db, from_micros, micros};
use crate::{ApiKey, ConsoleSession, KeyStore, NewApiKey, Result, StoreError, Tenant};

pub fn create_tenant(conn: &mut Connection, name: &str) -> Result<Tenant> {
    let tenant = Tenant {
        id: TenantId::new(),
        name: name.to_owned(),
        created_at: now(),
    };
    conn.execute(
        "INSERT INTO tenants (id, name, created_at) VALUES (?1, ?2, ?3)",
        params![tenant.id.0, tenant.name, micros(tenant.created_at)],
    )
    .map_err(|e| match e.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => {
            StoreError::Conflict(format!("tenant {name:?} already exists"))
        }
        _ => StoreError::database("creating a tenant", e),
    })?;
    Ok(tenant)
}

pub fn tenant_by_name(conn: &Connection, name: &str) -> Result<Option<Tenant>> {
    conn.query_row(
        "SELECT id, name, created_at FROM tenants WHERE name = ?1",
        [name],
        read_tenant,
    )
    .optional()
    .map_err(db("reading a tenant"))?
    .transpose()
}

pub fn list_tenants(conn: &Connection) -> Result<Vec<Tenant>> {
    let mut stmt = conn
        .prepare("SELECT id, name, created_at FROM tenants ORDER BY created_at, name")
        .map_err(db("listing tenants"))?;
    let rows = stmt
        .query_map([], read_tenant)
        .map_err(db("listing tenants"))?;
    rows.map(|r| r.map_err(db("reading a tenant"))?).collect()
}

fn read_tenant(row: &Row<'_>) -> rusqlite::Result<Result<Tenant>> {
    let created_at: i64 = row.get(2)?;
    Ok(from_micros(created_at).map(|created_at| Tenant {
        id: TenantId(row.get(0).unwrap_or_default()),
        name: row.get(1).unwrap_or_default(),
        created_at,
    }))
}

pub fn create_api_key(conn: &mut Connection, key: NewApiKey) -> Result<ApiKey> {
    let stored = ApiKey {
        id: Uuid::now_v7(),
        tenant_id: key.tenant_id,
        name: key.name,
        prefix: key.prefix,
        scopes: key.scopes,
        created_at: now(),
        expires_at: key.expires_at,
        revoked_at: None,
        last_used_at: None,
    };
    let tx = conn.transaction().map_err(db("creating an API key"))?;
    tx.execute(
        "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, scopes, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            stored.id,
            stored.tenant_id.0,
            stored.name,
            stored.prefix,
            key.hash.as_slice(),
            stored.scopes.to_string(),
            micros(stored.created_at),
            stored.expires_at.map(micros),
        ],
    )
    .map_err(|e| match e.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => {
            StoreError::Conflict("the tenant does not exist or the key is not unique".into())
        }
        _ => StoreError::database("creating an API key", e),
    })?;
    bump_key_changes(&tx)?;
    tx.commit().map_err(db("creating an API key"))?;
    Ok(stored)
}

fn bump_key_changes(tx: &Connection) -> Result<()> {
    tx.execute(
        "UPDATE key_changes SET counter = counter + 1 WHERE id = 1",
        [],
    )
    .map_err(db("counting a key change"))?;
    Ok(())
}

pub fn key_changes(conn: &Connection) -> Result<i64> {
    conn.query_row("SELECT counter FROM key_changes WHERE id = 1", [], |r| {
        r.get(0)
    })
    .map_err(db("reading key changes"))
}

const KEY_COLUMNS: &str =
    "id, tenant_id, name, prefix, scopes, created_at, expires_at, revoked_at, last_used_at";

pub fn api_key_by_hash(conn: &Connection, hash: &[u8; 32]) -> Result<Option<ApiKey>> {
    conn.prepare_cached(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = ?1"
    ))
    .and_then(|mut stmt| stmt.query_row([hash.as_slice()], read_key).optional())
    .map_err(db("looking up an API key"))?
    .transpose()
}

pub fn list_api_keys(conn: &Connection, tenant: TenantId) -> Result<Vec<ApiKey>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id = ?1 ORDER BY created_at DESC, id DESC"
        ))
        .map_err(db("listing API keys"))?;
    let rows = stmt
        .query_map([tenant.0], read_key)
        .map_err(db("listing API keys"))?;
    rows.map(|r| r.map_err(db("reading an API key"))?).collect()
}

pub fn revoke_api_key(conn: &mut Connection, tenant: TenantId, id: Uuid) -> Result<Option<ApiKey>> {
    let tx = conn.transaction().map_err(db("revoking an API key"))?;
    let revoked = tx
        .execute(
            "UPDATE api_keys SET revoked_at = ?3 WHERE tenant_id = ?1 AND id = ?2 AND revoked_at IS NULL",
            params![tenant.0, id, micros(now())],
        )
        .map_err(db("revoking an API key"))?;
    if revoked > 0 {
        bump_key_changes(&tx)?;
    }
    tx.commit().map_err(db("revoking an API key"))?;
    conn.query_row(
        &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id = ?1 AND id = ?2"),
        params![tenant.0, id],
        read_key,
    )
    .optional()
    .map_err(db("reading an API key"))?
    .transpose()
}

pub fn record_key_use(conn: &mut Connection, uses: &[(Uuid, chrono::DateTime<Utc>)]) -> Result<()> {
    let tx = conn.transaction().map_err(db("recording key use"))?;
    {
        let mut update = tx
            .prepare_cached(
                "UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, 0), ?2) WHERE id = ?1",
            )
            .map_err(db("recording key use"))?;
        for (id, at) in uses {
            update
                .execute(params![id, micros(*at)])
                .map_err(db("recording key use"))?;
        }
    }
    tx.commit().map_err(db("recording key use"))
}

fn read_key(r: &Row<'_>) -> rusqlite::Result<Result<ApiKey>> {
    let scopes: String = r.get(4)?;
    let times = (
        r.get::<_, i64>(5)?,
        r.get::<_, Option<i64>>(6)?,
        r.get::<_, Option<i64>>(7)?,
        r.get::<_, Option<i64>>(8)?,
    );
    let (id, tenant, name, prefix) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
    Ok((|| {
        Ok(ApiKey {
            id,
            tenant_id: TenantId(tenant),
            name,
            prefix,
            scopes: scopes.parse().map_err(StoreError::Invalid)?,
            created_at: from_micros(times.0)?,
            expires_at: times.1.map(from_micros).transpose()?,
            revoked_at: times.2.map(from_micros).transpose()?,
            last_used_at: times.3.map(from_micros).transpose()?,
        })
    })())
}

pub fn create_session(conn: &mut Connection, session: &ConsoleSession) -> Result<()> {
    let tx = conn
        .transaction()
        .map_err(db("starting a console session"))?;
    tx.execute(
        "DELETE FROM console_sessions WHERE expires_at <= ?1",
        params![micros(session.created_at)],
    )
    .map_err(db("forgetting expired console sessions"))?;
    tx.execute(
        "INSERT INTO console_sessions (token_hash, tenant_id, key_hash, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            session.token_hash.as_slice(),
            session.tenant_id.0,
            session.key_hash.as_slice(),
            micros(session.created_at),
            micros(session.expires_at),
        ],
    )
    .map_err(db("starting a console session"))?;
    tx.execute(
        "DELETE FROM console_sessions WHERE key_hash = ?1 AND token_hash NOT IN (
             SELECT token_hash FROM console_sessions WHERE key_hash = ?1
             ORDER BY created_at DESC LIMIT ?2)",
        params![session.key_hash.as_slice(), crate::SESSIONS_PER_KEY],
    )
    .map_err(db("forgetting a key's oldest console sessions"))?;
    tx.commit().map_err(db("starting a console session"))
}

pub fn session_key(
    conn: &Connection,
    token_hash: &[u8; 32],
    now: DateTime<Utc>,
) -> Result<Option<[u8; 32]>> {
    let key: Option<Vec<u8>> = conn
        .query_row(
            "SELECT key_hash FROM console_sessions WHERE token_hash = ?1 AND expires_at > ?2",
            params![token_hash.as_slice(), micros(now)],
            |row| row.get(0),
        )
        .optional()
        .map_err(db("reading a console session"))?;
    key.map(|hash| {
        <[u8; 32]>::try_from(hash.as_slice())
            .map_err(|_| StoreError::Invalid("a console session's key hash is not 32 bytes".into()))
    })
    .transpose()
}

pub fn end_session(conn: &mut Connection, token_hash: &[u8; 32]) -> Result<()> {
    conn.execute(
        "DELETE FROM console_sessions WHERE token_hash = ?1",
        params![token_hash.as_slice()],
    )
    .map_err(db("ending a console session"))?;
    Ok(())
}

fn now() -> chrono::DateTime<Utc> {
    logbook_model::parse::truncate_to_micros(Utc::now())
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn create_tenant(&self, name: &str) -> Result<Tenant> {
        let name = name.to_owned();
        self.write(move |conn| super::tenants::create_tenant(conn, &name))
            .await
    }

    async fn tenant_by_name(&self, name: &str) -> Result<Option<Tenant>> {
        let name = name.to_owned();
        self.read(move |conn| super::tenants::tenant_by_name(conn, &name))
            .await
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        self.read(super::tenants::list_tenants).await
    }

    async fn create_api_key(&self, key: NewApiKey) -> Result<ApiKey> {
        self.write(move |conn| super::tenants::create_api_key(conn, key))
            .await
    }

    async fn api_key_by_hash(&self, hash: &[u8; 32]) -> Result<Option<ApiKey>> {
        let hash = *hash;
        self.read(move |conn| super::tenants::api_key_by_hash(conn, &hash))
            .await
    }

    async fn list_api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>> {
        self.read(move |conn| super::tenants::list_api_keys(conn, tenant))
            .await
    }

    async fn revoke_api_key(&self, tenant: TenantId, id: Uuid) -> Result<Option<ApiKey>> {
        self.write(move |conn| super::tenants::revoke_api_key(conn, tenant, id))
            .await
    }

    async fn record_key_use(&self, uses: Vec<(Uuid, DateTime<Utc>)>) -> Result<()> {
        self.write(move |conn| super::tenants::record_key_use(conn, &uses))
            .await
    }

    async fn key_changes(&self) -> Result<i64> {
        self.read(super::tenants::key_changes).await
    }

    async fn create_session(&self, session: &ConsoleSession) -> Result<()> {
        let session = session.clone();
        self.write(move |conn| super::tenants::create_session(conn, &session))
            .await
    }

    async fn session_key(
        &self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<Option<[u8; 32]>> {
        let token_hash = *token_hash;
        self.read(move |conn| super::tenants::session_key(conn, &token_hash, now))
            .await
    }

    async fn end_session(&self, token_hash: &[u8; 32]) -> Result<()> {
        let token_hash = *token_hash;
        self.write(move |conn| super::tenants::end_session(conn, &token_hash))
            .await
    }
}
