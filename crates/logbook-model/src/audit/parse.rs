//! JSON → [`AuditEvent`] (without its chain fields, which the store sets). Seed names are
//! accepted beside ours: `user_id`/`user_email`/`user_role` for the actor (seeds 001 and
//! 004), `action_type` (seed 001), `before_data`/`after_data` (seed 001), `created_at`
//! and `time` for `occurred_at`.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use super::{AuditEvent, Outcome, chain::GENESIS, diff};
use crate::{Limits, ParseError, Redactor, Severity, TenantId, parse::truncate_to_micros};

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
        let value: Value = serde_json::from_str(raw)
            .map_err(|e| ParseError::whole(format!("invalid JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(ParseError::whole("each audit event must be a JSON object"));
        };
        self.parse_map(tenant, map, now)
    }

    fn parse_map(
        &self,
        tenant: TenantId,
        map: Map<String, Value>,
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
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in map {
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
            if seen.contains(&name) {
                return Err(ParseError {
                    field: Some(key),
                    reason: "given twice".into(),
                });
            }
            seen.push(name);
            if value.is_null() {
                continue;
            }
            let fail = |reason: String| ParseError {
                field: Some(key.clone()),
                reason,
            };
            if limit > 0 {
                let Value::String(text) = value else {
                    return Err(fail("must be a string".into()));
                };
                if text.contains('\0') {
                    return Err(fail(
                        "contains a NUL character (\\u0000), which cannot be stored".into(),
                    ));
                }
                let text: String = text.chars().take(limit).collect();
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
                    _ => {
                        e.resource_type = text;
                        continue;
                    }
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
                    if holds_nul(&value) {
                        return Err(fail(
                            "contains a NUL character (\\u0000), which cannot be stored".into(),
                        ));
                    }
                    if matches!(name, "changes" | "metadata") && !value.is_object() {
                        return Err(fail("must be a JSON object".into()));
                    }
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
        if e.action.is_empty() {
            return Err(ParseError {
                field: Some("action".into()),
                reason: "is required".into(),
            });
        }
        if e.resource_type.is_empty() {
            return Err(ParseError {
                field: Some("resource_type".into()),
                reason: "is required".into(),
            });
        }
        if e.changes.is_none() && (e.before.is_some() || e.after.is_some()) {
            let null = Value::Null;
            e.changes = Some(diff::changes(
                e.before.as_ref().unwrap_or(&null),
                e.after.as_ref().unwrap_or(&null),
            ));
        }
        Ok(e)
    }
}

fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
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
}
