//! The stored event: seed 000's 26 `logs` columns plus tenant_id, service, severity,
//! request_id, provider and status.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{EventType, Severity, TenantId};

/// One event as stored and as returned by queries.
///
/// `id` is a UUIDv7 whose millisecond timestamp is `created_at`'s, so a lookup by id
/// finds its day partition and the primary-key index without a second index on id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: Uuid,
    #[serde(skip_serializing)]
    pub tenant_id: TenantId,
    pub created_at: DateTime<Utc>,
    pub event_type: EventType,
    pub event_subtype: Option<String>,
    pub user_id: Option<String>,
    pub fingerprint: Option<String>,
    pub device_id: Option<String>,
    pub ip_address: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub http_method: Option<String>,
    pub request_path: Option<String>,
    pub request_params: Option<Value>,
    pub request_body_summary: Option<Value>,
    pub response_status_code: Option<i16>,
    pub response_time_ms: Option<i32>,
    pub geo_country: Option<String>,
    pub geo_region: Option<String>,
    pub geo_city: Option<String>,
    pub geo_timezone: Option<String>,
    pub session_id: Option<String>,
    pub referrer: Option<String>,
    pub origin: Option<String>,
    pub success: bool,
    pub message: Option<String>,
    pub error_code: Option<String>,
    pub metadata: Option<Value>,
    pub service: Option<String>,
    pub severity: Severity,
    pub request_id: Option<String>,
    pub provider: Option<String>,
    pub status: Option<String>,
}

impl Event {
    /// An event of `event_type` at `created_at` with every optional field empty.
    pub fn new(tenant_id: TenantId, event_type: EventType, created_at: DateTime<Utc>) -> Self {
        Self {
            id: id_for(created_at),
            tenant_id,
            created_at,
            event_type,
            event_subtype: None,
            user_id: None,
            fingerprint: None,
            device_id: None,
            ip_address: None,
            user_agent: None,
            http_method: None,
            request_path: None,
            request_params: None,
            request_body_summary: None,
            response_status_code: None,
            response_time_ms: None,
            geo_country: None,
            geo_region: None,
            geo_city: None,
            geo_timezone: None,
            session_id: None,
            referrer: None,
            origin: None,
            success: true,
            message: None,
            error_code: None,
            metadata: None,
            service: None,
            severity: Severity::Info,
            request_id: None,
            provider: None,
            status: None,
        }
    }
}

/// The fields of an event as the API shows them, in order (the id first).
pub const FIELD_NAMES: &[&str] = &[
    "id",
    "created_at",
    "event_type",
    "event_subtype",
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

/// A fresh UUIDv7 carrying `created_at`'s millisecond. Within one thread, ids of the same
/// millisecond increase, so the events of one request keep their order when sorted by
/// `(created_at, id)`.
pub fn id_for(created_at: DateTime<Utc>) -> Uuid {
    let millis = created_at.timestamp_millis().max(0) as u64;
    let bits = id_bits::next(millis);
    // UUIDv7 holds 74 bits after the timestamp: 12 in rand_a, then 62 in rand_b; the
    // builder writes the version and variant over the bits left free here.
    let rand_a = (bits >> 62) as u16 & 0x0fff;
    let rand_b = bits as u64 & ((1 << 62) - 1);
    let mut bytes = [0u8; 10];
    bytes[..2].copy_from_slice(&rand_a.to_be_bytes());
    bytes[2..].copy_from_slice(&rand_b.to_be_bytes());
    uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
}

/// The 74 bits after an id's timestamp: random for a new millisecond, one more than the
/// last within the same one. The generator is per thread and seeded once by the OS: ids
/// must be unique, not secret, and asking the OS for every event cost a system call each.
mod id_bits {
    use std::cell::Cell;

    thread_local! {
        static STATE: Cell<(u64, u64, u128)> = Cell::new((
            u64::from_le_bytes(uuid::Uuid::new_v4().as_bytes()[..8].try_into().expect("8 bytes")),
            u64::MAX,
            0,
        ));
    }

    pub fn next(millis: u64) -> u128 {
        STATE.with(|state| {
            let (seed, last_millis, last_bits) = state.get();
            if millis == last_millis {
                let bits = last_bits + 1;
                state.set((seed, millis, bits));
                return bits;
            }
            // 64 random bits under ten zero bits, so counting up within the millisecond
            // can never run out of room.
            let (seed, random) = splitmix(seed);
            let bits = u128::from(random);
            state.set((seed, millis, bits));
            bits
        })
    }

    /// splitmix64: every 64-bit state is visited once before it repeats.
    fn splitmix(state: u64) -> (u64, u64) {
        let s = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (s, z ^ (z >> 31))
    }
}

/// The `[start, end)` window of `created_at` that an id made by [`id_for`] implies.
pub fn created_at_window(id: Uuid) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let (secs, nanos) = id.get_timestamp()?.to_unix();
    let start = DateTime::from_timestamp(secs as i64, nanos)?;
    Some((start, start + chrono::Duration::milliseconds(1)))
}

/// Column limits, in characters as PostgreSQL's `varchar(n)` counts them.
pub struct Limits;

impl Limits {
    pub const EVENT_SUBTYPE: usize = 64;
    pub const USER_ID: usize = 255;
    pub const FINGERPRINT: usize = 64;
    pub const DEVICE_ID: usize = 128;
    pub const USER_AGENT: usize = 1024;
    pub const HTTP_METHOD: usize = 10;
    pub const REQUEST_PATH: usize = 512;
    pub const GEO_COUNTRY: usize = 3;
    pub const GEO_REGION: usize = 10;
    pub const GEO_CITY: usize = 128;
    pub const GEO_TIMEZONE: usize = 64;
    pub const SESSION_ID: usize = 128;
    pub const REFERRER: usize = 512;
    pub const ORIGIN: usize = 256;
    pub const MESSAGE: usize = 32 * 1024;
    pub const ERROR_CODE: usize = 32;
    pub const SERVICE: usize = 64;
    pub const REQUEST_ID: usize = 128;
    pub const PROVIDER: usize = 100;
    pub const STATUS: usize = 16;

    /// Largest single event, as JSON text.
    pub const EVENT_BYTES: usize = 256 * 1024;
    /// Deepest JSON nesting inside one event (the event object itself is level 1).
    pub const DEPTH: usize = 32;
    /// Most events in one ingest request.
    pub const EVENTS_PER_REQUEST: usize = 10_000;
    /// Largest request body.
    pub const BODY_BYTES: usize = 10 * 1024 * 1024;
    /// How far in the future `created_at` may lie, for clients whose clocks run fast.
    pub const FUTURE_SKEW_SECS: i64 = 5 * 60;
    /// How far in the past `created_at` may lie by default (`--backfill-days`).
    pub const BACKFILL_DAYS: i64 = 7;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_are_the_serialized_fields() {
        let event = Event::new(
            TenantId::new(),
            EventType::parse("REQUEST").unwrap(),
            chrono::Utc::now(),
        );
        let value = serde_json::to_value(&event).unwrap();
        let mut serialized: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut named = FIELD_NAMES.to_vec();
        serialized.sort_unstable();
        named.sort_unstable();
        assert_eq!(serialized, named);
    }

    #[test]
    fn id_carries_the_millisecond_of_created_at() {
        let at = DateTime::parse_from_rfc3339("2026-03-04T05:06:07.891234Z")
            .unwrap()
            .with_timezone(&Utc);
        let (start, end) = created_at_window(id_for(at)).unwrap();
        assert!(start <= at && at < end, "{start} {at} {end}");
        let ids: Vec<Uuid> = (0..1000).map(|_| id_for(at)).collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "ids of one millisecond increase"
        );
        assert_eq!(ids[0].get_version_num(), 7);
        let later = id_for(at + chrono::Duration::milliseconds(1));
        assert!(later > ids[999]);
    }
}
