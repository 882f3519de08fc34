//! A Sentry event (develop.sentry.dev/sdk/data-model/event-payloads) as an error report:
//! the last exception's type and value, its stack's in-app frames innermost first, the
//! level, user, request, environment, release, tags and breadcrumbs. Fields Logbook has
//! no place for are left out; a value of an unexpected shape is skipped, not refused.

use chrono::{DateTime, Utc};
use logbook_model::error_groups::report::{ErrorReport, MAX_BREADCRUMBS, MAX_FRAMES};
use serde_json::{Map, Value, json};

/// Frames written into the stack trace text.
const MAX_TRACE_FRAMES: usize = 200;
/// Nesting kept of `contexts`, `tags` and `extra` (deeper values are left out, so one
/// deep context does not cost the whole error).
const MAX_CONTEXT_DEPTH: usize = 8;

/// The event's report, stored under `service` (the DSN's project); its event id.
pub fn report(event: &Value, service: &str) -> (ErrorReport, Option<String>) {
    let exception = values(&event["exception"])
        .last()
        .cloned()
        .unwrap_or(Value::Null);
    let error_type = text(&exception["type"]).unwrap_or_else(|| "Message".to_owned());
    let message = text(&exception["value"])
        .or_else(|| text(&event["logentry"]["formatted"]))
        .or_else(|| text(&event["logentry"]["message"]))
        .or_else(|| text(&event["message"]))
        .or_else(|| text(&event["message"]["formatted"]))
        .unwrap_or_else(|| error_type.clone());
    let frames = values(&exception["stacktrace"]["frames"]);
    let innermost = frames.last().cloned().unwrap_or(Value::Null);
    let user = &event["user"];
    let request = &event["request"];
    let event_id = text(&event["event_id"]);
    let mut context = Map::new();
    for key in ["tags", "contexts", "extra"] {
        if !event[key].is_null() && depth(&event[key]) <= MAX_CONTEXT_DEPTH {
            context.insert(key.to_owned(), event[key].clone());
        }
    }
    context.insert(
        "sentry".to_owned(),
        json!({
            "event_id": event_id, "platform": text(&event["platform"]),
            "release": text(&event["release"]), "server_name": text(&event["server_name"]),
            "transaction": text(&event["transaction"]), "logger": text(&event["logger"]),
            "sdk": text(&event["sdk"]["name"]),
        }),
    );
    let mut breadcrumbs = values(&event["breadcrumbs"]);
    breadcrumbs.drain(..breadcrumbs.len().saturating_sub(MAX_BREADCRUMBS));
    let report = ErrorReport {
        message,
        severity: Some(severity(text(&event["level"]).as_deref()).to_owned()),
        stack_trace: (!frames.is_empty()).then(|| stack_trace(&frames, &exception)),
        file_path: text(&innermost["abs_path"]).or_else(|| text(&innermost["filename"])),
        line_number: innermost["lineno"].as_i64(),
        function_name: text(&innermost["function"]),
        user_id: text(&user["id"])
            .or_else(|| text(&user["email"]))
            .or_else(|| text(&user["username"])),
        ip_address: text(&user["ip_address"]).filter(|ip| ip.parse::<std::net::IpAddr>().is_ok()),
        session_id: None,
        request_id: None,
        endpoint: text(&request["url"]).map(|url| path_of(&url)),
        method: text(&request["method"]),
        status_code: None,
        user_agent: text(&request["headers"]["User-Agent"]),
        environment: text(&event["environment"]),
        service: Some(service.to_owned()),
        context: Some(context),
        breadcrumbs: Some(breadcrumbs).filter(|b| !b.is_empty()),
        fingerprint: client_fingerprint(&event["fingerprint"]),
        frames: Some(in_app_frames(&frames)).filter(|f| !f.is_empty()),
        created_at: timestamp(&event["timestamp"]).map(|at| at.to_rfc3339()),
        error_type,
    };
    (report, event_id)
}

/// A list given as `{"values": [...]}` or as the array itself.
fn values(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Object(map) => match map.get("values") {
            Some(Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn severity(level: Option<&str>) -> &'static str {
    match level {
        Some("fatal") => "fatal",
        Some("warning") => "warning",
        Some("info") => "info",
        Some("debug") => "debug",
        _ => "error",
    }
}

/// `module:function` of each in-app frame, innermost first; every frame when none is
/// marked in-app.
fn in_app_frames(frames: &[Value]) -> Vec<String> {
    let marked = frames.iter().any(|f| f["in_app"] == true);
    frames
        .iter()
        .rev()
        .filter(|f| !marked || f["in_app"] == true)
        .map(|f| {
            let place = text(&f["module"])
                .or_else(|| text(&f["filename"]))
                .unwrap_or_else(|| "?".to_owned());
            let function = text(&f["function"]).unwrap_or_else(|| "?".to_owned());
            let mut name = format!("{place}:{function}");
            if name.chars().count() > 512 {
                name = name.chars().take(512).collect();
            }
            name
        })
        .take(MAX_FRAMES)
        .collect()
}

/// The stack as Python prints it, outermost call first, the error last.
fn stack_trace(frames: &[Value], exception: &Value) -> String {
    let mut trace = String::from("Traceback (most recent call last):\n");
    let skip = frames.len().saturating_sub(MAX_TRACE_FRAMES);
    for f in &frames[skip..] {
        let file = text(&f["abs_path"])
            .or_else(|| text(&f["filename"]))
            .unwrap_or_else(|| "?".to_owned());
        let line = f["lineno"]
            .as_i64()
            .map_or("?".to_owned(), |n| n.to_string());
        let function = text(&f["function"]).unwrap_or_else(|| "?".to_owned());
        trace.push_str(&format!("  File \"{file}\", line {line}, in {function}\n"));
        if let Some(code) = text(&f["context_line"]) {
            trace.push_str(&format!("    {}\n", code.trim()));
        }
    }
    trace.push_str(&format!(
        "{}: {}",
        text(&exception["type"]).unwrap_or_default(),
        text(&exception["value"]).unwrap_or_default()
    ));
    trace
}

/// The client's grouping; `None` when it asks for the default (`{{ default }}`).
fn client_fingerprint(value: &Value) -> Option<Vec<String>> {
    let parts: Vec<String> = value.as_array()?.iter().filter_map(text).collect();
    let default = parts
        .iter()
        .any(|p| p.replace(' ', "").eq_ignore_ascii_case("{{default}}"));
    (!default && !parts.is_empty()).then_some(parts)
}

/// Seconds since the epoch, or an RFC 3339 time (with or without its `Z`).
fn timestamp(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::Number(n) => {
            let seconds = n.as_f64()?;
            let micros = (seconds * 1e6).round();
            (micros.abs() < 1e17).then(|| DateTime::from_timestamp_micros(micros as i64))?
        }
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .or_else(|_| DateTime::parse_from_rfc3339(&format!("{s}Z")))
            .ok()
            .map(|at| at.with_timezone(&Utc)),
        _ => None,
    }
}

/// The path of a URL, without its scheme, host, query or fragment.
fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = match after_scheme.find('/') {
        Some(at) if url.contains("://") => &after_scheme[at..],
        None if url.contains("://") => "/",
        _ => after_scheme,
    };
    path.split(['?', '#']).next().unwrap_or("/").to_owned()
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_python_exception_becomes_a_report() {
        let event = json!({
            "event_id": "9ec79c33ec9942ab8353589fcb2e04dc", "level": "error", "platform": "python",
            "timestamp": "2026-12-05T10:00:00.250000Z", "environment": "production",
            "user": {"id": 42, "ip_address": "{{auto}}"},
            "request": {"url": "https://shop.example/cart/7?x=1", "method": "POST"},
            "exception": {"values": [
                {"type": "KeyError", "value": "'sku'"},
                {"type": "ValueError", "value": "bad amount 3", "stacktrace": {"frames": [
                    {"filename": "django/core.py", "module": "django.core", "function": "handle", "lineno": 10, "in_app": false},
                    {"filename": "shop/views.py", "abs_path": "/app/shop/views.py", "module": "shop.views", "function": "checkout", "lineno": 33, "in_app": true, "context_line": "    charge(amount)"},
                    {"filename": "shop/billing.py", "module": "shop.billing", "function": "charge", "lineno": 7, "in_app": true}
                ]}}
            ]},
            "breadcrumbs": {"values": [{"message": "a"}, {"message": "b"}]},
            "fingerprint": ["{{ default }}"]
        });
        let (report, id) = report(&event, "7");
        assert_eq!(id.as_deref(), Some("9ec79c33ec9942ab8353589fcb2e04dc"));
        assert_eq!(report.error_type, "ValueError");
        assert_eq!(report.message, "bad amount 3");
        assert_eq!(
            report.frames.unwrap(),
            vec!["shop.billing:charge", "shop.views:checkout"]
        );
        assert_eq!(report.user_id.as_deref(), Some("42"));
        assert_eq!(report.ip_address, None, "{{{{auto}}}} is no address");
        assert_eq!(report.endpoint.as_deref(), Some("/cart/7"));
        assert_eq!(report.method.as_deref(), Some("POST"));
        assert_eq!(report.service.as_deref(), Some("7"));
        assert_eq!(report.fingerprint, None);
        assert_eq!(report.line_number, Some(7));
        assert_eq!(
            report.created_at.as_deref(),
            Some("2026-12-05T10:00:00.250+00:00")
        );
        let trace = report.stack_trace.unwrap();
        assert!(trace.starts_with("Traceback"));
        assert!(
            trace.contains("File \"/app/shop/views.py\", line 33, in checkout\n    charge(amount)")
        );
        assert!(trace.ends_with("ValueError: bad amount 3"));
        assert_eq!(report.breadcrumbs.unwrap().len(), 2);
    }

    #[test]
    fn messages_odd_shapes_and_client_fingerprints() {
        let (report, _) = report(
            &json!({"logentry": {"formatted": "disk full"}, "level": "warning",
                    "timestamp": 1764928800.5, "fingerprint": ["disk", 3],
                    "exception": "nonsense", "user": "nobody", "contexts": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}}),
            "1",
        );
        assert_eq!(
            (
                report.error_type.as_str(),
                report.message.as_str(),
                report.severity.as_deref()
            ),
            ("Message", "disk full", Some("warning"))
        );
        assert_eq!(
            report.fingerprint,
            Some(vec!["disk".to_owned(), "3".to_owned()])
        );
        assert_eq!(
            report.created_at.as_deref(),
            Some("2025-12-05T10:00:00.500+00:00")
        );
        assert!(
            report.context.unwrap().get("contexts").is_none(),
            "too deep"
        );
        assert_eq!(report.user_id, None);
        assert_eq!(path_of("/local/path?q"), "/local/path");
        assert_eq!(path_of("http://host"), "/");
        assert_eq!(timestamp(&json!(1e300)), None);
    }
}
