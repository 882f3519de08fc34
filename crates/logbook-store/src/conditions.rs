//! What a filter asks of events, said once for both backends: which column, which test,
//! which value. [`crate::dialect`] turns a condition into each backend's SQL with a bound
//! parameter, so adding a filter is one line here and nothing to keep in step elsewhere.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use logbook_model::{EventFilter, FailedAuthQuery, filter::IpFilter};

pub enum Param {
    Text(String),
    TextList(Vec<String>),
    SmallInt(i16),
    Int(i64),
    Bool(bool),
    Time(DateTime<Utc>),
    Ip(IpAddr),
    Uuid(uuid::Uuid),
    /// Text that may be absent (NULL).
    MaybeText(Option<String>),
    /// A time that may be absent (NULL).
    MaybeTime(Option<DateTime<Utc>>),
}

pub enum Test {
    Equals,
    NotEquals,
    /// The column equals one of a list.
    OneOf,
    AtLeast,
    Before,
    /// The address column lies in the CIDR block given as text.
    InNetwork,
    /// Case-sensitive prefix; `%` and `_` are plain characters.
    StartsWith,
    /// Case-insensitive substring; `%` and `_` are plain characters.
    Contains,
}

pub struct Condition {
    pub column: &'static str,
    pub test: Test,
    pub param: Param,
}

fn condition(column: &'static str, test: Test, param: Param) -> Condition {
    Condition {
        column,
        test,
        param,
    }
}

fn equals_text(out: &mut Vec<Condition>, column: &'static str, value: &Option<String>) {
    if let Some(value) = value {
        out.push(condition(column, Test::Equals, Param::Text(value.clone())));
    }
}

/// The conditions of a `/logs` filter, beyond the tenant's.
pub fn for_filter(f: &EventFilter) -> Vec<Condition> {
    let mut out = Vec::new();
    if let Some(t) = &f.event_type {
        out.push(condition(
            "event_type",
            Test::Equals,
            Param::Text(t.as_str().to_owned()),
        ));
    }
    equals_text(&mut out, "event_subtype", &f.event_subtype);
    equals_text(&mut out, "user_id", &f.user_id);
    match f.ip {
        Some(IpFilter::Addr(ip)) => out.push(condition("ip_address", Test::Equals, Param::Ip(ip))),
        Some(IpFilter::Net(net)) => out.push(condition(
            "ip_address",
            Test::InNetwork,
            Param::Text(net.to_string()),
        )),
        None => {}
    }
    equals_text(&mut out, "fingerprint", &f.fingerprint);
    equals_text(&mut out, "session_id", &f.session_id);
    equals_text(&mut out, "request_id", &f.request_id);
    equals_text(&mut out, "service", &f.service);
    equals_text(&mut out, "provider", &f.provider);
    if !f.statuses.is_empty() {
        out.push(condition(
            "status",
            Test::OneOf,
            Param::TextList(f.statuses.clone()),
        ));
    }
    if let Some(success) = f.success {
        out.push(condition("success", Test::Equals, Param::Bool(success)));
    }
    if let Some(severity) = f.severity {
        out.push(condition(
            "severity",
            Test::Equals,
            Param::Text(severity.as_str().to_owned()),
        ));
    }
    if let Some(code) = f.status_code {
        out.push(condition(
            "response_status_code",
            Test::Equals,
            Param::SmallInt(code),
        ));
    }
    if let Some(prefix) = &f.path_prefix {
        out.push(condition(
            "request_path",
            Test::StartsWith,
            Param::Text(prefix.clone()),
        ));
    }
    if let Some(q) = &f.message_contains {
        out.push(condition("message", Test::Contains, Param::Text(q.clone())));
    }
    if let Some(from) = f.from {
        out.push(condition("created_at", Test::AtLeast, Param::Time(from)));
    }
    if let Some(to) = f.to {
        out.push(condition("created_at", Test::Before, Param::Time(to)));
    }
    out
}

/// The event types whose unsuccessful events count as failed logins (seed 000).
pub const FAILED_AUTH: &str = "event_type IN ('AUTH_LOGIN', 'AUTH_FAILURE')";

/// The conditions of a failed-auth count beyond [`FAILED_AUTH`] and `success = false`.
pub fn for_failed_auth(q: &FailedAuthQuery) -> Vec<Condition> {
    let mut out = vec![condition("created_at", Test::AtLeast, Param::Time(q.since))];
    if let Some(ip) = q.ip {
        out.push(condition(
            "ip_address",
            Test::Equals,
            Param::Ip(ip.to_canonical()),
        ));
    }
    equals_text(&mut out, "user_id", &q.user_id);
    equals_text(&mut out, "fingerprint", &q.fingerprint);
    out
}

/// The conditions of an audit search, beyond the tenant's.
pub fn for_audit(q: &logbook_model::audit::AuditQuery) -> Vec<Condition> {
    let mut out = Vec::new();
    equals_text(&mut out, "actor_id", &q.actor_id);
    if !q.actions.is_empty() {
        out.push(condition(
            "action",
            Test::OneOf,
            Param::TextList(q.actions.clone()),
        ));
    }
    if q.hide_reads {
        out.push(condition(
            "action",
            Test::NotEquals,
            Param::Text("audit_trail_read".into()),
        ));
    }
    equals_text(&mut out, "resource_type", &q.resource_type);
    equals_text(&mut out, "resource_id", &q.resource_id);
    if let Some(from) = q.from {
        out.push(condition("occurred_at", Test::AtLeast, Param::Time(from)));
    }
    if let Some(to) = q.to {
        out.push(condition("occurred_at", Test::Before, Param::Time(to)));
    }
    out
}

#[cfg(test)]
mod tests {
    use logbook_model::event_type::FAILED_AUTH_TYPES;

    use super::FAILED_AUTH;

    /// The SQL spells the list out (the partial index's predicate must match it word for
    /// word); it must be the model's list, which the rollups count by.
    #[test]
    fn the_failed_auth_condition_names_exactly_the_failed_auth_types() {
        let listed: Vec<String> = FAILED_AUTH_TYPES.iter().map(|t| format!("'{t}'")).collect();
        assert_eq!(
            FAILED_AUTH,
            format!("event_type IN ({})", listed.join(", "))
        );
    }
}
