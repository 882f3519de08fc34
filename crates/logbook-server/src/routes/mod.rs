//! The HTTP API: one module per resource, each owning its routes.

mod access_log;
mod activity;
mod alerts;
pub(crate) mod anomalies;
mod audit;
mod dashboards;
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
pub(crate) mod tail;
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
        .merge(dashboards::router())
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

/// A stored resource with the fields a PATCH body names replaced: absent fields stay;
/// the `fixed` ones may not be changed. The result is read as the resource again, so
/// every rule of its shape applies.
pub(crate) fn patched<T: serde::Serialize + serde::de::DeserializeOwned>(
    before: &T,
    body: &crate::request_body::RequestBody,
    fixed: &[&str],
) -> Result<T, crate::ApiError> {
    use crate::ApiError;
    let serde_json::Value::Object(change) = body.json::<serde_json::Value>()? else {
        return Err(ApiError::BadRequest(
            "the body must be a JSON object of the fields to change".into(),
        ));
    };
    let mut merged = serde_json::to_value(before).map_err(|_| ApiError::Internal)?;
    for (field, value) in change {
        if fixed.contains(&field.as_str()) {
            return Err(ApiError::BadRequest(format!("{field} cannot be changed")));
        }
        merged[field] = value;
    }
    serde_json::from_value(merged)
        .map_err(|e| ApiError::BadRequest(format!("the body is not the JSON expected: {e}")))
}
