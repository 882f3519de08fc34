//! The access audit (seed 002: who read the logs). Every read and admin call leaves a
//! LOG_ACCESS event in the caller's tenant — key id, route, filters, rows returned,
//! time — queryable like any other event (`/api/v1/logs?event_type=LOG_ACCESS`).
//!
//! The record goes through the ingest queue and is committed before the answer leaves,
//! so a read that was answered was recorded. If it cannot be stored (the queue is
//! full, storage is failing) a warning is logged and the read is still answered:
//! investigating an incident must not depend on the ingest queue having room.

use axum::{
    extract::{FromRequestParts, Query},
    http::request::Parts,
};
use chrono::Utc;
use logbook_model::{Event, EventType};
use logbook_store::WriteItem;
use serde_json::{Map, Value, json};

use crate::{ApiError, AppState, auth::Principal};

pub const EVENT_TYPE: &str = "LOG_ACCESS";
/// The action of the audit events that record reads of the audit trail.
pub const CHAIN_READ: &str = "audit_trail_read";

/// What was asked: method, path, route and query parameters.
pub struct Access {
    method: String,
    path: String,
    route: String,
    params: Vec<(String, String)>,
}

impl FromRequestParts<AppState> for Access {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        let params = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|q| q.0)
            .unwrap_or_default();
        let route = parts
            .extensions
            .get::<axum::extract::MatchedPath>()
            .map_or_else(|| parts.uri.path().to_owned(), |m| m.as_str().to_owned());
        // Inside the nested /api/v1 router the URI has lost its prefix; the original has it.
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or_else(
                || parts.uri.path().to_owned(),
                |original| original.path().to_owned(),
            );
        Ok(Self {
            method: parts.method.to_string(),
            path,
            route,
            params,
        })
    }
}

impl Access {
    /// Records a read of the audit trail in the trail itself (seed 002: an immutable
    /// record of every access), then as a LOG_ACCESS event like any other read.
    pub async fn record_in_chain(self, state: &AppState, principal: &Principal, rows: usize) {
        let event = json!({
            "action": CHAIN_READ,
            "resource_type": "audit_trail",
            "actor_id": format!("key:{}", principal.key_id),
            "description": format!("{} {}", self.method, self.route),
            "metadata": {
                "path": self.path,
                "filters": self.params.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<Map<String, Value>>(),
                "rows": rows,
            },
        });
        match state
            .audit_parser
            .parse_json(principal.tenant, &event.to_string(), Utc::now())
        {
            Ok(read) => {
                if let Err(error) = state.store.append_audit(principal.tenant, vec![read]).await {
                    tracing::warn!(%error, "a read of the audit trail was not recorded in it");
                }
            }
            Err(error) => {
                tracing::warn!(%error, "a read of the audit trail could not be described")
            }
        }
        self.record(state, principal, rows).await;
    }

    /// Records that `principal` was answered with `rows` rows.
    pub async fn record(self, state: &AppState, principal: &Principal, rows: usize) {
        let Ok(event_type) = EventType::parse(EVENT_TYPE) else {
            return;
        };
        let mut event = Event::new(
            principal.tenant,
            event_type,
            logbook_model::parse::truncate_to_micros(Utc::now()),
        );
        event.http_method = Some(self.method);
        event.request_path = Some(
            self.path
                .chars()
                .take(logbook_model::Limits::REQUEST_PATH)
                .collect(),
        );
        let filters: Map<String, Value> = self
            .params
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        event.request_params = (!filters.is_empty()).then_some(Value::Object(filters));
        event.response_status_code = Some(200);
        event.service = Some("logbook".into());
        event.metadata =
            Some(json!({"key_id": principal.key_id, "route": self.route, "rows": rows}));
        let item = WriteItem {
            tenant: principal.tenant,
            events: vec![event],
            idempotency: None,
        };
        if let Err(error) = state.ingestor.submit(item).await {
            tracing::warn!(%error, "an access record was not stored");
        }
    }
}
