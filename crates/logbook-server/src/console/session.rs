//! Signing in with an API key, the session cookie, and CSRF tokens.
//!
//! A session is a random token in an HttpOnly, SameSite=Strict cookie, kept in the store
//! only as its SHA-256, beside the hash of the key it was made from; it ends after
//! [`LIFETIME`], at sign-out, or when the key is revoked or expires (each request is
//! authorised through the key). Every form carries a CSRF token derived from the session's
//! token, which a page of another site cannot read; the sign-in form, before there is a
//! session, one derived from a cookie of its own.

use axum::{
    extract::{Form, FromRequest, FromRequestParts, Request},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use chrono::{Duration, Utc};
use logbook_model::{Scope, hex};
use logbook_store::ConsoleSession;
use sha2::{Digest, Sha256};

use super::{Console, api::Api, layout};
use crate::{
    ApiError,
    access::ClientAddr,
    auth::{self, Principal, SessionKey, keys},
};

const SESSION_COOKIE: &str = "logbook_session";
const SIGN_IN_COOKIE: &str = "logbook_sign_in";
/// How long a sign-in lasts.
pub const LIFETIME: Duration = Duration::hours(12);

/// A signed-in person: the API as their key sees it, and the token their forms carry.
pub struct Session {
    pub api: Api,
    pub principal: Principal,
    pub csrf: String,
}

impl Session {
    pub fn is_admin(&self) -> bool {
        self.principal.scopes.contains(Scope::Admin)
    }
}

impl FromRequestParts<Console> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, Response> {
        let sign_in = || to_sign_in(parts);
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).filter(|t| is_token(t)) else {
            return Err(sign_in());
        };
        let key = match console
            .state
            .store
            .session_key(&keys::hash(token), Utc::now())
            .await
        {
            Ok(Some(key)) => key,
            Ok(None) => return Err(sign_in()),
            Err(error) => return Err(ApiError::from(error).into_response()),
        };
        let principal = match auth::principal(&console.state, key).await {
            Ok(principal) => principal,
            Err(ApiError::Unauthorized(_)) => return Err(sign_in()),
            Err(error) => return Err(error.into_response()),
        };
        Ok(Self {
            api: Api::new(
                console.api.clone(),
                SessionKey(key),
                parts.extensions.get::<ClientAddr>().copied(),
            ),
            principal,
            csrf: csrf_token(token),
        })
    }
}

/// A posted form of a signed-in person whose CSRF token is right.
pub struct Posted {
    pub session: Session,
    pub fields: Vec<(String, String)>,
}

impl Posted {
    pub fn field(&self, name: &str) -> Option<&str> {
        field(&self.fields, name)
    }
}

impl FromRequest<Console> for Posted {
    type Rejection = Response;

    async fn from_request(request: Request, console: &Console) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let session = Session::from_request_parts(&mut parts, console).await?;
        let request = Request::from_parts(parts, body);
        let Form(fields) = Form::<Vec<(String, String)>>::from_request(request, console)
            .await
            .map_err(|rejection| {
                layout::refusal(StatusCode::BAD_REQUEST, &rejection.body_text())
            })?;
        if !same(field(&fields, "csrf"), &session.csrf) {
            return Err(csrf_refused());
        }
        Ok(Self { session, fields })
    }
}

pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

pub fn csrf_refused() -> Response {
    layout::refusal(
        StatusCode::FORBIDDEN,
        "the form's CSRF token is missing or wrong: reload the page and send it again",
    )
}

/// Whether a posted token is the expected one, compared by their hashes so the time
/// taken says nothing about how much of it was right.
fn same(posted: Option<&str>, expected: &str) -> bool {
    posted.is_some_and(|p| keys::hash(p) == keys::hash(expected))
}

fn csrf_token(token: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(b"logbook console form\0");
    digest.update(token.as_bytes());
    hex::encode(&digest.finalize())
}

fn is_token(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

fn new_token() -> String {
    hex::encode(&keys::random_bytes())
}

/// A cookie's value from the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (n, v) = pair.trim().split_once('=')?;
            (n == name).then_some(v)
        })
}

/// Behind a TLS proxy the cookie is marked Secure, so it never travels in clear.
fn set_cookie(parts: &Parts, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = parts.uri.scheme_str() == Some("https")
        || parts
            .headers
            .get("x-forwarded-proto")
            .is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"https"));
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("a cookie of hex digits is a valid header")
}

/// To the sign-in page, coming back here afterwards (a page, not a form's post).
fn to_sign_in(parts: &Parts) -> Response {
    // Inside the nested console router the URI has lost its `/console` prefix.
    let here = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .and_then(|original| original.path_and_query())
        .map(|p| p.as_str())
        .filter(|_| parts.method == axum::http::Method::GET)
        .unwrap_or("/console");
    let back = url::form_urlencoded::byte_serialize(here.as_bytes()).collect::<String>();
    Redirect::to(&format!("/console/sign-in?next={back}")).into_response()
}

/// Only a page of the console itself is a place to go back to.
fn safe_next(next: Option<&str>) -> &str {
    next.filter(|n| {
        (*n == "/console" || n.starts_with("/console/") || n.starts_with("/console?"))
            && !n.contains("//")
            && !n.contains('\\')
            && n.bytes().all(|b| b.is_ascii_graphic())
    })
    .unwrap_or("/console")
}

#[derive(serde::Deserialize)]
pub struct Next {
    next: Option<String>,
}

pub async fn sign_in_page(
    parts: Parts,
    axum::extract::Query(next): axum::extract::Query<Next>,
) -> Response {
    let kept = cookie(&parts.headers, SIGN_IN_COOKIE).filter(|t| is_token(t));
    let token = kept.map_or_else(new_token, str::to_owned);
    let mut response = layout::sign_in(
        StatusCode::OK,
        &csrf_token(&token),
        safe_next(next.next.as_deref()),
        None,
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&parts, SIGN_IN_COOKIE, &token, 3600),
    );
    response
}

/// Exchanges a key for a session.
pub async fn sign_in(
    axum::extract::State(console): axum::extract::State<Console>,
    parts: Parts,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let next = safe_next(field(&fields, "next")).to_owned();
    let Some(form_token) = cookie(&parts.headers, SIGN_IN_COOKIE).filter(|t| is_token(t)) else {
        return csrf_refused();
    };
    let csrf = csrf_token(form_token);
    if !same(field(&fields, "csrf"), &csrf) {
        return csrf_refused();
    }
    let again = |status, message: &str| layout::sign_in(status, &csrf, &next, Some(message));
    let secret = field(&fields, "key").unwrap_or("").trim();
    if secret.is_empty() {
        return again(StatusCode::BAD_REQUEST, "Enter an API key.");
    }
    let key_hash = keys::hash(secret);
    let principal = match auth::principal(&console.state, key_hash).await {
        Ok(principal) => principal,
        Err(ApiError::Unauthorized(_)) => {
            return again(
                StatusCode::UNAUTHORIZED,
                "That key is unknown, revoked or expired.",
            );
        }
        Err(error) => return error.into_response(),
    };
    if !principal.scopes.contains(Scope::Read) {
        return again(
            StatusCode::FORBIDDEN,
            "The console needs a key with the read scope.",
        );
    }
    // Signing in is a read of the key's: it counts against the key's rate limit.
    if let Err(wait) = console.state.limiter.check(principal.key_id, Scope::Read) {
        return again(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "Too many requests with this key; try again in {} s.",
                wait.as_secs_f64().ceil().max(1.0)
            ),
        );
    }
    // A sign-in over an older session of this browser ends that one.
    if let Some(old) = cookie(&parts.headers, SESSION_COOKIE)
        && let Err(error) = console.state.store.end_session(&keys::hash(old)).await
    {
        return ApiError::from(error).into_response();
    }
    let token = new_token();
    let now = Utc::now();
    let session = ConsoleSession {
        token_hash: keys::hash(&token),
        tenant_id: principal.tenant,
        key_hash,
        created_at: now,
        expires_at: now + LIFETIME,
    };
    if let Err(error) = console.state.store.create_session(&session).await {
        return ApiError::from(error).into_response();
    }
    let mut response = Redirect::to(&next).into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(&parts, SESSION_COOKIE, &token, LIFETIME.num_seconds()),
    );
    headers.append(
        header::SET_COOKIE,
        set_cookie(&parts, SIGN_IN_COOKIE, "", 0),
    );
    response
}

pub async fn sign_out(
    axum::extract::State(console): axum::extract::State<Console>,
    parts: Parts,
    posted: Posted,
) -> Response {
    drop(posted);
    if let Some(token) = cookie(&parts.headers, SESSION_COOKIE)
        && let Err(error) = console.state.store.end_session(&keys::hash(token)).await
    {
        return ApiError::from(error).into_response();
    }
    let mut response = Redirect::to("/console/sign-in").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&parts, SESSION_COOKIE, "", 0),
    );
    response
}
