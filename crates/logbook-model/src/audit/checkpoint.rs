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
    /// Written as [`crate::timestamp::canonical`] text, as it is signed.
    #[serde(with = "crate::timestamp::micros")]
    pub time: DateTime<Utc>,
    /// Hex of the Ed25519 public key that signed.
    pub key_id: String,
    /// Hex of the Ed25519 signature over [`Checkpoint::signed_text`].
    pub signature: String,
    /// A cut: retention removed the chain up to and including `seq`, which now starts
    /// after `hash`. Signed as such, so a checkpoint is never mistaken for one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cut: bool,
}

impl Checkpoint {
    /// What is signed: RFC 8785 JSON of tenant, seq, hash, count and time, and of
    /// `"cut": true` for a cut (a checkpoint's text is as it always was).
    pub fn signed_text(&self) -> String {
        let mut signed = json!({
            "tenant_id": self.tenant_id,
            "seq": self.seq,
            "hash": self.hash,
            "count": self.count,
            "time": crate::timestamp::canonical(&self.time),
        });
        if self.cut {
            signed["cut"] = json!(true);
        }
        canonical::to_string(&signed)
    }
}

/// A public key trusted to sign checkpoints: every server's signing key is added when it
/// starts, so checkpoints signed by any server of a cluster verify on every other. A
/// retired key still vouches for what it signed before it was retired, never after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedKey {
    /// Hex of the Ed25519 public key; checkpoints name their signer by it.
    pub key_id: String,
    #[serde(with = "crate::timestamp::micros")]
    pub added_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<DateTime<Utc>>,
}

/// The keys whose checkpoints are believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keyring(pub Vec<TrustedKey>);

impl Keyring {
    /// A ring of keys given by their hex (from an auditor's own copy), never retired.
    pub fn of_public_keys<'a>(keys: impl IntoIterator<Item = &'a str>) -> Self {
        Self(
            keys.into_iter()
                .map(|key| TrustedKey {
                    key_id: key.trim().to_ascii_lowercase(),
                    added_at: DateTime::UNIX_EPOCH,
                    retired_at: None,
                })
                .collect(),
        )
    }

    /// Whether a trusted key, not retired when it signed, signed `checkpoint`.
    pub fn vouches_for(&self, checkpoint: &Checkpoint) -> bool {
        self.0.iter().any(|key| {
            key.key_id == checkpoint.key_id
                && key.retired_at.is_none_or(|at| checkpoint.time <= at)
                && signature_holds(checkpoint, &key.key_id)
        })
    }
}

/// Whether `checkpoint`'s signature is the Ed25519 signature of its signed text under
/// the public key `public` (hex).
pub fn signature_holds(checkpoint: &Checkpoint, public: &str) -> bool {
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};
    let Some(key) = crate::hex::decode_key(public).and_then(|k| VerifyingKey::from_bytes(&k).ok())
    else {
        return false;
    };
    let Some(signature) = crate::hex::decode(&checkpoint.signature)
        .and_then(|s| Signature::try_from(s.as_slice()).ok())
    else {
        return false;
    };
    key.verify(checkpoint.signed_text().as_bytes(), &signature)
        .is_ok()
}
