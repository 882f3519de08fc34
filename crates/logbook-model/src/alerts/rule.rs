//! An alert rule (seed 001 tb_alert_rule, every field) as the API takes and shows it, and
//! the checks that bound it before it is stored.

use std::{collections::BTreeMap, fmt, str::FromStr};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Severity;

/// Seed 001's alert_rule_status. A rule in `testing` raises alerts but notifies nobody.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleStatus {
    #[default]
    Enabled,
    Disabled,
    Testing,
}

impl RuleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
            Self::Testing => "testing",
        }
    }
}

/// What a rule measures. Each yields one value per group (one group, named `None`, when
/// the metric is not grouped).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Events matching `filter` created in the last `window_minutes`, per `group_by`.
    EventCount,
    /// Percentage of requests answered 5xx in the window, per endpoint.
    ErrorRate,
    /// 95th percentile request duration in ms in the window, per endpoint.
    P95Latency,
    /// Requests per minute in the window, per endpoint.
    Throughput,
    /// Percentage of ACTION events that failed in the window, per provider.
    ActionFailureRate,
    /// Mean execution time in ms of ACTION events in the window, per provider.
    ActionAvgLatency,
    /// Audit events appended in the window.
    AuditChanges,
    /// Error groups first seen in the window.
    NewErrorGroups,
    /// Error groups that came back after being resolved, in the window.
    RegressedErrorGroups,
    /// Anomalous hours (seed 000: above the 7-day mean + 3σ) among the last hour's
    /// counts, per series.
    Anomaly,
    /// 1 for each monitor whose newest check found it down, else 0; per monitor.
    MonitorDown,
}

impl Metric {
    pub const ALL: [Metric; 11] = [
        Self::EventCount,
        Self::ErrorRate,
        Self::P95Latency,
        Self::Throughput,
        Self::ActionFailureRate,
        Self::ActionAvgLatency,
        Self::AuditChanges,
        Self::NewErrorGroups,
        Self::RegressedErrorGroups,
        Self::Anomaly,
        Self::MonitorDown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EventCount => "event_count",
            Self::ErrorRate => "error_rate",
            Self::P95Latency => "p95_latency",
            Self::Throughput => "throughput",
            Self::ActionFailureRate => "action_failure_rate",
            Self::ActionAvgLatency => "action_avg_latency",
            Self::AuditChanges => "audit_changes",
            Self::NewErrorGroups => "new_error_groups",
            Self::RegressedErrorGroups => "regressed_error_groups",
            Self::Anomaly => "anomaly",
            Self::MonitorDown => "monitor_down",
        }
    }

    /// The unit a value of this metric is in, for messages.
    pub fn unit(self) -> &'static str {
        match self {
            Self::ErrorRate | Self::ActionFailureRate => "%",
            Self::P95Latency | Self::ActionAvgLatency => " ms",
            Self::Throughput => "/min",
            _ => "",
        }
    }
}

/// Seed 001's comparison operators that apply to numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Comparison {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    Ne,
}

impl Comparison {
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::Gt => value > threshold,
            Self::Gte => value >= threshold,
            Self::Lt => value < threshold,
            Self::Lte => value <= threshold,
            Self::Eq => value == threshold,
            Self::Ne => value != threshold,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Self::Gt => ">",
            Self::Gte => "≥",
            Self::Lt => "<",
            Self::Lte => "≤",
            Self::Eq => "=",
            Self::Ne => "≠",
        }
    }
}

/// Where a notification goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelType {
    /// JSON POST, signed with the channel's secret.
    Webhook,
    /// A Slack-compatible incoming webhook.
    Slack,
    /// PagerDuty Events API v2; the secret is the routing key.
    Pagerduty,
    /// E-mail over the server's SMTP relay.
    Email,
    /// PostgreSQL `NOTIFY` on the named channel.
    Notify,
    /// The tenant's server-sent-events stream of alert changes.
    Sse,
}

impl ChannelType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Slack => "slack",
            Self::Pagerduty => "pagerduty",
            Self::Email => "email",
            Self::Notify => "notify",
            Self::Sse => "sse",
        }
    }
}

/// One notification channel of a rule, with its recipients.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    #[serde(rename = "type")]
    pub kind: ChannelType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// E-mail recipients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    /// The `NOTIFY` channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The webhook's signing secret or PagerDuty's routing key. Never shown back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// How a shown channel says it has a secret; taken back and ignored, so a rule read
    /// from the API can be sent back as it is.
    #[serde(default, skip_serializing)]
    pub secret_set: bool,
}

/// PagerDuty's Events API v2, where a channel without a URL sends.
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

impl Channel {
    /// The channel as the API shows it: the secret replaced by whether one is set.
    pub fn shown(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = value.as_object_mut()
            && map.remove("secret").is_some()
        {
            map.insert("secret_set".into(), true.into());
        }
        value
    }

    fn check(&self) -> Result<(), String> {
        let kind = self.kind.as_str();
        let text_ok = |s: &str, most: usize| !s.is_empty() && s.len() <= most && !s.contains('\0');
        if let Some(url) = &self.url
            && (!text_ok(url, MAX_URL)
                || !(url.starts_with("http://") || url.starts_with("https://")))
        {
            return Err(format!(
                "a {kind} channel's url must be an http:// or https:// URL of at most {MAX_URL} bytes"
            ));
        }
        if let Some(secret) = &self.secret
            && !text_ok(secret, MAX_SECRET)
        {
            return Err(format!(
                "a channel's secret must be 1 to {MAX_SECRET} bytes"
            ));
        }
        let needs = |present: bool, what: &str| {
            if present {
                Ok(())
            } else {
                Err(format!("a {kind} channel needs {what}"))
            }
        };
        let refuses = |present: bool, what: &str| {
            if present {
                Err(format!("a {kind} channel takes no {what}"))
            } else {
                Ok(())
            }
        };
        match self.kind {
            ChannelType::Webhook | ChannelType::Slack => {
                needs(self.url.is_some(), "a url")?;
                refuses(!self.to.is_empty(), "to")?;
                refuses(self.channel.is_some(), "channel")?;
                if self.kind == ChannelType::Slack {
                    refuses(self.secret.is_some(), "secret")?;
                }
            }
            ChannelType::Pagerduty => {
                needs(
                    self.secret.is_some(),
                    "a secret (the integration's routing key)",
                )?;
                refuses(!self.to.is_empty(), "to")?;
                refuses(self.channel.is_some(), "channel")?;
            }
            ChannelType::Email => {
                needs(!self.to.is_empty(), "to (one or more addresses)")?;
                refuses(self.url.is_some(), "url")?;
                refuses(self.secret.is_some(), "secret")?;
                refuses(self.channel.is_some(), "channel")?;
                if self.to.len() > MAX_RECIPIENTS {
                    return Err(format!(
                        "an email channel has at most {MAX_RECIPIENTS} recipients"
                    ));
                }
                for to in &self.to {
                    if !text_ok(to, MAX_ADDRESS)
                        || !to.contains('@')
                        || to.contains(['\r', '\n', ',', '<', '>'])
                    {
                        return Err(format!("{to:?} is not an e-mail address"));
                    }
                }
            }
            ChannelType::Notify => {
                let name = self.channel.as_deref().unwrap_or("");
                let valid = (1..=63).contains(&name.len())
                    && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !valid {
                    return Err(
                        "a notify channel needs channel: a name of 1 to 63 lowercase \
                                letters, digits and underscores, not starting with a digit"
                            .into(),
                    );
                }
                refuses(self.url.is_some(), "url")?;
                refuses(!self.to.is_empty(), "to")?;
                refuses(self.secret.is_some(), "secret")?;
            }
            ChannelType::Sse => {
                refuses(self.url.is_some(), "url")?;
                refuses(!self.to.is_empty(), "to")?;
                refuses(self.secret.is_some(), "secret")?;
                refuses(self.channel.is_some(), "channel")?;
            }
        }
        Ok(())
    }
}

/// An alert rule. Fields are named as seed 001's columns; `filter`, `group_by` and
/// `window_minutes` say what an `event_count` counts, and `escalation_channels` where an
/// alert left unacknowledged for `escalation_delay` minutes goes next.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(default)]
    pub id: Uuid,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default = "warning")]
    pub severity: Severity,
    #[serde(default)]
    pub status: RuleStatus,
    pub metric_name: Metric,
    pub comparison_operator: Comparison,
    pub threshold: f64,
    /// For how long the condition must hold before the alert fires.
    #[serde(default)]
    pub duration_minutes: u32,
    /// Seconds between evaluations.
    #[serde(default = "sixty")]
    pub evaluation_interval: u32,
    /// Which services, endpoints, providers, event types or addresses the rule watches.
    #[serde(default)]
    pub scope: BTreeMap<String, String>,
    /// `/logs` filters (`event_type`, `success`, `ip`, …) of the events counted.
    #[serde(default)]
    pub filter: BTreeMap<String, String>,
    /// An event field to count per (`ip_address`, `user_id`, …): one alert per value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<String>,
    #[serde(default = "five")]
    pub window_minutes: u32,
    #[serde(default)]
    pub channels: Vec<Channel>,
    #[serde(default = "yes")]
    pub auto_resolve: bool,
    /// Seconds between repeated notifications of an alert nobody acknowledged.
    #[serde(default = "three_hundred")]
    pub suppress_duration: u32,
    /// Alerts the rule may raise in any hour; past it, conditions are left pending.
    #[serde(default = "ten")]
    pub max_alerts_per_hour: u32,
    /// Minutes an alert may stay unacknowledged before `escalation_channels` hear of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation_delay: Option<u32>,
    #[serde(default)]
    pub escalation_channels: Vec<Channel>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub created_by: String,
    #[serde(default = "epoch")]
    pub created_at: DateTime<Utc>,
    #[serde(default = "epoch")]
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_triggered: Option<DateTime<Utc>>,
}

fn warning() -> Severity {
    Severity::Warning
}
fn sixty() -> u32 {
    60
}
fn five() -> u32 {
    5
}
fn yes() -> bool {
    true
}
fn three_hundred() -> u32 {
    300
}
fn ten() -> u32 {
    10
}
fn epoch() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH
}

pub const MAX_NAME: usize = 200;
pub const MAX_DESCRIPTION: usize = 4096;
pub const MAX_URL: usize = 2048;
pub const MAX_SECRET: usize = 256;
pub const MAX_ADDRESS: usize = 254;
pub const MAX_RECIPIENTS: usize = 20;
pub const MAX_CHANNELS: usize = 10;
pub const MAX_ENTRIES: usize = 20;
pub const MAX_ENTRY: usize = 256;
/// A day: longer windows belong to reports, not alerts.
pub const MAX_WINDOW_MINUTES: u32 = 1440;
pub const MAX_INTERVAL_SECONDS: u32 = 86_400;
pub const MAX_ALERTS_PER_HOUR: u32 = 1000;

/// Event fields a count may be grouped by.
pub const GROUP_FIELDS: [&str; 9] = [
    "ip_address",
    "user_id",
    "service",
    "event_type",
    "event_subtype",
    "provider",
    "session_id",
    "fingerprint",
    "request_path",
];

/// Scope keys and what they narrow.
pub const SCOPE_KEYS: [&str; 5] = ["service", "endpoint", "provider", "event_type", "ip"];

/// `/logs` filters that a rule does not take: the window is the rule's, and paging has
/// no meaning for a count.
pub const NOT_FILTERS: [&str; 7] = ["from", "to", "order", "limit", "cursor", "skip", "q"];

impl Rule {
    /// Checks every bound; the message names the field.
    pub fn check(&self) -> Result<(), String> {
        let text_ok = |s: &str, most: usize| s.chars().count() <= most && !s.contains('\0');
        if self.name.trim().is_empty() || !text_ok(&self.name, MAX_NAME) {
            return Err(format!("name must be 1 to {MAX_NAME} characters"));
        }
        if let Some(d) = &self.description
            && !text_ok(d, MAX_DESCRIPTION)
        {
            return Err(format!(
                "description must be at most {MAX_DESCRIPTION} characters"
            ));
        }
        if !self.threshold.is_finite() {
            return Err("threshold must be a finite number".into());
        }
        if !(1..=MAX_INTERVAL_SECONDS).contains(&self.evaluation_interval) {
            return Err(format!(
                "evaluation_interval must be 1 to {MAX_INTERVAL_SECONDS} seconds"
            ));
        }
        if self.duration_minutes > MAX_WINDOW_MINUTES {
            return Err(format!(
                "duration_minutes must be at most {MAX_WINDOW_MINUTES}"
            ));
        }
        if !(1..=MAX_WINDOW_MINUTES).contains(&self.window_minutes) {
            return Err(format!("window_minutes must be 1 to {MAX_WINDOW_MINUTES}"));
        }
        if self.suppress_duration > MAX_INTERVAL_SECONDS {
            return Err(format!(
                "suppress_duration must be at most {MAX_INTERVAL_SECONDS} seconds"
            ));
        }
        if !(1..=MAX_ALERTS_PER_HOUR).contains(&self.max_alerts_per_hour) {
            return Err(format!(
                "max_alerts_per_hour must be 1 to {MAX_ALERTS_PER_HOUR}"
            ));
        }
        if let Some(delay) = self.escalation_delay
            && !(1..=MAX_WINDOW_MINUTES).contains(&delay)
        {
            return Err(format!(
                "escalation_delay must be 1 to {MAX_WINDOW_MINUTES} minutes"
            ));
        }
        if self.escalation_delay.is_some() == self.escalation_channels.is_empty() {
            return Err("escalation_delay and escalation_channels go together".into());
        }
        for (what, map) in [
            ("scope", &self.scope),
            ("filter", &self.filter),
            ("tags", &self.tags),
        ] {
            if map.len() > MAX_ENTRIES
                || map
                    .iter()
                    .any(|(k, v)| !text_ok(k, MAX_ENTRY) || !text_ok(v, MAX_ENTRY))
            {
                return Err(format!(
                    "{what} holds at most {MAX_ENTRIES} entries of at most {MAX_ENTRY} characters"
                ));
            }
        }
        if let Some(key) = self
            .scope
            .keys()
            .find(|k| !SCOPE_KEYS.contains(&k.as_str()))
        {
            return Err(format!(
                "scope {key:?} is not one of {}",
                SCOPE_KEYS.join(", ")
            ));
        }
        if let Some(key) = self
            .filter
            .keys()
            .find(|k| NOT_FILTERS.contains(&k.as_str()))
        {
            return Err(format!(
                "filter {key:?} is not taken by a rule: the window is window_minutes"
            ));
        }
        let counts_events = self.metric_name == Metric::EventCount;
        if !counts_events && (!self.filter.is_empty() || self.group_by.is_some()) {
            return Err(format!(
                "filter and group_by apply to event_count, not {}",
                self.metric_name.as_str()
            ));
        }
        if let Some(field) = &self.group_by
            && !GROUP_FIELDS.contains(&field.as_str())
        {
            return Err(format!(
                "group_by {field:?} is not one of {}",
                GROUP_FIELDS.join(", ")
            ));
        }
        for (what, channels) in [
            ("channels", &self.channels),
            ("escalation_channels", &self.escalation_channels),
        ] {
            if channels.len() > MAX_CHANNELS {
                return Err(format!("{what} holds at most {MAX_CHANNELS} channels"));
            }
            for channel in channels {
                channel.check()?;
            }
        }
        Ok(())
    }

    /// Every channel a rule may notify, escalation's included.
    pub fn all_channels(&self) -> impl Iterator<Item = &Channel> {
        self.channels.iter().chain(&self.escalation_channels)
    }

    /// The rule as the API shows it: channel secrets hidden.
    pub fn shown(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            for key in ["channels", "escalation_channels"] {
                let channels = match key {
                    "channels" => &self.channels,
                    _ => &self.escalation_channels,
                };
                map.insert(key.into(), channels.iter().map(Channel::shown).collect());
            }
        }
        value
    }

    /// Keeps the secrets of `before`'s channels where the change names the same channel
    /// without one: a client that read a rule (secrets hidden) and sends it back changes
    /// nothing it did not mean to.
    pub fn keep_secrets(&mut self, before: &Rule) {
        let pairs = self.channels.iter_mut().zip(&before.channels).chain(
            self.escalation_channels
                .iter_mut()
                .zip(&before.escalation_channels),
        );
        for (new, old) in pairs {
            if new.secret.is_none() && new.kind == old.kind && new.url == old.url {
                new.secret.clone_from(&old.secret);
            }
        }
    }

    /// Seconds between evaluations, as a duration.
    pub fn interval(&self) -> chrono::Duration {
        chrono::Duration::seconds(i64::from(self.evaluation_interval))
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RuleStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "enabled" => Ok(Self::Enabled),
            "disabled" => Ok(Self::Disabled),
            "testing" => Ok(Self::Testing),
            other => Err(format!(
                "{other:?} is not a rule status: enabled, disabled or testing"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: serde_json::Value) -> Result<Rule, String> {
        let rule: Rule = serde_json::from_value(json).map_err(|e| e.to_string())?;
        rule.check().map(|()| rule)
    }

    fn failed_logins() -> serde_json::Value {
        serde_json::json!({
            "name": "failed logins", "metric_name": "event_count",
            "comparison_operator": "gte", "threshold": 10,
            "filter": {"event_type": "AUTH_FAILURE"}, "group_by": "ip_address",
            "channels": [{"type": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "s"}],
        })
    }

    #[test]
    fn a_rule_takes_seed_001_defaults() {
        let r = rule(failed_logins()).unwrap();
        assert_eq!(r.severity, Severity::Warning);
        assert_eq!(r.status, RuleStatus::Enabled);
        assert_eq!((r.evaluation_interval, r.window_minutes), (60, 5));
        assert_eq!((r.suppress_duration, r.max_alerts_per_hour), (300, 10));
        assert!(r.auto_resolve);
    }

    #[test]
    fn comparisons_hold_as_named() {
        use Comparison::*;
        let cases = [
            (Gt, [false, false, true]),
            (Gte, [false, true, true]),
            (Lt, [true, false, false]),
            (Lte, [true, true, false]),
            (Eq, [false, true, false]),
            (Ne, [true, false, true]),
        ];
        for (op, expected) in cases {
            let got = [9.0, 10.0, 11.0].map(|v| op.holds(v, 10.0));
            assert_eq!(got, expected, "{op:?}");
        }
    }

    #[test]
    fn bad_rules_are_refused_with_the_field_named() {
        let cases = [
            ("evaluation_interval", serde_json::json!(0)),
            ("window_minutes", serde_json::json!(1441)),
            ("group_by", serde_json::json!("password")),
            ("max_alerts_per_hour", serde_json::json!(0)),
            ("escalation_delay", serde_json::json!(5)),
            ("scope", serde_json::json!({"tenant": "x"})),
            (
                "filter",
                serde_json::json!({"from": "2026-01-01T00:00:00Z"}),
            ),
        ];
        for (field, value) in cases {
            let mut json = failed_logins();
            json[field] = value;
            let error = rule(json).unwrap_err();
            assert!(
                error.contains(field) || error.contains("escalation"),
                "{field}: {error}"
            );
        }
    }

    #[test]
    fn channels_need_their_recipients() {
        for channel in [
            serde_json::json!({"type": "webhook"}),
            serde_json::json!({"type": "email", "to": []}),
            serde_json::json!({"type": "email", "to": ["a@b\r\nBcc: x@y"]}),
            serde_json::json!({"type": "pagerduty"}),
            serde_json::json!({"type": "notify", "channel": "Bad-Name"}),
            serde_json::json!({"type": "webhook", "url": "ftp://x"}),
            serde_json::json!({"type": "sse", "url": "http://x"}),
        ] {
            let mut json = failed_logins();
            json["channels"] = serde_json::json!([channel.clone()]);
            assert!(rule(json).is_err(), "{channel}");
        }
    }

    #[test]
    fn secrets_are_hidden_and_kept_across_a_round_trip() {
        let stored = rule(failed_logins()).unwrap();
        let shown = stored.shown();
        assert_eq!(shown["channels"][0].get("secret"), None);
        assert_eq!(shown["channels"][0]["secret_set"], true);
        let mut sent_back: Rule = serde_json::from_value(shown).unwrap();
        sent_back.keep_secrets(&stored);
        assert_eq!(sent_back.channels[0].secret.as_deref(), Some("s"));
    }

    /// Each bound at its edge is accepted, one past it refused, the message naming the
    /// field.
    #[test]
    fn every_bound_holds_at_its_edge() {
        let cases: [(&str, serde_json::Value, serde_json::Value); 11] = [
            (
                "name",
                serde_json::json!("n".repeat(200)),
                serde_json::json!("n".repeat(201)),
            ),
            ("name", serde_json::json!("n"), serde_json::json!("  ")),
            (
                "description",
                serde_json::json!("d".repeat(4096)),
                serde_json::json!("d".repeat(4097)),
            ),
            (
                "evaluation_interval",
                serde_json::json!(86_400),
                serde_json::json!(86_401),
            ),
            (
                "evaluation_interval",
                serde_json::json!(1),
                serde_json::json!(0),
            ),
            (
                "duration_minutes",
                serde_json::json!(1440),
                serde_json::json!(1441),
            ),
            ("window_minutes", serde_json::json!(1), serde_json::json!(0)),
            (
                "suppress_duration",
                serde_json::json!(86_400),
                serde_json::json!(86_401),
            ),
            (
                "max_alerts_per_hour",
                serde_json::json!(1000),
                serde_json::json!(1001),
            ),
            (
                "tags",
                serde_json::json!({"k": "v".repeat(256)}),
                serde_json::json!({"k": "v".repeat(257)}),
            ),
            (
                "scope",
                serde_json::json!({"service": "api"}),
                serde_json::json!({"service": "\u{0}"}),
            ),
        ];
        for (field, edge, past) in cases {
            let mut json = failed_logins();
            json[field] = edge.clone();
            assert!(rule(json.clone()).is_ok(), "{field} = {edge} is allowed");
            json[field] = past.clone();
            let error = rule(json).unwrap_err();
            assert!(error.contains(field), "{field} = {past}: {error}");
        }
        let mut json = failed_logins();
        json["escalation_delay"] = serde_json::json!(1440);
        json["escalation_channels"] = serde_json::json!([{"type": "sse"}]);
        assert!(rule(json.clone()).is_ok());
        json["escalation_delay"] = serde_json::json!(1441);
        assert!(rule(json.clone()).unwrap_err().contains("escalation_delay"));
        json["escalation_delay"] = serde_json::json!(0);
        assert!(rule(json).unwrap_err().contains("escalation_delay"));
        let mut twenty_one = failed_logins();
        twenty_one["filter"] = serde_json::json!(
            (0..21)
                .map(|i| (format!("k{i}"), "v".to_owned()))
                .collect::<BTreeMap<_, _>>()
        );
        assert!(rule(twenty_one).unwrap_err().contains("filter"));
        let mut other = failed_logins();
        other["metric_name"] = serde_json::json!("error_rate");
        assert!(
            rule(other).unwrap_err().contains("event_count"),
            "filters apply to counts only"
        );
    }

    #[test]
    fn channels_take_what_they_need_and_nothing_else() {
        let ok = [
            serde_json::json!({"type": "webhook", "url": "https://hooks.example.test/x"}),
            serde_json::json!({"type": "slack", "url": "https://hooks.slack.test/x"}),
            serde_json::json!({"type": "pagerduty", "secret": "routing-key"}),
            serde_json::json!({"type": "email", "to": ["a@example.test"]}),
            serde_json::json!({"type": "notify", "channel": "logbook_alerts"}),
            serde_json::json!({"type": "sse"}),
        ];
        let refused = [
            serde_json::json!({"type": "slack", "url": "https://x.test", "secret": "s"}),
            serde_json::json!({"type": "webhook", "url": "https://x.test", "to": ["a@b.test"]}),
            serde_json::json!({"type": "webhook", "url": "https://x.test", "channel": "c"}),
            serde_json::json!({"type": "webhook", "url": "https://x.test", "secret": ""}),
            serde_json::json!({"type": "webhook", "url": format!("https://{}", "x".repeat(2048))}),
            serde_json::json!({"type": "pagerduty", "secret": "k", "to": ["a@b.test"]}),
            serde_json::json!({"type": "email", "to": ["a@b.test"], "url": "https://x.test"}),
            serde_json::json!({"type": "email", "to": ["not-an-address"]}),
            serde_json::json!({"type": "email", "to": (0..21).map(|i| format!("u{i}@x.test")).collect::<Vec<_>>()}),
            serde_json::json!({"type": "notify", "channel": "9starts_with_digit"}),
            serde_json::json!({"type": "notify", "channel": "x".repeat(64)}),
            serde_json::json!({"type": "notify", "channel": "ok", "secret": "s"}),
            serde_json::json!({"type": "sse", "channel": "c"}),
        ];
        for channel in ok {
            let mut json = failed_logins();
            json["channels"] = serde_json::json!([channel.clone()]);
            assert!(rule(json).is_ok(), "{channel}");
        }
        for channel in refused {
            let mut json = failed_logins();
            json["channels"] = serde_json::json!([channel.clone()]);
            assert!(rule(json).is_err(), "{channel}");
        }
        let mut eleven = failed_logins();
        eleven["channels"] = serde_json::json!(vec![serde_json::json!({"type": "sse"}); 11]);
        assert!(rule(eleven).unwrap_err().contains("channels"));
    }

    #[test]
    fn a_secret_is_kept_only_for_the_same_channel() {
        let stored = rule(failed_logins()).unwrap();
        let mut moved = stored.clone();
        moved.channels[0].secret = None;
        moved.channels[0].url = Some("http://127.0.0.1:9/elsewhere".into());
        moved.keep_secrets(&stored);
        assert_eq!(
            moved.channels[0].secret, None,
            "a new address gets no old secret"
        );
        let mut given = stored.clone();
        given.channels[0].secret = Some("new".into());
        given.keep_secrets(&stored);
        assert_eq!(given.channels[0].secret.as_deref(), Some("new"));
    }

    #[test]
    fn names_read_back_as_written() {
        for status in [
            RuleStatus::Enabled,
            RuleStatus::Disabled,
            RuleStatus::Testing,
        ] {
            assert_eq!(status.as_str().parse::<RuleStatus>(), Ok(status));
        }
        assert!("on".parse::<RuleStatus>().is_err());
        for metric in Metric::ALL {
            assert_eq!(metric.to_string(), metric.as_str());
            assert_eq!(serde_json::to_value(metric).unwrap(), metric.as_str());
        }
        let r = rule(failed_logins()).unwrap();
        assert_eq!(r.interval(), chrono::Duration::seconds(60));
    }

    #[test]
    fn the_most_of_each_list_is_allowed() {
        let mut json = failed_logins();
        json["channels"] = serde_json::json!(vec![serde_json::json!({"type": "sse"}); 10]);
        json["filter"] = serde_json::json!(
            (0..19)
                .map(|i| (format!("k{i}"), "v".to_owned()))
                .chain([("event_type".to_owned(), "AUTH_FAILURE".to_owned())])
                .collect::<BTreeMap<_, _>>()
        );
        let r: Rule = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(r.filter.len(), 20);
        assert!(r.check().is_ok(), "{:?}", r.check());
        json["channels"] = serde_json::json!([{"type": "email", "to": (0..20).map(|i| format!("u{i}@x.test")).collect::<Vec<_>>()}]);
        assert!(rule(json).is_ok());
        let mut grouped = failed_logins();
        grouped["metric_name"] = serde_json::json!("p95_latency");
        grouped.as_object_mut().unwrap().remove("filter");
        assert!(
            rule(grouped).unwrap_err().contains("group_by"),
            "group_by alone too"
        );
    }

    #[test]
    fn units_and_channel_names_are_spelled_out() {
        assert_eq!(Metric::P95Latency.unit(), " ms");
        assert_eq!(Metric::ActionAvgLatency.unit(), " ms");
        assert_eq!(Metric::Throughput.unit(), "/min");
        assert_eq!(Metric::ErrorRate.unit(), "%");
        assert_eq!(Metric::EventCount.unit(), "");
        for kind in [
            ChannelType::Webhook,
            ChannelType::Slack,
            ChannelType::Pagerduty,
            ChannelType::Email,
            ChannelType::Notify,
            ChannelType::Sse,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
