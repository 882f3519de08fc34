//! The overview: the last day at a glance, from the rollups (seed 000's summary cards,
//! events per hour by type, failures, busiest addresses, countries, slowest endpoints,
//! alerts open now, events stored per day).

use std::collections::BTreeMap;

use axum::response::Response;
use chrono::{DateTime, Duration, DurationRound, Utc};
use maud::html;
use serde_json::Value;

use crate::console::{
    charts::{self, Series},
    layout::{self, Section, count, text},
    session::Session,
};

pub async fn page(session: Session) -> Response {
    let api = &session.api;
    let daily_path = format!("/logs/daily?days={GROWTH_DAYS}");
    let (summary, hourly, top_ips, failing_ips, countries, endpoints, alerts, daily) = tokio::join!(
        api.get("/logs/summary?hours=24"),
        api.get("/logs/hourly?hours=24"),
        // Addresses are counted from the events themselves (no rollup keeps them), so the
        // overview asks for the last hour: what is arriving now, read in milliseconds
        // however large the store.
        api.get("/logs/top-ips?hours=1&limit=8"),
        api.get("/logs/top-ips?hours=1&limit=8&success=false"),
        api.get("/logs/by-country"),
        api.get("/metrics/endpoints?hours=24"),
        api.get("/alerts?status=active"),
        api.get(&daily_path),
    );
    let (summary, hourly) = match (summary, hourly) {
        (Ok(summary), Ok(hourly)) => (summary, hourly),
        (Err(refusal), _) | (_, Err(refusal)) => return layout::refused(refusal),
    };
    let day = last_day();
    let series = hourly_by_type(&hourly, &day);
    let failures = hourly_failures(&hourly, &day);
    let hours: Vec<String> = day.iter().map(|h| h.format("%H:00").to_string()).collect();
    let body = html! {
        div data-refresh="60" {}
        (layout::cards(&[
            ("requests, last 24 h", count(&summary["total_requests"])),
            ("successful logins", count(&summary["successful_logins"])),
            ("failed logins", count(&summary["auth_failures"])),
            ("rate-limit hits", count(&summary["rate_limit_hits"])),
            ("users", count(&summary["unique_users"])),
            ("IP addresses", count(&summary["unique_ips"])),
        ]))
        section {
            h2 { "Events per hour (UTC), by type" }
            @if series.is_empty() {
                p.empty { "No events in the last 24 hours." }
            } @else {
                (charts::stacked_bars("Events per hour over the last 24 hours, stacked by event type", &hours, &series))
            }
        }
        div.columns {
            section {
                h2 { "Failures per hour" }
                (charts::lines("Failed events per hour over the last 24 hours", &hours, &[Series { name: "failures".into(), values: failures }]))
            }
            section {
                h2 { "Alerts open now" }
                (loaded(&alerts, |a| open_alerts(Some(a))))
            }
        }
        div.columns {
            section {
                h2 { "Busiest IP addresses, last hour" }
                (loaded(&top_ips, |a| charts::bars("Events per IP address, last hour", &named_counts(Some(a), "ip_address", "count"))))
            }
            section {
                h2 { "Most failures by IP address, last hour" }
                (loaded(&failing_ips, |a| charts::bars("Failed events per IP address, last hour", &named_counts(Some(a), "ip_address", "count"))))
            }
        }
        div.columns {
            section {
                h2 { "Countries" }
                (loaded(&countries, |a| charts::bars("Events per country", &country_counts(Some(a)))))
            }
            section {
                h2 { "Slowest endpoints (p95)" }
                (loaded(&endpoints, |a| slowest(Some(a))))
            }
        }
        section {
            h2 { "Events stored per day (UTC)" }
            (loaded(&daily, stored_per_day))
        }
    };
    layout::page(&session, Section::Overview, "Overview", body)
}

/// The last day's 24 hours, oldest first, as the rollups name their buckets.
fn last_day() -> Vec<DateTime<Utc>> {
    let now = Utc::now()
        .duration_trunc(Duration::hours(1))
        .unwrap_or_else(|_| Utc::now());
    (0..24)
        .rev()
        .map(|back| now - Duration::hours(back))
        .collect()
}

fn bucket_of(row: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(row["bucket"].as_str()?)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

/// Per event type, its events in each of `hours`.
fn hourly_by_type(hourly: &Value, hours: &[DateTime<Utc>]) -> Vec<Series> {
    let mut by_type: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for row in hourly.as_array().into_iter().flatten() {
        let (Some(bucket), Some(kind)) = (bucket_of(row), row["event_type"].as_str()) else {
            continue;
        };
        let Some(index) = hours.iter().position(|h| *h == bucket) else {
            continue;
        };
        by_type
            .entry(kind.to_owned())
            .or_insert_with(|| vec![0.0; hours.len()])[index] +=
            row["total_count"].as_f64().unwrap_or(0.0);
    }
    by_type
        .into_iter()
        .map(|(name, values)| Series { name, values })
        .collect()
}

/// Failed events in each of `hours`.
fn hourly_failures(hourly: &Value, hours: &[DateTime<Utc>]) -> Vec<f64> {
    let mut failures = vec![0.0; hours.len()];
    for row in hourly.as_array().into_iter().flatten() {
        if let Some(index) = bucket_of(row).and_then(|b| hours.iter().position(|h| *h == b)) {
            failures[index] += row["failure_count"].as_f64().unwrap_or(0.0);
        }
    }
    failures
}

/// The drawing of an answer, or why there is none: a failed read never passes for an
/// empty one.
fn loaded(
    answer: &Result<Value, crate::console::api::Refusal>,
    draw: impl FnOnce(&Value) -> maud::Markup,
) -> maud::Markup {
    match answer {
        Ok(answer) => draw(answer),
        Err(refusal) => html! { p.error { "Could not load this: " (refusal.detail) } },
    }
}

fn named_counts(answer: Option<&Value>, name: &str, figure: &str) -> Vec<(String, f64)> {
    answer
        .and_then(|a| a["items"].as_array())
        .into_iter()
        .flatten()
        .map(|item| (text(&item[name]), item[figure].as_f64().unwrap_or(0.0)))
        .collect()
}

fn country_counts(answer: Option<&Value>) -> Vec<(String, f64)> {
    let mut rows: Vec<(String, f64)> = answer
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|row| {
            let country = row["geo_country"]
                .as_str()
                .map_or_else(|| "unknown".to_owned(), str::to_owned);
            (country, row["count"].as_f64().unwrap_or(0.0))
        })
        .collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    rows.truncate(8);
    rows
}

fn open_alerts(answer: Option<&Value>) -> maud::Markup {
    let items: Vec<&Value> = answer
        .and_then(|a| a["items"].as_array())
        .into_iter()
        .flatten()
        .collect();
    html! {
        @if items.is_empty() {
            p.empty { "No alert is open." }
        } @else {
            ul.plain {
                @for alert in items {
                    li {
                        span class=(format!("badge severity-{}", text(&alert["severity"]))) { (text(&alert["severity"])) }
                        " "
                        a href=(format!("/console/alerts#alert-{}", text(&alert["id"]))) { (text(&alert["rule_name"])) }
                        " since " (layout::time(&alert["triggered_at"]))
                    }
                }
            }
        }
    }
}

fn slowest(answer: Option<&Value>) -> maud::Markup {
    let mut rows: Vec<&Value> = answer
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    rows.sort_by(|a, b| {
        b["p95"]
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&a["p95"].as_f64().unwrap_or(0.0))
    });
    rows.truncate(6);
    let items: Vec<(String, f64)> = rows
        .iter()
        .map(|row| {
            (
                format!("{} {}", text(&row["method"]), text(&row["endpoint"])),
                row["p95"].as_f64().unwrap_or(0.0),
            )
        })
        .collect();
    charts::bars(
        "p95 response time in milliseconds per endpoint, last 24 hours",
        &items,
    )
}

/// Days of growth the overview shows.
const GROWTH_DAYS: i64 = 14;

/// Events stored per day, from the daily rollups (the storage report itself reads the
/// whole store, so it is the admin page's, not the overview's).
fn stored_per_day(daily: &Value) -> maud::Markup {
    let mut by_day: BTreeMap<String, f64> = BTreeMap::new();
    for row in daily.as_array().into_iter().flatten() {
        if let Some(day) = row["bucket"].as_str().and_then(|b| b.get(..10)) {
            *by_day.entry(day.to_owned()).or_default() +=
                row["total_count"].as_f64().unwrap_or(0.0);
        }
    }
    let labels: Vec<String> = by_day
        .keys()
        .map(|d| d.get(5..).unwrap_or(d).to_owned())
        .collect();
    let values: Vec<f64> = by_day.values().copied().collect();
    let total: f64 = values.iter().sum();
    html! {
        (layout::cards(&[
            (&*format!("events in {GROWTH_DAYS} days"), count(&Value::from(total as i64))),
            ("a day on average", count(&Value::from((total / GROWTH_DAYS as f64).round() as i64))),
        ]))
        (charts::stacked_bars(&format!("Events stored per day over the last {GROWTH_DAYS} days"), &labels, &[Series { name: "events".into(), values }]))
    }
}
