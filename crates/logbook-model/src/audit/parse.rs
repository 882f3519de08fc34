//! JSON → [`AuditEvent`] (without its chain fields, which the store sets). Seed names are
//! accepted beside ours: `user_id`/`user_email`/`user_role` for the actor (seeds 001 and
//! 004), `action_type` (seed 001), `before_data`/`after_data` (seed 001), `created_at`
//! and `time` for `occurred_at`.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use super::{AuditEvent, Outcome, chain::GENESIS, diff};
use crate::{
    Limits, ParseError, Redactor, Severity, TenantId,
    parse::{Entries, truncate_to_micros},
};

#[derive(Clone, Debug, Default)]
pub struct AuditParser {
    redactor: Redactor,
}

/// (canonical name, aliases, text limit); limit 0 for non-text fields.
const FIELDS: &[(&str, &[&str], usize)] = &[
    ("actor_id", &["user_id", "actorId", "userId"], 255),
    (
        "actor_email",
        &["user_email", "actorEmail", "userEmail"],
        255,
    ),
    ("actor_role", &["user_role", "actorRole", "userRole"], 50),
    ("action", &["action_type", "actionType"], 100),
    ("resource_type", &["resourceType"], 100),
    ("resource_id", &["resourceId"], 255),
    ("resource_name", &["resourceName"], 255),
    ("description", &[], 32 * 1024),
    ("failure_reason", &["failureReason"], 4096),
    ("user_agent", &["userAgent"], 1024),
    ("session_id", &["sessionId"], 128),
    ("request_id", &["requestId"], 128),
    ("module", &[], 100),
    ("data_classification", &["dataClassification"], 50),
    (
        "occurred_at",
        &["created_at", "time", "timestamp", "occurredAt", "createdAt"],
        0,
    ),
    ("ip_address", &["ipAddress"], 0),
    ("outcome", &[], 0),
    ("severity", &[], 0),
    ("before", &["before_data", "beforeData"], 0),
    ("after", &["after_data", "afterData"], 0),
    ("changes", &[], 0),
    ("metadata", &[], 0),
];

/// The largest integer an RFC 8785 verifier can hash exactly: numbers there are IEEE
/// doubles, so 2^53 + 1 would be hashed as 2^53 (I-JSON's safe range, RFC 7493).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

impl AuditParser {
    pub fn new(redactor: Redactor) -> Self {
        Self { redactor }
    }

    pub fn parse_json(
        &self,
        tenant: TenantId,
        raw: &str,
        now: DateTime<Utc>,
    ) -> Result<AuditEvent, ParseError> {
        ParseError::check_size(raw)?;
        // Every key kept, so a key given twice is named, not resolved to its last value.
        let entries: Entries = serde_json::from_str(raw).map_err(|e| {
            ParseError::whole(if e.is_data() {
                "each audit event must be a JSON object".to_owned()
            } else {
                format!("invalid JSON: {e}")
            })
        })?;
        self.parse_entries(tenant, entries.0, now)
    }

    /// Parses an event Logbook itself describes (a read of the trail, a key made).
    pub fn parse_value(
        &self,
        tenant: TenantId,
        value: Value,
        now: DateTime<Utc>,
    ) -> Result<AuditEvent, ParseError> {
        let Value::Object(map) = value else {
            return Err(ParseError::whole("each audit event must be a JSON object"));
        };
        self.parse_entries(tenant, map.into_iter().collect(), now)
    }

    fn parse_entries(
        &self,
        tenant: TenantId,
        entries: Vec<(String, Value)>,
        now: DateTime<Utc>,
    ) -> Result<AuditEvent, ParseError> {
        let now = truncate_to_micros(now);
        let mut e = AuditEvent {
            // The id carries the time the event reached us, the chain's own order.
            id: crate::event::id_for(now),
            tenant_id: tenant,
            seq: 0,
            occurred_at: now,
            received_at: now,
            actor_id: None,
            actor_email: None,
            actor_role: None,
            action: String::new(),
            resource_type: String::new(),
            resource_id: None,
            resource_name: None,
            description: None,
            before: None,
            after: None,
            changes: None,
            outcome: Outcome::Success,
            failure_reason: None,
            ip_address: None,
            user_agent: None,
            session_id: None,
            request_id: None,
            module: None,
            severity: Severity::Info,
            data_classification: None,
            metadata: None,
            prev_hash: GENESIS.to_owned(),
            hash: String::new(),
        };
        let mut seen: Vec<(&str, String)> = Vec::new();
        let mut truncated: Vec<&'static str> = Vec::new();
        for (key, value) in entries {
            let Some(&(name, _, limit)) = FIELDS
                .iter()
                .find(|(n, aliases, _)| *n == key || aliases.contains(&key.as_str()))
            else {
                let reason = match key.as_str() {
                    "tenant_id" | "id" | "seq" | "hash" | "prev_hash" | "received_at" => {
                        "is set by the server and may not be sent"
                    }
                    _ => "is not an audit event field (put extra data under metadata)",
                };
                return Err(ParseError {
                    field: Some(key),
                    reason: reason.into(),
                });
            };
            if let Some((_, earlier)) = seen.iter().find(|(n, _)| *n == name) {
                let reason = if *earlier == key {
                    "given twice".to_owned()
                } else {
                    format!("given twice (also as {earlier:?})")
                };
                return Err(ParseError {
                    field: Some(key),
                    reason,
                });
            }
            seen.push((name, key.clone()));
            if value.is_null() {
                continue;
            }
            let fail = |reason: String| ParseError {
                field: Some(key.clone()),
                reason,
            };
            if limit > 0 {
                let Value::String(mut text) = value else {
                    return Err(fail("must be a string".into()));
                };
                if text.contains('\0') {
                    return Err(fail(NUL.into()));
                }
                if let Some((cut_at, _)) = text.char_indices().nth(limit) {
                    text.truncate(cut_at);
                    truncated.push(name);
                }
                let slot = match name {
                    "actor_id" => &mut e.actor_id,
                    "actor_email" => &mut e.actor_email,
                    "actor_role" => &mut e.actor_role,
                    "resource_id" => &mut e.resource_id,
                    "resource_name" => &mut e.resource_name,
                    "description" => &mut e.description,
                    "failure_reason" => &mut e.failure_reason,
                    "user_agent" => &mut e.user_agent,
                    "session_id" => &mut e.session_id,
                    "request_id" => &mut e.request_id,
                    "module" => &mut e.module,
                    "data_classification" => &mut e.data_classification,
                    "action" => {
                        e.action = text;
                        continue;
                    }
                    "resource_type" => {
                        e.resource_type = text;
                        continue;
                    }
                    other => unreachable!("{other} is not a text field"),
                };
                *slot = Some(text).filter(|t| !t.is_empty());
                continue;
            }
            match name {
                "occurred_at" => {
                    let text = value
                        .as_str()
                        .ok_or_else(|| fail("must be an RFC 3339 time".into()))?;
                    let at = DateTime::parse_from_rfc3339(text)
                        .map_err(|_| {
                            fail(format!(
                                "{text:?} is not an RFC 3339 time such as 2026-01-27T10:00:00Z"
                            ))
                        })?
                        .with_timezone(&Utc);
                    if at > now + Duration::seconds(Limits::FUTURE_SKEW_SECS) {
                        return Err(fail("is more than 5 minutes in the future".into()));
                    }
                    e.occurred_at = truncate_to_micros(at);
                }
                "ip_address" => {
                    let text = value
                        .as_str()
                        .ok_or_else(|| fail("must be a string".into()))?;
                    let ip: IpAddr = text
                        .trim()
                        .parse()
                        .map_err(|_| fail(format!("{text:?} is not an IPv4 or IPv6 address")))?;
                    e.ip_address = Some(ip.to_canonical());
                }
                "outcome" => {
                    e.outcome = value.as_str().unwrap_or_default().parse().map_err(fail)?
                }
                "severity" => {
                    e.severity = value.as_str().unwrap_or_default().parse().map_err(fail)?
                }
                _ => {
                    if matches!(name, "changes" | "metadata") && !value.is_object() {
                        return Err(fail("must be a JSON object".into()));
                    }
                    check_hashable(&value, &key)?;
                    let mut value = value;
                    self.redactor.redact(&mut value);
                    match name {
                        "before" => e.before = Some(value),
                        "after" => e.after = Some(value),
                        "changes" => e.changes = Some(value),
                        _ => e.metadata = Some(value),
                    }
                }
            }
        }
        for required in ["action", "resource_type"] {
            let missing = match required {
                "action" => e.action.is_empty(),
                _ => e.resource_type.is_empty(),
            };
            if missing {
                return Err(ParseError {
                    field: Some(required.into()),
                    reason: "is required".into(),
                });
            }
        }
        if e.resource_id.is_none() {
            return Err(ParseError {
                field: Some("resource_id".into()),
                reason: "is required: the id of the resource acted on".into(),
            });
        }
        take_before_after_from_changes(&mut e);
        if e.changes.is_none() && (e.before.is_some() || e.after.is_some()) {
            let null = Value::Null;
            e.changes = Some(diff::changes(
                e.before.as_ref().unwrap_or(&null),
                e.after.as_ref().unwrap_or(&null),
            ));
        }
        if !truncated.is_empty() {
            truncated.sort_unstable();
            let metadata = e.metadata.get_or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(map) = metadata {
                map.insert("_truncated".into(), Value::from(truncated));
            }
        }
        Ok(e)
    }
}

/// Turns integers beyond I-JSON's safe range back into the doubles they were: audit
/// events accept no such integer, so one read back from a store that keeps numbers as
/// decimals (PostgreSQL's jsonb prints 3.0973645163238284e16 as 30973645163238284) was
/// a double, and must be written as one for an RFC 8785 verifier to read it.
pub fn restore_doubles(value: &mut Value) {
    match value {
        Value::Number(n) => {
            let beyond = n.as_i64().map_or_else(
                || n.as_u64().is_some_and(|u| u > MAX_SAFE_INTEGER),
                |i| i.unsigned_abs() > MAX_SAFE_INTEGER,
            );
            if beyond && let Some(double) = n.as_f64().and_then(serde_json::Number::from_f64) {
                *n = double;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(restore_doubles),
        Value::Object(map) => map.values_mut().for_each(restore_doubles),
        _ => {}
    }
}

/// Seed 004 sends `changes: {"before": …, "after": …}`; that is before and after, and
/// the field-level changes are computed from them as for any other event.
fn take_before_after_from_changes(e: &mut AuditEvent) {
    if e.before.is_some() || e.after.is_some() {
        return;
    }
    let Some(Value::Object(changes)) = &e.changes else {
        return;
    };
    let only_before_after =
        !changes.is_empty() && changes.keys().all(|k| k == "before" || k == "after");
    if !only_before_after {
        return;
    }
    let Some(Value::Object(mut changes)) = e.changes.take() else {
        return;
    };
    e.before = changes.remove("before").filter(|v| !v.is_null());
    e.after = changes.remove("after").filter(|v| !v.is_null());
}

const NUL: &str = "contains a NUL character (\\u0000), which cannot be stored";

/// Refuses what could not be stored or hashed the same way by every RFC 8785 verifier:
/// NUL characters, nesting deeper than [`Limits::DEPTH`] (the computed `changes` nest one
/// level deeper, and offline verifiers must read them), and integers outside I-JSON's
/// safe range. The error names the path, e.g. `after.items.3.price`.
fn check_hashable(value: &Value, field: &str) -> Result<(), ParseError> {
    fn walk(value: &Value, path: &mut String, depth: usize) -> Option<String> {
        if depth > Limits::DEPTH {
            return Some(format!(
                "JSON nesting is deeper than {} levels",
                Limits::DEPTH
            ));
        }
        let child = |path: &mut String, segment: &str, value: &Value| {
            let len = path.len();
            path.push('.');
            path.push_str(segment);
            let found = walk(value, path, depth + 1);
            if found.is_none() {
                path.truncate(len);
            }
            found
        };
        match value {
            Value::String(s) if s.contains('\0') => Some(NUL.into()),
            Value::Number(n) => {
                let safe = match (n.as_i64(), n.as_u64()) {
                    (Some(i), _) => i.unsigned_abs() <= MAX_SAFE_INTEGER,
                    (None, Some(u)) => u <= MAX_SAFE_INTEGER,
                    _ => n.as_f64().is_some_and(f64::is_finite),
                };
                (!safe).then(|| {
                    format!(
                        "{n} is outside the integers a JSON verifier hashes exactly \
                         (±{MAX_SAFE_INTEGER}); send it as a string"
                    )
                })
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| child(path, &i.to_string(), item)),
            Value::Object(map) => map.iter().find_map(|(key, item)| {
                if key.contains('\0') {
                    Some(NUL.into())
                } else {
                    child(path, key, item)
                }
            }),
            _ => None,
        }
    }
    let mut path = field.to_owned();
    // The event object is level 1, as for events.
    match walk(value, &mut path, 2) {
        Some(reason) => Err(ParseError {
            field: Some(path),
            reason,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(value: Value) -> Result<AuditEvent, ParseError> {
        AuditParser::default().parse_json(
            TenantId::new(),
            &value.to_string(),
            "2026-11-21T12:00:00Z".parse().unwrap(),
        )
    }

    fn minimal() -> serde_json::Map<String, Value> {
        json!({"action": "update", "resource_type": "doc", "resource_id": "d-1"})
            .as_object()
            .unwrap()
            .clone()
    }

    fn with(extra: Value) -> Result<AuditEvent, ParseError> {
        let mut event = minimal();
        event.extend(extra.as_object().unwrap().clone());
        parse(Value::Object(event))
    }

    #[test]
    fn fields_the_server_sets_may_not_be_sent() {
        for field in ["tenant_id", "id", "seq", "hash", "prev_hash", "received_at"] {
            let error = with(json!({field: "1"})).unwrap_err();
            assert_eq!(error.field.as_deref(), Some(field));
            assert_eq!(
                error.reason, "is set by the server and may not be sent",
                "{field}"
            );
        }
        let error = with(json!({"colour": "red"})).unwrap_err();
        assert_eq!(
            error.reason,
            "is not an audit event field (put extra data under metadata)"
        );
    }

    #[test]
    fn the_time_of_the_change_is_taken_to_the_microsecond_up_to_five_minutes_ahead() {
        let e = with(json!({"occurred_at": "2026-11-21T11:00:00.1234567+01:00"})).unwrap();
        assert_eq!(
            crate::timestamp::canonical(&e.occurred_at),
            "2026-11-21T10:00:00.123456Z"
        );
        assert!(
            with(json!({"occurred_at": "2026-11-21T12:05:00Z"})).is_ok(),
            "exactly 5 minutes ahead"
        );
        let error = with(json!({"occurred_at": "2026-11-21T12:05:00.000001Z"})).unwrap_err();
        assert_eq!(error.reason, "is more than 5 minutes in the future");
        assert!(
            with(json!({"occurred_at": "2020-01-01T00:00:00Z"})).is_ok(),
            "the past is fine"
        );
    }

    #[test]
    fn severity_is_read_not_dropped() {
        assert_eq!(
            with(json!({"severity": "critical"})).unwrap().severity,
            Severity::Critical
        );
        assert_eq!(with(json!({})).unwrap().severity, Severity::Info);
        assert_eq!(
            with(json!({"severity": "dire"}))
                .unwrap_err()
                .field
                .as_deref(),
            Some("severity")
        );
    }

    #[test]
    fn a_description_is_kept_whole_up_to_32_kib() {
        let whole = "d".repeat(32 * 1024);
        let e = with(json!({"description": whole})).unwrap();
        assert_eq!(e.description.as_deref(), Some(whole.as_str()));
        assert_eq!(e.metadata, None, "nothing was cut");
        let e = with(json!({"description": format!("{whole}d")})).unwrap();
        assert_eq!(e.description.as_deref(), Some(whole.as_str()));
        assert_eq!(e.metadata, Some(json!({"_truncated": ["description"]})));
    }

    #[test]
    fn changes_are_computed_only_when_not_given() {
        let before = json!({"a": 1, "b": 1});
        let after = json!({"a": 2, "b": 1});
        let computed = json!({"a": {"from": 1, "to": 2}});
        let e = with(json!({"before": before, "after": after})).unwrap();
        assert_eq!(e.changes, Some(computed.clone()));
        let e = with(json!({"after": {"a": 2}})).unwrap();
        assert_eq!(
            e.changes,
            Some(json!({"value": {"from": null, "to": {"a": 2}}})),
            "after alone: a creation"
        );
        let given = json!({"a": "changed by hand"});
        let e = with(json!({"before": before, "after": after, "changes": given})).unwrap();
        assert_eq!(e.changes, Some(given), "the sender's own changes are kept");
        assert_eq!(with(json!({})).unwrap().changes, None);
    }

    #[test]
    fn seed_004_changes_become_before_and_after_only_when_that_is_all_they_hold() {
        let e = with(json!({"changes": {"before": {"a": 1}, "after": {"a": 2}}})).unwrap();
        assert_eq!(
            (e.before, e.after),
            (Some(json!({"a": 1})), Some(json!({"a": 2})))
        );
        assert_eq!(e.changes, Some(json!({"a": {"from": 1, "to": 2}})));
        let e = with(json!({"changes": {}})).unwrap();
        assert_eq!(
            (e.before, e.changes),
            (None, Some(json!({}))),
            "empty changes stay"
        );
        let e = with(json!({"before": {"a": 0}, "changes": {"before": {"a": 1}}})).unwrap();
        assert_eq!(e.before, Some(json!({"a": 0})), "an explicit before wins");
        assert_eq!(e.changes, Some(json!({"before": {"a": 1}})));
    }

    #[test]
    fn nul_characters_and_huge_unsigned_integers_are_refused_where_they_are() {
        let error = with(json!({"metadata": {"note": "a\u{0}b"}})).unwrap_err();
        assert_eq!(
            (error.field.as_deref(), error.reason.as_str()),
            (Some("metadata.note"), NUL)
        );
        let error = with(json!({"after": {"n": u64::MAX}})).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("after.n"));
        assert!(with(json!({"after": {"n": MAX_SAFE_INTEGER}})).is_ok());
    }

    #[test]
    fn integers_past_the_safe_range_are_read_back_as_the_doubles_they_were() {
        let mut value = json!({"a": [30973645163238284u64, MAX_SAFE_INTEGER, -30973645163238284i64], "b": {"c": 9007199254740992u64}});
        restore_doubles(&mut value);
        assert_eq!(value["a"][0], json!(3.0973645163238284e16));
        assert!(value["a"][0].is_f64() && value["a"][2].is_f64() && value["b"]["c"].is_f64());
        assert_eq!(
            value["a"][1],
            json!(MAX_SAFE_INTEGER),
            "the largest safe integer stays"
        );
        assert!(value["a"][1].is_u64());
        let mut huge = json!(u64::MAX);
        restore_doubles(&mut huge);
        assert!(huge.is_f64(), "past i64 too");
        let mut small = json!(-7);
        restore_doubles(&mut small);
        assert!(small.is_i64());
    }

    #[test]
    fn computes_changes_and_accepts_seed_names() {
        let e = parse(json!({
            "user_id": "u-1", "user_email": "a@b.c", "action_type": "update", "resource_type": "tenant",
            "resource_id": "t-9", "before_data": {"name": "Old", "plan": {"tier": "free"}, "password": "x"},
            "after_data": {"name": "New", "plan": {"tier": "free"}, "password": "y"}, "ip_address": "::ffff:10.1.2.3",
            "outcome": "failure", "failure_reason": "quota", "data_classification": "PII"
        }))
        .unwrap();
        assert_eq!(
            (
                e.actor_id.as_deref(),
                e.action.as_str(),
                e.resource_type.as_str()
            ),
            (Some("u-1"), "update", "tenant")
        );
        assert_eq!(
            e.changes,
            Some(json!({"name": {"from": "Old", "to": "New"}})),
            "redacted values compare equal"
        );
        assert_eq!(e.before.unwrap()["password"], "[REDACTED]");
        assert_eq!(e.ip_address, Some("10.1.2.3".parse().unwrap()));
        assert_eq!(e.outcome, Outcome::Failure);
    }

    #[test]
    fn errors_name_the_field() {
        let field = |v: Value| parse(v).unwrap_err().field.unwrap();
        assert_eq!(field(json!({"resource_type": "x"})), "action");
        assert_eq!(field(json!({"action": "x"})), "resource_type");
        assert_eq!(
            field(json!({"action": "x", "resource_type": "y", "seq": 4})),
            "seq"
        );
        assert_eq!(
            field(json!({"action": "x", "resource_type": "y", "outcome": "maybe"})),
            "outcome"
        );
        assert_eq!(
            field(json!({"action": "x", "resource_type": "y", "changes": [1]})),
            "changes"
        );
        assert_eq!(
            field(json!({"action": "x", "resource_type": "y", "user_id": "a", "actor_id": "b"})),
            "user_id"
        );
    }

    #[test]
    fn a_key_given_twice_is_refused_even_under_another_name() {
        let parser = AuditParser::default();
        let at = "2026-11-21T12:00:00Z".parse().unwrap();
        let twice = |raw: &str| parser.parse_json(TenantId::new(), raw, at).unwrap_err();
        let same =
            twice(r#"{"action":"a","resource_type":"r","resource_id":"1","resource_id":"2"}"#);
        assert_eq!(
            (same.field.as_deref(), same.reason.as_str()),
            (Some("resource_id"), "given twice")
        );
        let alias = twice(
            r#"{"action":"a","resource_type":"r","resource_id":"1","actor_id":"x","user_id":"y"}"#,
        );
        assert_eq!(alias.field.as_deref(), Some("user_id"));
        assert!(alias.reason.contains("actor_id"), "{alias}");
    }

    #[test]
    fn numbers_a_verifier_cannot_hash_exactly_are_refused_by_path() {
        let base = |after: Value| json!({"action": "update", "resource_type": "price", "resource_id": "p1", "after": after});
        let err = parse(base(json!({"items": [1, {"price": 9007199254740993u64}]}))).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("after.items.1.price"));
        assert!(err.reason.contains("9007199254740993"), "{err}");
        assert!(parse(base(json!({"n": -9007199254740992i64}))).is_err());
        assert!(parse(base(json!({"n": 9007199254740991u64, "m": -9007199254740991i64, "f": 1.7976931348623157e308}))).is_ok());
    }

    #[test]
    fn nesting_is_bounded_so_exports_verify_offline() {
        let mut deep = json!(1);
        for _ in 0..31 {
            deep = json!([deep]);
        }
        let event = |before: Value| json!({"action": "update", "resource_type": "doc", "resource_id": "d", "before": before, "after": {"a": 1}});
        let err = parse(event(json!({"a": deep}))).unwrap_err();
        assert!(err.field.unwrap().starts_with("before.a.0"));
        let mut ok = json!(1);
        for _ in 0..29 {
            ok = json!([ok]);
        }
        let accepted = parse(event(json!({"a": ok}))).unwrap();
        let text = serde_json::to_string(&accepted).unwrap();
        assert!(
            serde_json::from_str::<AuditEvent>(&text).is_ok(),
            "changes read back"
        );
    }

    #[test]
    fn long_text_is_cut_and_listed_and_resource_id_is_required() {
        let e = parse(json!({"action": "a".repeat(150), "resource_type": "doc", "resource_id": "d", "description": "x", "metadata": {"k": 1}})).unwrap();
        assert_eq!(e.action.chars().count(), 100);
        assert_eq!(e.metadata, Some(json!({"k": 1, "_truncated": ["action"]})));
        let missing = parse(json!({"action": "a", "resource_type": "doc"})).unwrap_err();
        assert_eq!(missing.field.as_deref(), Some("resource_id"));
    }

    #[test]
    fn seed_004_changes_hold_before_and_after() {
        let e = parse(
            json!({"action": "update", "resource_type": "tenant", "resource_id": "t1",
            "changes": {"before": {"name": "Old Name"}, "after": {"name": "New Name"}}}),
        )
        .unwrap();
        assert_eq!(e.before, Some(json!({"name": "Old Name"})));
        assert_eq!(e.after, Some(json!({"name": "New Name"})));
        assert_eq!(
            e.changes,
            Some(json!({"name": {"from": "Old Name", "to": "New Name"}}))
        );
        let own = parse(
            json!({"action": "update", "resource_type": "tenant", "resource_id": "t1",
            "changes": {"name": {"from": "a", "to": "b"}}}),
        )
        .unwrap();
        assert_eq!(
            (own.before, own.after),
            (None, None),
            "a diff is kept as sent"
        );
    }
}
