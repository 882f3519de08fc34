//! OTLP/JSON: the same messages in JSON, as the OTLP specification encodes them — field
//! names in lowerCamelCase, 64-bit integers as strings, trace and span ids as hex.

use serde_json::{Map, Value};

use super::Record;

type Result<T> = std::result::Result<T, String>;

fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn nanos(value: &Value) -> u64 {
    match value {
        Value::Number(n) => n.as_u64().unwrap_or(0),
        Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

fn attributes(value: &Value) -> Map<String, Value> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|kv| Some((kv["key"].as_str()?.to_owned(), any_value(&kv["value"]))))
        .collect()
}

fn any_value(value: &Value) -> Value {
    let Some(map) = value.as_object() else {
        return Value::Null;
    };
    if let Some(s) = map.get("stringValue") {
        return s.clone();
    }
    if let Some(b) = map.get("boolValue") {
        return b.clone();
    }
    if let Some(i) = map.get("intValue") {
        return int(i).map_or(Value::Null, Value::from);
    }
    if let Some(d) = map.get("doubleValue") {
        return d.clone();
    }
    if let Some(array) = map.get("arrayValue") {
        return Value::Array(
            array["values"]
                .as_array()
                .into_iter()
                .flatten()
                .map(any_value)
                .collect(),
        );
    }
    if let Some(list) = map.get("kvlistValue") {
        return Value::Object(attributes(&list["values"]));
    }
    map.get("bytesValue").cloned().unwrap_or(Value::Null)
}

/// Severity numbers may come as integers or, from some encoders, as enum names.
fn severity_number(value: &Value) -> i64 {
    match value {
        Value::String(name) if name.starts_with("SEVERITY_NUMBER_") => {
            super::severity_number_of_name(name)
        }
        other => int(other).unwrap_or(0),
    }
}

pub fn decode(body: &[u8]) -> Result<Vec<Record>> {
    let request: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    let mut records = Vec::new();
    for resource_logs in request["resourceLogs"].as_array().into_iter().flatten() {
        let resource = attributes(&resource_logs["resource"]["attributes"]);
        for scope_logs in resource_logs["scopeLogs"].as_array().into_iter().flatten() {
            let scope = scope_logs["scope"]["name"].as_str().map(str::to_owned);
            for log in scope_logs["logRecords"].as_array().into_iter().flatten() {
                let hex = |key: &str| {
                    log[key]
                        .as_str()
                        .and_then(logbook_model::hex::decode)
                        .unwrap_or_default()
                };
                records.push(Record {
                    time_nanos: nanos(&log["timeUnixNano"]),
                    observed_nanos: nanos(&log["observedTimeUnixNano"]),
                    severity_number: severity_number(&log["severityNumber"]),
                    severity_text: log["severityText"].as_str().unwrap_or_default().to_owned(),
                    body: log.get("body").map(any_value),
                    attributes: attributes(&log["attributes"]),
                    trace_id: hex("traceId"),
                    span_id: hex("spanId"),
                    event_name: log["eventName"].as_str().map(str::to_owned),
                    scope: scope.clone(),
                    resource: resource.clone(),
                });
            }
        }
    }
    Ok(records)
}
