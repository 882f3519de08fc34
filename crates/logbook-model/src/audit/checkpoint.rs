//! Signed checkpoints: a statement "the tenant's chain had this hash at this seq", signed
//! with a key kept outside the database. Rewriting the chain, or cutting its newest
//! events, then contradicts a signature the attacker cannot forge.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::canonical;
use crate::TenantId;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub tenant_id: TenantId,
    pub seq: i64,
    pub hash: String,
    /// Events in the chain up to `seq`.
    pub count: i64,
    pub time: DateTime<Utc>,
    /// Hex of the Ed25519 public key that signed.
    pub key_id: String,
    /// Hex of the Ed25519 signature over [`Checkpoint::signed_text`].
    pub signature: String,
}

impl Checkpoint {
    /// What is signed: RFC 8785 JSON of tenant, seq, hash, count and time.
    pub fn signed_text(&self) -> String {
        canonical::to_string(&json!({
            "tenant_id": self.tenant_id,
            "seq": self.seq,
            "hash": self.hash,
            "count": self.count,
            "time": self.time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        }))
    }
}
