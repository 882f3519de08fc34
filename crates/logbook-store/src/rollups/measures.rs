//! What one rollup row knows about the events of its bucket and key, in a form two rows
//! of the same bucket and key merge into one without the events: counts and sums add,
//! maxima take the larger, distinct counts are HyperLogLog++ sketches and response times a
//! histogram.

use std::{collections::BTreeMap, net::IpAddr};

use cardinality_estimator::CardinalityEstimator;
use serde::{Deserialize, Serialize};

use crate::{Result, StoreError};

/// The largest encoded measures a row may hold: three full sketches (3 KiB each) and a
/// histogram at its bound, with room to spare. Anything larger is not ours.
const MAX_ENCODED: usize = 256 * 1024;

/// Distinct values, counted by a HyperLogLog++ sketch of 4096 six-bit registers. Up to 128
/// values it keeps their 32-bit hashes, so small counts are exact unless two hashes
/// collide; above that the standard error is 1.04/√4096 ≈ 1.6 %.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Distinct(CardinalityEstimator<str>);

impl Distinct {
    /// The same bytes hash alike in every process and version: the sketch is stored.
    pub fn insert(&mut self, value: &[u8]) {
        self.0.insert_hash(wyhash::wyhash(value, 0));
    }

    /// An address by its octets, however the database spelled it.
    pub fn insert_ip(&mut self, ip: IpAddr) {
        match ip {
            IpAddr::V4(v4) => self.insert(&v4.octets()),
            IpAddr::V6(v6) => self.insert(&v6.octets()),
        }
    }

    pub fn merge(&mut self, other: &Distinct) {
        self.0.merge(&other.0);
    }

    pub fn count(&self) -> i64 {
        self.0.estimate() as i64
    }
}

/// Response times with how often each was seen. Below a second each millisecond is its
/// own bin, so percentiles there are exact; above, times are rounded to three significant
/// digits (an error under 0.5 %), which bounds the bins to a few thousand however many
/// events a bucket holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Latencies(BTreeMap<i32, u64>);

impl Latencies {
    pub fn record(&mut self, millis: i32) {
        *self.0.entry(bin(millis)).or_default() += 1;
    }

    pub fn merge(&mut self, other: &Latencies) {
        for (value, count) in &other.0 {
            *self.0.entry(*value).or_default() += count;
        }
    }

    /// PostgreSQL's `percentile_cont`: linear interpolation between the two nearest ranks.
    pub fn percentile(&self, fraction: f64) -> Option<f64> {
        let total: u64 = self.0.values().sum();
        let last = total.checked_sub(1)?;
        let position = fraction * last as f64;
        let lower = self.at_rank(position.floor() as u64)?;
        let upper = self.at_rank(position.ceil() as u64)?;
        Some(lower + (upper - lower) * (position - position.floor()))
    }

    fn at_rank(&self, rank: u64) -> Option<f64> {
        let mut seen = 0;
        self.0.iter().find_map(|(value, count)| {
            seen += count;
            (rank < seen).then_some(f64::from(*value))
        })
    }
}

fn bin(millis: i32) -> i32 {
    if millis.unsigned_abs() < 1000 {
        return millis;
    }
    let digits = millis.unsigned_abs().ilog10();
    let unit = 10_i32.pow(digits - 2);
    // Half away from zero, so 1005 → 1010 and −1005 → −1010; i32::MAX stays in range.
    let rounded = i64::from(millis) + i64::from(millis.signum()) * i64::from(unit / 2);
    (rounded / i64::from(unit) * i64::from(unit)).clamp(i32::MIN.into(), i32::MAX.into()) as i32
}

/// One rollup row's measures. A kind of rollup fills only the sketches its questions use.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Measures {
    pub total: i64,
    pub successes: i64,
    pub failures: i64,
    /// Events that carried a response time, and the sum and largest of those times.
    pub timed: i64,
    pub time_sum: i64,
    pub time_max: Option<i32>,
    pub time_min: Option<i32>,
    pub users: Option<Distinct>,
    pub ips: Option<Distinct>,
    pub fingerprints: Option<Distinct>,
    pub latencies: Option<Latencies>,
    /// An hour's row kept in five-minute slots (by the slot's index in the hour): one
    /// row per endpoint and hour serves both the five-minute and the hourly answers, so
    /// a batch spread over an hour appends a row per endpoint, not twelve.
    pub slots: Option<BTreeMap<u8, Slot>>,
    /// What the sketches said when the row was written, for a row read without them: a
    /// daily window reads a thousand rows, and needs their sketches only where a bucket
    /// and key hold more than one row to merge.
    pub estimates: Option<Estimates>,
}

/// One five-minute slot of an hour's row: counts, times and their histogram.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    pub total: i64,
    pub failures: i64,
    pub timed: i64,
    pub time_sum: i64,
    pub time_min: Option<i32>,
    pub time_max: Option<i32>,
    pub latencies: Option<Latencies>,
}

impl Slot {
    pub fn record(&mut self, failed: bool, millis: Option<i32>) {
        self.total += 1;
        self.failures += i64::from(failed);
        if let Some(ms) = millis {
            self.timed += 1;
            self.time_sum += i64::from(ms);
            self.time_min = Some(self.time_min.map_or(ms, |min| min.min(ms)));
            self.time_max = self.time_max.max(Some(ms));
            self.latencies.get_or_insert_default().record(ms);
        }
    }

    fn merge(&mut self, other: &Slot) {
        self.total += other.total;
        self.failures += other.failures;
        self.timed += other.timed;
        self.time_sum += other.time_sum;
        self.time_min = min_of(self.time_min, other.time_min);
        self.time_max = self.time_max.max(other.time_max);
        merge_sketch(&mut self.latencies, &other.latencies, Latencies::merge);
    }

    /// The slot as measures of its own.
    pub fn measures(&self) -> Measures {
        Measures {
            total: self.total,
            successes: self.total - self.failures,
            failures: self.failures,
            timed: self.timed,
            time_sum: self.time_sum,
            time_min: self.time_min,
            time_max: self.time_max,
            latencies: self.latencies.clone(),
            ..Measures::default()
        }
    }
}

fn min_of(a: Option<i32>, b: Option<i32>) -> Option<i32> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The distinct counts and p95 a row's sketches give.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Estimates {
    pub users: i64,
    pub ips: i64,
    pub fingerprints: i64,
    pub p95: Option<f64>,
}

/// The small part of a row, always read.
#[derive(Serialize, Deserialize)]
struct Counts {
    total: i64,
    successes: i64,
    failures: i64,
    timed: i64,
    time_sum: i64,
    time_max: Option<i32>,
    time_min: Option<i32>,
    estimates: Estimates,
}

/// The large part of a row, read when rows are merged.
#[derive(Serialize, Deserialize)]
struct Sketches {
    users: Option<Distinct>,
    ips: Option<Distinct>,
    fingerprints: Option<Distinct>,
    latencies: Option<Latencies>,
    slots: Option<BTreeMap<u8, Slot>>,
}

impl Measures {
    pub fn merge(&mut self, other: &Measures) {
        self.total += other.total;
        self.successes += other.successes;
        self.failures += other.failures;
        self.timed += other.timed;
        self.time_sum += other.time_sum;
        self.time_max = self.time_max.max(other.time_max);
        self.time_min = min_of(self.time_min, other.time_min);
        merge_sketch(&mut self.users, &other.users, Distinct::merge);
        merge_sketch(&mut self.ips, &other.ips, Distinct::merge);
        merge_sketch(&mut self.fingerprints, &other.fingerprints, Distinct::merge);
        merge_sketch(&mut self.latencies, &other.latencies, Latencies::merge);
        if let Some(slots) = &other.slots {
            let into = self.slots.get_or_insert_default();
            for (index, slot) in slots {
                into.entry(*index).or_default().merge(slot);
            }
        }
        // Estimates do not merge: a merged row answers from its sketches.
        self.estimates = None;
    }

    pub fn mean_time(&self) -> Option<f64> {
        (self.timed > 0).then(|| self.time_sum as f64 / self.timed as f64)
    }

    fn distinct(
        sketch: &Option<Distinct>,
        estimate: impl Fn(&Estimates) -> i64,
        row: &Self,
    ) -> i64 {
        match (sketch, row.estimates) {
            (Some(sketch), _) => sketch.count(),
            (None, Some(estimates)) => estimate(&estimates),
            (None, None) => 0,
        }
    }

    pub fn unique_users(&self) -> i64 {
        Self::distinct(&self.users, |e| e.users, self)
    }

    pub fn unique_ips(&self) -> i64 {
        Self::distinct(&self.ips, |e| e.ips, self)
    }

    pub fn unique_fingerprints(&self) -> i64 {
        Self::distinct(&self.fingerprints, |e| e.fingerprints, self)
    }

    pub fn p95(&self) -> Option<f64> {
        match (&self.latencies, self.estimates) {
            (Some(latencies), _) => latencies.percentile(0.95),
            (None, Some(estimates)) => estimates.p95,
            (None, None) => None,
        }
    }

    /// The hour as one: the slots' histograms merged into the row's, the slots gone.
    pub fn collapse(mut self) -> Measures {
        for slot in self.slots.take().unwrap_or_default().values() {
            merge_sketch(&mut self.latencies, &slot.latencies, Latencies::merge);
        }
        self
    }

    /// A percentile of the response times, from the histogram (rows read with their
    /// sketches).
    pub fn percentile(&self, fraction: f64) -> Option<f64> {
        self.latencies.as_ref()?.percentile(fraction)
    }

    /// The row as stored: its counts with the estimates its sketches give now, and the
    /// sketches when it has any.
    pub fn encode(&self) -> (Vec<u8>, Option<Vec<u8>>) {
        let counts = Counts {
            total: self.total,
            successes: self.successes,
            failures: self.failures,
            timed: self.timed,
            time_sum: self.time_sum,
            time_max: self.time_max,
            time_min: self.time_min,
            estimates: Estimates {
                users: self.unique_users(),
                ips: self.unique_ips(),
                fingerprints: self.unique_fingerprints(),
                p95: self.p95(),
            },
        };
        let sketches = Sketches {
            users: self.users.clone(),
            ips: self.ips.clone(),
            fingerprints: self.fingerprints.clone(),
            latencies: self.latencies.clone(),
            slots: self.slots.clone(),
        };
        let any = sketches.users.is_some()
            || sketches.slots.is_some()
            || sketches.ips.is_some()
            || sketches.fingerprints.is_some()
            || sketches.latencies.is_some();
        (
            encode_part(&counts),
            any.then(|| compress(&encode_part(&sketches))),
        )
    }

    /// A stored row; without its sketches it answers from the estimates written with it.
    pub fn decode(counts: &[u8], sketches: Option<&[u8]>) -> Result<Measures> {
        let counts: Counts = decode_part(counts)?;
        let mut measures = Measures {
            total: counts.total,
            successes: counts.successes,
            failures: counts.failures,
            timed: counts.timed,
            time_sum: counts.time_sum,
            time_max: counts.time_max,
            time_min: counts.time_min,
            ..Measures::default()
        };
        match sketches {
            Some(bytes) => {
                let bytes = decompress(bytes)?;
                let sketches: Sketches = decode_part(&bytes)?;
                measures.users = sketches.users;
                measures.ips = sketches.ips;
                measures.fingerprints = sketches.fingerprints;
                measures.latencies = sketches.latencies;
                measures.slots = sketches.slots;
            }
            None => measures.estimates = Some(counts.estimates),
        }
        Ok(measures)
    }
}

thread_local! {
    /// One compression context per thread, reused: making one per row cost ingest more
    /// than compressing does (a batch writes hundreds of rows).
    static COMPRESSOR: std::cell::RefCell<zstd::bulk::Compressor<'static>> =
        std::cell::RefCell::new(zstd::bulk::Compressor::new(1).expect("a level-1 zstd context"));
    static DECOMPRESSOR: std::cell::RefCell<zstd::bulk::Decompressor<'static>> =
        std::cell::RefCell::new(zstd::bulk::Decompressor::new().expect("a zstd context"));
}

/// Compressed: a delta's HyperLogLog is mostly empty registers, and ingest writes dozens
/// of them per batch.
fn compress(bytes: &[u8]) -> Vec<u8> {
    COMPRESSOR
        .with_borrow_mut(|c| c.compress(bytes))
        .expect("compressing to memory does not fail")
}

fn decompress(bytes: &[u8]) -> Result<Vec<u8>> {
    DECOMPRESSOR
        .with_borrow_mut(|d| d.decompress(bytes, MAX_ENCODED))
        .map_err(|e| StoreError::Invalid(format!("a rollup row's sketches do not decompress: {e}")))
}

fn encode_part<T: Serialize>(part: &T) -> Vec<u8> {
    postcard::to_allocvec(part).expect("rollup rows always serialize")
}

fn decode_part<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    if bytes.len() > MAX_ENCODED {
        return Err(StoreError::Invalid(format!(
            "a rollup row of {} bytes is over the {MAX_ENCODED}-byte bound",
            bytes.len()
        )));
    }
    postcard::from_bytes(bytes)
        .map_err(|e| StoreError::Invalid(format!("a rollup row does not decode: {e}")))
}

fn merge_sketch<S: Clone>(into: &mut Option<S>, from: &Option<S>, merge: fn(&mut S, &S)) {
    match (into.as_mut(), from) {
        (Some(into), Some(from)) => merge(into, from),
        (None, Some(from)) => *into = Some(from.clone()),
        (_, None) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_below_a_second_keep_their_millisecond_and_others_three_digits() {
        assert_eq!(bin(0), 0);
        assert_eq!(bin(999), 999);
        assert_eq!(bin(-999), -999);
        assert_eq!(bin(1000), 1000);
        assert_eq!(bin(1004), 1000);
        assert_eq!(bin(1005), 1010);
        assert_eq!(bin(12_345), 12_300);
        assert_eq!(bin(-12_351), -12_400);
        assert_eq!(bin(i32::MAX), 2_150_000_000_i64.min(i32::MAX.into()) as i32);
        assert_eq!(bin(i32::MIN), i32::MIN);
    }

    #[test]
    fn percentiles_interpolate_between_ranks_as_postgresql_does() {
        let mut l = Latencies::default();
        for ms in 1..=10 {
            l.record(ms);
        }
        let close = |got: Option<f64>, want: f64| (got.unwrap() - want).abs() < 1e-9;
        assert!(close(l.percentile(0.95), 9.55));
        assert_eq!(l.percentile(0.5), Some(5.5));
        assert_eq!(l.percentile(0.0), Some(1.0));
        assert_eq!(l.percentile(1.0), Some(10.0));
        let mut repeated = Latencies::default();
        for ms in [10, 20, 20, 30] {
            repeated.record(ms);
        }
        // Ranks 0..=3 hold 10, 20, 20, 30: position 2.85 lies between 20 and 30.
        assert!(close(repeated.percentile(0.95), 28.5));
        assert_eq!(Latencies::default().percentile(0.95), None);
    }

    #[test]
    fn merged_measures_answer_as_one_bucket_would() {
        let mut a = Measures {
            total: 2,
            successes: 1,
            failures: 1,
            timed: 2,
            time_sum: 30,
            time_max: Some(20),
            users: Some(Distinct::default()),
            latencies: Some(Latencies::default()),
            ..Default::default()
        };
        a.users.as_mut().unwrap().insert(b"u1");
        a.latencies.as_mut().unwrap().record(10);
        let mut b = a.clone();
        b.time_max = Some(25);
        b.users.as_mut().unwrap().insert(b"u2");
        a.merge(&b);
        assert_eq!((a.total, a.successes, a.failures), (4, 2, 2));
        assert_eq!((a.timed, a.time_sum, a.time_max), (4, 60, Some(25)));
        assert_eq!(a.unique_users(), 2);
        assert_eq!(a.latencies.as_ref().unwrap().percentile(1.0), Some(10.0));
        assert_eq!(a.mean_time(), Some(15.0));
        let (counts, sketches) = a.encode();
        assert_eq!(Measures::decode(&counts, sketches.as_deref()).unwrap(), a);
        // Read without its sketches, a row answers from what they said when written.
        let alone = Measures::decode(&counts, None).unwrap();
        assert_eq!((alone.users.clone(), alone.latencies.clone()), (None, None));
        assert_eq!((alone.unique_users(), alone.p95()), (2, a.p95()));
        assert_eq!((alone.total, alone.time_max), (a.total, a.time_max));
    }

    #[test]
    fn distinct_counts_stay_within_their_error_bound() {
        let mut d = Distinct::default();
        for i in 0..100_000 {
            d.insert(format!("user-{i}").as_bytes());
        }
        let error = (d.count() - 100_000).abs() as f64 / 100_000.0;
        assert!(error < 0.05, "estimate {} is {error:.3} off", d.count());
        let mut exact = Distinct::default();
        for i in 0..100 {
            exact.insert(format!("user-{i}").as_bytes());
            exact.insert(format!("user-{i}").as_bytes());
        }
        assert_eq!(exact.count(), 100);
    }

    #[test]
    fn rows_too_large_or_garbled_are_refused() {
        let (counts, _) = Measures::default().encode();
        assert!(Measures::decode(&vec![0; MAX_ENCODED + 1], None).is_err());
        assert!(Measures::decode(&[0xff; 16], None).is_err());
        assert!(Measures::decode(&counts, Some(&[0xff; 16])).is_err());
        assert!(Measures::decode(&counts, Some(&vec![0; MAX_ENCODED + 1])).is_err());
    }
}
