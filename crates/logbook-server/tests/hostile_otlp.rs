//! A bounded fuzzer for the OTLP decoders (protobuf and JSON) and gzip framing: mutated
//! and generated requests go through the same steps as `POST /v1/logs` (gzip undone,
//! the request decoded, each record's event parsed) and must never panic. Every event
//! accepted keeps the model's promises: nesting within the limit, its JSON within the
//! per-event limit, no NUL; every gzip body decodes to the exact concatenation of its
//! members or is refused, never cut short in silence.
//!
//! `LOGBOOK_FUZZ_CASES` sets how many inputs per decoder (default 100,000); run long with
//! `LOGBOOK_FUZZ_CASES=1000000 cargo test --release -p logbook-server --test hostile_otlp`.

use std::io::Write;

use chrono::{DateTime, Utc};
use logbook_model::{EventParser, Limits, TenantId};
use logbook_server::{compression, otlp};
use serde_json::Value;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn cases() -> u64 {
    std::env::var("LOGBOOK_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

const PROTOBUF: &[u8] = include_bytes!("fixtures/otlp_logs.pb");
const JSON: &str = include_str!("fixtures/otlp_logs.json");

fn mutate(rng: &mut Rng, mut bytes: Vec<u8>, tokens: &[&[u8]]) -> Vec<u8> {
    for _ in 0..rng.below(8) {
        if bytes.is_empty() {
            bytes.push(0);
        }
        let at = rng.below(bytes.len());
        match rng.below(7) {
            0 => bytes[at] = rng.next() as u8,
            1 => {
                bytes.remove(at);
            }
            2 => {
                let token = tokens[rng.below(tokens.len())].to_vec();
                bytes.splice(at..at, token);
            }
            3 => bytes.truncate(at),
            4 => {
                let end = (at + rng.below(64)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
            5 => bytes[at] ^= 1 << rng.below(8),
            _ => bytes.insert(at, 0xff),
        }
    }
    bytes
}

/// Protobuf pieces: field keys of every wire type, huge and truncated lengths, nesting.
const PROTO_TOKENS: &[&[u8]] = &[
    &[0x0a, 0x80, 0x80, 0x80, 0x80, 0x10],
    &[
        0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ],
    &[0x12, 0x00],
    &[0x12, 0x02, 0x2a, 0x00],
    &[0x2a, 0x04, 0x2a, 0x02, 0x2a, 0x00],
    &[0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    &[0x0b],
    &[0x0c],
    &[0x0d, 0x00, 0x00, 0x00, 0x00],
    &[0x18, 0x80],
    &[0x32, 0x00],
    &[0x3a, 0x03, 0x0a, 0x01, 0x00],
];

const JSON_TOKENS: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"null",
    b"1e999",
    b"-0",
    b"18446744073709551616",
    b"\\u0000",
    b"\\ud800",
    b"\"intValue\":\"99999999999999999999\"",
    b"\"timeUnixNano\":\"18446744073709551615\"",
    b"\"arrayValue\":{\"values\":[{\"arrayValue\":{\"values\":[]}}]}",
    b"\"kvlistValue\":{\"values\":[{\"key\":\"password\",\"value\":{\"stringValue\":\"x\"}}]}",
    b"\"bytesValue\":\"!!notbase64\"",
    b"\"traceId\":\"zz\"",
    b"\"severityNumber\":99",
    b"\"logRecords\":[{},{},{}]",
];

/// A protobuf request built field by field at random: many records, deep values.
fn generated_protobuf(rng: &mut Rng) -> Vec<u8> {
    fn field(tag: u8, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let mut len = bytes.len() as u64;
        while len >= 0x80 {
            out.push((len as u8) | 0x80);
            len >>= 7;
        }
        out.push(len as u8);
        out.extend_from_slice(bytes);
        out
    }
    let mut value = field(0x0a, b"v");
    for _ in 0..rng.below(60) {
        value = match rng.below(2) {
            0 => field(0x2a, &field(0x0a, &value)),
            _ => field(
                0x32,
                &field(0x0a, &[field(0x0a, b"k"), field(0x12, &value)].concat()),
            ),
        };
    }
    let record = [
        field(0x2a, &value),
        field(0x32, &[field(0x0a, b"a"), field(0x12, &value)].concat()),
    ]
    .concat();
    let mut records = Vec::new();
    for _ in 0..rng.below(30) {
        records.extend(field(0x12, &record));
    }
    field(0x0a, &field(0x12, &records))
}

fn check(
    events: Vec<Result<Value, String>>,
    parser: &EventParser,
    now: DateTime<Utc>,
) -> (u64, u64) {
    let (mut seen, mut accepted) = (0, 0);
    for event in events {
        seen += 1;
        let Ok(event) = event else { continue };
        if let Ok(event) = parser.parse_value(TenantId::new(), event, now) {
            accepted += 1;
            let text = serde_json::to_string(&event).unwrap();
            let value: Value = serde_json::from_str(&text).unwrap();
            assert!(!holds_nul(&value), "NUL stored: {text}");
            assert!(depth(&value["metadata"]) < Limits::DEPTH, "too deep");
        }
    }
    (seen, accepted)
}

fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

#[test]
fn hostile_otlp_never_panics_and_accepted_events_keep_every_promise() {
    let mut rng = Rng(0x07_1b);
    let parser = EventParser::default().with_backfill(chrono::Duration::days(36_500));
    let now: DateTime<Utc> = "2025-11-21T12:00:00Z".parse().unwrap();
    let (mut refused, mut records, mut accepted) = (0u64, 0u64, 0u64);
    let cases = cases();
    for case in 0..cases {
        let json = case % 2 == 1;
        let body = match (json, rng.below(4)) {
            (false, 0) => generated_protobuf(&mut rng),
            (false, _) => mutate(&mut rng, PROTOBUF.to_vec(), PROTO_TOKENS),
            (true, _) => mutate(&mut rng, JSON.as_bytes().to_vec(), JSON_TOKENS),
        };
        match otlp::decode_request(&body, json) {
            Err(_) => refused += 1,
            Ok(events) => {
                let (seen, ok) = check(events, &parser, now);
                records += seen;
                accepted += ok;
            }
        }
    }
    println!(
        "{cases} OTLP requests: {refused} refused whole, {records} records read, {accepted} events accepted"
    );
    assert!(
        accepted > 0 && refused > 0,
        "the generator should produce both kinds"
    );
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[test]
fn gzip_framing_reads_every_member_or_refuses() {
    let mut rng = Rng(0x9a);
    let cases = cases() / 10;
    let (mut whole, mut refused) = (0u64, 0u64);
    for _ in 0..cases {
        let members: Vec<Vec<u8>> = (0..1 + rng.below(4))
            .map(|_| (0..rng.below(200)).map(|_| rng.next() as u8).collect())
            .collect();
        let mut body: Vec<u8> = members.iter().flat_map(|m| gzip(m)).collect();
        let expected: Vec<u8> = members.concat();
        let damaged = rng.below(3) == 0;
        if damaged {
            body = mutate(
                &mut rng,
                body,
                &[b"garbage", &[0x1f, 0x8b], &[0x1f, 0x8b, 0x08, 0x00]],
            );
        }
        match compression::gunzip(&body) {
            Ok(decoded) => {
                assert!(decoded.len() <= Limits::BODY_BYTES);
                if !damaged {
                    assert_eq!(&decoded[..], &expected[..], "every member, in order");
                }
                whole += 1;
            }
            Err(_) => {
                assert!(
                    damaged,
                    "an intact body of {} members was refused",
                    members.len()
                );
                refused += 1;
            }
        }
    }
    println!("{cases} gzip bodies: {whole} decoded, {refused} refused");
}
