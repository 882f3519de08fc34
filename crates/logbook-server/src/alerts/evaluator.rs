//! One round of evaluation: every rule due is measured, and each group's alert stepped.
//! A rule whose measure fails (a store error, a filter that no longer parses) is tried
//! again on its next interval; the others go on.

use std::{collections::BTreeMap, sync::Arc};

use chrono::{DateTime, Duration, Utc};
use logbook_model::{
    TenantId,
    alerts::{Alert, Notice, Rule, RuleStatus, Step, step},
};
use logbook_store::{
    Store,
    alerts::{AlertWrite, Notification},
};
use uuid::Uuid;

use super::metrics;
use crate::ApiError;

/// Rules evaluated per round at most; the rest are due on the next.
const RULES_PER_ROUND: u32 = 500;

pub struct Evaluator {
    pub store: Arc<dyn Store>,
}

/// What a round did, for logs and tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub rules: usize,
    pub changes: usize,
    pub notifications: usize,
    pub failed: usize,
}

impl Evaluator {
    /// Evaluates every rule due at `now`.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<Round, logbook_store::StoreError> {
        let mut round = Round::default();
        for (tenant, rule) in self.store.due_alert_rules(now, RULES_PER_ROUND).await? {
            round.rules += 1;
            match self.evaluate(tenant, &rule, now).await {
                Ok((changes, notifications)) => {
                    round.changes += changes;
                    round.notifications += notifications;
                }
                Err(error) => {
                    round.failed += 1;
                    tracing::warn!(rule = %rule.id, %error, "evaluating an alert rule failed");
                    let next = now + rule.interval();
                    self.store
                        .write_alerts(tenant, &[], Some((rule.id, next)))
                        .await?;
                }
            }
        }
        Ok(round)
    }

    async fn evaluate(
        &self,
        tenant: TenantId,
        rule: &Rule,
        now: DateTime<Utc>,
    ) -> Result<(usize, usize), ApiError> {
        let store = self.store.as_ref();
        let values: BTreeMap<Option<String>, f64> = metrics::measure(store, tenant, rule, now)
            .await?
            .into_iter()
            .collect();
        let open: BTreeMap<Option<String>, Alert> = store
            .open_alerts(tenant, rule.id)
            .await?
            .into_iter()
            .map(|a| (a.group.clone(), a))
            .collect();
        let mut raised = store
            .alerts_raised_since(tenant, rule.id, now - Duration::hours(1))
            .await?;
        // An ungrouped rule always has its one group, measured or not (no data is a
        // value that holds for no comparison, so an open alert resolves).
        let mut groups: Vec<&Option<String>> = values.keys().chain(open.keys()).collect();
        if rule.group_by.is_none() && groups.is_empty() {
            groups.push(&None);
        }
        groups.sort();
        groups.dedup();
        let mut writes = Vec::new();
        for group in groups {
            let value = values.get(group).copied();
            let stepped = step(rule, group.as_deref(), value, open.get(group), raised, now);
            if let Step::Open(alert, _) | Step::Change(alert, _) = &stepped
                && alert.status == logbook_model::alerts::AlertStatus::Active
                && open
                    .get(group)
                    .is_none_or(|o| o.status == logbook_model::alerts::AlertStatus::Pending)
            {
                raised += 1;
            }
            match stepped {
                Step::Nothing => {}
                Step::Throttled => {
                    tracing::info!(rule = %rule.id, "alert rule reached max_alerts_per_hour");
                }
                Step::Open(alert, notices) => {
                    let queued = notifications(rule, &alert, &notices, now);
                    writes.push(AlertWrite::Insert(alert, queued));
                }
                Step::Change(alert, notices) => {
                    let queued = notifications(rule, &alert, &notices, now);
                    writes.push(AlertWrite::Update(alert, queued));
                }
                Step::Discard(alert) => writes.push(AlertWrite::Delete(alert)),
            }
        }
        let applied = store
            .write_alerts(tenant, &writes, Some((rule.id, now + rule.interval())))
            .await?;
        let notified = writes
            .iter()
            .zip(&applied)
            .filter(|(_, done)| **done)
            .map(|(write, _)| match write {
                AlertWrite::Insert(_, n) | AlertWrite::Update(_, n) => n.len(),
                AlertWrite::Delete(_) => 0,
            })
            .sum();
        Ok((applied.iter().filter(|d| **d).count(), notified))
    }
}

/// The notifications to queue for an alert's notices; a rule in testing queues none.
pub fn notifications(
    rule: &Rule,
    alert: &Alert,
    notices: &[Notice],
    now: DateTime<Utc>,
) -> Vec<Notification> {
    if rule.status == RuleStatus::Testing {
        return Vec::new();
    }
    notices
        .iter()
        .flat_map(|notice| {
            notice.channels.iter().map(|channel| Notification {
                id: Uuid::now_v7(),
                kind: notice.kind,
                channel: channel.clone(),
                alert: alert.clone(),
                created_at: now,
                last_error: None,
            })
        })
        .collect()
}
