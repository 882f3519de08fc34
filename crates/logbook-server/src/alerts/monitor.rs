//! The monitor checker: every monitor due is fetched (with its retries) and the result
//! kept; one server at a time checks (the lease "monitor_checks"), several monitors at
//! once. Checks older than 30 days are forgotten, as seed 001 keeps them.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use logbook_model::{
    TenantId,
    monitors::{Check, Monitor, ServiceStatus},
};
use logbook_store::{Store, StoreError};

use super::Outbound;

/// Monitors checked per round at most, all at once.
const PER_ROUND: u32 = 50;
/// How long checks are kept.
pub const KEPT_DAYS: i64 = 30;

pub struct Checker {
    pub store: Arc<dyn Store>,
    pub outbound: Outbound,
}

impl Checker {
    /// Checks every monitor due at `now`; returns how many were checked.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let due = self.store.due_monitors(now, PER_ROUND).await?;
        let checks = due
            .iter()
            .map(|(tenant, monitor)| self.check(*tenant, monitor, now));
        let results = futures_util::future::join_all(checks).await;
        let checked = results.len();
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        Ok(checked)
    }

    async fn check(
        &self,
        tenant: TenantId,
        monitor: &Monitor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let timeout = Duration::from_secs(monitor.timeout.into());
        let mut answer = Err(String::new());
        for _ in 0..=monitor.retry_count {
            answer = self.outbound.probe(&monitor.url, timeout).await;
            if monitor.judge(&answer).0 != ServiceStatus::Down {
                break;
            }
        }
        let (status, error_message) = monitor.judge(&answer);
        let check = Check {
            status,
            response_time: answer.as_ref().ok().map(|(_, ms)| *ms),
            status_code: answer.as_ref().ok().map(|(code, _)| *code),
            error_message,
            checked_at: now,
        };
        let next = now + chrono::Duration::seconds(monitor.check_interval.into());
        self.store
            .record_check(tenant, monitor.id, &check, next)
            .await
    }

    /// Forgets checks past their time.
    pub async fn purge(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.store
            .purge_checks(now - chrono::Duration::days(KEPT_DAYS))
            .await
    }
}
