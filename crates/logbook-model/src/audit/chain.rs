//! Computing and checking the hash chain.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{AuditEvent, canonical};
use crate::hex;

/// The `prev_hash` of a tenant's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of `event` as it stands (its own `hash` field ignored).
pub fn hash_of(event: &AuditEvent) -> String {
    hash_with(event, canonical::to_string)
}

fn hash_with(event: &AuditEvent, canonical: fn(&Value) -> String) -> String {
    let mut hasher = Sha256::new();
    hasher.update(hex::decode(&event.prev_hash).unwrap_or_default());
    hasher.update(canonical(&hashed_fields(event)).as_bytes());
    hex::encode(&hasher.finalize())
}

/// Whether `event`'s stated hash is its content's: in RFC 8785's spelling, or, for an
/// event stored before that spelling was followed to the letter, in the spelling it was
/// hashed with then ([`canonical::legacy_to_string`]).
pub fn hash_holds(event: &AuditEvent) -> bool {
    hash_of(event) == event.hash || hash_with(event, canonical::legacy_to_string) == event.hash
}

/// Every stored field but `hash`, as JSON.
fn hashed_fields(e: &AuditEvent) -> Value {
    let time = crate::timestamp::canonical;
    json!({
        "id": e.id,
        "tenant_id": e.tenant_id,
        "seq": e.seq,
        "occurred_at": time(&e.occurred_at),
        "received_at": time(&e.received_at),
        "actor_id": e.actor_id,
        "actor_email": e.actor_email,
        "actor_role": e.actor_role,
        "action": e.action,
        "resource_type": e.resource_type,
        "resource_id": e.resource_id,
        "resource_name": e.resource_name,
        "description": e.description,
        "before": e.before,
        "after": e.after,
        "changes": e.changes,
        "outcome": e.outcome.as_str(),
        "failure_reason": e.failure_reason,
        "ip_address": e.ip_address.map(|ip| ip.to_string()),
        "user_agent": e.user_agent,
        "session_id": e.session_id,
        "request_id": e.request_id,
        "module": e.module,
        "severity": e.severity.as_str(),
        "data_classification": e.data_classification,
        "metadata": e.metadata,
        "prev_hash": e.prev_hash,
    })
}

/// Links `event` after the chain's head (`head_seq`, `head_hash`) and seals it.
pub fn link(event: &mut AuditEvent, head_seq: i64, head_hash: &str) {
    event.seq = head_seq + 1;
    event.prev_hash = head_hash.to_owned();
    event.hash = hash_of(event);
}

/// Why a chain does not verify, at the first event that fails.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Break {
    pub seq: i64,
    pub reason: String,
}

/// The outcome of checking a run of events.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Verification {
    pub ok: bool,
    pub checked: i64,
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    pub last_hash: Option<String>,
    pub first_bad: Option<Break>,
    /// The signed cut the run started after, when retention removed the chain before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cut: Option<super::checkpoint::Checkpoint>,
}

impl Default for Verification {
    /// Nothing checked yet, nothing found wrong.
    fn default() -> Self {
        Self {
            ok: true,
            checked: 0,
            first_seq: None,
            last_seq: None,
            last_hash: None,
            first_bad: None,
            cut: None,
        }
    }
}

impl Verification {
    /// Counts `event` as checked: the verified run now ends at it.
    pub fn accept(&mut self, event: &AuditEvent) {
        self.checked += 1;
        self.first_seq.get_or_insert(event.seq);
        self.last_seq = Some(event.seq);
        self.last_hash = Some(event.hash.clone());
    }

    /// The verification ends at its first failure, at `seq`.
    pub fn broken(mut self, seq: i64, reason: impl Into<String>) -> Self {
        self.ok = false;
        self.first_bad = Some(Break {
            seq,
            reason: reason.into(),
        });
        self
    }
}

/// Checks events read in `seq` order. `expected` is the (seq, hash) the run must follow:
/// (0, GENESIS) from the start of the chain, or the event before the run's first.
pub fn verify(events: &[AuditEvent], expected: (i64, &str)) -> Verification {
    let (mut seq, mut prev) = (expected.0, expected.1.to_owned());
    let mut result = Verification::default();
    for event in events {
        let bad = if event.seq <= seq {
            Some((
                event.seq,
                format!(
                    "seq {} after {seq}: events are duplicated or out of order",
                    event.seq
                ),
            ))
        } else if event.seq != seq + 1 {
            let missing = event.seq.saturating_sub(seq).saturating_sub(1);
            Some((
                seq + 1,
                format!(
                    "gap: seq {} follows {seq}, so {missing} event(s) are missing",
                    event.seq
                ),
            ))
        } else if event.prev_hash != prev {
            Some((event.seq, "prev_hash is not the previous event's hash: an event was removed, inserted or reordered".into()))
        } else if !hash_holds(event) {
            Some((
                event.seq,
                "hash does not match the event's content: the event was altered".into(),
            ))
        } else {
            None
        };
        if let Some((seq, reason)) = bad {
            return result.broken(seq, reason);
        }
        result.accept(event);
        seq = event.seq;
        prev = event.hash.clone();
    }
    result
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{TenantId, audit::AuditParser};

    fn chain(n: usize) -> Vec<AuditEvent> {
        let parser = AuditParser::default();
        let tenant = TenantId::new();
        let (mut seq, mut head) = (0, GENESIS.to_owned());
        (0..n)
            .map(|i| {
                let raw = json!({"action": "update", "resource_type": "doc", "resource_id": i.to_string()}).to_string();
                let mut e = parser.parse_json(tenant, &raw, chrono::Utc::now()).unwrap();
                link(&mut e, seq, &head);
                (seq, head) = (e.seq, e.hash.clone());
                e
            })
            .collect()
    }

    fn first_bad(events: &[AuditEvent]) -> Option<(i64, String)> {
        verify(events, (0, GENESIS))
            .first_bad
            .map(|b| (b.seq, b.reason))
    }

    #[test]
    fn an_intact_chain_verifies() {
        let events = chain(5);
        let result = verify(&events, (0, GENESIS));
        assert!(
            result.ok && result.checked == 5 && result.last_seq == Some(5),
            "{result:?}"
        );
        assert_eq!(
            verify(&events[2..], (2, &events[1].hash)).checked,
            3,
            "a range verifies from its predecessor"
        );
    }

    #[test]
    fn each_kind_of_tampering_is_named_at_its_first_event() {
        let events = chain(5);
        let mut altered = events.clone();
        altered[2].description = Some("nothing happened".into());
        assert_eq!(first_bad(&altered).map(|b| b.0), Some(3));
        assert!(first_bad(&altered).unwrap().1.contains("altered"));

        let mut removed = events.clone();
        removed.drain(2..4);
        assert_eq!(
            first_bad(&removed),
            Some((3, "gap: seq 5 follows 2, so 2 event(s) are missing".into()))
        );

        let mut swapped = events.clone();
        let (a, b) = (swapped[1].seq, swapped[3].seq);
        swapped[1].seq = b;
        swapped[3].seq = a;
        swapped.sort_by_key(|e| e.seq);
        assert_eq!(first_bad(&swapped).map(|b| b.0), Some(2));

        let mut forged = events.clone();
        let mut fake = forged[2].clone();
        fake.description = Some("forged".into());
        fake.hash = hash_of(&fake);
        forged.insert(3, fake);
        assert_eq!(
            first_bad(&forged).map(|b| b.0),
            Some(3),
            "{:?}",
            first_bad(&forged)
        );
        assert!(first_bad(&forged).unwrap().1.contains("duplicated"));
    }

    #[test]
    fn events_hashed_with_the_old_number_spelling_still_verify() {
        let mut events = chain(2);
        // Stored before RFC 8785's tie rule was followed: hashed with the old spelling.
        events[0].after = Some(json!({"price": -1222959661288647.2}));
        events[0].hash = hash_with(&events[0], canonical::legacy_to_string);
        assert_ne!(
            events[0].hash,
            hash_of(&events[0]),
            "the two spellings differ here"
        );
        events[1].prev_hash = events[0].hash.clone();
        events[1].hash = hash_of(&events[1]);
        assert!(verify(&events, (0, GENESIS)).ok);
        events[0].after = Some(json!({"price": -1222959661288647.0}));
        assert_eq!(
            first_bad(&events).map(|b| b.0),
            Some(1),
            "an edit is still caught"
        );
    }
}
