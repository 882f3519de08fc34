//! Seed 001's integration health from ACTION events: one statement, written once, that
//! counts a window's actions per provider and type; the rows folded into one health
//! answer per provider.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use logbook_model::{
    TenantId,
    summary::{IntegrationEvents, IntegrationHealth, integration_status},
};

use crate::{
    conditions::Param,
    dialect::{Dialect, Where},
};

/// One provider's actions of one type, as the statement counts them.
pub struct Row {
    pub provider: String,
    pub event_type: Option<String>,
    pub total: i64,
    pub failures: i64,
    pub failures_last_hour: i64,
    pub timed: i64,
    pub time_sum: i64,
    pub last_success: Option<DateTime<Utc>>,
    pub last_seen: DateTime<Utc>,
}

/// The window's ACTION events with a provider, counted per provider and type. An action
/// failed when it says so (`success` false) or its status is `failure` or `timeout`.
pub fn statement<D: Dialect>(
    tenant: TenantId,
    since: DateTime<Utc>,
    hour_ago: DateTime<Utc>,
) -> (String, Where<D>) {
    let mut w = Where::<D>::values();
    let hour_ago = w.bind(Param::Time(hour_ago));
    let tenant = w.bind(Param::Uuid(tenant.0));
    let since = w.bind(Param::Time(since));
    let failed = format!(
        "({} OR COALESCE(status, '') IN ('failure', 'timeout'))",
        D::FAILED
    );
    let sql = format!(
        "SELECT provider, event_subtype, COUNT(*), \
         SUM(CASE WHEN {failed} THEN 1 ELSE 0 END), \
         SUM(CASE WHEN {failed} AND created_at >= {hour_ago} THEN 1 ELSE 0 END), \
         COUNT(response_time_ms), COALESCE(SUM(response_time_ms), 0), \
         MAX(CASE WHEN NOT {failed} THEN created_at END), MAX(created_at) \
         FROM events WHERE tenant_id = {tenant} AND event_type = 'ACTION' \
         AND created_at >= {since} AND provider IS NOT NULL \
         GROUP BY provider, event_subtype"
    );
    (sql, w)
}

/// One answer per provider, the most errors first.
pub fn health(rows: Vec<Row>) -> Vec<IntegrationHealth> {
    let mut providers: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for row in rows {
        providers.entry(row.provider.clone()).or_default().push(row);
    }
    let mut health: Vec<IntegrationHealth> = providers
        .into_iter()
        .map(|(provider, rows)| {
            let sum = |f: fn(&Row) -> i64| rows.iter().map(f).sum::<i64>();
            let (total, failures) = (sum(|r| r.total), sum(|r| r.failures));
            let success_rate = rate(total - failures, total);
            let mut events: Vec<IntegrationEvents> = rows
                .iter()
                .map(|r| IntegrationEvents {
                    event_type: r.event_type.clone(),
                    total_events: r.total,
                    successful_events: r.total - r.failures,
                    success_rate: rate(r.total - r.failures, r.total),
                    avg_response_time_ms: mean(r.time_sum, r.timed),
                })
                .collect();
            events.sort_by(|a, b| {
                b.total_events
                    .cmp(&a.total_events)
                    .then_with(|| a.event_type.cmp(&b.event_type))
            });
            IntegrationHealth {
                status: integration_status(success_rate),
                total_events: total,
                success_rate,
                avg_response_time_ms: mean(sum(|r| r.time_sum), sum(|r| r.timed)),
                error_count: failures,
                errors_last_hour: sum(|r| r.failures_last_hour),
                last_success: rows.iter().filter_map(|r| r.last_success).max(),
                last_seen: rows.iter().map(|r| r.last_seen).max().unwrap_or_default(),
                events,
                provider,
            }
        })
        .collect();
    health.sort_by(|a, b| {
        b.error_count
            .cmp(&a.error_count)
            .then_with(|| a.provider.cmp(&b.provider))
    });
    health
}

/// Percent, to two decimals as seed 001 rounds it.
fn rate(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    (part as f64 / whole as f64 * 10_000.0).round() / 100.0
}

fn mean(sum: i64, n: i64) -> Option<f64> {
    (n > 0).then(|| (sum as f64 / n as f64 * 100.0).round() / 100.0)
}
