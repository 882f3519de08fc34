//! The console's pages, one module per section.

mod admin;
mod alerts;
mod audit;
mod dashboards;
mod errors;
mod events;
mod overview;
mod performance;

use axum::{
    Router,
    http::header,
    response::IntoResponse,
    routing::{get, post},
};

use super::{Console, session};

pub fn router() -> Router<Console> {
    Router::new()
        .route(
            "/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/sign-out", post(session::sign_out))
        .route("/assets/console.css", get(stylesheet))
        .route("/assets/console.js", get(script))
        .route("/assets/icon.svg", get(icon))
        .route("/", get(overview::page))
        .merge(events::router())
        .merge(audit::router())
        .merge(errors::router())
        .merge(performance::router())
        .merge(alerts::router())
        .merge(admin::router())
        .merge(dashboards::router())
        .fallback(not_found)
}

/// A console page that does not exist, as a page (with the console's headers), not the
/// API's JSON.
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    super::layout::refusal(
        axum::http::StatusCode::NOT_FOUND,
        &format!("There is no console page {}.", uri.path()),
    )
}

async fn stylesheet() -> impl IntoResponse {
    asset("text/css", include_str!("../assets/console.css"))
}

async fn script() -> impl IntoResponse {
    asset("text/javascript", include_str!("../assets/console.js"))
}

async fn icon() -> impl IntoResponse {
    asset("image/svg+xml", include_str!("../assets/icon.svg"))
}

/// The console's own files change only with the binary; an hour's cache is safe.
fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}

/// A path's id, when it is a UUID: anything else would name another API route.
pub(super) fn uuid_of(text: &str) -> Option<uuid::Uuid> {
    uuid::Uuid::parse_str(text).ok()
}

/// The name–value pairs of a query string, decoded, in order.
pub(super) fn pairs_of(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

/// A path's id as the API is asked for it: a UUID, else the nil one, which names nothing.
pub(super) fn id_segment(text: &str) -> String {
    uuid_of(text).unwrap_or_default().to_string()
}

/// Whether `name` is one of `/logs`'s filters.
pub(super) fn is_event_filter(name: &str) -> bool {
    events::FILTERS.iter().any(|(filter, _, _)| *filter == name)
}

/// A query string of the pairs with a value, in order: empty form fields are left out,
/// as the API takes an empty filter for a wrong one.
pub(super) fn query_of<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (name, value) in pairs {
        if !value.trim().is_empty() {
            query.append_pair(name, value.trim());
            any = true;
        }
    }
    if any {
        format!("?{}", query.finish())
    } else {
        String::new()
    }
}
