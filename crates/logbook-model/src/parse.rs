//! JSON → [`Event`]: the one place where incoming events are checked.
//!
//! A structural problem (wrong type, bad IP, bad time, unknown field) rejects the event
//! with a reason naming the field as the client spelled it. Text over its column limit
//! is cut, and the cut fields are listed under `metadata._truncated`, because losing a
//! log line over a long user agent would be worse than storing a shortened one.
//!
//! Two readers share the checks in [`Fields`]: a fast one that deserializes straight into
//! typed fields ([`wire`]), and a careful one that walks a JSON value key by key to say
//! exactly what is wrong. Every event goes through the fast reader; only one it refuses
//! is read again carefully, so valid events cost one pass and bad ones get a precise reason.

mod fields;
mod wire;

use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use self::fields::{Fields, canonical_name, unknown_field_reason};
use crate::{Event, Limits, Redactor, TenantId};

/// Why one event was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The field at fault, as the client named it; `None` when the event as a whole is.
    pub field: Option<String>,
    pub reason: String,
}

impl ParseError {
    /// A rejection naming the field at fault.
    pub fn field(name: &str, reason: impl Into<String>) -> Self {
        Self {
            field: Some(name.to_owned()),
            reason: reason.into(),
        }
    }

    pub fn whole(reason: impl Into<String>) -> Self {
        Self {
            field: None,
            reason: reason.into(),
        }
    }

    /// Refuses an event's JSON text over [`Limits::EVENT_BYTES`], before any parsing.
    pub fn check_size(raw: &str) -> Result<(), Self> {
        if raw.len() > Limits::EVENT_BYTES {
            return Err(Self::whole(format!(
                "event is {} bytes; the limit is {} bytes",
                raw.len(),
                Limits::EVENT_BYTES
            )));
        }
        Ok(())
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl std::error::Error for ParseError {}

/// Turns raw JSON events into typed, redacted [`Event`]s for one tenant.
#[derive(Clone, Debug)]
pub struct EventParser {
    redactor: Redactor,
    /// How far in the past `created_at` may lie.
    backfill: chrono::Duration,
}

impl Default for EventParser {
    fn default() -> Self {
        Self::new(Redactor::default())
    }
}

impl EventParser {
    pub fn new(redactor: Redactor) -> Self {
        Self {
            redactor,
            backfill: chrono::Duration::days(Limits::BACKFILL_DAYS),
        }
    }

    /// Accepts events up to `window` old (the back-fill window); older ones are refused,
    /// so a request cannot scatter events over years of days (each a partition to make).
    pub fn with_backfill(mut self, window: chrono::Duration) -> Self {
        self.backfill = window;
        self
    }

    /// Parses one event given as JSON text.
    pub fn parse_json(
        &self,
        tenant: TenantId,
        raw: &str,
        now: DateTime<Utc>,
    ) -> Result<Event, ParseError> {
        ParseError::check_size(raw)?;
        if let Some(Ok(event)) = wire::read(raw)
            .map(|fields| fields.into_event(tenant, now, self.backfill, &self.redactor))
        {
            return Ok(event);
        }
        let value: Value = serde_json::from_str(raw)
            .map_err(|e| ParseError::whole(format!("invalid JSON: {e}")))?;
        if !value.is_object() {
            return self.parse_value(tenant, value, now);
        }
        // Read again keeping every key, so a key given twice is named, not silently
        // resolved to its last value.
        let entries: Entries = serde_json::from_str(raw)
            .map_err(|e| ParseError::whole(format!("invalid JSON: {e}")))?;
        self.parse_entries(tenant, entries.0, now)
    }

    /// Parses one event given as a JSON value, naming the field at fault on error.
    pub fn parse_value(
        &self,
        tenant: TenantId,
        value: Value,
        now: DateTime<Utc>,
    ) -> Result<Event, ParseError> {
        let Value::Object(map) = value else {
            return Err(ParseError::whole(format!(
                "each event must be a JSON object, got {}",
                kind(&value)
            )));
        };
        self.parse_entries(tenant, map.into_iter().collect(), now)
    }

    fn parse_entries(
        &self,
        tenant: TenantId,
        map: Vec<(String, Value)>,
        now: DateTime<Utc>,
    ) -> Result<Event, ParseError> {
        let mut fields = Fields::default();
        let mut seen: Vec<(&'static str, String)> = Vec::with_capacity(map.len());
        for (key, value) in map {
            let Some(name) = canonical_name(&key) else {
                return Err(ParseError::field(&key, unknown_field_reason(&key)));
            };
            if let Some((_, earlier)) = seen.iter().find(|(n, _)| *n == name) {
                let reason = if *earlier == key {
                    "given twice".to_owned()
                } else {
                    format!("given twice (also as {earlier:?})")
                };
                return Err(ParseError::field(&key, reason));
            }
            set(&mut fields, name, value).map_err(|reason| ParseError::field(&key, reason))?;
            seen.push((name, key));
        }
        fields
            .into_event(tenant, now, self.backfill, &self.redactor)
            .map_err(|(name, reason)| {
                let key = seen
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map_or(name, |(_, key)| key.as_str());
                ParseError::field(key, reason)
            })
    }
}

/// An object's entries in order, duplicates kept.
pub(crate) struct Entries(pub Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Entries, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

/// Checks one field's JSON value and records it.
fn set(fields: &mut Fields, name: &'static str, value: Value) -> Result<(), String> {
    if value.is_null() {
        return Ok(());
    }
    match name {
        "event_type" => fields.event_type(&string(value)?),
        "created_at" => fields.created_at(&string(value)?),
        "ip_address" => fields.ip_address(&string(value)?),
        "user_id" => match value {
            // Numeric user ids are common; they are stored as their decimal text.
            Value::Number(n) if n.is_i64() || n.is_u64() => fields.text(name, n.to_string()),
            other => fields.text(name, string(other)?),
        },
        "request_params" | "request_body_summary" | "metadata" => match value {
            Value::Object(map) => fields.object(name, map),
            other => Err(format!("must be a JSON object, got {}", kind(&other))),
        },
        "response_status_code" => match value.as_i64() {
            Some(code) => fields.response_status_code(code),
            None => Err(format!("must be an integer from 0 to 999, got {value}")),
        },
        "response_time_ms" => match value.as_f64() {
            Some(millis) if value.is_number() => fields.response_time_ms(millis),
            _ => Err(format!("must be a number, got {}", kind(&value))),
        },
        "success" => match value {
            Value::Bool(b) => {
                fields.success = Some(b);
                Ok(())
            }
            other => Err(format!("must be true or false, got {}", kind(&other))),
        },
        "severity" => fields.severity(&string(value)?),
        _ => fields.text(name, string(value)?),
    }
}

fn string(value: Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(format!("must be a string, got {}", kind(&other))),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub use crate::timestamp::truncate_to_micros;

/// Nesting below an object, counting the object itself as level 1.
pub(crate) fn depth(map: &Map<String, Value>) -> usize {
    fn of(value: &Value) -> usize {
        match value {
            Value::Array(items) => 1 + items.iter().map(of).max().unwrap_or(0),
            Value::Object(map) => 1 + map.values().map(of).max().unwrap_or(0),
            _ => 0,
        }
    }
    1 + map.values().map(of).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-21T12:00:00Z".parse().unwrap()
    }

    fn parse(value: Value) -> Result<Event, ParseError> {
        EventParser::default().parse_value(TenantId::new(), value, now())
    }

    fn field_of(value: Value) -> String {
        parse(value).unwrap_err().field.unwrap()
    }

    #[test]
    fn parses_every_field_in_snake_case() {
        let event = parse(json!({
            "event_type": "AUTH_LOGIN", "event_subtype": "password", "created_at": "2026-11-21T11:00:00.123456789Z",
            "user_id": "user-123", "fingerprint": "fp", "device_id": "dev", "ip_address": "192.0.2.1",
            "user_agent": "ua", "http_method": "post", "request_path": "/api/auth/login",
            "request_params": {"a": 1}, "request_body_summary": {"email": "a@b.c"},
            "response_status_code": 401, "response_time_ms": 12.6, "geo_country": "US", "geo_region": "CA",
            "geo_city": "SF", "geo_timezone": "America/Los_Angeles", "session_id": "s", "referrer": "r",
            "origin": "o", "success": false, "message": "bad password", "error_code": "E1",
            "metadata": {"k": "v"}, "service": "api", "severity": "WARN", "request_id": "rid",
            "provider": "stripe", "status": "failure"
        }))
        .unwrap();
        assert_eq!(event.event_type.as_str(), "AUTH_LOGIN");
        assert_eq!(
            event.created_at.to_rfc3339(),
            "2026-11-21T11:00:00.123456+00:00"
        );
        assert_eq!(event.ip_address, Some("192.0.2.1".parse().unwrap()));
        assert_eq!(event.http_method.as_deref(), Some("POST"));
        assert_eq!(event.response_time_ms, Some(13));
        assert_eq!(event.severity, crate::Severity::Warning);
        assert!(!event.success);
        assert_eq!(event.metadata, Some(json!({"k": "v"})));
        assert_eq!(event.status.as_deref(), Some("failure"));
    }

    #[test]
    fn both_readers_agree() {
        let raw = json!({
            "eventType": "AUTH_LOGIN", "event_subtype": "pass\"word", "createdAt": "2026-11-21T11:00:00Z",
            "userId": 42, "ip_address": "::ffff:192.0.2.1", "user_agent": "ü".repeat(2000), "httpMethod": "post",
            "requestParams": {"token": "t", "list": [{"password": 1}]}, "responseStatusCode": 401,
            "responseTimeMs": 12.4, "success": false, "severity": "error", "metadata": {"k": [1, 2]},
            "message": null, "status": ""
        })
        .to_string();
        let parser = EventParser::default();
        let tenant = TenantId::new();
        let fast = parser.parse_json(tenant, &raw, now()).unwrap();
        let mut careful = parser
            .parse_value(tenant, serde_json::from_str(&raw).unwrap(), now())
            .unwrap();
        careful.id = fast.id;
        assert_eq!(fast, careful);
        assert_eq!(fast.user_id.as_deref(), Some("42"));
        assert_eq!(
            fast.metadata,
            Some(json!({"k": [1, 2], "_truncated": ["user_agent"]}))
        );
        assert_eq!(
            fast.request_params,
            Some(json!({"token": "[REDACTED]", "list": [{"password": "[REDACTED]"}]}))
        );
    }

    #[test]
    fn duplicate_keys_and_nul_characters_are_refused() {
        let parser = EventParser::default();
        let reject = |raw: &str| parser.parse_json(TenantId::new(), raw, now()).unwrap_err();
        let twice = reject(r#"{"event_type":"REQUEST","user_id":"a","user_id":"b"}"#);
        assert_eq!(
            (twice.field.as_deref(), twice.reason.as_str()),
            (Some("user_id"), "given twice")
        );
        let nul = reject(r#"{"event_type":"REQUEST","message":"a\u0000b"}"#);
        assert_eq!(nul.field.as_deref(), Some("message"));
        assert!(nul.reason.contains("NUL"), "{nul}");
        let nested = reject(r#"{"event_type":"REQUEST","metadata":{"k":["x\u0000"]}}"#);
        assert_eq!(nested.field.as_deref(), Some("metadata"));
        let key = reject(r#"{"event_type":"REQUEST","request_params":{"a\u0000":1}}"#);
        assert_eq!(key.field.as_deref(), Some("request_params"));
        // Payloads that look like SQL or script are only text.
        let sql = r#"{"event_type":"REQUEST","message":"'); DROP TABLE events; --<script>alert(1)</script>"}"#;
        assert_eq!(
            parser
                .parse_json(TenantId::new(), sql, now())
                .unwrap()
                .message
                .as_deref(),
            Some("'); DROP TABLE events; --<script>alert(1)</script>")
        );
    }

    #[test]
    fn accepts_seed_camel_case_names() {
        let event = parse(json!({
            "eventType": "REQUEST", "ipAddress": "::ffff:10.0.0.1", "userId": 42,
            "responseStatusCode": 200, "requestPath": "/x", "geoCountry": "DE"
        }))
        .unwrap();
        assert_eq!(event.ip_address, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(event.user_id.as_deref(), Some("42"));
        assert_eq!(event.request_path.as_deref(), Some("/x"));
        assert_eq!(event.geo_country.as_deref(), Some("DE"));
    }

    #[test]
    fn structural_errors_name_the_field() {
        assert_eq!(field_of(json!({})), "event_type");
        assert_eq!(field_of(json!({"event_type": "bad type"})), "event_type");
        assert_eq!(
            field_of(json!({"eventType": "REQUEST", "ipAddress": "999.1.1.1"})),
            "ipAddress"
        );
        assert_eq!(
            field_of(json!({"event_type": "REQUEST", "created_at": "yesterday"})),
            "created_at"
        );
        assert_eq!(
            field_of(json!({"event_type": "REQUEST", "metadata": [1]})),
            "metadata"
        );
        assert_eq!(
            field_of(json!({"event_type": "REQUEST", "success": "yes"})),
            "success"
        );
        assert_eq!(
            field_of(json!({"event_type": "REQUEST", "response_status_code": 70000})),
            "response_status_code"
        );
        assert_eq!(
            field_of(json!({"event_type": "REQUEST", "tenant_id": "x"})),
            "tenant_id"
        );
        assert_eq!(
            field_of(json!({"event_type": "REQUEST", "colour": "red"})),
            "colour"
        );
        let twice = parse(json!({"event_type": "REQUEST", "eventType": "REQUEST"})).unwrap_err();
        assert!(twice.reason.contains("given twice"), "{twice}");
        assert!(parse(json!([1])).unwrap_err().field.is_none());
    }

    #[test]
    fn created_at_may_be_at_most_five_minutes_ahead() {
        assert!(
            parse(json!({"event_type": "REQUEST", "created_at": "2026-11-21T12:05:00Z"})).is_ok()
        );
        let err = parse(json!({"event_type": "REQUEST", "created_at": "2026-11-21T12:05:01Z"}))
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("created_at"));
        assert!(err.reason.contains("future"));
        assert_eq!(
            parse(json!({"event_type": "REQUEST"})).unwrap().created_at,
            now()
        );
    }

    #[test]
    fn long_text_is_cut_and_listed() {
        let event = parse(json!({
            "event_type": "REQUEST", "user_agent": "é".repeat(5000), "geo_country": "USAX",
            "metadata": {"k": 1}
        }))
        .unwrap();
        assert_eq!(
            event.user_agent.unwrap().chars().count(),
            Limits::USER_AGENT
        );
        assert_eq!(event.geo_country.as_deref(), Some("USA"));
        assert_eq!(
            event.metadata,
            Some(json!({"k": 1, "_truncated": ["geo_country", "user_agent"]}))
        );
    }

    #[test]
    fn secrets_are_redacted_before_storage() {
        let event = parse(json!({
            "event_type": "AUTH_LOGIN",
            "request_body_summary": {"email": "a@b.c", "password": "hunter2"},
            "request_params": {"token": "t"},
            "metadata": {"headers": {"Authorization": "Bearer x"}}
        }))
        .unwrap();
        assert_eq!(
            event.request_body_summary,
            Some(json!({"email": "a@b.c", "password": "[REDACTED]"}))
        );
        assert_eq!(event.request_params, Some(json!({"token": "[REDACTED]"})));
        assert_eq!(
            event.metadata,
            Some(json!({"headers": {"Authorization": "[REDACTED]"}}))
        );
    }

    #[test]
    fn nesting_is_limited() {
        let mut deep = json!(1);
        for _ in 0..31 {
            deep = json!([deep]);
        }
        assert!(parse(json!({"event_type": "REQUEST", "metadata": {"a": deep.clone()}})).is_err());
        let mut ok = json!(1);
        for _ in 0..29 {
            ok = json!([ok]);
        }
        assert!(parse(json!({"event_type": "REQUEST", "metadata": {"a": ok}})).is_ok());
    }

    #[test]
    fn oversized_event_is_rejected_whole() {
        let raw = format!(
            r#"{{"event_type":"REQUEST","message":"{}"}}"#,
            "x".repeat(Limits::EVENT_BYTES)
        );
        let err = EventParser::default()
            .parse_json(TenantId::new(), &raw, now())
            .unwrap_err();
        assert!(err.reason.contains("limit"), "{err}");
    }
}
