//! The web console: server-rendered pages over the HTTP API.
//!
//! A signed-in person holds a session made from an API key ([`session`]). Each page asks
//! the API for what it shows, in process, as that key ([`api`]): the API's own extractors
//! check the key's tenant, scopes and rate limit, and its access log records the read,
//! so the console can show nothing the key could not fetch with curl. Pages are HTML
//! drawn with maud, charts inline SVG ([`charts`]); JavaScript only turns times into the
//! viewer's zone, follows the live tail and refreshes the overview.

mod api;
mod charts;
mod layout;
mod pages;
mod session;
mod widgets;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderValue, header},
    response::Redirect,
    routing::get,
};

use crate::AppState;

/// What every console handler is given: the server's state and the API router it asks.
#[derive(Clone)]
pub struct Console {
    state: AppState,
    api: Router,
}

/// Forms are small: a rule, a key's name, a filter.
const FORM_LIMIT: usize = 64 * 1024;

/// The console's pages under `/console/`, and `/` sending a browser there.
pub fn router(state: AppState, api: Router) -> Router {
    let console = Console { state, api };
    Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .route("/console/", get(|| async { Redirect::to("/console") }))
        .nest("/console", pages::router())
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
        .layer(axum::middleware::map_response(protect))
        .with_state(console)
}

/// Headers every console answer carries: no script or style but the console's own files,
/// no framing, no sniffing, no referrer leaving the site, and pages never cached.
async fn protect(mut response: axum::response::Response) -> axum::response::Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
