//! Rollups: what the dashboard questions need of the events, kept per tenant, kind, time
//! bucket and key so a 24-hour summary reads a few hundred rows instead of every event.
//!
//! The ingest transaction that stores events also appends one *delta* row per (kind,
//! bucket, key) its batch touched, so rollups are never behind the events and a late event
//! corrects its own bucket. Delta rows are never updated — concurrent writers, and
//! several servers on one database, never wait on a hot row — and compaction later merges
//! a bucket's rows into one per key. A reader merges whatever rows it finds, so an answer
//! is the same before and after compaction. Both backends store the rows the same way:
//! the bucket start in microseconds, the key as a JSON array and the [`Measures`] encoded.

mod measures;
pub mod shape;

use std::{borrow::Cow, collections::HashMap, net::IpAddr};

use chrono::{DateTime, Utc};
use logbook_model::{Event, TenantId};
pub use measures::{Distinct, Estimates, Latencies, Measures, Slot};

use crate::{Result, StoreError};

const FIVE_MINUTES_MICROS: i64 = 300_000_000;
const HOUR_MICROS: i64 = 12 * FIVE_MINUTES_MICROS;

/// Buckets one compaction round merges at most: those holding deltas when it starts.
pub const MAX_PENDING: usize = 10_000;
/// Buckets merged per compaction transaction.
pub const COMPACT_BATCH: usize = 200;

/// Whether a read needs every row's sketches, or only those of buckets and keys holding
/// more than one row (the rest answer from their estimates).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sketches {
    Always,
    WhereMerged,
}

impl Sketches {
    /// The sketches column as a read of this kind selects it (the same SQL on both
    /// backends: a window function counts each bucket and key's rows).
    pub fn column(self) -> &'static str {
        match self {
            Sketches::Always => "sketches",
            Sketches::WhereMerged => {
                "CASE WHEN COUNT(*) OVER (PARTITION BY bucket, key) > 1 THEN sketches END"
            }
        }
    }
}

impl Kind {
    /// The sketches a read of this kind needs: the daily rows answer alone; the others
    /// are merged across buckets or keys.
    pub fn sketches_read(self) -> Sketches {
        match self {
            Kind::Day => Sketches::WhereMerged,
            Kind::Hour
            | Kind::ActionDay
            | Kind::CountryHour
            | Kind::EndpointFiveMinutes
            | Kind::EndpointHour => Sketches::Always,
        }
    }
}
const DAY_MICROS: i64 = 24 * HOUR_MICROS;

/// The rollups kept, each with the key it groups by and the measures it fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// By event type, per hour, with distinct users and IPs: summary and hourly.
    Hour = 1,
    /// By event type and country, per day: the daily rollup with its p95.
    Day = 2,
    /// Seed 004's provider actions by subtype, provider and status, per day.
    ActionDay = 3,
    /// By country, per hour, counts only: by-country. Apart from [`Kind::Hour`] so the
    /// hourly sketches are not split four ways by country.
    CountryHour = 4,
    /// Seed 001's performance metrics by service, method and endpoint (a route template):
    /// requests, errors, min, mean, max and the latency histogram that gives p50, p95 and
    /// p99. One row per endpoint and hour, in five-minute [`Slot`]s; past 90 days a row
    /// loses its slots and becomes an [`Kind::EndpointHour`] row.
    EndpointFiveMinutes = 5,
    /// An endpoint's hour without its slots, kept a year.
    EndpointHour = 6,
}

/// The width of an endpoint row's slots.
pub const SLOT_MICROS: i64 = FIVE_MINUTES_MICROS;

impl Kind {
    /// What ingest writes: every kind but those made from others.
    pub const INGESTED: [Kind; 5] = [
        Kind::Hour,
        Kind::Day,
        Kind::ActionDay,
        Kind::CountryHour,
        Kind::EndpointFiveMinutes,
    ];

    pub const ALL: [Kind; 6] = [
        Kind::Hour,
        Kind::Day,
        Kind::ActionDay,
        Kind::CountryHour,
        Kind::EndpointFiveMinutes,
        Kind::EndpointHour,
    ];

    pub fn width_micros(self) -> i64 {
        match self {
            Kind::Hour | Kind::CountryHour | Kind::EndpointFiveMinutes | Kind::EndpointHour => {
                HOUR_MICROS
            }
            Kind::Day | Kind::ActionDay => DAY_MICROS,
        }
    }

    /// What a row of this kind becomes when its age is reached, rather than going.
    pub fn ages_into(self) -> Option<Kind> {
        match self {
            Kind::EndpointFiveMinutes => Some(Kind::EndpointHour),
            _ => None,
        }
    }

    /// How long rows of this kind are kept (seeds 001 and 002): five-minute detail 90
    /// days, hourly a year, daily three.
    pub fn retention_days(self) -> i64 {
        match self {
            Kind::EndpointFiveMinutes => 90,
            Kind::Hour | Kind::CountryHour | Kind::EndpointHour => 365,
            Kind::Day | Kind::ActionDay => 3 * 365,
        }
    }

    pub fn code(self) -> i16 {
        self as i16
    }

    pub fn from_code(code: i64) -> Result<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| i64::from(k.code()) == code)
            .ok_or_else(|| StoreError::Invalid(format!("unknown rollup kind {code}")))
    }

    /// The start of the bucket holding `micros`.
    pub fn floor(self, micros: i64) -> i64 {
        micros.div_euclid(self.width_micros()) * self.width_micros()
    }

    /// The first bucket start at or after `micros`: where whole buckets begin.
    pub fn ceil(self, micros: i64) -> i64 {
        let floor = self.floor(micros);
        if floor == micros {
            floor
        } else {
            floor + self.width_micros()
        }
    }
}

/// The fields of one event that rollups read, from an event being stored or a stored row.
#[derive(Clone, Copy, Debug)]
pub struct Sample<'a> {
    pub tenant: TenantId,
    pub micros: i64,
    pub event_type: &'a str,
    pub success: bool,
    pub user_id: Option<&'a str>,
    pub ip_address: Option<IpAddr>,
    pub fingerprint: Option<&'a str>,
    pub geo_country: Option<&'a str>,
    pub response_time_ms: Option<i32>,
    pub event_subtype: Option<&'a str>,
    pub provider: Option<&'a str>,
    pub status: Option<&'a str>,
    pub service: Option<&'a str>,
    pub http_method: Option<&'a str>,
    pub request_path: Option<&'a str>,
    /// The route the application matched, when it sent one (`metadata.route`).
    pub route: Option<&'a str>,
    pub response_status_code: Option<i16>,
}

/// A stored event's sample fields, owned, as a ragged window edge reads them back.
#[derive(Clone, Debug, Default)]
pub struct StoredSample {
    pub tenant: TenantId,
    pub micros: i64,
    pub event_type: String,
    pub success: bool,
    pub user_id: Option<String>,
    pub ip_address: Option<IpAddr>,
    pub fingerprint: Option<String>,
    pub geo_country: Option<String>,
    pub response_time_ms: Option<i32>,
    pub event_subtype: Option<String>,
    pub provider: Option<String>,
    pub status: Option<String>,
    pub service: Option<String>,
    pub http_method: Option<String>,
    pub request_path: Option<String>,
    pub route: Option<String>,
    pub response_status_code: Option<i16>,
}

impl StoredSample {
    pub fn sample(&self) -> Sample<'_> {
        Sample {
            tenant: self.tenant,
            micros: self.micros,
            event_type: &self.event_type,
            success: self.success,
            user_id: self.user_id.as_deref(),
            ip_address: self.ip_address,
            fingerprint: self.fingerprint.as_deref(),
            geo_country: self.geo_country.as_deref(),
            response_time_ms: self.response_time_ms,
            event_subtype: self.event_subtype.as_deref(),
            provider: self.provider.as_deref(),
            status: self.status.as_deref(),
            service: self.service.as_deref(),
            http_method: self.http_method.as_deref(),
            request_path: self.request_path.as_deref(),
            route: self.route.as_deref(),
            response_status_code: self.response_status_code,
        }
    }
}

/// One rollup row: a kind's measures for a tenant, bucket and key.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub tenant: TenantId,
    pub kind: Kind,
    pub bucket: i64,
    pub key: Key,
    pub measures: Measures,
}

/// A row's key: the values it groups by, in the kind's order, any of them absent.
pub type Key = Vec<Option<String>>;

pub fn encode_key(key: &Key) -> String {
    serde_json::to_string(key).expect("keys always serialize")
}

pub fn decode_key(text: &str) -> Result<Key> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Invalid(format!("a rollup key does not decode: {e}")))
}

type GroupKey<'a> = (TenantId, Kind, i64, [Option<Cow<'a, str>>; 3]);

/// Rows being built from samples, merged per (tenant, kind, bucket, key). Hashed with
/// foldhash's seeded quality hasher: a batch looks up several groups per event, and
/// SipHash showed in ingest's profile.
#[derive(Default)]
pub struct Rollup<'a> {
    groups: HashMap<GroupKey<'a>, Measures, foldhash::quality::RandomState>,
}

impl<'a> Rollup<'a> {
    /// An event being stored, into every kind: what an ingest batch appends.
    pub fn add_event(&mut self, e: &'a Event) {
        self.add_all_kinds(&sample_of(e));
    }

    pub fn add_all_kinds(&mut self, s: &Sample<'a>) {
        for kind in Kind::INGESTED {
            self.add(kind, s);
        }
    }

    pub fn add(&mut self, kind: Kind, s: &Sample<'a>) {
        let borrowed = |part: Option<&'a str>| part.map(Cow::Borrowed);
        let key = match kind {
            Kind::Hour => [Some(s.event_type.into()), None, None],
            Kind::Day => [Some(s.event_type.into()), borrowed(s.geo_country), None],
            Kind::CountryHour => [borrowed(s.geo_country), None, None],
            Kind::ActionDay if s.event_type == "ACTION" => [
                borrowed(s.event_subtype),
                borrowed(s.provider),
                borrowed(s.status),
            ],
            Kind::EndpointFiveMinutes | Kind::EndpointHour => match s.request_path {
                Some(path) => [
                    borrowed(s.service),
                    borrowed(s.http_method),
                    Some(logbook_model::route::endpoint(s.route, path)),
                ],
                None => return,
            },
            Kind::ActionDay => return,
        };
        let bucket = kind.floor(s.micros);
        let m = self
            .groups
            .entry((s.tenant, kind, bucket, key))
            .or_default();
        m.total += 1;
        // An endpoint's failures are its errors: a server error, or a request its
        // application said failed.
        let failed = match kind {
            Kind::EndpointFiveMinutes | Kind::EndpointHour => {
                !s.success || s.response_status_code.is_some_and(|code| code >= 500)
            }
            _ => !s.success,
        };
        if failed {
            m.failures += 1;
        } else {
            m.successes += 1;
        }
        if kind == Kind::CountryHour {
            return;
        }
        if let Some(ms) = s.response_time_ms {
            m.timed += 1;
            m.time_sum += i64::from(ms);
            m.time_max = m.time_max.max(Some(ms));
            m.time_min = Some(m.time_min.map_or(ms, |min| min.min(ms)));
        }
        let distinct = |sketch: &mut Option<Distinct>, value: Option<&str>| {
            if let Some(value) = value {
                sketch.get_or_insert_default().insert(value.as_bytes());
            }
        };
        let ip = |sketch: &mut Option<Distinct>| {
            if let Some(ip) = s.ip_address {
                sketch.get_or_insert_default().insert_ip(ip);
            }
        };
        match kind {
            Kind::Hour => {
                distinct(&mut m.users, s.user_id);
                ip(&mut m.ips);
            }
            Kind::Day => {
                distinct(&mut m.users, s.user_id);
                ip(&mut m.ips);
                distinct(&mut m.fingerprints, s.fingerprint);
                if let Some(ms) = s.response_time_ms {
                    m.latencies.get_or_insert_default().record(ms);
                }
            }
            Kind::EndpointFiveMinutes => {
                let slot = ((s.micros - bucket) / SLOT_MICROS) as u8;
                m.slots
                    .get_or_insert_default()
                    .entry(slot)
                    .or_default()
                    .record(failed, s.response_time_ms);
            }
            Kind::EndpointHour => {
                if let Some(ms) = s.response_time_ms {
                    m.latencies.get_or_insert_default().record(ms);
                }
            }
            Kind::ActionDay | Kind::CountryHour => {}
        }
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    pub fn rows(self) -> Vec<Row> {
        self.groups
            .into_iter()
            .map(|((tenant, kind, bucket, key), measures)| Row {
                tenant,
                kind,
                bucket,
                key: key
                    .into_iter()
                    .take(key_len(kind))
                    .map(|part| part.map(Cow::into_owned))
                    .collect(),
                measures,
            })
            .collect()
    }
}

fn key_len(kind: Kind) -> usize {
    match kind {
        Kind::Hour | Kind::CountryHour => 1,
        Kind::Day => 2,
        Kind::ActionDay | Kind::EndpointFiveMinutes | Kind::EndpointHour => 3,
    }
}

/// Rows aged past their kind's days as the kind they become: an endpoint hour's slots
/// merged into one histogram.
pub fn aged(rows: Vec<Row>) -> Vec<Row> {
    let aged = rows
        .into_iter()
        .filter_map(|row| {
            Some(Row {
                kind: row.kind.ages_into()?,
                measures: row.measures.collapse(),
                ..row
            })
        })
        .collect();
    merge(aged)
}

/// Merges rows of the same tenant, kind, bucket and key into one: compaction.
pub fn merge(rows: Vec<Row>) -> Vec<Row> {
    let mut merged: HashMap<(TenantId, Kind, i64, Key), Measures> = HashMap::new();
    for row in rows {
        match merged.entry((row.tenant, row.kind, row.bucket, row.key)) {
            std::collections::hash_map::Entry::Occupied(mut o) => o.get_mut().merge(&row.measures),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(row.measures);
            }
        }
    }
    merged
        .into_iter()
        .map(|((tenant, kind, bucket, key), measures)| Row {
            tenant,
            kind,
            bucket,
            key,
            measures,
        })
        .collect()
}

fn sample_of(e: &Event) -> Sample<'_> {
    Sample {
        tenant: e.tenant_id,
        micros: e.created_at.timestamp_micros(),
        event_type: e.event_type.as_str(),
        success: e.success,
        user_id: e.user_id.as_deref(),
        ip_address: e.ip_address,
        fingerprint: e.fingerprint.as_deref(),
        geo_country: e.geo_country.as_deref(),
        response_time_ms: e.response_time_ms,
        event_subtype: e.event_subtype.as_deref(),
        provider: e.provider.as_deref(),
        status: e.status.as_deref(),
        service: e.service.as_deref(),
        http_method: e.http_method.as_deref(),
        request_path: e.request_path.as_deref(),
        route: e
            .metadata
            .as_ref()
            .and_then(|m| m.get("route"))
            .and_then(serde_json::Value::as_str),
        response_status_code: e.response_status_code,
    }
}

/// The seconds from `since` to now: a window's length, for rates over it.
pub fn seconds_since(since: DateTime<Utc>) -> f64 {
    (Utc::now() - since).as_seconds_f64()
}

/// Where a window starting at `since` needs rows of `kind` and where it needs raw events:
/// whole buckets from the returned start on; the events in `[since, start)` are read and
/// rolled up on the spot, labelled with the bucket they fall in.
pub fn ragged_edge(kind: Kind, since: DateTime<Utc>) -> (i64, i64) {
    let since = since.timestamp_micros();
    (since, kind.ceil(since))
}

/// Rows for the raw events of a ragged edge, of one kind.
pub fn of_samples(kind: Kind, samples: &[StoredSample]) -> Vec<Row> {
    let mut rollup = Rollup::default();
    for s in samples {
        rollup.add(kind, &s.sample());
    }
    rollup.rows()
}

/// Every kind's rows for stored events: how a store that predates rollups gets them.
pub fn of_stored(samples: &[StoredSample]) -> Vec<Row> {
    let mut rollup = Rollup::default();
    for s in samples {
        rollup.add_all_kinds(&s.sample());
    }
    rollup.rows()
}
