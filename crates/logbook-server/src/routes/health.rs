//! `/health` (the process is up) and `/ready` (storage answers and the ingest writers
//! run), for load balancers.

use axum::{Json, Router, extract::State, routing::get};
use serde_json::{Value, json};

use crate::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    if !state.ingestor.is_writing() {
        return Err(ApiError::Unavailable);
    }
    state.store.ping().await?;
    Ok(Json(
        json!({"status": "ready", "storage": state.store.backend()}),
    ))
}
