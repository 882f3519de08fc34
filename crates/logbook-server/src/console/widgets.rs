//! A dashboard widget: the API read its data source names, and the drawing its type names.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Timelike, Utc};
use logbook_model::dashboards::{Widget, WidgetType};
use maud::{Markup, html};
use serde_json::Value;

use super::{
    api::Api,
    charts::{self, Series},
    layout::{self, count, text},
    pages::query_of,
};

/// What a widget's read gave, in a shape the drawings take.
enum Data {
    /// Values per bucket (hours or days), oldest first.
    Series {
        buckets: Vec<DateTime<Utc>>,
        values: Vec<f64>,
    },
    /// Named values, largest first.
    Named(Vec<(String, f64)>),
    Figure(f64),
    /// The read answered, with nothing to show yet (no monitor checked, say).
    Nothing,
    Alerts(Vec<Value>),
    Events(Vec<Value>),
}

/// Draws the widget over the last `hours`, or says why it cannot.
pub async fn render(api: &Api, widget: &Widget, hours: i64) -> Markup {
    match data(api, widget, hours).await {
        Ok(data) => draw(widget, data),
        Err(problem) => html! { p.error { (problem) } },
    }
}

fn metric(widget: &Widget) -> &str {
    widget.metric_name.as_deref().unwrap_or("")
}

fn filter<'a>(widget: &'a Widget, name: &str) -> &'a str {
    widget.filters.get(name).map_or("", String::as_str)
}

fn bucket_of(row: &Value, field: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(row[field].as_str()?)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

/// `field` of the rows per bucket, oldest bucket first: counts summed, and measures
/// that do not add up (percentiles, rates, means) as the largest of the bucket's rows.
fn series(rows: &[&Value], bucket: &str, field: &str) -> Data {
    let adds_up = matches!(
        field,
        "total_count" | "success_count" | "failure_count" | "request_count" | "error_count"
    );
    let mut by: BTreeMap<DateTime<Utc>, f64> = BTreeMap::new();
    for row in rows {
        if let Some(at) = bucket_of(row, bucket) {
            let value = row[field].as_f64().unwrap_or(0.0);
            let slot = by.entry(at).or_default();
            *slot = if adds_up {
                *slot + value
            } else {
                slot.max(value)
            };
        }
    }
    Data::Series {
        buckets: by.keys().copied().collect(),
        values: by.values().copied().collect(),
    }
}

fn named(mut items: Vec<(String, f64)>) -> Data {
    items.sort_by(|a, b| b.1.total_cmp(&a.1));
    items.truncate(12);
    Data::Named(items)
}

fn rows(answer: &Value) -> Vec<&Value> {
    answer
        .as_array()
        .or_else(|| answer["items"].as_array())
        .into_iter()
        .flatten()
        .collect()
}

async fn data(api: &Api, widget: &Widget, hours: i64) -> Result<Data, String> {
    let get = |path: String| async move { api.get(&path).await.map_err(|r| r.detail) };
    let hours_text = hours.to_string();
    let hours_q = hours_text.as_str();
    let time_based = matches!(
        widget.widget_type,
        WidgetType::TimeSeries | WidgetType::BarChart | WidgetType::Heatmap
    );
    Ok(match widget.data_source.as_str() {
        "events_hourly" => {
            let answer = get(format!("/logs/hourly{}", query_of([("hours", hours_q)]))).await?;
            let kind = filter(widget, "event_type");
            let kept: Vec<&Value> = rows(&answer)
                .into_iter()
                .filter(|r| kind.is_empty() || r["event_type"] == kind)
                .collect();
            series(&kept, "bucket", metric(widget))
        }
        "summary" => {
            let answer = get(format!("/logs/summary{}", query_of([("hours", hours_q)]))).await?;
            Data::Figure(answer[metric(widget)].as_f64().unwrap_or(0.0))
        }
        "countries" => {
            let answer = get(format!(
                "/logs/by-country{}",
                query_of([("hours", hours_q)])
            ))
            .await?;
            named(
                rows(&answer)
                    .iter()
                    .map(|r| {
                        let country = r["geo_country"].as_str().unwrap_or("unknown").to_owned();
                        (country, r[metric(widget)].as_f64().unwrap_or(0.0))
                    })
                    .collect(),
            )
        }
        "top_ips" => {
            let path = format!(
                "/logs/top-ips{}",
                query_of([
                    ("hours", hours_q),
                    ("limit", "10"),
                    ("success", filter(widget, "success"))
                ])
            );
            let answer = get(path).await?;
            named(
                rows(&answer)
                    .iter()
                    .map(|r| (text(&r["ip_address"]), r["count"].as_f64().unwrap_or(0.0)))
                    .collect(),
            )
        }
        "endpoints" => {
            let step = if time_based { "1h" } else { "" };
            let path = format!(
                "/metrics/endpoints{}",
                query_of([
                    ("hours", hours_q),
                    ("step", step),
                    ("endpoint", filter(widget, "endpoint"))
                ])
            );
            let answer = get(path).await?;
            let all = rows(&answer);
            if time_based {
                series(&all, "bucket", metric(widget))
            } else if widget.widget_type == WidgetType::Counter {
                Data::Figure(
                    all.iter()
                        .filter_map(|r| r[metric(widget)].as_f64())
                        .fold(0.0, f64::max),
                )
            } else {
                named(
                    all.iter()
                        .map(|r| {
                            (
                                format!("{} {}", text(&r["method"]), text(&r["endpoint"])),
                                r[metric(widget)].as_f64().unwrap_or(0.0),
                            )
                        })
                        .collect(),
                )
            }
        }
        "errors" => {
            let days = (hours + 23) / 24;
            let answer = get(format!("/errors/trend?days={days}")).await?;
            let all = rows(&answer);
            if time_based {
                series(&all, "day", metric(widget))
            } else {
                let mut by_type: BTreeMap<String, f64> = BTreeMap::new();
                for r in &all {
                    *by_type.entry(text(&r["error_type"])).or_default() +=
                        r[metric(widget)].as_f64().unwrap_or(0.0);
                }
                named(by_type.into_iter().collect())
            }
        }
        "alerts" => {
            let answer = get("/alerts?status=active".to_owned()).await?;
            let items: Vec<Value> = rows(&answer).into_iter().cloned().collect();
            if widget.widget_type == WidgetType::Counter {
                Data::Figure(items.len() as f64)
            } else {
                Data::Alerts(items)
            }
        }
        "monitors" => {
            let answer = get("/monitors/summary".to_owned()).await?;
            answer[metric(widget)]
                .as_f64()
                .map_or(Data::Nothing, Data::Figure)
        }
        "events" => {
            let asked = widget.query.as_deref().unwrap_or("");
            let kept: Vec<(String, String)> =
                url::form_urlencoded::parse(asked.trim_start_matches('?').as_bytes())
                    .into_owned()
                    .filter(|(name, _)| super::pages::is_event_filter(name))
                    .collect();
            let mut pairs: Vec<(&str, &str)> =
                kept.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            pairs.push(("limit", "20"));
            let answer = get(format!("/logs{}", query_of(pairs))).await?;
            Data::Events(rows(&answer).into_iter().cloned().collect())
        }
        other => return Err(format!("no data source {other}")),
    })
}

/// Folds a series into one figure as the widget's aggregation says (sum by default).
fn aggregate(widget: &Widget, values: &[f64]) -> f64 {
    match widget.aggregation.as_deref() {
        Some("avg") if !values.is_empty() => values.iter().sum::<f64>() / values.len() as f64,
        Some("min") => values.iter().copied().reduce(f64::min).unwrap_or(0.0),
        Some("max") => values.iter().copied().fold(0.0, f64::max),
        Some("count") => values.len() as f64,
        _ => values.iter().sum(),
    }
}

/// Days for daily buckets, hours for hourly ones (with the day when they span several).
fn labels(buckets: &[DateTime<Utc>]) -> Vec<String> {
    let daily = buckets.len() > 1 && buckets.windows(2).all(|w| (w[1] - w[0]).num_hours() >= 24);
    let one_day = buckets
        .first()
        .zip(buckets.last())
        .is_none_or(|(first, last)| first.date_naive() == last.date_naive());
    let format = match (daily, one_day) {
        (true, _) => "%m-%d",
        (false, true) => "%H:00",
        (false, false) => "%m-%d %H:00",
    };
    buckets
        .iter()
        .map(|b| b.format(format).to_string())
        .collect()
}

fn draw(widget: &Widget, data: Data) -> Markup {
    let title = widget.title.as_str();
    let metric = metric(widget).to_owned();
    match (widget.widget_type, data) {
        (_, Data::Nothing) => html! { p.empty { "Nothing to show yet." } },
        (WidgetType::Counter, Data::Series { values, .. }) => {
            html! { p.counter { (count(&Value::from(aggregate(widget, &values).round() as i64))) } }
        }
        (WidgetType::Counter, Data::Figure(value)) => html! { p.counter { (figure(value)) } },
        (WidgetType::Gauge, Data::Figure(value)) => {
            let max = widget.visualization["max"].as_f64().unwrap_or(100.0);
            let unit = if metric.starts_with("avg_uptime") {
                " %"
            } else {
                ""
            };
            charts::gauge(title, value, max, unit)
        }
        (WidgetType::TimeSeries, Data::Series { buckets, values }) => charts::lines(
            title,
            &labels(&buckets),
            &[Series {
                name: metric,
                values,
            }],
        ),
        (WidgetType::BarChart, Data::Series { buckets, values }) => charts::stacked_bars(
            title,
            &labels(&buckets),
            &[Series {
                name: metric,
                values,
            }],
        ),
        (WidgetType::BarChart, Data::Named(items)) => charts::bars(title, &items),
        (WidgetType::PieChart, Data::Named(items)) => charts::pie(title, &items),
        (WidgetType::Heatmap, Data::Series { buckets, values }) => {
            let mut cells = [[0.0; 24]; 7];
            for (at, value) in buckets.iter().zip(values) {
                cells[at.weekday().num_days_from_monday() as usize][at.hour() as usize] += value;
            }
            charts::heatmap(title, &cells)
        }
        (WidgetType::Table, Data::Series { buckets, values }) => html! {
            table {
                thead { tr { th scope="col" { "Bucket (UTC)" } th.figure scope="col" { (metric) } } }
                tbody {
                    @for (at, value) in buckets.iter().zip(values).rev() {
                        tr { td { (at.format("%Y-%m-%d %H:00")) } td.figure { (figure(value)) } }
                    }
                }
            }
        },
        (WidgetType::Table, Data::Named(items)) => html! {
            table {
                tbody { @for (name, value) in items { tr { th scope="row" { (name) } td.figure { (figure(value)) } } } }
            }
        },
        (WidgetType::AlertList, Data::Alerts(items)) => html! {
            @if items.is_empty() { p.empty { "No alert is open." } }
            ul.plain {
                @for alert in &items {
                    li {
                        span class=(format!("badge severity-{}", text(&alert["severity"]))) { (text(&alert["severity"])) }
                        " " (text(&alert["rule_name"])) " · " (layout::time(&alert["triggered_at"]))
                    }
                }
            }
        },
        (WidgetType::CustomQuery | WidgetType::Table, Data::Events(events)) => html! {
            @if events.is_empty() { p.empty { "No event matches." } }
            @else {
                div.table-wrap { table {
                    tbody {
                        @for e in &events {
                            tr {
                                td { a href=(format!("/console/events/{}", text(&e["id"]))) { (layout::time(&e["created_at"])) } }
                                td { (text(&e["event_type"])) }
                                td { (text(&e["ip_address"])) }
                                td.message { (text(&e["message"])) }
                            }
                        }
                    }
                } }
            }
        },
        _ => html! { p.error { "This widget type cannot draw this data." } },
    }
}

fn figure(value: f64) -> String {
    if value.fract() == 0.0 {
        count(&Value::from(value as i64))
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn values(data: Data) -> Vec<f64> {
        match data {
            Data::Series { values, .. } => values,
            _ => panic!("not a series"),
        }
    }

    #[test]
    fn counts_add_up_per_bucket_and_percentiles_do_not() {
        let rows = [
            json!({"bucket": "2026-12-05T10:00:00Z", "p95": 10.0, "request_count": 1}),
            json!({"bucket": "2026-12-05T10:00:00Z", "p95": 20.0, "request_count": 2}),
            json!({"bucket": "2026-12-05T11:00:00Z", "p95": 5.0, "request_count": 4}),
        ];
        let rows: Vec<&Value> = rows.iter().collect();
        assert_eq!(values(series(&rows, "bucket", "request_count")), [3.0, 4.0]);
        assert_eq!(values(series(&rows, "bucket", "p95")), [20.0, 5.0]);
    }

    #[test]
    fn buckets_are_labelled_by_what_they_span() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let hours = [at("2026-12-05T10:00:00Z"), at("2026-12-05T11:00:00Z")];
        assert_eq!(labels(&hours), ["10:00", "11:00"]);
        let across = [at("2026-12-04T23:00:00Z"), at("2026-12-05T00:00:00Z")];
        assert_eq!(labels(&across), ["12-04 23:00", "12-05 00:00"]);
        let days = [at("2026-12-04T00:00:00Z"), at("2026-12-05T00:00:00Z")];
        assert_eq!(labels(&days), ["12-04", "12-05"]);
    }
}
