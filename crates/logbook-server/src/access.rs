//! The access audit (seed 002: who read the logs). Every read and admin call leaves an
//! access record — key, method, route, path, the filters as parsed, rows answered,
//! status, time, client address — in `access_log`, apart from the tenant's events, listed
//! at `GET /api/v1/access`. Reads of the audit trail are also appended to the trail itself.
//!
//! The record goes through the ingest queue and is committed before the answer leaves.
//! An audit product must not serve unrecorded reads: when the record cannot be stored,
//! the read is refused (503).

use std::net::{IpAddr, SocketAddr};

use axum::{extract::FromRequestParts, http::request::Parts};
use chrono::Utc;
use logbook_model::{access::AccessRecord, audit::AuditEvent};
use logbook_store::WriteItem;
use serde_json::{Value, json};

use crate::{ApiError, AppState, auth::Principal};

/// The action of the audit events that record reads of the audit trail.
pub const CHAIN_READ: &str = "audit_trail_read";

/// The peer a connection came from; the accept loop puts it on each request.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);

/// What was asked: method, path, route and the caller's address.
#[derive(Clone)]
pub struct Access {
    method: String,
    path: String,
    route: String,
    client_ip: Option<IpAddr>,
}

/// What an answer said, for its record.
pub struct Answer {
    pub rows: usize,
    /// The parameters as parsed and bounded ([`crate::params::Params::finish`]).
    pub filters: Option<Value>,
    pub status: u16,
    /// `answered`; for exports `started`, `completed` or `aborted`.
    pub outcome: &'static str,
}

impl Answer {
    /// A 200 with `rows` rows.
    pub fn rows(rows: usize, filters: Option<Value>) -> Self {
        Self {
            rows,
            filters,
            status: 200,
            outcome: "answered",
        }
    }
}

impl FromRequestParts<AppState> for Access {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
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
            path: cut(&path, AccessRecord::PATH_LIMIT),
            route: cut(&route, AccessRecord::ROUTE_LIMIT),
            client_ip: parts
                .extensions
                .get::<ClientAddr>()
                .map(|addr| addr.0.ip().to_canonical()),
        })
    }
}

fn cut(text: &str, limit: usize) -> String {
    text.chars().take(limit).collect()
}

impl Access {
    fn record_of(&self, principal: &Principal, answer: &Answer) -> AccessRecord {
        let at = logbook_model::timestamp::truncate_to_micros(Utc::now());
        AccessRecord {
            id: logbook_model::event::id_for(at),
            tenant_id: principal.tenant,
            at,
            key_id: principal.key_id,
            method: self.method.clone(),
            route: self.route.clone(),
            path: self.path.clone(),
            filters: answer.filters.clone(),
            rows: Some(answer.rows as i64),
            status: answer.status as i16,
            outcome: answer.outcome.to_owned(),
            client_ip: self.client_ip,
        }
    }

    /// Records that `principal` was given `answer`; the read fails if it cannot be.
    pub async fn record(
        &self,
        state: &AppState,
        principal: &Principal,
        answer: Answer,
    ) -> Result<(), ApiError> {
        self.store(state, principal, &answer, Vec::new()).await
    }

    /// Records a read of the audit trail in the trail itself (seed 002: an immutable
    /// record of every access) as well as in the access records.
    pub async fn record_in_chain(
        &self,
        state: &AppState,
        principal: &Principal,
        answer: Answer,
    ) -> Result<(), ApiError> {
        let event = json!({
            "action": CHAIN_READ,
            "resource_type": "audit_trail",
            "resource_id": self.route,
            "actor_id": format!("key:{}", principal.key_id),
            "description": format!("{} {}", self.method, self.route),
            "metadata": {
                "path": self.path,
                "filters": answer.filters,
                "rows": answer.rows,
                "outcome": answer.outcome,
            },
        });
        let read = state
            .audit_parser
            .parse_value(principal.tenant, event, Utc::now())
            .map_err(|error| {
                tracing::error!(%error, "a read of the audit trail could not be described");
                ApiError::Internal
            })?;
        self.store(state, principal, &answer, vec![read]).await
    }

    /// Records an administrative change in the tenant's audit trail, beside the call's
    /// access record: `changed` is the tenant whose trail it joins.
    pub async fn record_change(
        &self,
        state: &AppState,
        principal: &Principal,
        changed: logbook_model::TenantId,
        change: Value,
    ) -> Result<(), ApiError> {
        let mut change = change;
        change["actor_id"] = json!(format!("key:{}", principal.key_id));
        if let Some(ip) = self.client_ip {
            change["ip_address"] = json!(ip.to_string());
        }
        let event = state
            .audit_parser
            .parse_value(changed, change, Utc::now())
            .map_err(|error| {
                tracing::error!(%error, "an administrative change could not be described");
                ApiError::Internal
            })?;
        let answer = Answer::rows(1, None);
        if changed == principal.tenant {
            return self.store(state, principal, &answer, vec![event]).await;
        }
        submit(state, WriteItem::audit(changed, vec![event])).await?;
        self.store(state, principal, &answer, Vec::new()).await
    }

    async fn store(
        &self,
        state: &AppState,
        principal: &Principal,
        answer: &Answer,
        audit: Vec<AuditEvent>,
    ) -> Result<(), ApiError> {
        let mut item = WriteItem::access(principal.tenant, vec![self.record_of(principal, answer)]);
        item.audit = audit;
        submit(state, item).await
    }
}

async fn submit(state: &AppState, item: WriteItem) -> Result<(), ApiError> {
    state
        .ingestor
        .submit(item)
        .await
        .map(drop)
        .map_err(|error| {
            tracing::warn!(%error, "an access record was not stored: the read is refused");
            ApiError::from(error)
        })
}
