//! Alert rules, alerts and the notification outbox: what the store keeps of them, and the
//! statements both backends run, written once against [`Dialect`]. Rules and alerts are
//! kept whole as JSON (`body`), beside the columns their lookups use.

use chrono::{DateTime, Utc};
use logbook_model::{
    TenantId,
    alerts::{Alert, AlertStatus, Channel, NoticeKind, Rule},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    StoreError,
    conditions::Param,
    dialect::{Dialect, Where},
};

/// One notification to deliver: which alert, why, where, and the alert as it was when
/// the notification was queued.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub id: Uuid,
    pub kind: NoticeKind,
    pub channel: Channel,
    pub alert: Alert,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// A notification waiting for delivery, and how often it was tried.
#[derive(Clone, Debug)]
pub struct Pending {
    pub tenant: TenantId,
    pub attempts: u32,
    pub notification: Notification,
}

/// What became of one delivery attempt.
#[derive(Clone, Debug, PartialEq)]
pub enum Delivery {
    Sent,
    /// Failed; try again at the time.
    Retry(DateTime<Utc>, String),
    /// Failed for good.
    Failed(String),
}

/// A change to one alert, made only if the alert is still as it was read (its
/// `version`), with the notifications it causes.
#[derive(Clone, Debug)]
pub enum AlertWrite {
    Insert(Alert, Vec<Notification>),
    Update(Alert, Vec<Notification>),
    /// A pending alert forgotten.
    Delete(Alert),
}

/// Seed 001 5.5's statistics of one rule's alerts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleStats {
    pub rule_id: Uuid,
    pub total_alerts: i64,
    pub active_alerts: i64,
    pub resolved_alerts: i64,
    pub last_triggered: Option<DateTime<Utc>>,
    pub avg_resolution_time_minutes: Option<f64>,
}

/// Seconds as minutes, to two places (seed 001 rounds so).
pub fn minutes(seconds: f64) -> f64 {
    (seconds / 60.0 * 100.0).round() / 100.0
}

pub fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("alert values serialize")
}

pub fn from_json<T: for<'de> Deserialize<'de>>(body: &str) -> Result<T, StoreError> {
    serde_json::from_str(body)
        .map_err(|e| StoreError::Invalid(format!("a stored alert value: {e}")))
}

fn group_key(alert: &Alert) -> String {
    alert.group.clone().unwrap_or_default()
}

pub fn insert_rule<D: Dialect>(
    tenant: TenantId,
    rule: &Rule,
    now: DateTime<Utc>,
) -> (String, Where<D>) {
    let mut v = Where::<D>::values();
    let marks = [
        v.bind(Param::Uuid(tenant.0)),
        v.bind(Param::Uuid(rule.id)),
        v.bind(Param::Text(rule.name.clone())),
        v.bind(Param::Text(rule.status.as_str().into())),
        v.bind(Param::Time(now)),
        v.bind(Param::Text(to_json(rule))),
    ]
    .join(", ");
    let sql = format!(
        "INSERT INTO alert_rules (tenant_id, id, name, status, next_evaluation, body) \
         VALUES ({marks}) ON CONFLICT DO NOTHING"
    );
    (sql, v)
}

/// How many other rows of the tenant in `table` (alert rules, monitors: a name unique per
/// tenant) have the name.
pub fn name_taken<D: Dialect>(
    table: &'static str,
    tenant: TenantId,
    name: &str,
    id: Uuid,
) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    let name = w.bind(Param::Text(name.into()));
    let id = w.bind(Param::Uuid(id));
    let sql = format!(
        "SELECT COUNT(*) FROM {table} WHERE {} AND name = {name} AND id <> {id}",
        w.sql
    );
    (sql, w)
}

/// Replaces a rule; it is evaluated afresh at once.
pub fn update_rule<D: Dialect>(
    tenant: TenantId,
    rule: &Rule,
    now: DateTime<Utc>,
) -> (String, Where<D>) {
    let mut v = Where::<D>::values();
    let name = v.bind(Param::Text(rule.name.clone()));
    let status = v.bind(Param::Text(rule.status.as_str().into()));
    let next = v.bind(Param::Time(now));
    let body = v.bind(Param::Text(to_json(rule)));
    let tenant = v.bind(Param::Uuid(tenant.0));
    let id = v.bind(Param::Uuid(rule.id));
    let sql = format!(
        "UPDATE alert_rules SET name = {name}, status = {status}, next_evaluation = {next}, \
         body = {body} WHERE tenant_id = {tenant} AND id = {id}"
    );
    (sql, v)
}

pub fn list_rules<D: Dialect>(tenant: TenantId) -> (String, Where<D>) {
    let w = Where::<D>::new(tenant);
    let sql = format!("SELECT body FROM alert_rules WHERE {} ORDER BY name", w.sql);
    (sql, w)
}

pub fn get_rule<D: Dialect>(tenant: TenantId, id: Uuid) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    let id = w.bind(Param::Uuid(id));
    let sql = format!("SELECT body FROM alert_rules WHERE {} AND id = {id}", w.sql);
    (sql, w)
}

/// The statements that delete a rule with its alerts and their notifications, in order.
pub fn delete_rule<D: Dialect>(tenant: TenantId, id: Uuid) -> [(String, Where<D>); 3] {
    let of_rule = |table: &str, column: &str| {
        let mut w = Where::<D>::new(tenant);
        let id = w.bind(Param::Uuid(id));
        (
            format!("DELETE FROM {table} WHERE {} AND {column} = {id}", w.sql),
            w,
        )
    };
    let notifications = {
        let mut w = Where::<D>::new(tenant);
        let inner_tenant = w.bind(Param::Uuid(tenant.0));
        let id = w.bind(Param::Uuid(id));
        let sql = format!(
            "DELETE FROM alert_notifications WHERE {} AND alert_id IN \
             (SELECT id FROM alerts WHERE tenant_id = {inner_tenant} AND rule_id = {id})",
            w.sql
        );
        (sql, w)
    };
    [
        notifications,
        of_rule("alerts", "rule_id"),
        of_rule("alert_rules", "id"),
    ]
}

/// Marks the tenant as given the default rules; affects a row only the first time.
pub fn claim_defaults<D: Dialect>(tenant: TenantId) -> (String, Where<D>) {
    let mut v = Where::<D>::values();
    let tenant = v.bind(Param::Uuid(tenant.0));
    let sql = format!(
        "INSERT INTO alert_rule_defaults (tenant_id) VALUES ({tenant}) ON CONFLICT DO NOTHING"
    );
    (sql, v)
}

/// Rules of every tenant due for evaluation at `now`, the longest due first.
pub fn due_rules<D: Dialect>(now: DateTime<Utc>, limit: u32) -> (String, Where<D>) {
    let mut v = Where::<D>::values();
    let now = v.bind(Param::Time(now));
    let limit = v.bind(Param::Int(limit.into()));
    let sql = format!(
        "SELECT tenant_id, body FROM alert_rules WHERE status <> 'disabled' \
         AND next_evaluation <= {now} ORDER BY next_evaluation LIMIT {limit}"
    );
    (sql, v)
}

pub fn rule_evaluated<D: Dialect>(
    tenant: TenantId,
    id: Uuid,
    next: DateTime<Utc>,
) -> (String, Where<D>) {
    let mut v = Where::<D>::values();
    let next = v.bind(Param::Time(next));
    let tenant = v.bind(Param::Uuid(tenant.0));
    let id = v.bind(Param::Uuid(id));
    let sql = format!(
        "UPDATE alert_rules SET next_evaluation = {next} WHERE tenant_id = {tenant} AND id = {id}"
    );
    (sql, v)
}

pub fn open_alerts<D: Dialect>(tenant: TenantId, rule: Uuid) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    let rule = w.bind(Param::Uuid(rule));
    let sql = format!(
        "SELECT body FROM alerts WHERE {} AND rule_id = {rule} AND status <> 'resolved'",
        w.sql
    );
    (sql, w)
}

/// Alerts of the rule that fired at or after `since`.
pub fn raised_since<D: Dialect>(
    tenant: TenantId,
    rule: Uuid,
    since: DateTime<Utc>,
) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    let rule = w.bind(Param::Uuid(rule));
    let since = w.bind(Param::Time(since));
    let sql = format!(
        "SELECT COUNT(*) FROM alerts WHERE {} AND rule_id = {rule} AND status <> 'pending' \
         AND triggered_at >= {since}",
        w.sql
    );
    (sql, w)
}

pub fn insert_alert<D: Dialect>(tenant: TenantId, alert: &Alert) -> (String, Where<D>) {
    let mut v = Where::<D>::values();
    let marks = [
        v.bind(Param::Uuid(tenant.0)),
        v.bind(Param::Uuid(alert.id)),
        v.bind(Param::Uuid(alert.rule_id)),
        v.bind(Param::Text(group_key(alert))),
        v.bind(Param::Text(alert.status.as_str().into())),
        v.bind(Param::Time(alert.triggered_at)),
        v.bind(Param::MaybeTime(alert.resolved_at)),
        v.bind(Param::Int(alert.version)),
        v.bind(Param::Text(to_json(alert))),
    ]
    .join(", ");
    let sql = format!(
        "INSERT INTO alerts (tenant_id, id, rule_id, group_key, status, triggered_at, \
         resolved_at, version, body) VALUES ({marks}) ON CONFLICT DO NOTHING"
    );
    (sql, v)
}

/// Stores `alert` only if the stored one is still at `alert.version` (as it was read);
/// the stored version is one more.
pub fn update_alert<D: Dialect>(tenant: TenantId, alert: &Alert) -> (String, Where<D>) {
    let read_version = alert.version;
    let alert = &Alert {
        version: read_version + 1,
        ..alert.clone()
    };
    let mut v = Where::<D>::values();
    let status = v.bind(Param::Text(alert.status.as_str().into()));
    let triggered = v.bind(Param::Time(alert.triggered_at));
    let resolved = v.bind(Param::MaybeTime(alert.resolved_at));
    let version = v.bind(Param::Int(alert.version));
    let body = v.bind(Param::Text(to_json(alert)));
    let tenant = v.bind(Param::Uuid(tenant.0));
    let id = v.bind(Param::Uuid(alert.id));
    let read = v.bind(Param::Int(read_version));
    let sql = format!(
        "UPDATE alerts SET status = {status}, triggered_at = {triggered}, resolved_at = {resolved}, \
         version = {version}, body = {body} \
         WHERE tenant_id = {tenant} AND id = {id} AND version = {read}"
    );
    (sql, v)
}

pub fn delete_alert<D: Dialect>(tenant: TenantId, alert: &Alert) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    let id = w.bind(Param::Uuid(alert.id));
    let version = w.bind(Param::Int(alert.version));
    let sql = format!(
        "DELETE FROM alerts WHERE {} AND id = {id} AND version = {version}",
        w.sql
    );
    (sql, w)
}

/// The newest alerts, of one status or any.
pub fn list_alerts<D: Dialect>(
    tenant: TenantId,
    status: Option<AlertStatus>,
    limit: u32,
) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    if let Some(status) = status {
        let status = w.bind(Param::Text(status.as_str().into()));
        w.and_sql(&format!("status = {status}"));
    }
    let limit = w.bind(Param::Int(limit.into()));
    let sql = format!(
        "SELECT body FROM alerts WHERE {} ORDER BY triggered_at DESC, id DESC LIMIT {limit}",
        w.sql
    );
    (sql, w)
}

pub fn get_alert<D: Dialect>(tenant: TenantId, id: Uuid) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    let id = w.bind(Param::Uuid(id));
    let sql = format!("SELECT body FROM alerts WHERE {} AND id = {id}", w.sql);
    (sql, w)
}

/// Per rule, alerts that fired since `since`: total, active, resolved, the last to fire
/// and the mean seconds to resolve (seed 001 5.5).
pub fn stats<D: Dialect>(tenant: TenantId, since: DateTime<Utc>) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    let since = w.bind(Param::Time(since));
    let seconds = D::seconds_between("resolved_at", "triggered_at");
    let sql = format!(
        "SELECT rule_id, COUNT(*), SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN status = 'resolved' THEN 1 ELSE 0 END), MAX(triggered_at), \
         AVG({seconds}) \
         FROM alerts WHERE {} AND status <> 'pending' AND triggered_at >= {since} GROUP BY rule_id",
        w.sql
    );
    (sql, w)
}

/// Queues a notification; one for the alert stream counts as sent when queued.
pub fn insert_notification<D: Dialect>(tenant: TenantId, n: &Notification) -> (String, Where<D>) {
    let mut v = Where::<D>::values();
    let streamed = n.channel.kind == logbook_model::alerts::ChannelType::Sse;
    let marks = [
        v.bind(Param::Uuid(tenant.0)),
        v.bind(Param::Uuid(n.id)),
        v.bind(Param::Uuid(n.alert.id)),
        v.bind(Param::Text(n.channel.kind.as_str().into())),
        v.bind(Param::Time(n.created_at)),
        v.bind(Param::MaybeTime(streamed.then_some(n.created_at))),
        v.bind(Param::Text(to_json(n))),
    ]
    .join(", ");
    let sql = format!(
        "INSERT INTO alert_notifications (tenant_id, id, alert_id, channel_type, next_attempt, \
         sent_at, body) VALUES ({marks})"
    );
    (sql, v)
}

/// Notifications of every tenant due for an attempt at `now`, the longest due first.
pub fn due_notifications<D: Dialect>(now: DateTime<Utc>, limit: u32) -> (String, Where<D>) {
    let mut v = Where::<D>::values();
    let now = v.bind(Param::Time(now));
    let limit = v.bind(Param::Int(limit.into()));
    let sql = format!(
        "SELECT tenant_id, attempts, body FROM alert_notifications \
         WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt <= {now} \
         ORDER BY next_attempt LIMIT {limit}"
    );
    (sql, v)
}

pub fn delivered<D: Dialect>(
    tenant: TenantId,
    n: &Notification,
    outcome: &Delivery,
    now: DateTime<Utc>,
) -> (String, Where<D>) {
    let mut v = Where::<D>::values();
    let set = match outcome {
        Delivery::Sent => format!("sent_at = {}", v.bind(Param::Time(now))),
        Delivery::Retry(at, error) => {
            let at = v.bind(Param::Time(*at));
            let body = v.bind(Param::Text(to_json(&with_error(n, error))));
            format!("next_attempt = {at}, body = {body}")
        }
        Delivery::Failed(error) => {
            let at = v.bind(Param::Time(now));
            let body = v.bind(Param::Text(to_json(&with_error(n, error))));
            format!("failed_at = {at}, body = {body}")
        }
    };
    let tenant = v.bind(Param::Uuid(tenant.0));
    let id = v.bind(Param::Uuid(n.id));
    let sql = format!(
        "UPDATE alert_notifications SET attempts = attempts + 1, {set} \
         WHERE tenant_id = {tenant} AND id = {id}"
    );
    (sql, v)
}

fn with_error(n: &Notification, error: &str) -> Notification {
    Notification {
        last_error: Some(error.chars().take(1000).collect()),
        ..n.clone()
    }
}

/// The tenant's alert stream after `after` (a notification id; from the start if none).
pub fn stream<D: Dialect>(tenant: TenantId, after: Option<Uuid>, limit: u32) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    w.and_sql("channel_type = 'sse'");
    if let Some(after) = after {
        let after = w.bind(Param::Uuid(after));
        w.and_sql(&format!("id > {after}"));
    }
    let limit = w.bind(Param::Int(limit.into()));
    let sql = format!(
        "SELECT body FROM alert_notifications WHERE {} ORDER BY id LIMIT {limit}",
        w.sql
    );
    (sql, w)
}

/// Event fields a count may be grouped by, as text in each backend.
fn group_column<D: Dialect>(field: &str) -> Option<&'static str> {
    logbook_model::alerts::rule::GROUP_FIELDS
        .iter()
        .find(|f| **f == field)
        .map(|f| if *f == "ip_address" { D::IP_TEXT } else { f })
}

/// Events matching `filter`, per value of `group_by` (largest first) or in all.
pub fn count_events<D: Dialect>(
    tenant: TenantId,
    filter: &logbook_model::EventFilter,
    group_by: Option<&str>,
    limit: u32,
) -> Result<(String, Where<D>), StoreError> {
    let mut w = Where::<D>::new(tenant);
    w.conditions(crate::conditions::for_filter(filter));
    let sql = match group_by {
        None => format!("SELECT COUNT(*) FROM events WHERE {}", w.sql),
        Some(field) => {
            let column = group_column::<D>(field).ok_or_else(|| {
                StoreError::Invalid(format!("events cannot be grouped by {field:?}"))
            })?;
            let limit = w.bind(Param::Int(limit.into()));
            format!(
                "SELECT {column}, COUNT(*) FROM events WHERE {} AND {column} IS NOT NULL \
                 GROUP BY {column} ORDER BY 2 DESC LIMIT {limit}",
                w.sql
            )
        }
    };
    Ok((sql, w))
}

pub fn count_audit<D: Dialect>(tenant: TenantId, since: DateTime<Utc>) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    let since = w.bind(Param::Time(since));
    let sql = format!(
        "SELECT COUNT(*) FROM audit_events WHERE {} AND received_at >= {since}",
        w.sql
    );
    (sql, w)
}

/// Events matching `filter` per UTC hour, oldest first.
pub fn hourly_counts<D: Dialect>(
    tenant: TenantId,
    filter: &logbook_model::EventFilter,
) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    w.conditions(crate::conditions::for_filter(filter));
    let hour = D::hour_of("created_at");
    let sql = format!(
        "SELECT {hour}, COUNT(*) FROM events WHERE {} GROUP BY {hour} ORDER BY 1",
        w.sql
    );
    (sql, w)
}
