use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{Severity, TenantId};

/// One audit event as stored, chain fields included.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: Uuid,
    pub tenant_id: TenantId,
    /// Position in the tenant's chain: 1, 2, 3… with no gaps.
    pub seq: i64,
    /// Written as [`crate::timestamp::canonical`] text, as it is hashed.
    #[serde(with = "crate::timestamp::micros")]
    pub occurred_at: DateTime<Utc>,
    #[serde(with = "crate::timestamp::micros")]
    pub received_at: DateTime<Utc>,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    pub actor_role: Option<String>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub resource_name: Option<String>,
    pub description: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub changes: Option<Value>,
    pub outcome: Outcome,
    pub failure_reason: Option<String>,
    pub ip_address: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub session_id: Option<String>,
    pub request_id: Option<String>,
    pub module: Option<String>,
    pub severity: Severity,
    pub data_classification: Option<String>,
    pub metadata: Option<Value>,
    /// Hex of the previous event's hash (64 zeros for the first).
    pub prev_hash: String,
    /// Hex of this event's hash.
    pub hash: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    #[default]
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

impl std::str::FromStr for Outcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "success" => Ok(Self::Success),
            "failure" => Ok(Self::Failure),
            other => Err(format!("must be success or failure, got {other:?}")),
        }
    }
}
