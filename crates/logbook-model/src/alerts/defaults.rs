//! The rules every tenant starts with, disabled until it enables them: seed 000's failed
//! logins per address and seed 004's alerting thresholds.

use std::collections::BTreeMap;

use serde_json::json;

use super::Rule;

/// The default rules, each checked as any rule is, with new ids.
pub fn rules() -> Vec<Rule> {
    let now = chrono::Utc::now();
    [
        json!({
            "name": "Failed logins from one address",
            "description": "10 or more failed logins from one IP address in 5 minutes",
            "severity": "error", "metric_name": "event_count",
            "comparison_operator": "gte", "threshold": 10, "window_minutes": 5,
            "filter": {"event_type": "AUTH_FAILURE"}, "group_by": "ip_address",
        }),
        json!({
            "name": "Error rate above 5%",
            "description": "more than 5% of an endpoint's requests failed (5xx) in the last hour",
            "severity": "error", "metric_name": "error_rate",
            "comparison_operator": "gt", "threshold": 5, "window_minutes": 60,
        }),
        json!({
            "name": "Slow provider",
            "description": "a provider's actions took more than 2000 ms on average in the last hour",
            "metric_name": "action_avg_latency",
            "comparison_operator": "gt", "threshold": 2000, "window_minutes": 60,
        }),
        json!({
            "name": "Failed actions spike",
            "description": "more than 10 failed actions in 5 minutes",
            "metric_name": "event_count",
            "comparison_operator": "gt", "threshold": 10, "window_minutes": 5,
            "filter": {"event_type": "ACTION", "success": "false"},
        }),
        json!({
            "name": "Unusual audit activity",
            "description": "more than 50 audit changes in one minute",
            "metric_name": "audit_changes",
            "comparison_operator": "gt", "threshold": 50, "window_minutes": 1,
        }),
    ]
    .into_iter()
    .map(|mut spec| {
        spec["status"] = json!("disabled");
        spec["tags"] = json!(BTreeMap::from([("source", "default")]));
        let mut rule: Rule = serde_json::from_value(spec).expect("a default rule parses");
        rule.id = uuid::Uuid::now_v7();
        rule.created_by = "logbook".into();
        (rule.created_at, rule.updated_at) = (now, now);
        rule
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::RuleStatus;

    #[test]
    fn every_default_is_a_valid_disabled_rule() {
        let rules = rules();
        assert_eq!(rules.len(), 5);
        for rule in rules {
            rule.check().unwrap();
            assert_eq!(rule.status, RuleStatus::Disabled, "{}", rule.name);
        }
    }
}
