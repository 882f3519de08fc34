//! The fast reader: JSON text straight into typed fields in one pass, borrowing strings
//! where the JSON has no escapes. It gives up (returns `None`) on anything unexpected —
//! an unknown or repeated field, a wrong type, a failed check — and leaves the careful
//! reader to say what is wrong.

use std::{borrow::Cow, fmt};

use serde::{Deserialize, Deserializer, de};
use serde_json::{Map, Value};

use super::fields::Fields;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<'a> {
    #[serde(borrow, alias = "eventType")]
    event_type: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "eventSubtype")]
    event_subtype: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "createdAt")]
    created_at: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "userId")]
    user_id: Option<UserId<'a>>,
    #[serde(borrow)]
    fingerprint: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "deviceId")]
    device_id: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "ipAddress")]
    ip_address: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "userAgent")]
    user_agent: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "httpMethod")]
    http_method: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "requestPath")]
    request_path: Option<Cow<'a, str>>,
    #[serde(alias = "requestParams")]
    request_params: Option<Map<String, Value>>,
    #[serde(alias = "requestBodySummary")]
    request_body_summary: Option<Map<String, Value>>,
    #[serde(alias = "responseStatusCode")]
    response_status_code: Option<i64>,
    #[serde(alias = "responseTimeMs")]
    response_time_ms: Option<f64>,
    #[serde(borrow, alias = "geoCountry")]
    geo_country: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "geoRegion")]
    geo_region: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "geoCity")]
    geo_city: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "geoTimezone")]
    geo_timezone: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "sessionId")]
    session_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    referrer: Option<Cow<'a, str>>,
    #[serde(borrow)]
    origin: Option<Cow<'a, str>>,
    success: Option<bool>,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "errorCode")]
    error_code: Option<Cow<'a, str>>,
    metadata: Option<Map<String, Value>>,
    #[serde(borrow)]
    service: Option<Cow<'a, str>>,
    #[serde(borrow)]
    severity: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "requestId")]
    request_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    provider: Option<Cow<'a, str>>,
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
}

/// The checked fields of a well-formed event, or `None` for the careful reader to explain.
pub fn read(raw: &str) -> Option<Fields> {
    let wire: Wire<'_> = serde_json::from_str(raw).ok()?;
    let mut fields = Fields::default();
    fields.event_type(wire.event_type.as_deref()?).ok()?;
    if let Some(at) = &wire.created_at {
        fields.created_at(at).ok()?;
    }
    if let Some(ip) = &wire.ip_address {
        fields.ip_address(ip).ok()?;
    }
    if let Some(code) = wire.response_status_code {
        fields.response_status_code(code).ok()?;
    }
    if let Some(millis) = wire.response_time_ms {
        fields.response_time_ms(millis).ok()?;
    }
    if let Some(severity) = &wire.severity {
        fields.severity(severity).ok()?;
    }
    fields.success = wire.success;
    let texts = [
        ("event_subtype", wire.event_subtype),
        ("user_id", wire.user_id.map(|u| u.0)),
        ("fingerprint", wire.fingerprint),
        ("device_id", wire.device_id),
        ("user_agent", wire.user_agent),
        ("http_method", wire.http_method),
        ("request_path", wire.request_path),
        ("geo_country", wire.geo_country),
        ("geo_region", wire.geo_region),
        ("geo_city", wire.geo_city),
        ("geo_timezone", wire.geo_timezone),
        ("session_id", wire.session_id),
        ("referrer", wire.referrer),
        ("origin", wire.origin),
        ("message", wire.message),
        ("error_code", wire.error_code),
        ("service", wire.service),
        ("request_id", wire.request_id),
        ("provider", wire.provider),
        ("status", wire.status),
    ];
    for (name, text) in texts {
        if let Some(text) = text {
            fields.text(name, text.into_owned()).ok()?;
        }
    }
    let objects = [
        ("request_params", wire.request_params),
        ("request_body_summary", wire.request_body_summary),
        ("metadata", wire.metadata),
    ];
    for (name, map) in objects {
        if let Some(map) = map {
            fields.object(name, map).ok()?;
        }
    }
    Some(fields)
}

/// A user id sent as text or as an integer (stored as its decimal text).
struct UserId<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for UserId<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> de::Visitor<'de> for Visit {
            type Value = UserId<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(UserId(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(UserId(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(UserId(Cow::Owned(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(UserId(Cow::Owned(v.to_string())))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(UserId(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}
