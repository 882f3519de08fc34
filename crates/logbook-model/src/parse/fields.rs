//! The checked fields of one event, whichever reader found them, and how they become an
//! [`Event`]. Each check returns the reason it failed; the caller names the field.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use super::{depth, truncate_to_micros};
use crate::{Event, EventType, Limits, Redactor, Severity, TenantId};

#[derive(Default)]
pub struct Fields {
    event_type: Option<EventType>,
    created_at: Option<DateTime<Utc>>,
    ip_address: Option<IpAddr>,
    texts: Vec<(&'static str, String)>,
    objects: Vec<(&'static str, Map<String, Value>)>,
    response_status_code: Option<i16>,
    response_time_ms: Option<i32>,
    pub success: Option<bool>,
    severity: Option<Severity>,
}

impl Fields {
    pub fn event_type(&mut self, text: &str) -> Result<(), String> {
        self.event_type = Some(EventType::parse(text)?);
        Ok(())
    }

    pub fn created_at(&mut self, text: &str) -> Result<(), String> {
        let at = DateTime::parse_from_rfc3339(text)
            .map_err(|e| format!("must be an RFC 3339 time such as 2026-01-27T10:00:00Z ({e})"))?;
        self.created_at = Some(truncate_to_micros(at.with_timezone(&Utc)));
        Ok(())
    }

    pub fn ip_address(&mut self, text: &str) -> Result<(), String> {
        let ip: IpAddr = text
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an IPv4 or IPv6 address"))?;
        self.ip_address = Some(ip.to_canonical());
        Ok(())
    }

    pub fn response_status_code(&mut self, code: i64) -> Result<(), String> {
        match i16::try_from(code) {
            Ok(code) if (0..=999).contains(&code) => {
                self.response_status_code = Some(code);
                Ok(())
            }
            _ => Err(format!("must be an integer from 0 to 999, got {code}")),
        }
    }

    pub fn response_time_ms(&mut self, millis: f64) -> Result<(), String> {
        if !(0.0..=f64::from(i32::MAX)).contains(&millis) {
            return Err(format!(
                "must be a number from 0 to {}, got {millis}",
                i32::MAX
            ));
        }
        self.response_time_ms = Some(millis.round() as i32);
        Ok(())
    }

    pub fn severity(&mut self, text: &str) -> Result<(), String> {
        self.severity = Some(text.parse()?);
        Ok(())
    }

    /// A text column; empty text counts as absent.
    pub fn text(&mut self, name: &'static str, text: String) -> Result<(), String> {
        if text.contains('\0') {
            return Err(NUL.into());
        }
        if !text.is_empty() {
            let text = if name == "http_method" {
                text.to_ascii_uppercase()
            } else {
                text
            };
            self.texts.push((name, text));
        }
        Ok(())
    }

    pub fn object(&mut self, name: &'static str, map: Map<String, Value>) -> Result<(), String> {
        if 1 + depth(&map) > Limits::DEPTH {
            return Err(format!(
                "JSON nesting is deeper than {} levels",
                Limits::DEPTH
            ));
        }
        if map
            .iter()
            .any(|(key, value)| key.contains('\0') || holds_nul(value))
        {
            return Err(NUL.into());
        }
        self.objects.push((name, map));
        Ok(())
    }

    /// The event, redacted, with over-long text cut; on error, the field and the reason.
    pub fn into_event(
        self,
        tenant: TenantId,
        now: DateTime<Utc>,
        backfill: Duration,
        redactor: &Redactor,
    ) -> Result<Event, (&'static str, String)> {
        let event_type = self
            .event_type
            .ok_or(("event_type", "is required".to_owned()))?;
        let created_at = match self.created_at {
            None => truncate_to_micros(now),
            Some(at) if at > now + Duration::seconds(Limits::FUTURE_SKEW_SECS) => {
                return Err((
                    "created_at",
                    format!(
                        "{} is more than 5 minutes in the future (server time {})",
                        at.to_rfc3339(),
                        now.to_rfc3339()
                    ),
                ));
            }
            Some(at) if at < now - backfill => {
                return Err((
                    "created_at",
                    format!(
                        "{} is older than the back-fill window of {} days (server time {})",
                        at.to_rfc3339(),
                        backfill.num_days(),
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
        let mut truncated: Vec<&'static str> = Vec::new();
        for (name, mut text) in self.texts {
            let (slot, limit) = text_slot(&mut event, name);
            // A text of at most `limit` bytes has at most `limit` characters: most texts
            // never need counting.
            if let Some((cut_at, _)) = (text.len() > limit)
                .then(|| text.char_indices().nth(limit))
                .flatten()
            {
                text.truncate(cut_at);
                truncated.push(name);
            }
            *slot = Some(text);
        }
        if event.event_type.as_str() == ACTION {
            check_action(&mut event)?;
        }
        for (name, map) in self.objects {
            let mut value = Value::Object(map);
            redactor.redact(&mut value);
            match name {
                "request_params" => event.request_params = Some(value),
                "request_body_summary" => event.request_body_summary = Some(value),
                _ => event.metadata = Some(value),
            }
        }
        if !truncated.is_empty() {
            truncated.sort_unstable();
            let list = Value::Array(
                truncated
                    .into_iter()
                    .map(|f| Value::String(f.into()))
                    .collect(),
            );
            let metadata = event
                .metadata
                .get_or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(map) = metadata {
                map.insert("_truncated".into(), list);
            }
        }
        Ok(event)
    }
}

/// Provider actions (seed 004's action logs): what was done, where, and how it ended.
const ACTION: &str = "ACTION";
/// An action's statuses, stored in lower case whatever case they were sent in.
pub const ACTION_STATUSES: [&str; 5] = ["pending", "success", "failure", "timeout", "retry"];

fn check_action(event: &mut Event) -> Result<(), (&'static str, String)> {
    if event.event_subtype.is_none() {
        return Err((
            "event_subtype",
            "is required for ACTION events: the action type, e.g. crm_create".into(),
        ));
    }
    if event.provider.is_none() {
        return Err((
            "provider",
            "is required for ACTION events: the provider acted on, e.g. hubspot".into(),
        ));
    }
    let status = event.status.as_deref().map(str::to_ascii_lowercase);
    match status {
        Some(status) if ACTION_STATUSES.contains(&status.as_str()) => {
            event.status = Some(status);
            Ok(())
        }
        _ => Err((
            "status",
            format!(
                "is required for ACTION events: one of {}",
                ACTION_STATUSES.join(", ")
            ),
        )),
    }
}

/// PostgreSQL cannot store U+0000 in text or jsonb: an event holding one would fail its
/// whole batch, so it is refused here, on its own.
const NUL: &str = "contains a NUL character (\\u0000), which cannot be stored";

fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
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

/// Every field a client may send, snake_case: all of an event's but the id.
fn sendable() -> &'static [&'static str] {
    &crate::event::FIELD_NAMES[1..]
}

/// The snake_case field a key names, accepting seed 000's camelCase (`ipAddress`).
pub fn canonical_name(key: &str) -> Option<&'static str> {
    if !key.bytes().any(|b| b.is_ascii_uppercase()) {
        return sendable().iter().copied().find(|f| *f == key);
    }
    let mut snake = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            snake.push('_');
            snake.push(c.to_ascii_lowercase());
        } else {
            snake.push(c);
        }
    }
    sendable().iter().copied().find(|f| *f == snake)
}

pub fn unknown_field_reason(key: &str) -> String {
    match key {
        "tenant_id" | "tenantId" => "is set from the API key and may not be sent".into(),
        "id" => "is assigned by the server and may not be sent".into(),
        _ => "is not an event field (put extra data under metadata)".into(),
    }
}
