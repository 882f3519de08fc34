//! An event to send, built field by field (the wire names of Logbook's event API).

use serde_json::{Map, Value, json};

/// An event for `POST /api/v1/events`. Only `event_type` is required; the server checks
/// the rest, and sets the tenant and id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Event(pub(crate) Map<String, Value>);

macro_rules! text_fields {
    ($($name:ident),* $(,)?) => {
        $(
            #[doc = concat!("Sets `", stringify!($name), "`.")]
            pub fn $name(self, value: impl Into<String>) -> Self {
                self.set(stringify!($name), Value::String(value.into()))
            }
        )*
    };
}

impl Event {
    pub fn new(event_type: &str) -> Self {
        Self::default().set("event_type", json!(event_type))
    }

    /// Sets any field by its wire name.
    pub fn set(mut self, field: &str, value: Value) -> Self {
        self.0.insert(field.to_owned(), value);
        self
    }

    pub fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field)
    }

    text_fields!(
        event_subtype,
        user_id,
        fingerprint,
        device_id,
        user_agent,
        http_method,
        request_path,
        geo_country,
        geo_region,
        geo_city,
        geo_timezone,
        session_id,
        referrer,
        origin,
        message,
        error_code,
        service,
        severity,
        request_id,
        provider,
        status,
    );

    /// Sets `ip_address`.
    pub fn ip(self, ip: impl ToString) -> Self {
        self.set("ip_address", Value::String(ip.to_string()))
    }

    pub fn success(self, success: bool) -> Self {
        self.set("success", Value::Bool(success))
    }

    pub fn status_code(self, code: u16) -> Self {
        self.set("response_status_code", json!(code))
    }

    pub fn response_time_ms(self, millis: f64) -> Self {
        self.set("response_time_ms", json!(millis))
    }

    /// Sets `created_at`; by default the server stamps the time it receives the event.
    pub fn created_at(self, at: chrono::DateTime<chrono::Utc>) -> Self {
        self.set(
            "created_at",
            Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        )
    }

    pub fn metadata(self, metadata: Value) -> Self {
        self.set("metadata", metadata)
    }

    pub fn request_params(self, params: Value) -> Self {
        self.set("request_params", params)
    }

    pub fn request_body_summary(self, summary: Value) -> Self {
        self.set("request_body_summary", summary)
    }

    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(&self.0).expect("a JSON map serializes")
    }
}
