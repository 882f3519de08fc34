//! OTLP/HTTP JSON: the same messages in JSON, as the OTLP specification encodes them
//! (lowerCamelCase names, 64-bit integers as strings, trace and span ids as hex), read
//! with the official message types' serde support.
//!
//! The envelope is read first with each record left as raw text, so records are counted
//! and measured before any is decoded. serde_json bounds nesting at 128 levels.

use std::sync::Arc;

use opentelemetry_proto::tonic::{
    common::v1::InstrumentationScope, logs::v1::LogRecord, resource::v1::Resource,
};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Decoded, Limits, Refusal, Scope};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    #[serde(default, borrow)]
    resource_logs: Vec<ResourceLogs<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceLogs<'a> {
    #[serde(default, borrow)]
    resource: Option<&'a RawValue>,
    #[serde(default, borrow)]
    scope_logs: Vec<ScopeLogs<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScopeLogs<'a> {
    #[serde(default, borrow)]
    scope: Option<&'a RawValue>,
    #[serde(default, borrow)]
    log_records: Vec<&'a RawValue>,
}

fn read<'a, T: Deserialize<'a>>(raw: &'a RawValue, what: &str) -> Result<T, String> {
    serde_json::from_str(raw.get()).map_err(|e| format!("{what}: {e}"))
}

pub fn decode(body: &[u8], limits: &mut Limits) -> Result<Vec<Decoded>, Refusal> {
    let request: Request<'_> =
        serde_json::from_slice(body).map_err(|e| Refusal::Invalid(format!("invalid JSON: {e}")))?;
    limits.count(
        request
            .resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .map(|s| s.log_records.len())
            .sum(),
    )?;
    let mut records = Vec::new();
    for resource_logs in request.resource_logs {
        let (resource, resource_len) = match resource_logs.resource {
            Some(raw) => {
                let len = limits.shared(raw.get().len())?;
                (read::<Resource>(raw, "resource")?, len)
            }
            None => (Resource::default(), 0),
        };
        let resource = Arc::new(super::attributes(&resource.attributes)?);
        for scope_logs in resource_logs.scope_logs {
            let (name, scope_len) = match scope_logs.scope {
                Some(raw) => {
                    let len = limits.shared(raw.get().len())?;
                    let scope: InstrumentationScope = read(raw, "scope")?;
                    (Some(scope.name).filter(|n| !n.is_empty()), len)
                }
                None => (None, 0),
            };
            let scope = Arc::new(Scope {
                resource: resource.clone(),
                name,
                shared_bytes: resource_len + scope_len,
            });
            for raw in scope_logs.log_records {
                records.push(match limits.record(raw.get().len(), &scope)? {
                    Some(rejected) => Decoded::Rejected(rejected),
                    None => Decoded::Record(read::<LogRecord>(raw, "logRecord")?, scope.clone()),
                });
            }
        }
    }
    Ok(records)
}
