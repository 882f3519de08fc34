//! JSON → [`Event`]: the one place where incoming events are checked.
//!
//! A structural problem (wrong type, bad IP, bad time, unknown field) rejects the event
//! with a reason naming the field as the client spelled it. Text over its column limit
//! is cut, and the cut fields are listed under `metadata._truncated`, because losing a
//! log line over a long user agent would be worse than storing a shortened one.

use std::{fmt, net::IpAddr};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use crate::{Event, EventType, Limits, Redactor, TenantId};

/// Why one event was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The field at fault, as the client named it; `None` when the event as a whole is.
    pub field: Option<String>,
    pub reason: String,
}

impl ParseError {
    fn field(name: &str, reason: impl Into<String>) -> Self {
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
#[derive(Clone, Debug, Default)]
pub struct EventParser {
    redactor: Redactor,
}

impl EventParser {
    pub fn new(redactor: Redactor) -> Self {
        Self { redactor }
    }

    /// Parses one event given as JSON text.
    pub fn parse_json(
        &self,
        tenant: TenantId,
        raw: &str,
        now: DateTime<Utc>,
    ) -> Result<Event, ParseError> {
        if raw.len() > Limits::EVENT_BYTES {
            return Err(ParseError::whole(format!(
                "event is {} bytes; the limit is {} bytes",
                raw.len(),
                Limits::EVENT_BYTES
            )));
        }
        let value: Value = serde_json::from_str(raw)
            .map_err(|e| ParseError::whole(format!("invalid JSON: {e}")))?;
        self.parse_value(tenant, value, now)
    }

    /// Parses one event given as a JSON value.
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
        if let Some(field) = too_deep(&map) {
            return Err(ParseError::field(
                &field,
                format!("JSON nesting is deeper than {} levels", Limits::DEPTH),
            ));
        }
        let mut draft = Draft::default();
        for (key, value) in map {
            draft.set(key, value)?;
        }
        draft.finish(tenant, now, &self.redactor)
    }
}

/// Fields collected from one object before the event is assembled.
#[derive(Default)]
struct Draft {
    seen: Vec<(&'static str, String)>,
    event_type: Option<EventType>,
    created_at: Option<DateTime<Utc>>,
    truncated: Vec<&'static str>,
    texts: Vec<(&'static str, String)>,
    ip_address: Option<IpAddr>,
    objects: Vec<(&'static str, Map<String, Value>)>,
    response_status_code: Option<i16>,
    response_time_ms: Option<i32>,
    success: Option<bool>,
    severity: Option<crate::Severity>,
}

impl Draft {
    fn set(&mut self, key: String, value: Value) -> Result<(), ParseError> {
        let Some(name) = canonical_name(&key) else {
            return Err(ParseError::field(&key, unknown_field_reason(&key)));
        };
        if let Some((_, earlier)) = self.seen.iter().find(|(n, _)| *n == name) {
            return Err(ParseError::field(
                &key,
                format!("given twice (also as {earlier:?})"),
            ));
        }
        self.seen.push((name, key.clone()));
        if value.is_null() {
            return Ok(());
        }
        match name {
            "event_type" => {
                let text = string(&key, value)?;
                self.event_type =
                    Some(EventType::parse(&text).map_err(|e| ParseError::field(&key, e))?);
            }
            "created_at" => {
                let text = string(&key, value)?;
                let at = DateTime::parse_from_rfc3339(&text).map_err(|e| {
                    ParseError::field(
                        &key,
                        format!("must be an RFC 3339 time such as 2026-01-27T10:00:00Z ({e})"),
                    )
                })?;
                self.created_at = Some(truncate_to_micros(at.with_timezone(&Utc)));
            }
            "ip_address" => {
                let text = string(&key, value)?;
                let ip: IpAddr = text.trim().parse().map_err(|_| {
                    ParseError::field(&key, format!("{text:?} is not an IPv4 or IPv6 address"))
                })?;
                self.ip_address = Some(ip.to_canonical());
            }
            "user_id" => {
                // Numeric user ids are common; they are stored as their decimal text.
                let text = match value {
                    Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
                    other => string(&key, other)?,
                };
                self.texts.push((name, text));
            }
            "request_params" | "request_body_summary" | "metadata" => match value {
                Value::Object(map) => self.objects.push((name, map)),
                other => {
                    return Err(ParseError::field(
                        &key,
                        format!("must be a JSON object, got {}", kind(&other)),
                    ));
                }
            },
            "response_status_code" => {
                let code = integer(&key, &value, 0, 999)?;
                self.response_status_code = Some(code as i16);
            }
            "response_time_ms" => {
                let millis = match value.as_f64() {
                    Some(f) if value.is_f64() && (0.0..=i32::MAX as f64).contains(&f) => {
                        f.round() as i64
                    }
                    _ => integer(&key, &value, 0, i32::MAX as i64)?,
                };
                self.response_time_ms = Some(millis as i32);
            }
            "success" => match value {
                Value::Bool(b) => self.success = Some(b),
                other => {
                    return Err(ParseError::field(
                        &key,
                        format!("must be true or false, got {}", kind(&other)),
                    ));
                }
            },
            "severity" => {
                let text = string(&key, value)?;
                self.severity = Some(
                    text.parse()
                        .map_err(|e: String| ParseError::field(&key, e))?,
                );
            }
            "http_method" => self
                .texts
                .push((name, string(&key, value)?.to_ascii_uppercase())),
            _ => self.texts.push((name, string(&key, value)?)),
        }
        Ok(())
    }

    fn finish(
        mut self,
        tenant: TenantId,
        now: DateTime<Utc>,
        redactor: &Redactor,
    ) -> Result<Event, ParseError> {
        let event_type = self
            .event_type
            .take()
            .ok_or_else(|| ParseError::field("event_type", "is required"))?;
        let created_at = match self.created_at {
            None => truncate_to_micros(now),
            Some(at) if at > now + Duration::seconds(Limits::FUTURE_SKEW_SECS) => {
                let key = self.key_of("created_at");
                return Err(ParseError::field(
                    &key,
                    format!(
                        "{} is more than 5 minutes in the future (server time {})",
                        at.to_rfc3339(),
                        now.to_rfc3339()
                    ),
                ));
            }
            Some(at) => at,
        };
        let mut event = Event::new(tenant, event_type, created_at);
        event.ip_address = self.ip_address;
        event.response_status_code = self.response_status_code;
        event.response_time_ms = self.response_time_ms;
        event.success = self.success.unwrap_or(true);
        event.severity = self.severity.unwrap_or_default();

        for (name, text) in std::mem::take(&mut self.texts) {
            if text.is_empty() {
                continue;
            }
            let (slot, limit) = text_slot(&mut event, name);
            *slot = Some(self.cut(name, text, limit));
        }
        for (name, mut map) in std::mem::take(&mut self.objects) {
            let mut value = Value::Object(std::mem::take(&mut map));
            redactor.redact(&mut value);
            match name {
                "request_params" => event.request_params = Some(value),
                "request_body_summary" => event.request_body_summary = Some(value),
                _ => event.metadata = Some(value),
            }
        }
        if !self.truncated.is_empty() {
            let metadata = event
                .metadata
                .get_or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(map) = metadata {
                map.insert(
                    "_truncated".into(),
                    Value::Array(
                        self.truncated
                            .iter()
                            .map(|f| Value::String((*f).into()))
                            .collect(),
                    ),
                );
            }
        }
        Ok(event)
    }

    fn cut(&mut self, name: &'static str, text: String, limit: usize) -> String {
        match text.char_indices().nth(limit) {
            Some((byte, _)) => {
                self.truncated.push(name);
                let mut text = text;
                text.truncate(byte);
                text
            }
            None => text,
        }
    }

    fn key_of(&self, name: &str) -> String {
        self.seen
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, key)| key.clone())
            .unwrap_or_else(|| name.to_owned())
    }
}

/// The text column a field fills, with its limit.
fn text_slot<'e>(event: &'e mut Event, name: &str) -> (&'e mut Option<String>, usize) {
    match name {
        "event_subtype" => (&mut event.event_subtype, Limits::EVENT_SUBTYPE),
        "user_id" => (&mut event.user_id, Limits::USER_ID),
        "fingerprint" => (&mut event.fingerprint, Limits::FINGERPRINT),
        "device_id" => (&mut event.device_id, Limits::DEVICE_ID),
        "user_agent" => (&mut event.user_agent, Limits::USER_AGENT),
        "http_method" => (&mut event.http_method, Limits::HTTP_METHOD),
        "request_path" => (&mut event.request_path, Limits::REQUEST_PATH),
        "geo_country" => (&mut event.geo_country, Limits::GEO_COUNTRY),
        "geo_region" => (&mut event.geo_region, Limits::GEO_REGION),
        "geo_city" => (&mut event.geo_city, Limits::GEO_CITY),
        "geo_timezone" => (&mut event.geo_timezone, Limits::GEO_TIMEZONE),
        "session_id" => (&mut event.session_id, Limits::SESSION_ID),
        "referrer" => (&mut event.referrer, Limits::REFERRER),
        "origin" => (&mut event.origin, Limits::ORIGIN),
        "message" => (&mut event.message, Limits::MESSAGE),
        "error_code" => (&mut event.error_code, Limits::ERROR_CODE),
        "service" => (&mut event.service, Limits::SERVICE),
        "request_id" => (&mut event.request_id, Limits::REQUEST_ID),
        "provider" => (&mut event.provider, Limits::PROVIDER),
        "status" => (&mut event.status, Limits::STATUS),
        other => unreachable!("{other} is not a text field"),
    }
}

/// Every field an event may carry, snake_case.
const FIELDS: &[&str] = &[
    "event_type",
    "event_subtype",
    "created_at",
    "user_id",
    "fingerprint",
    "device_id",
    "ip_address",
    "user_agent",
    "http_method",
    "request_path",
    "request_params",
    "request_body_summary",
    "response_status_code",
    "response_time_ms",
    "geo_country",
    "geo_region",
    "geo_city",
    "geo_timezone",
    "session_id",
    "referrer",
    "origin",
    "success",
    "message",
    "error_code",
    "metadata",
    "service",
    "severity",
    "request_id",
    "provider",
    "status",
];

/// The snake_case field a key names, accepting seed 000's camelCase (`ipAddress`).
fn canonical_name(key: &str) -> Option<&'static str> {
    let snake = if key.bytes().any(|b| b.is_ascii_uppercase()) {
        let mut out = String::with_capacity(key.len() + 4);
        for c in key.chars() {
            if c.is_ascii_uppercase() {
                out.push('_');
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    } else {
        key.to_owned()
    };
    FIELDS.iter().copied().find(|f| *f == snake)
}

fn unknown_field_reason(key: &str) -> String {
    match key {
        "tenant_id" | "tenantId" => "is set from the API key and may not be sent".into(),
        "id" => "is assigned by the server and may not be sent".into(),
        _ => "is not an event field (put extra data under metadata)".into(),
    }
}

fn string(key: &str, value: Value) -> Result<String, ParseError> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(ParseError::field(
            key,
            format!("must be a string, got {}", kind(&other)),
        )),
    }
}

fn integer(key: &str, value: &Value, min: i64, max: i64) -> Result<i64, ParseError> {
    match value.as_i64() {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ParseError::field(
            key,
            format!("must be an integer from {min} to {max}, got {value}"),
        )),
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

/// The top-level field whose value nests deeper than [`Limits::DEPTH`], if any.
fn too_deep(map: &Map<String, Value>) -> Option<String> {
    fn depth(value: &Value) -> usize {
        match value {
            Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    map.iter()
        .find(|(_, value)| 1 + depth(value) > Limits::DEPTH)
        .map(|(key, _)| key.clone())
}

/// Both stores keep microseconds, so every event is cut to them here.
pub fn truncate_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    let micros = at.timestamp_micros();
    DateTime::from_timestamp_micros(micros).unwrap_or(at)
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
