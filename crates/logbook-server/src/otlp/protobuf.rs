//! OTLP/HTTP protobuf: `ExportLogsServiceRequest` read with prost and the official
//! OpenTelemetry message types (`opentelemetry-proto`).
//!
//! The request is not decoded in one call: that would allocate every record of a 10 MiB
//! body before any could be counted (an empty record is two bytes on the wire and two
//! hundred in memory). Its three levels of framing (request → ResourceLogs → ScopeLogs →
//! LogRecord) are walked with prost's own wire primitives, counting records as they are
//! found; each resource, scope and record is then decoded by prost on its own, once its
//! size is known to be within the limits. prost bounds message nesting at 100 levels.

use std::sync::Arc;

use opentelemetry_proto::tonic::{
    common::v1::InstrumentationScope, logs::v1::LogRecord, resource::v1::Resource,
};
use prost::{
    Message,
    bytes::Buf,
    encoding::{DecodeContext, WireType, decode_key, decode_varint, skip_field},
};

use super::{Decoded, Limits, Refusal, Scope};

/// The length-delimited fields numbered `tag` of one message, as the bytes each holds;
/// other fields are skipped, as protobuf readers must, so newer senders still work.
fn fields(mut message: &[u8], tag: u32) -> impl Iterator<Item = Result<&[u8], String>> + '_ {
    std::iter::from_fn(move || {
        while message.has_remaining() {
            let step = (|| -> Result<Option<&[u8]>, String> {
                let (number, wire) = decode_key(&mut message).map_err(|e| e.to_string())?;
                if number == tag && wire == WireType::LengthDelimited {
                    let len = decode_varint(&mut message).map_err(|e| e.to_string())?;
                    let len = usize::try_from(len).unwrap_or(usize::MAX);
                    if len > message.len() {
                        return Err("a field runs past the end of its message".into());
                    }
                    let (field, rest) = message.split_at(len);
                    message = rest;
                    return Ok(Some(field));
                }
                skip_field(wire, number, &mut message, DecodeContext::default())
                    .map_err(|e| e.to_string())?;
                Ok(None)
            })();
            match step {
                Ok(Some(field)) => return Some(Ok(field)),
                Ok(None) => continue,
                Err(error) => {
                    message = &[];
                    return Some(Err(error));
                }
            }
        }
        None
    })
}

pub fn decode(body: &[u8], limits: &mut Limits) -> Result<Vec<Decoded>, Refusal> {
    let mut records = Vec::new();
    for resource_logs in fields(body, 1) {
        let resource_logs = resource_logs?;
        let (mut resource, mut resource_len) = (Resource::default(), 0);
        for field in fields(resource_logs, 1) {
            let field = field?;
            resource_len = limits.shared(field.len())?;
            resource = Resource::decode(field).map_err(|e| e.to_string())?;
        }
        let resource = Arc::new(super::attributes(&resource.attributes)?);
        for scope_logs in fields(resource_logs, 2) {
            let scope_logs = scope_logs?;
            let (mut name, mut scope_len) = (None, 0);
            for field in fields(scope_logs, 1) {
                let field = field?;
                scope_len = limits.shared(field.len())?;
                let scope = InstrumentationScope::decode(field).map_err(|e| e.to_string())?;
                name = Some(scope.name).filter(|n| !n.is_empty());
            }
            let scope = Arc::new(Scope {
                resource: resource.clone(),
                name,
                shared_bytes: resource_len + scope_len,
            });
            for record in fields(scope_logs, 2) {
                let record = record?;
                limits.count(1)?;
                records.push(match limits.record(record.len(), &scope)? {
                    Some(rejected) => Decoded::Rejected(rejected),
                    None => Decoded::Record(
                        LogRecord::decode(record).map_err(|e| e.to_string())?,
                        scope.clone(),
                    ),
                });
            }
        }
    }
    Ok(records)
}
