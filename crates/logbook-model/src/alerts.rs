//! Alerting (seed 001 tb_alert_rule and tb_alert): rules a tenant writes, the alerts they
//! raise, and the pure step that moves an alert through its lifecycle from one
//! evaluation to the next. Evaluating a metric and sending notifications are I/O and
//! live in the server; what this module decides is testable without either.

pub mod defaults;
pub mod lifecycle;
pub mod rule;

pub use lifecycle::{Action, Alert, AlertStatus, Notice, NoticeKind, Step, step};
pub use rule::{Channel, ChannelType, Comparison, Metric, PAGERDUTY_EVENTS_URL, Rule, RuleStatus};
