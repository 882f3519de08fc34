//! The HTTP API: one module per resource, each owning its routes.

mod access_log;
mod activity;
mod alerts;
pub(crate) mod anomalies;
mod audit;
mod endpoints;
mod errors;
mod events;
pub(crate) use events::event_query;
mod export;
mod failed_auth;
mod health;
pub mod ingest_events;
mod integrations;
mod keys;
mod monitors;
mod retention;
mod seed004;
mod storage;
mod summaries;
mod tail;
mod tenants;

use axum::{
    Router,
    http::{Method, Uri},
};

use crate::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    let api = Router::new()
        .merge(ingest_events::router())
        .merge(audit::router())
        .merge(alerts::router())
        .merge(monitors::router())
        .merge(activity::router())
        .merge(export::router())
        .merge(seed004::router())
        .merge(tail::router())
        .merge(events::router())
        .merge(summaries::router())
        .merge(endpoints::router())
        .merge(errors::router())
        .merge(anomalies::router())
        .merge(integrations::router())
        .merge(failed_auth::router())
        .merge(keys::router())
        .merge(retention::router())
        .merge(storage::router())
        .merge(tenants::router())
        .merge(access_log::router())
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .merge(health::router())
        .merge(crate::otlp::router())
        .merge(crate::sentry::router())
        .method_not_allowed_fallback(method_not_allowed)
        .nest("/api/v1", api)
        .fallback(
            |uri: Uri| async move { ApiError::NotFound(format!("no route for {}", uri.path())) },
        )
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}
