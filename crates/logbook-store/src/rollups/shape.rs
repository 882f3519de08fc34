//! The dashboard answers, made from rollup rows the same way on every backend.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use logbook_model::{
    event_type::FAILED_AUTH_TYPES,
    summary::{
        ActionStats, CountryCount, DailyBucket, EndpointMetrics, EndpointStep, HourlyBucket,
        Summary,
    },
};

use super::{Key, Kind, Measures, Row};
use crate::{Result, StoreError};

fn part(row: &Row, index: usize) -> Option<&str> {
    row.key.get(index).and_then(Option::as_deref)
}

fn event_type(row: &Row) -> &str {
    part(row, 0).unwrap_or_default()
}

fn bucket_time(micros: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| StoreError::Invalid(format!("rollup bucket {micros} is out of range")))
}

/// Rows of `kind` grouped by a key of the caller's choosing, merged. Rows are taken by
/// value: the first of each group is moved, not copied (a daily window holds a thousand
/// rows of three sketches each).
fn grouped<K: Ord>(rows: Vec<Row>, kind: Kind, key: impl Fn(&Row) -> K) -> BTreeMap<K, Measures> {
    let mut groups: BTreeMap<K, Measures> = BTreeMap::new();
    for row in rows.into_iter().filter(|r| r.kind == kind) {
        match groups.entry(key(&row)) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(row.measures);
            }
            std::collections::btree_map::Entry::Occupied(mut o) => o.get_mut().merge(&row.measures),
        }
    }
    groups
}

/// Seed 000's getSummary from hourly rows.
pub fn summary(rows: Vec<Row>) -> Summary {
    let by_type = grouped(rows, Kind::Hour, |r| event_type(r).to_owned());
    let of = |ty: &str| by_type.get(ty).cloned().unwrap_or_default();
    let mut everything = Measures::default();
    for measures in by_type.values() {
        everything.merge(measures);
    }
    Summary {
        total_requests: of("REQUEST").total,
        successful_logins: of("AUTH_LOGIN").successes,
        auth_failures: FAILED_AUTH_TYPES.iter().map(|ty| of(ty).failures).sum(),
        rate_limit_hits: of("RATE_LIMIT").total,
        unique_users: everything.unique_users(),
        unique_ips: everything.unique_ips(),
    }
}

/// One row per (hour, event type), newest hour first.
pub fn hourly(rows: Vec<Row>) -> Result<Vec<HourlyBucket>> {
    let groups = grouped(rows, Kind::Hour, |r| {
        (std::cmp::Reverse(r.bucket), event_type(r).to_owned())
    });
    groups
        .into_iter()
        .map(|((std::cmp::Reverse(bucket), event_type), m)| {
            Ok(HourlyBucket {
                bucket: bucket_time(bucket)?,
                event_type,
                total_count: m.total,
                success_count: m.successes,
                failure_count: m.failures,
                unique_users: m.unique_users(),
                unique_ips: m.unique_ips(),
                avg_response_time_ms: m.mean_time(),
                max_response_time_ms: m.time_max,
            })
        })
        .collect()
}

/// Countries last, so `None` (no country) sorts after every named one.
fn country_order(country: Option<&str>) -> (bool, String) {
    (country.is_none(), country.unwrap_or_default().to_owned())
}

/// One row per (day, event type, country), newest day first, countries unknown last.
pub fn daily(rows: Vec<Row>) -> Result<Vec<DailyBucket>> {
    let groups = grouped(rows, Kind::Day, |r| {
        (
            std::cmp::Reverse(r.bucket),
            event_type(r).to_owned(),
            country_order(part(r, 1)),
        )
    });
    groups
        .into_iter()
        .map(
            |((std::cmp::Reverse(bucket), event_type, (unknown, country)), m)| {
                Ok(DailyBucket {
                    bucket: bucket_time(bucket)?,
                    event_type,
                    geo_country: (!unknown).then_some(country),
                    total_count: m.total,
                    success_count: m.successes,
                    failure_count: m.failures,
                    unique_users: m.unique_users(),
                    unique_ips: m.unique_ips(),
                    unique_fingerprints: m.unique_fingerprints(),
                    avg_response_time_ms: m.mean_time(),
                    p95_response_time_ms: m.p95(),
                })
            },
        )
        .collect()
}

/// Events and failures per country from hourly country rows, most events first.
pub fn by_country(rows: Vec<Row>) -> Vec<CountryCount> {
    let groups = grouped(rows, Kind::CountryHour, |r| country_order(part(r, 0)));
    let mut counts: Vec<CountryCount> = groups
        .into_iter()
        .map(|((unknown, country), m)| CountryCount {
            geo_country: (!unknown).then_some(country),
            count: m.total,
            failures: m.failures,
        })
        .collect();
    // Stable: equal counts keep the country order (named ones A–Z, then unknown).
    counts.sort_by_key(|c| std::cmp::Reverse(c.count));
    counts
}

/// Seed 004's action statistics from the daily action rows.
pub fn action_stats(rows: &[Row]) -> ActionStats {
    let mut stats = ActionStats::default();
    let (mut timed, mut time_sum) = (0, 0);
    for row in rows.iter().filter(|r| r.kind == Kind::ActionDay) {
        let m = &row.measures;
        stats.total_actions += m.total;
        match part(row, 2) {
            Some("success") => stats.successful_actions += m.total,
            Some("failure") => stats.failed_actions += m.total,
            Some("timeout") => stats.timed_out_actions += m.total,
            _ => {}
        }
        timed += m.timed;
        time_sum += m.time_sum;
        for (index, into) in [
            (0, &mut stats.actions_by_type),
            (1, &mut stats.actions_by_provider),
        ] {
            if let Some(value) = part(row, index) {
                *into.entry(value.to_owned()).or_default() += m.total;
            }
        }
    }
    if timed > 0 {
        stats.average_execution_time_ms = time_sum as f64 / timed as f64;
    }
    stats
}

/// The endpoint kinds a step reads: hours in slots, and for hours and windows also the
/// hours aged past their slots.
pub fn endpoint_kinds(step: EndpointStep) -> &'static [Kind] {
    match step {
        EndpointStep::FiveMinutes => &[Kind::EndpointFiveMinutes],
        EndpointStep::Hour | EndpointStep::Window => {
            &[Kind::EndpointFiveMinutes, Kind::EndpointHour]
        }
    }
}

/// Seed 001's performance metrics from endpoint rows (hours in slots, and hours aged
/// past their slots): one per endpoint and five minutes or hour, newest bucket first, or
/// one per endpoint over a window of `window_seconds`; the busiest endpoints first.
pub fn endpoints(
    rows: Vec<Row>,
    step: EndpointStep,
    window_seconds: f64,
) -> Result<Vec<EndpointMetrics>> {
    // Each row as the step's buckets: an hour's slots apart, or the hour as one.
    let mut entries: Vec<(Option<i64>, Key, Measures)> = Vec::new();
    for row in rows {
        match (step, row.kind) {
            (EndpointStep::FiveMinutes, Kind::EndpointFiveMinutes) => {
                let slots = row.measures.slots.clone().unwrap_or_default();
                entries.extend(slots.into_iter().map(|(index, slot)| {
                    let bucket = row.bucket + i64::from(index) * super::SLOT_MICROS;
                    (Some(bucket), row.key.clone(), slot.measures())
                }));
            }
            (EndpointStep::Hour, Kind::EndpointFiveMinutes | Kind::EndpointHour) => {
                entries.push((Some(row.bucket), row.key, row.measures.collapse()));
            }
            (EndpointStep::Window, Kind::EndpointFiveMinutes | Kind::EndpointHour) => {
                entries.push((None, row.key, row.measures.collapse()));
            }
            _ => {}
        }
    }
    let mut groups: BTreeMap<(Option<std::cmp::Reverse<i64>>, Key), Measures> = BTreeMap::new();
    for (bucket, key, measures) in entries {
        groups
            .entry((bucket.map(std::cmp::Reverse), key))
            .or_default()
            .merge(&measures);
    }
    let seconds = match step {
        EndpointStep::FiveMinutes => super::SLOT_MICROS as f64 / 1e6,
        EndpointStep::Hour => Kind::EndpointHour.width_micros() as f64 / 1e6,
        EndpointStep::Window => window_seconds.max(1.0),
    };
    let mut metrics = groups
        .into_iter()
        .map(|((bucket, key), m)| {
            let part = |index: usize| key.get(index).cloned().flatten();
            Ok(EndpointMetrics {
                bucket: bucket
                    .map(|std::cmp::Reverse(micros)| bucket_time(micros))
                    .transpose()?,
                service: part(0),
                method: part(1),
                endpoint: part(2).unwrap_or_default(),
                request_count: m.total,
                error_count: m.failures,
                error_rate: match m.total {
                    0 => 0.0,
                    total => m.failures as f64 * 100.0 / total as f64,
                },
                throughput: m.total as f64 / seconds,
                p50: m.percentile(0.5),
                p95: m.percentile(0.95),
                p99: m.percentile(0.99),
                mean: m.mean_time(),
                min: m.time_min,
                max: m.time_max,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    // Stable: within a bucket, endpoints with as many requests keep their key order.
    metrics.sort_by(|a, b| {
        b.bucket
            .cmp(&a.bucket)
            .then(b.request_count.cmp(&a.request_count))
    });
    Ok(metrics)
}
