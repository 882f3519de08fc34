//! An alert (seed 001 tb_alert) and its lifecycle: pending while a condition has not yet
//! held for the rule's duration, then active → acknowledged → resolved, or suppressed
//! (silenced) until a time. [`step`] decides, from one evaluation, what becomes of one
//! group's alert and who hears of it; it is pure, so every rule of the lifecycle is
//! tested here without a clock, a store or a network.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Channel, Rule};
use crate::Severity;

/// Seed 001's alert_status, and `pending`: the condition holds but not yet for the
/// rule's `duration_minutes`; nobody has been told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Pending,
    Active,
    Acknowledged,
    Resolved,
    Suppressed,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Acknowledged => "acknowledged",
            Self::Resolved => "resolved",
            Self::Suppressed => "suppressed",
        }
    }
}

impl fmt::Display for AlertStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AlertStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "pending" => Self::Pending,
            "active" => Self::Active,
            "acknowledged" => Self::Acknowledged,
            "resolved" => Self::Resolved,
            "suppressed" => Self::Suppressed,
            other => {
                return Err(format!(
                    "{other:?} is not an alert status: pending, active, acknowledged, \
                     resolved or suppressed"
                ));
            }
        })
    }
}

/// One alert: a rule's condition holding for one group (e.g. one IP address).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: Uuid,
    pub rule_id: Uuid,
    pub rule_name: String,
    pub metric_name: super::Metric,
    pub status: AlertStatus,
    pub severity: Severity,
    /// The value the rule is grouped by, e.g. the IP address; `None` when not grouped.
    pub group: Option<String>,
    pub message: String,
    pub current_value: f64,
    pub threshold: f64,
    /// When the condition began to hold (pending) or the alert fired.
    pub triggered_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub acknowledgment_note: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<String>,
    pub resolution_note: Option<String>,
    pub suppressed_until: Option<DateTime<Utc>>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub last_notified_at: Option<DateTime<Utc>>,
    /// Notifications queued for this alert, escalations and resolutions included.
    pub notifications_sent: u32,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change: a change made from a stale read is refused, so the
    /// evaluator and a person acknowledging never overwrite each other.
    pub version: i64,
}

/// Why a notification is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeKind {
    Triggered,
    /// Still active and unacknowledged after `suppress_duration`, or after a silence.
    Repeated,
    Escalated,
    Resolved,
    /// A person acknowledged the alert.
    Acknowledged,
    /// A person silenced the alert until a time.
    Silenced,
}

/// A notification to queue: its kind, and the channels it goes to.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub channels: Vec<Channel>,
}

/// What one evaluation does to one group's alert.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Nothing to store.
    Nothing,
    /// A new alert (pending or active).
    Open(Alert, Vec<Notice>),
    /// The open alert changed (value, status, notification times).
    Change(Alert, Vec<Notice>),
    /// A pending alert whose condition cleared before it fired: forgotten.
    Discard(Alert),
    /// The condition holds but the rule raised `max_alerts_per_hour` this hour.
    Throttled,
}

/// One group's evaluation. `value` is the metric's value for the group (`None`: no data,
/// which holds for no comparison); `open` is the group's open alert; `raised_last_hour`
/// counts the rule's alerts that fired in the hour before `now`.
pub fn step(
    rule: &Rule,
    group: Option<&str>,
    value: Option<f64>,
    open: Option<&Alert>,
    raised_last_hour: u32,
    now: DateTime<Utc>,
) -> Step {
    let holds = value.is_some_and(|v| rule.comparison_operator.holds(v, rule.threshold));
    let value = value.unwrap_or(0.0);
    let throttled = raised_last_hour >= rule.max_alerts_per_hour;
    let Some(open) = open else {
        if !holds {
            return Step::Nothing;
        }
        let mut alert = new_alert(rule, group, value, now);
        if rule.duration_minutes > 0 {
            return Step::Open(alert, Vec::new());
        }
        if throttled {
            return Step::Throttled;
        }
        alert.status = AlertStatus::Active;
        alert.notifications_sent = rule.channels.len() as u32;
        alert.last_notified_at = Some(now);
        let notices = notice(NoticeKind::Triggered, &rule.channels);
        return Step::Open(alert, notices);
    };
    let mut alert = open.clone();
    alert.current_value = value;
    alert.message = message(rule, group, value);
    let mut notices = Vec::new();
    let mut notify = |alert: &mut Alert, kind: NoticeKind, channels: &[Channel]| {
        alert.notifications_sent += channels.len() as u32;
        notices.extend(notice(kind, channels));
    };
    if alert.status == AlertStatus::Suppressed && alert.suppressed_until.is_none_or(|u| u <= now) {
        // The silence is over: the alert is active again, and says so if still firing.
        alert.status = AlertStatus::Active;
        alert.suppressed_until = None;
        if holds {
            alert.last_notified_at = Some(now);
            notify(&mut alert, NoticeKind::Repeated, &rule.channels);
        }
    }
    match (alert.status, holds) {
        (AlertStatus::Pending, false) => return Step::Discard(alert),
        (AlertStatus::Pending, true) => {
            let held = now - alert.triggered_at >= minutes(rule.duration_minutes);
            if held && throttled {
                return Step::Throttled;
            }
            if held {
                alert.status = AlertStatus::Active;
                alert.triggered_at = now;
                alert.last_notified_at = Some(now);
                notify(&mut alert, NoticeKind::Triggered, &rule.channels);
            }
        }
        (AlertStatus::Resolved, _) => return Step::Nothing,
        (_, false) if rule.auto_resolve => {
            let silenced = alert.status == AlertStatus::Suppressed;
            alert.status = AlertStatus::Resolved;
            alert.resolved_at = Some(now);
            alert.resolution_note = Some("resolved automatically: the condition cleared".into());
            alert.suppressed_until = None;
            if !silenced {
                notify(&mut alert, NoticeKind::Resolved, &rule.channels);
            }
        }
        (AlertStatus::Active, true) => {
            let unacknowledged_for = now - alert.triggered_at;
            let escalate = rule
                .escalation_delay
                .is_some_and(|delay| unacknowledged_for >= minutes(delay))
                && alert.escalated_at.is_none();
            let repeat_due = rule.suppress_duration > 0
                && alert.last_notified_at.is_none_or(|at| {
                    now - at >= Duration::seconds(i64::from(rule.suppress_duration))
                });
            if escalate {
                alert.escalated_at = Some(now);
                notify(&mut alert, NoticeKind::Escalated, &rule.escalation_channels);
            }
            if repeat_due {
                alert.last_notified_at = Some(now);
                notify(&mut alert, NoticeKind::Repeated, &rule.channels);
            }
        }
        // Acknowledged or suppressed and still holding, or any open alert whose rule does
        // not resolve by itself: only the value moves.
        _ => {}
    }
    if alert == *open {
        return Step::Nothing;
    }
    alert.updated_at = now;
    Step::Change(alert, notices)
}

fn minutes(n: u32) -> Duration {
    Duration::minutes(i64::from(n))
}

fn notice(kind: NoticeKind, channels: &[Channel]) -> Vec<Notice> {
    if channels.is_empty() {
        return Vec::new();
    }
    vec![Notice {
        kind,
        channels: channels.to_vec(),
    }]
}

fn new_alert(rule: &Rule, group: Option<&str>, value: f64, now: DateTime<Utc>) -> Alert {
    Alert {
        id: Uuid::now_v7(),
        rule_id: rule.id,
        rule_name: rule.name.clone(),
        metric_name: rule.metric_name,
        status: AlertStatus::Pending,
        severity: rule.severity,
        group: group.map(str::to_owned),
        message: message(rule, group, value),
        current_value: value,
        threshold: rule.threshold,
        triggered_at: now,
        acknowledged_at: None,
        acknowledged_by: None,
        acknowledgment_note: None,
        resolved_at: None,
        resolved_by: None,
        resolution_note: None,
        suppressed_until: None,
        escalated_at: None,
        last_notified_at: None,
        notifications_sent: 0,
        updated_at: now,
        version: 0,
    }
}

/// "failed logins: event_count 12 ≥ 10 (ip_address 203.0.113.9)".
pub fn message(rule: &Rule, group: Option<&str>, value: f64) -> String {
    let unit = rule.metric_name.unit();
    let value = (value * 100.0).round() / 100.0;
    let mut text = format!(
        "{}: {} {value}{unit} {} {}{unit}",
        rule.name,
        rule.metric_name,
        rule.comparison_operator.symbol(),
        rule.threshold
    );
    if let Some(group) = group {
        let field = rule.group_by.as_deref().unwrap_or("group");
        text.push_str(&format!(" ({field} {group})"));
    }
    text
}

/// What a person does to an alert through the API.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Acknowledge,
    Resolve,
    /// Silenced until the time: no notification until then.
    Silence(DateTime<Utc>),
}

impl Action {
    /// The action as its route and the audit trail name it.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Acknowledge => "acknowledge",
            Action::Resolve => "resolve",
            Action::Silence(_) => "silence",
        }
    }

    /// Who hears of a person's action: a resolution goes where the alert's notices went
    /// (PagerDuty closes its incident); an acknowledgement or a silence only to the
    /// alert stream, for those watching it.
    pub fn notices(&self, rule: &Rule) -> Vec<Notice> {
        let to_stream = |kind| {
            let channels: Vec<Channel> = rule
                .all_channels()
                .filter(|c| c.kind == super::ChannelType::Sse)
                .cloned()
                .collect();
            notice(kind, &channels)
        };
        match self {
            Action::Resolve => notice(NoticeKind::Resolved, &rule.channels),
            Action::Acknowledge => to_stream(NoticeKind::Acknowledged),
            Action::Silence(_) => to_stream(NoticeKind::Silenced),
        }
    }
}

impl Alert {
    /// Applies a person's action; the error says why the alert's status forbids it.
    pub fn act(
        &mut self,
        action: &Action,
        by: &str,
        note: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        use AlertStatus::*;
        match (action, self.status) {
            (_, Resolved) => return Err("the alert is already resolved".into()),
            (Action::Acknowledge, Active | Suppressed) => {
                self.status = Acknowledged;
                self.acknowledged_at = Some(now);
                self.acknowledged_by = Some(by.to_owned());
                self.acknowledgment_note = note;
                self.suppressed_until = None;
            }
            (Action::Acknowledge, Acknowledged) => {
                return Err("the alert is already acknowledged".into());
            }
            (Action::Acknowledge | Action::Silence(_), Pending) => {
                return Err("the alert is pending: it has not fired yet".into());
            }
            (Action::Silence(until), _) => {
                if *until <= now {
                    return Err("until must be in the future".into());
                }
                self.status = Suppressed;
                self.suppressed_until = Some(*until);
                if note.is_some() {
                    self.acknowledgment_note = note;
                }
            }
            (Action::Resolve, _) => {
                self.status = Resolved;
                self.resolved_at = Some(now);
                self.resolved_by = Some(by.to_owned());
                self.resolution_note = note;
                self.suppressed_until = None;
            }
        }
        self.updated_at = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::{ChannelType, Comparison, Metric, RuleStatus};

    fn channel(kind: ChannelType) -> Channel {
        Channel {
            kind,
            url: Some("http://127.0.0.1:9/".into()),
            to: Vec::new(),
            channel: None,
            secret: None,
            secret_set: false,
        }
    }

    fn rule() -> Rule {
        Rule {
            id: Uuid::nil(),
            name: "failed logins".into(),
            description: None,
            severity: Severity::Warning,
            status: RuleStatus::Enabled,
            metric_name: Metric::EventCount,
            comparison_operator: Comparison::Gte,
            threshold: 10.0,
            duration_minutes: 0,
            evaluation_interval: 10,
            scope: Default::default(),
            filter: Default::default(),
            group_by: Some("ip_address".into()),
            window_minutes: 5,
            channels: vec![channel(ChannelType::Webhook)],
            auto_resolve: true,
            suppress_duration: 300,
            max_alerts_per_hour: 10,
            escalation_delay: Some(15),
            escalation_channels: vec![channel(ChannelType::Slack)],
            tags: Default::default(),
            created_by: String::new(),
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
            last_triggered: None,
        }
    }

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::seconds(1_800_000_000 + seconds)
    }

    const IP: Option<&str> = Some("203.0.113.9");

    fn opened(step: Step) -> (Alert, Vec<Notice>) {
        match step {
            Step::Open(alert, notices) | Step::Change(alert, notices) => (alert, notices),
            other => panic!("expected an alert, got {other:?}"),
        }
    }

    fn kinds(notices: &[Notice]) -> Vec<NoticeKind> {
        notices.iter().map(|n| n.kind).collect()
    }

    #[test]
    fn below_the_threshold_nothing_happens() {
        assert_eq!(step(&rule(), IP, Some(9.0), None, 0, t(0)), Step::Nothing);
        assert_eq!(step(&rule(), IP, None, None, 0, t(0)), Step::Nothing);
    }

    #[test]
    fn reaching_the_threshold_fires_once_and_notifies_the_channels() {
        let (alert, notices) = opened(step(&rule(), IP, Some(10.0), None, 0, t(0)));
        assert_eq!(alert.status, AlertStatus::Active);
        assert_eq!(alert.group.as_deref(), IP);
        assert_eq!(kinds(&notices), [NoticeKind::Triggered]);
        assert_eq!(notices[0].channels, rule().channels);
        assert!(alert.message.contains("203.0.113.9"), "{}", alert.message);
        // The next evaluation, still holding and before the repeat interval: no notice.
        let later = step(&rule(), IP, Some(14.0), Some(&alert), 1, t(10));
        let (changed, notices) = opened(later);
        assert_eq!(changed.current_value, 14.0);
        assert!(notices.is_empty());
        assert_eq!(
            step(&rule(), IP, Some(10.0), Some(&alert), 1, t(10)),
            Step::Nothing
        );
    }

    #[test]
    fn an_unacknowledged_alert_repeats_after_suppress_duration_and_escalates() {
        let (alert, _) = opened(step(&rule(), IP, Some(10.0), None, 0, t(0)));
        let (alert, notices) = opened(step(&rule(), IP, Some(10.0), Some(&alert), 1, t(300)));
        assert_eq!(kinds(&notices), [NoticeKind::Repeated]);
        assert_eq!(
            step(&rule(), IP, Some(10.0), Some(&alert), 1, t(599)),
            Step::Nothing
        );
        let (alert, notices) = opened(step(&rule(), IP, Some(10.0), Some(&alert), 1, t(900)));
        assert_eq!(
            kinds(&notices),
            [NoticeKind::Escalated, NoticeKind::Repeated]
        );
        assert_eq!(notices[0].channels, rule().escalation_channels);
        let (_, notices) = opened(step(&rule(), IP, Some(10.0), Some(&alert), 1, t(1200)));
        assert_eq!(kinds(&notices), [NoticeKind::Repeated], "escalates once");
    }

    #[test]
    fn acknowledging_stops_repeats_and_escalation() {
        let (mut alert, _) = opened(step(&rule(), IP, Some(10.0), None, 0, t(0)));
        alert
            .act(&Action::Acknowledge, "ops", Some("looking".into()), t(5))
            .unwrap();
        for later in [300, 900, 3600] {
            match step(&rule(), IP, Some(12.0), Some(&alert), 1, t(later)) {
                Step::Change(a, notices) => {
                    assert!(notices.is_empty());
                    assert_eq!(a.status, AlertStatus::Acknowledged);
                }
                Step::Nothing => {}
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn auto_resolve_when_the_condition_clears() {
        let (alert, _) = opened(step(&rule(), IP, Some(10.0), None, 0, t(0)));
        let (resolved, notices) = opened(step(&rule(), IP, Some(3.0), Some(&alert), 1, t(60)));
        assert_eq!(resolved.status, AlertStatus::Resolved);
        assert_eq!(resolved.resolved_at, Some(t(60)));
        assert_eq!(kinds(&notices), [NoticeKind::Resolved]);
        let manual = Rule {
            auto_resolve: false,
            ..rule()
        };
        let (kept, _) = opened(step(&manual, IP, Some(3.0), Some(&alert), 1, t(60)));
        assert_eq!(kept.status, AlertStatus::Active);
    }

    #[test]
    fn duration_keeps_an_alert_pending_until_the_condition_held_long_enough() {
        let held = Rule {
            duration_minutes: 2,
            ..rule()
        };
        let (pending, notices) = opened(step(&held, IP, Some(11.0), None, 0, t(0)));
        assert_eq!(pending.status, AlertStatus::Pending);
        assert!(notices.is_empty());
        let (still, notices) = opened(step(&held, IP, Some(12.0), Some(&pending), 0, t(119)));
        assert_eq!(still.status, AlertStatus::Pending);
        assert!(notices.is_empty());
        let (fired, notices) = opened(step(&held, IP, Some(12.0), Some(&still), 0, t(120)));
        assert_eq!(fired.status, AlertStatus::Active);
        assert_eq!(fired.triggered_at, t(120));
        assert_eq!(kinds(&notices), [NoticeKind::Triggered]);
        assert!(matches!(
            step(&held, IP, Some(1.0), Some(&pending), 0, t(60)),
            Step::Discard(_)
        ));
    }

    #[test]
    fn at_most_max_alerts_per_hour() {
        let r = rule();
        assert_eq!(step(&r, IP, Some(10.0), None, 10, t(0)), Step::Throttled);
        assert!(matches!(
            step(&r, IP, Some(10.0), None, 9, t(0)),
            Step::Open(..)
        ));
    }

    #[test]
    fn a_silence_holds_notices_back_until_it_ends() {
        let (mut alert, _) = opened(step(&rule(), IP, Some(10.0), None, 0, t(0)));
        alert
            .act(&Action::Silence(t(800)), "ops", None, t(5))
            .unwrap();
        match step(&rule(), IP, Some(10.0), Some(&alert), 1, t(799)) {
            Step::Nothing => {}
            Step::Change(a, notices) => {
                assert!(notices.is_empty());
                assert_eq!(a.status, AlertStatus::Suppressed);
            }
            other => panic!("{other:?}"),
        }
        let (after, notices) = opened(step(&rule(), IP, Some(10.0), Some(&alert), 1, t(800)));
        assert_eq!(after.status, AlertStatus::Active);
        assert_eq!(kinds(&notices), [NoticeKind::Repeated]);
        // Cleared while silenced: resolved without a word.
        let (quiet, notices) = opened(step(&rule(), IP, Some(1.0), Some(&alert), 1, t(500)));
        assert_eq!(quiet.status, AlertStatus::Resolved);
        assert!(notices.is_empty());
    }

    #[test]
    fn actions_respect_the_status() {
        let (mut alert, _) = opened(step(&rule(), IP, Some(10.0), None, 0, t(0)));
        alert.act(&Action::Acknowledge, "ops", None, t(1)).unwrap();
        assert!(alert.act(&Action::Acknowledge, "ops", None, t(2)).is_err());
        assert!(
            alert
                .act(&Action::Silence(t(0)), "ops", None, t(2))
                .is_err()
        );
        alert
            .act(&Action::Resolve, "ops", Some("fixed".into()), t(3))
            .unwrap();
        assert_eq!(alert.resolved_by.as_deref(), Some("ops"));
        assert!(alert.act(&Action::Resolve, "ops", None, t(4)).is_err());
    }

    #[test]
    fn statuses_read_back_as_written() {
        for status in [
            AlertStatus::Pending,
            AlertStatus::Active,
            AlertStatus::Acknowledged,
            AlertStatus::Resolved,
            AlertStatus::Suppressed,
        ] {
            assert_eq!(status.to_string().parse::<AlertStatus>(), Ok(status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert!("open".parse::<AlertStatus>().is_err());
    }

    #[test]
    fn a_resolved_alert_never_moves_again() {
        let (mut alert, _) = opened(step(&rule(), IP, Some(10.0), None, 0, t(0)));
        alert.act(&Action::Resolve, "ops", None, t(1)).unwrap();
        assert_eq!(
            step(&rule(), IP, Some(50.0), Some(&alert), 1, t(600)),
            Step::Nothing
        );
    }

    #[test]
    fn notifications_are_counted_per_channel() {
        let (alert, _) = opened(step(&rule(), IP, Some(10.0), None, 0, t(0)));
        assert_eq!(alert.notifications_sent, 1);
        let (alert, _) = opened(step(&rule(), IP, Some(10.0), Some(&alert), 1, t(300)));
        assert_eq!(alert.notifications_sent, 2);
        let (alert, _) = opened(step(&rule(), IP, Some(10.0), Some(&alert), 1, t(900)));
        assert_eq!(alert.notifications_sent, 4, "escalation and repeat");
    }

    #[test]
    fn a_suppress_duration_of_zero_never_repeats() {
        let quiet = Rule {
            suppress_duration: 0,
            escalation_delay: None,
            escalation_channels: Vec::new(),
            ..rule()
        };
        let (alert, _) = opened(step(&quiet, IP, Some(10.0), None, 0, t(0)));
        assert_eq!(
            step(&quiet, IP, Some(10.0), Some(&alert), 1, t(3600)),
            Step::Nothing
        );
    }

    #[test]
    fn the_message_says_rule_metric_value_threshold_and_group() {
        let m = message(&rule(), IP, 12.345);
        assert_eq!(
            m,
            "failed logins: event_count 12.35 ≥ 10 (ip_address 203.0.113.9)"
        );
        let percent = Rule {
            metric_name: Metric::ErrorRate,
            group_by: None,
            threshold: 5.0,
            comparison_operator: Comparison::Gt,
            ..rule()
        };
        assert_eq!(
            message(&percent, None, 7.5),
            "failed logins: error_rate 7.5% > 5%"
        );
    }

    #[test]
    fn a_persons_action_reaches_its_listeners() {
        let mut r = rule();
        r.escalation_channels.push(channel(ChannelType::Sse));
        let kinds_to = |action: Action| {
            action
                .notices(&r)
                .iter()
                .map(|n| {
                    (
                        n.kind,
                        n.channels.iter().map(|c| c.kind).collect::<Vec<_>>(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            kinds_to(Action::Resolve),
            [(NoticeKind::Resolved, vec![ChannelType::Webhook])]
        );
        assert_eq!(
            kinds_to(Action::Acknowledge),
            [(NoticeKind::Acknowledged, vec![ChannelType::Sse])]
        );
        assert_eq!(
            kinds_to(Action::Silence(t(10))),
            [(NoticeKind::Silenced, vec![ChannelType::Sse])]
        );
        assert!(
            Action::Acknowledge.notices(&rule()).is_empty(),
            "no stream, no notice"
        );
    }
}
