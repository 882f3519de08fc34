//! An error as a client reports it (seed 001's error log fields), and how it becomes an
//! ERROR event plus the occurrence its group counts. Every check of the event reader
//! applies to it (sizes, nesting, redaction), because the event is read by that reader.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{ErrorOccurrence, grouping};
use crate::{EventParser, ParseError, Severity, TenantId};

/// Longest error type (seed 001: `VARCHAR(100)`).
pub const MAX_ERROR_TYPE: usize = 100;
/// Most in-app frames kept with an occurrence, and longest frame name.
pub const MAX_FRAMES: usize = 50;
pub const MAX_FRAME: usize = 512;
/// Most parts of a client's fingerprint, and longest part.
pub const MAX_FINGERPRINT_PARTS: usize = 16;
/// Most breadcrumbs kept with an occurrence (as Sentry's SDKs keep).
pub const MAX_BREADCRUMBS: usize = 100;
/// Longest environment name (seed 001: `VARCHAR(50)`).
pub const MAX_ENVIRONMENT: usize = 50;

/// One error report.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorReport {
    pub message: String,
    pub error_type: String,
    pub severity: Option<String>,
    pub stack_trace: Option<String>,
    pub file_path: Option<String>,
    pub line_number: Option<i64>,
    pub function_name: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub request_id: Option<String>,
    pub endpoint: Option<String>,
    pub method: Option<String>,
    pub status_code: Option<i64>,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    pub environment: Option<String>,
    pub service: Option<String>,
    pub context: Option<Map<String, Value>>,
    pub breadcrumbs: Option<Vec<Value>>,
    /// The client's own grouping, replacing the default one.
    pub fingerprint: Option<Vec<String>>,
    /// The in-app frames, innermost (where it was raised) first, as `module:function`.
    pub frames: Option<Vec<String>>,
    /// When it happened (RFC 3339); now when absent.
    pub created_at: Option<String>,
}

impl ErrorReport {
    /// The stored ERROR event and the occurrence its group counts.
    pub fn accept(
        mut self,
        parser: &EventParser,
        tenant: TenantId,
        now: DateTime<Utc>,
    ) -> Result<(crate::Event, ErrorOccurrence), ParseError> {
        // Checked, grouped and stored as one text: " E" and "E" are one type.
        self.error_type = self.error_type.trim().to_owned();
        self.check()?;
        let frames = self.frames.clone().unwrap_or_default();
        let key = grouping::fingerprint(
            self.fingerprint.as_deref(),
            &self.error_type,
            &self.message,
            &frames,
        );
        let culprit =
            super::bounded_culprit(frames.first().cloned().or_else(|| self.endpoint.clone()));
        let error_type = self.error_type.clone();
        let environment = self.environment.clone();
        let event = parser
            .parse_value(tenant, self.into_event_json(&key), now)
            .map_err(as_reported)?;
        let occurrence = ErrorOccurrence {
            event_id: event.id,
            occurred_at: event.created_at,
            fingerprint: key,
            error_type,
            message: event.message.clone().unwrap_or_default(),
            severity: event.severity,
            culprit,
            environment,
            service: event.service.clone(),
            user_id: event.user_id.clone(),
        };
        Ok((event, occurrence))
    }

    fn check(&self) -> Result<(), ParseError> {
        let field = |name: &str, reason: String| Err(ParseError::field(name, reason));
        if self.message.trim().is_empty() {
            return field("message", "is required".into());
        }
        let error_type = self.error_type.trim();
        if error_type.is_empty() || error_type.chars().count() > MAX_ERROR_TYPE {
            return field(
                "error_type",
                format!("must be 1–{MAX_ERROR_TYPE} characters"),
            );
        }
        if let Some(severity) = &self.severity
            && let Err(reason) = severity.parse::<Severity>()
        {
            return field("severity", reason);
        }
        if self
            .environment
            .as_ref()
            .is_some_and(|e| e.chars().count() > MAX_ENVIRONMENT)
        {
            return field(
                "environment",
                format!("is longer than {MAX_ENVIRONMENT} characters"),
            );
        }
        let too_long = |parts: &[String], most: usize, longest: usize| {
            parts.len() > most || parts.iter().any(|p| p.chars().count() > longest)
        };
        if self
            .frames
            .as_ref()
            .is_some_and(|f| too_long(f, MAX_FRAMES, MAX_FRAME))
        {
            return field(
                "frames",
                format!("holds at most {MAX_FRAMES} frames of at most {MAX_FRAME} characters"),
            );
        }
        if self
            .fingerprint
            .as_ref()
            .is_some_and(|f| too_long(f, MAX_FINGERPRINT_PARTS, MAX_FRAME))
        {
            return field(
                "fingerprint",
                format!(
                    "holds at most {MAX_FINGERPRINT_PARTS} parts of at most {MAX_FRAME} characters"
                ),
            );
        }
        if self
            .breadcrumbs
            .as_ref()
            .is_some_and(|b| b.len() > MAX_BREADCRUMBS)
        {
            return field(
                "breadcrumbs",
                format!("holds at most {MAX_BREADCRUMBS} breadcrumbs"),
            );
        }
        Ok(())
    }

    /// Reads one report from its JSON text, bounded like an event.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        ParseError::check_size(raw)?;
        serde_json::from_str(raw)
            .map_err(|e| ParseError::whole(format!("invalid error report: {e}")))
    }

    /// The event as the event reader takes it: what has an event column goes there, the
    /// rest under `metadata.error`.
    fn into_event_json(self, fingerprint: &str) -> Value {
        let mut error = Map::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                error.insert(key.to_owned(), value);
            }
        };
        put("type", Some(json!(self.error_type.trim())));
        put("fingerprint", Some(json!(fingerprint)));
        put("stack_trace", self.stack_trace.map(Value::from));
        put("file_path", self.file_path.map(Value::from));
        put("line_number", self.line_number.map(Value::from));
        put("function_name", self.function_name.map(Value::from));
        put("environment", self.environment.map(Value::from));
        put("frames", self.frames.map(Value::from));
        put("context", self.context.map(Value::Object));
        put("breadcrumbs", self.breadcrumbs.map(Value::from));
        let mut event = Map::new();
        let mut set = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                event.insert(key.to_owned(), value);
            }
        };
        set("event_type", Some(json!(super::EVENT_TYPE)));
        set("message", Some(json!(self.message)));
        set(
            "severity",
            Some(json!(self.severity.unwrap_or_else(|| "error".to_owned()))),
        );
        set("success", Some(json!(false)));
        set("user_id", self.user_id.map(Value::from));
        set("session_id", self.session_id.map(Value::from));
        set("request_id", self.request_id.map(Value::from));
        set("request_path", self.endpoint.map(Value::from));
        set("http_method", self.method.map(Value::from));
        set("response_status_code", self.status_code.map(Value::from));
        set("user_agent", self.user_agent.map(Value::from));
        set("ip_address", self.ip_address.map(Value::from));
        set("service", self.service.map(Value::from));
        set("created_at", self.created_at.map(Value::from));
        set("metadata", Some(json!({ "error": error })));
        Value::Object(event)
    }
}

/// A rejection of the event, naming the field as the report spells it.
fn as_reported(mut error: ParseError) -> ParseError {
    let reported = match error.field.as_deref() {
        Some("request_path") => "endpoint",
        Some("http_method") => "method",
        Some("response_status_code") => "status_code",
        Some("metadata") => "context",
        _ => return error,
    };
    error.field = Some(reported.to_owned());
    error
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;

    fn accept(json: serde_json::Value) -> ErrorOccurrence {
        let now: DateTime<Utc> = "2026-11-21T12:00:00Z".parse().unwrap();
        ErrorReport::parse(&json.to_string())
            .unwrap()
            .accept(&EventParser::default(), TenantId::new(), now)
            .unwrap()
            .1
    }

    #[test]
    fn a_type_is_checked_grouped_and_kept_trimmed() {
        let padded = accept(
            serde_json::json!({"error_type": format!("{}E", "\n".repeat(150)), "message": "m"}),
        );
        let plain = accept(serde_json::json!({"error_type": "E", "message": "m"}));
        assert_eq!(padded.error_type, "E");
        assert_eq!(padded.fingerprint, plain.fingerprint);
    }

    #[test]
    fn a_long_endpoint_is_cut_to_a_culprit() {
        let o = accept(
            serde_json::json!({"error_type": "E", "message": "m", "endpoint": format!("/{}", "a".repeat(1500))}),
        );
        assert_eq!(o.culprit.unwrap().chars().count(), MAX_FRAME);
    }
}
