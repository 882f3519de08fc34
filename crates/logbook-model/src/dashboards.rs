//! Dashboards (seed 001 tb_dashboard) and their widgets (tb_widget): saved per tenant,
//! each widget bound to one of Logbook's reads (its `data_source` and `metric_name`),
//! a time range and filters, and drawn as one of seed 001's widget types.
//!
//! A dashboard is kept whole, its widgets inside it, so deleting it deletes them (the
//! seed's ON DELETE CASCADE). Logbook has no teams and no pages without a key: `team`,
//! `organization` and `public` dashboards are seen by every key of the tenant, `private`
//! ones by the key that made them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// Seed 001's dashboard_visibility.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    #[default]
    Private,
    Team,
    Organization,
    Public,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Team => "team",
            Self::Organization => "organization",
            Self::Public => "public",
        }
    }
}

/// Seed 001's widget_type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WidgetType {
    TimeSeries,
    Counter,
    Gauge,
    Table,
    PieChart,
    BarChart,
    Heatmap,
    AlertList,
    CustomQuery,
}

impl WidgetType {
    pub const ALL: [WidgetType; 9] = [
        Self::TimeSeries,
        Self::Counter,
        Self::Gauge,
        Self::Table,
        Self::PieChart,
        Self::BarChart,
        Self::Heatmap,
        Self::AlertList,
        Self::CustomQuery,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TimeSeries => "time-series",
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Table => "table",
            Self::PieChart => "pie-chart",
            Self::BarChart => "bar-chart",
            Self::Heatmap => "heatmap",
            Self::AlertList => "alert-list",
            Self::CustomQuery => "custom-query",
        }
    }
}

/// What a widget reads, with the metrics each source offers and the widget types that
/// can draw it.
pub struct Source {
    pub name: &'static str,
    pub metrics: &'static [&'static str],
    pub types: &'static [WidgetType],
    /// Filters it takes, by name.
    pub filters: &'static [&'static str],
}

use WidgetType as W;

pub const SOURCES: [Source; 9] = [
    Source {
        name: "events_hourly",
        metrics: &[
            "total_count",
            "success_count",
            "failure_count",
            "unique_users",
            "unique_ips",
            "avg_response_time_ms",
        ],
        types: &[W::TimeSeries, W::BarChart, W::Heatmap, W::Counter, W::Table],
        filters: &["event_type"],
    },
    Source {
        name: "summary",
        metrics: &[
            "total_requests",
            "successful_logins",
            "auth_failures",
            "rate_limit_hits",
            "unique_users",
            "unique_ips",
        ],
        types: &[W::Counter, W::Gauge],
        filters: &[],
    },
    Source {
        name: "countries",
        metrics: &["count", "failures"],
        types: &[W::PieChart, W::BarChart, W::Table],
        filters: &[],
    },
    Source {
        name: "top_ips",
        metrics: &["count"],
        types: &[W::BarChart, W::PieChart, W::Table],
        filters: &["success"],
    },
    Source {
        name: "endpoints",
        metrics: &[
            "p50",
            "p95",
            "p99",
            "request_count",
            "error_count",
            "error_rate",
            "throughput",
        ],
        types: &[W::TimeSeries, W::BarChart, W::Table, W::Counter],
        filters: &["endpoint"],
    },
    Source {
        name: "errors",
        metrics: &["error_count", "affected_users"],
        types: &[W::TimeSeries, W::BarChart, W::PieChart, W::Table],
        filters: &[],
    },
    Source {
        name: "alerts",
        metrics: &[],
        types: &[W::AlertList, W::Counter],
        filters: &[],
    },
    Source {
        name: "monitors",
        metrics: &[
            "avg_uptime_24h",
            "healthy_count",
            "down_count",
            "total_services",
        ],
        types: &[W::Gauge, W::Counter],
        filters: &[],
    },
    Source {
        name: "events",
        metrics: &[],
        types: &[W::CustomQuery, W::Table],
        filters: &[],
    },
];

pub fn source(name: &str) -> Option<&'static Source> {
    SOURCES.iter().find(|s| s.name == name)
}

/// Time ranges a widget or dashboard may show, with their hours.
pub const TIME_RANGES: [(&str, i64); 5] =
    [("1h", 1), ("6h", 6), ("24h", 24), ("7d", 168), ("30d", 720)];

pub fn hours_of(range: &str) -> Option<i64> {
    TIME_RANGES
        .iter()
        .find(|(r, _)| *r == range)
        .map(|(_, h)| *h)
}

/// Where a widget sits on the dashboard's grid (12 columns).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub x: u8,
    pub y: u8,
    pub w: u8,
    pub h: u8,
}

impl Default for Position {
    fn default() -> Self {
        Self {
            x: 0,
            y: 0,
            w: 6,
            h: 4,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Widget {
    #[serde(default)]
    pub id: Uuid,
    pub title: String,
    pub widget_type: WidgetType,
    #[serde(default)]
    pub position: Position,
    pub data_source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
    /// For `custom-query` widgets over `events`: a `/logs` query string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// `sum`, `avg`, `min`, `max` or `count`: how a counter folds a series into one figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<String>,
    /// One of [`TIME_RANGES`]; none for the dashboard's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_range: Option<String>,
    #[serde(default)]
    pub filters: BTreeMap<String, String>,
    #[serde(default = "empty_object")]
    pub visualization: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_interval: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    #[serde(default)]
    pub id: Uuid,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub visibility: Visibility,
    /// The key that made it; set by the server.
    #[serde(default)]
    pub owner_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    #[serde(default = "empty_array")]
    pub layout: Value,
    #[serde(default = "empty_object")]
    pub variables: Value,
    #[serde(default = "yes")]
    pub auto_refresh: bool,
    #[serde(default = "thirty")]
    pub refresh_interval: u32,
    #[serde(default = "a_day")]
    pub default_time_range: String,
    #[serde(default = "light")]
    pub theme: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub is_template: bool,
    #[serde(default)]
    pub widgets: Vec<Widget>,
    #[serde(default = "epoch")]
    pub created_at: DateTime<Utc>,
    #[serde(default = "epoch")]
    pub updated_at: DateTime<Utc>,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}
fn empty_array() -> Value {
    Value::Array(Vec::new())
}
fn yes() -> bool {
    true
}
fn thirty() -> u32 {
    30
}
fn a_day() -> String {
    "24h".into()
}
fn light() -> String {
    "light".into()
}
fn epoch() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH
}

pub const MAX_WIDGETS: usize = 50;
const MAX_TAGS: usize = 20;
/// Bytes of a widget's visualization settings or a dashboard's layout and variables.
const MAX_SETTINGS: usize = 8 * 1024;
const MAX_FILTERS: usize = 10;
const MAX_QUERY: usize = 1000;
const AGGREGATIONS: [&str; 5] = ["sum", "avg", "min", "max", "count"];

fn text_ok(s: &str, most: usize) -> bool {
    s.chars().count() <= most && !s.contains('\0')
}

impl Widget {
    pub fn check(&self) -> Result<(), String> {
        if self.title.trim().is_empty() || !text_ok(&self.title, 200) {
            return Err("a widget's title must be 1 to 200 characters".into());
        }
        let Some(source) = source(&self.data_source) else {
            let names: Vec<&str> = SOURCES.iter().map(|s| s.name).collect();
            return Err(format!(
                "data_source {:?} is not one of {}",
                self.data_source,
                names.join(", ")
            ));
        };
        if !source.types.contains(&self.widget_type) {
            let types: Vec<&str> = source.types.iter().map(|t| t.as_str()).collect();
            return Err(format!(
                "a {} widget cannot draw {}; it takes {}",
                self.widget_type.as_str(),
                source.name,
                types.join(", ")
            ));
        }
        match (&self.metric_name, source.metrics.is_empty()) {
            (Some(metric), false) if source.metrics.contains(&metric.as_str()) => {}
            (None, true) => {}
            (None, false) => {
                return Err(format!(
                    "{} needs a metric_name: one of {}",
                    source.name,
                    source.metrics.join(", ")
                ));
            }
            (Some(metric), _) => {
                return Err(format!(
                    "metric_name {metric:?} is not one of {}'s: {}",
                    source.name,
                    source.metrics.join(", ")
                ));
            }
        }
        if let Some(range) = &self.time_range
            && hours_of(range).is_none()
        {
            return Err(format!(
                "time_range {range:?} is not one of 1h, 6h, 24h, 7d, 30d"
            ));
        }
        if self
            .aggregation
            .as_deref()
            .is_some_and(|a| !AGGREGATIONS.contains(&a))
        {
            return Err("aggregation must be sum, avg, min, max or count".into());
        }
        if self.filters.len() > MAX_FILTERS
            || self.filters.iter().any(|(name, value)| {
                !source.filters.contains(&name.as_str()) || !text_ok(value, 200)
            })
        {
            return Err(format!(
                "{} takes the filters {} (values of at most 200 characters)",
                source.name,
                if source.filters.is_empty() {
                    "none".to_owned()
                } else {
                    source.filters.join(", ")
                }
            ));
        }
        match (&self.query, self.widget_type) {
            (Some(query), _) if !text_ok(query, MAX_QUERY) => {
                return Err(format!("query must be at most {MAX_QUERY} characters"));
            }
            (None, WidgetType::CustomQuery) => {
                return Err("a custom-query widget needs a query: /logs filters, e.g. event_type=ERROR&service=api".into());
            }
            _ => {}
        }
        let p = self.position;
        if p.x >= 12 || p.w == 0 || p.w > 12 || p.h == 0 || p.h > 12 || p.y > 100 {
            return Err("position must fit a 12-column grid: x 0–11, w and h 1–12, y 0–100".into());
        }
        if !self.visualization.is_object() || self.visualization.to_string().len() > MAX_SETTINGS {
            return Err(format!(
                "visualization must be an object of at most {MAX_SETTINGS} bytes"
            ));
        }
        if self
            .refresh_interval
            .is_some_and(|r| !(5..=86_400).contains(&r))
        {
            return Err("refresh_interval must be 5 to 86400 seconds".into());
        }
        Ok(())
    }
}

impl Dashboard {
    /// Bounds every field, and each widget's.
    pub fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() || !text_ok(&self.name, 200) {
            return Err("name must be 1 to 200 characters".into());
        }
        if self
            .description
            .as_deref()
            .is_some_and(|d| !text_ok(d, 4096))
        {
            return Err("description must be at most 4096 characters".into());
        }
        if self.team_id.as_deref().is_some_and(|t| !text_ok(t, 50)) {
            return Err("team_id must be at most 50 characters".into());
        }
        if !self.layout.is_array() || self.layout.to_string().len() > MAX_SETTINGS {
            return Err(format!(
                "layout must be an array of at most {MAX_SETTINGS} bytes"
            ));
        }
        if !self.variables.is_object() || self.variables.to_string().len() > MAX_SETTINGS {
            return Err(format!(
                "variables must be an object of at most {MAX_SETTINGS} bytes"
            ));
        }
        if !(5..=86_400).contains(&self.refresh_interval) {
            return Err("refresh_interval must be 5 to 86400 seconds".into());
        }
        if hours_of(&self.default_time_range).is_none() {
            return Err("default_time_range must be one of 1h, 6h, 24h, 7d, 30d".into());
        }
        if !matches!(self.theme.as_str(), "light" | "dark" | "auto") {
            return Err("theme must be light, dark or auto".into());
        }
        if self.tags.len() > MAX_TAGS || self.tags.iter().any(|t| t.is_empty() || !text_ok(t, 50)) {
            return Err(format!(
                "tags must be at most {MAX_TAGS}, each 1 to 50 characters"
            ));
        }
        if self.widgets.len() > MAX_WIDGETS {
            return Err(format!("a dashboard holds at most {MAX_WIDGETS} widgets"));
        }
        for widget in &self.widgets {
            widget.check()?;
        }
        Ok(())
    }

    /// Whether the key `viewer` may see it.
    pub fn visible_to(&self, viewer: Uuid) -> bool {
        self.visibility != Visibility::Private || self.owner_id == viewer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widget(kind: WidgetType, source: &str, metric: Option<&str>) -> Widget {
        serde_json::from_value(serde_json::json!({
            "title": "w", "widget_type": kind, "data_source": source, "metric_name": metric,
        }))
        .unwrap()
    }

    #[test]
    fn a_widget_must_draw_what_its_source_gives() {
        assert_eq!(
            widget(W::TimeSeries, "events_hourly", Some("failure_count")).check(),
            Ok(())
        );
        assert!(
            widget(W::PieChart, "summary", Some("auth_failures"))
                .check()
                .unwrap_err()
                .contains("cannot draw")
        );
        assert!(
            widget(W::Counter, "summary", Some("bogus"))
                .check()
                .unwrap_err()
                .contains("not one of")
        );
        assert!(
            widget(W::Counter, "summary", None)
                .check()
                .unwrap_err()
                .contains("needs a metric_name")
        );
        assert!(
            widget(W::Table, "nowhere", None)
                .check()
                .unwrap_err()
                .contains("data_source")
        );
        assert!(
            widget(W::CustomQuery, "events", None)
                .check()
                .unwrap_err()
                .contains("needs a query")
        );
    }

    #[test]
    fn filters_are_the_sources_own() {
        let mut w = widget(W::TimeSeries, "events_hourly", Some("total_count"));
        w.filters.insert("event_type".into(), "ERROR".into());
        assert_eq!(w.check(), Ok(()));
        w.filters.insert("ip".into(), "10.0.0.1".into());
        assert!(w.check().is_err());
    }

    #[test]
    fn private_dashboards_are_their_owners() {
        let owner = Uuid::now_v7();
        let mut d: Dashboard = serde_json::from_value(serde_json::json!({"name": "mine"})).unwrap();
        d.owner_id = owner;
        assert!(d.visible_to(owner) && !d.visible_to(Uuid::now_v7()));
        d.visibility = Visibility::Organization;
        assert!(d.visible_to(Uuid::now_v7()));
    }

    #[test]
    fn bounds_hold() {
        let mut d: Dashboard = serde_json::from_value(serde_json::json!({"name": "d"})).unwrap();
        assert_eq!(d.check(), Ok(()));
        d.widgets = vec![widget(W::Counter, "summary", Some("unique_ips")); MAX_WIDGETS + 1];
        assert!(d.check().unwrap_err().contains("at most"));
        d.widgets.clear();
        d.default_time_range = "2y".into();
        assert!(d.check().is_err());
    }
}
