//! API-key authentication: `Authorization: Bearer <key>` or `X-API-Key: <key>` (or, as
//! Sentry SDKs send it, `X-Sentry-Auth: Sentry sentry_key=<key>, …`).
//!
//! A request's key becomes a [`Principal`] (key id, tenant, scopes); every handler reads
//! its tenant from there, so no query runs without one. Route scopes are enforced by
//! the extractors [`IngestKey`] and [`ReadKey`].

mod cache;
pub mod keys;
pub mod rate_limit;
mod usage;

use axum::{extract::FromRequestParts, http::request::Parts};
use chrono::Utc;
use logbook_model::{Scope, Scopes, TenantId};
use uuid::Uuid;

pub use cache::{Cached, KeyCache};
pub use usage::KeyUsage;

use crate::{ApiError, AppState};

/// Who is calling: the key and the tenant it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub key_id: Uuid,
    pub tenant: TenantId,
    pub scopes: Scopes,
}

/// The key from the request headers, if any.
fn presented_key(parts: &Parts) -> Option<&str> {
    let headers = &parts.headers;
    if let Some(value) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, key) = value.trim().split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| key.trim());
    }
    if let Some(value) = headers.get("x-sentry-auth").and_then(|v| v.to_str().ok()) {
        return sentry_key(value);
    }
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(key.trim());
    }
    sentry_query_key(parts)
}

/// Sentry's browser SDK sends its key in the query string (`?sentry_key=…`), which is
/// read on Sentry's ingest routes only: elsewhere a key in a URL would end up in logs.
fn sentry_query_key(parts: &Parts) -> Option<&str> {
    let path = parts.uri.path();
    let sentry_route = path.starts_with("/api/")
        && !path.starts_with("/api/v1/")
        && (path.ends_with("/envelope/") || path.ends_with("/store/"));
    if !sentry_route {
        return None;
    }
    parts.uri.query()?.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (name == "sentry_key" && !value.is_empty()).then_some(value)
    })
}

/// The key in a Sentry SDK's `X-Sentry-Auth: Sentry sentry_key=<key>, sentry_version=7`.
fn sentry_key(value: &str) -> Option<&str> {
    let fields = value.trim();
    let fields = fields
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("sentry "))
        .map_or(fields, |_| &fields[7..]);
    fields.split(',').find_map(|field| {
        let (name, value) = field.split_once('=')?;
        (name.trim() == "sentry_key").then(|| value.trim())
    })
}

/// The key of a signed-in console user, put on the requests the console makes of the API
/// for them: the hash of the key their session was made from. Only the server's own code
/// can place it; a client's request never carries it.
#[derive(Clone, Copy, Debug)]
pub struct SessionKey(pub [u8; 32]);

/// The principal of a key given by its hash: unknown, revoked and expired keys are refused.
pub async fn principal(state: &AppState, hash: [u8; 32]) -> Result<Principal, ApiError> {
    let refused = ApiError::Unauthorized("the API key is unknown, revoked or expired");
    match state.keys.get(&hash) {
        Cached::Known(principal) => Ok(principal),
        Cached::Unknown => Err(refused),
        Cached::Miss => {
            let key = state.store.api_key_by_hash(&hash).await?;
            let now = Utc::now();
            let Some(key) = key.filter(|k| k.is_live(now)) else {
                state.keys.insert_unknown(hash);
                return Err(refused);
            };
            let principal = Principal {
                key_id: key.id,
                tenant: key.tenant_id,
                scopes: key.scopes,
            };
            state.keys.insert(hash, principal.clone(), key.expires_at);
            Ok(principal)
        }
    }
}

/// The caller's principal, if its key has `scope` and is within its rate limit. The
/// console's requests come here too, with their session's key: one authorisation path.
async fn authenticate(
    parts: &Parts,
    state: &AppState,
    scope: Scope,
) -> Result<Principal, ApiError> {
    let hash = match parts.extensions.get::<SessionKey>() {
        Some(SessionKey(hash)) => *hash,
        None => keys::hash(presented_key(parts).filter(|k| !k.is_empty()).ok_or(
            ApiError::Unauthorized(
                "send an API key as `Authorization: Bearer <key>` or `X-API-Key: <key>`",
            ),
        )?),
    };
    let principal = principal(state, hash).await?;
    state.usage.record(principal.key_id);
    if !principal.scopes.contains(scope) {
        return Err(ApiError::Forbidden(format!(
            "this route needs a key with the {} scope",
            scope.as_str()
        )));
    }
    if let Err(wait) = state.limiter.check(principal.key_id, scope) {
        return Err(ApiError::RateLimited(
            wait.as_secs_f64().ceil().max(1.0) as u64
        ));
    }
    Ok(principal)
}

macro_rules! scoped_extractor {
    ($(#[$doc:meta])* $name:ident, $scope:expr) => {
        $(#[$doc])*
        pub struct $name(pub Principal);

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
                authenticate(parts, state, $scope).await.map($name)
            }
        }
    };
}

scoped_extractor!(
    /// A caller whose key has the `ingest` scope.
    IngestKey,
    Scope::Ingest
);
scoped_extractor!(
    /// A caller whose key has the `read` scope.
    ReadKey,
    Scope::Read
);
scoped_extractor!(
    /// A caller whose key has the `admin` scope: it manages its own tenant's keys.
    AdminKey,
    Scope::Admin
);
