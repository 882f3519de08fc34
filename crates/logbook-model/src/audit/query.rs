//! Searching the audit trail (seed 001's audit queries, seed 004's audit API).

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Conditions on audit events; every one given must hold. Newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub actor_id: Option<String>,
    /// Any of these actions (empty: any action).
    pub actions: Vec<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
    pub skip: u64,
    pub limit: u32,
    /// Leaves out the trail's records of its own reads (`audit_trail_read`).
    pub hide_reads: bool,
}

/// What one actor did (seed 001: per-user activity in the audit trail).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ActorSummary {
    pub actor_id: String,
    pub total: i64,
    pub active_days: i64,
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    pub failures: i64,
}
