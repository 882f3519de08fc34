//! Performance: each endpoint's latency percentiles, rate and errors over a window, from
//! the endpoint rollups, and one endpoint's (or all endpoints') trend per hour.

use std::collections::BTreeMap;

use axum::{Router, extract::Query, response::Response, routing::get};
use maud::html;
use serde_json::Value;

use super::query_of;
use crate::console::{
    Console,
    charts::{self, Series},
    layout::{self, Section, count, text},
    session::Session,
};

pub fn router() -> Router<Console> {
    Router::new().route("/performance", get(page))
}

#[derive(serde::Deserialize)]
struct Choice {
    hours: Option<i64>,
    endpoint: Option<String>,
}

/// The most rows the API gives at once. Rows come newest first, so a trend cut there
/// loses its oldest hours, and the oldest hour it keeps may be partly summed: that hour
/// is left out.
const TREND_ROWS: &str = "1000";

const WINDOWS: [(i64, &str); 4] = [
    (1, "1 hour"),
    (24, "24 hours"),
    (168, "7 days"),
    (720, "30 days"),
];

async fn page(session: Session, Query(choice): Query<Choice>) -> Response {
    let hours = choice
        .hours
        .filter(|h| WINDOWS.iter().any(|(w, _)| w == h))
        .unwrap_or(24);
    let endpoint = choice.endpoint.unwrap_or_default();
    let hours_text = hours.to_string();
    let table_path = format!(
        "/metrics/endpoints{}",
        query_of([("hours", hours_text.as_str()), ("limit", TREND_ROWS)])
    );
    let trend_path = format!(
        "/metrics/endpoints{}",
        query_of([
            ("hours", hours_text.as_str()),
            ("step", "1h"),
            ("endpoint", endpoint.as_str()),
            ("limit", TREND_ROWS),
        ])
    );
    let (table, trend) = tokio::join!(session.api.get(&table_path), session.api.get(&trend_path));
    let (table, trend) = match (table, trend) {
        (Ok(table), Ok(trend)) => (table, trend),
        (Err(refusal), _) | (_, Err(refusal)) => return layout::refused(refusal),
    };
    let mut rows: Vec<&Value> = table.as_array().into_iter().flatten().collect();
    rows.sort_by(|a, b| {
        b["request_count"]
            .as_i64()
            .unwrap_or(0)
            .cmp(&a["request_count"].as_i64().unwrap_or(0))
    });
    let (mut buckets, mut p95, mut rate) = trend_series(&trend);
    if trend
        .as_array()
        .is_some_and(|rows| rows.len().to_string() == TREND_ROWS)
        && !buckets.is_empty()
    {
        buckets.remove(0);
        p95.remove(0);
        rate.remove(0);
    }
    let labels: Vec<String> = buckets
        .iter()
        .map(|b| b.get(5..16).unwrap_or(b).replace('T', " "))
        .collect();
    let requests_scope = if endpoint.is_empty() {
        "all endpoints"
    } else {
        endpoint.as_str()
    };
    let scope = if endpoint.is_empty() {
        "all endpoints".to_owned()
    } else {
        endpoint.clone()
    };
    let body = html! {
        form.filters method="get" action="/console/performance" {
            div.field {
                label for="p-hours" { "Window" }
                select #p-hours name="hours" {
                    @for (w, shown) in WINDOWS { option value=(w) selected[w == hours] { (shown) } }
                }
            }
            div.field {
                label for="p-endpoint" { "Endpoint (for the trend)" }
                input #p-endpoint name="endpoint" value=(endpoint) placeholder="/api/items";
            }
            div.actions { button type="submit" { "Show" } }
        }
        div.columns {
            section {
                h2 { "p95 latency per hour, " (scope) " (ms)" }
                (charts::lines(&format!("p95 response time per hour for {scope}"), &labels, &[Series { name: "p95".into(), values: p95 }]))
            }
            section {
                h2 { "Requests per hour, " (requests_scope) }
                (charts::stacked_bars(&format!("Requests per hour for {requests_scope}"), &labels, &[Series { name: "requests".into(), values: rate }]))
            }
        }
        h2 { "Endpoints" }
        @if rows.is_empty() {
            p.empty { "No request events with a path in this window." }
        } @else {
            div.table-wrap { table {
                thead { tr {
                    th scope="col" { "Endpoint" } th.figure scope="col" { "Requests" } th.figure scope="col" { "Per second" }
                    th.figure scope="col" { "Errors" } th.figure scope="col" { "Error rate" }
                    th.figure scope="col" { "p50 ms" } th.figure scope="col" { "p95 ms" } th.figure scope="col" { "p99 ms" }
                } }
                tbody {
                    @for row in rows {
                        tr {
                            td {
                                a href=(format!("/console/performance{}", query_of([("hours", hours_text.as_str()), ("endpoint", row["endpoint"].as_str().unwrap_or(""))]))) {
                                    (text(&row["method"])) " " (text(&row["endpoint"]))
                                }
                                @if let Some(service) = row["service"].as_str() { " " span.muted { "(" (service) ")" } }
                            }
                            td.figure { (count(&row["request_count"])) }
                            td.figure { (format!("{:.3}", row["throughput"].as_f64().unwrap_or(0.0))) }
                            td.figure { (count(&row["error_count"])) }
                            td.figure { (format!("{:.1} %", row["error_rate"].as_f64().unwrap_or(0.0))) }
                            td.figure { (text(&row["p50"])) }
                            td.figure { (text(&row["p95"])) }
                            td.figure { (text(&row["p99"])) }
                        }
                    }
                }
            } }
        }
    };
    layout::page(&session, Section::Performance, "Performance", body)
}

/// Per hour: the worst p95 of the endpoints in it, and their requests.
fn trend_series(trend: &Value) -> (Vec<String>, Vec<f64>, Vec<f64>) {
    let mut by_hour: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for row in trend.as_array().into_iter().flatten() {
        let Some(bucket) = row["bucket"].as_str() else {
            continue;
        };
        let entry = by_hour.entry(bucket.to_owned()).or_insert((0.0, 0.0));
        entry.0 = entry.0.max(row["p95"].as_f64().unwrap_or(0.0));
        entry.1 += row["request_count"].as_f64().unwrap_or(0.0);
    }
    let buckets = by_hour.keys().cloned().collect();
    let p95 = by_hour.values().map(|v| v.0).collect();
    let rate = by_hour.values().map(|v| v.1).collect();
    (buckets, p95, rate)
}
