//! What a rule measures, read from the store: one value per group. Counts of events come
//! from the events themselves (a window of minutes); rates and latencies from the
//! rollups; error groups and anomalies from their own reads.

use chrono::{DateTime, Duration, Utc};
use logbook_model::{
    EventFilter, TenantId,
    alerts::{Metric, Rule},
    error_groups::{GroupOrder, GroupQuery},
    summary::EndpointStep,
};
use logbook_store::Store;

use crate::{ApiError, params::Params};

/// The most groups one rule measures; the largest counts are kept.
pub const MAX_GROUPS: u32 = 1000;

/// One value per group (`None`: the rule is not grouped).
pub type Values = Vec<(Option<String>, f64)>;

/// The events a count rule counts, from its filter and scope; the window ends at `now`.
pub fn event_filter(rule: &Rule, now: DateTime<Utc>) -> Result<EventFilter, ApiError> {
    let mut pairs: Vec<(String, String)> = rule
        .filter
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, value) in &rule.scope {
        let name = match key.as_str() {
            "endpoint" => "path",
            other => other,
        };
        if !rule.filter.contains_key(name) {
            pairs.push((name.to_owned(), value.clone()));
        }
    }
    let mut params = Params::new(pairs)?;
    let mut filter = crate::routes::event_query(&mut params, None)?.filter;
    params.finish()?;
    filter.from = Some(now - Duration::minutes(i64::from(rule.window_minutes)));
    filter.to = None;
    Ok(filter)
}

pub async fn measure(
    store: &dyn Store,
    tenant: TenantId,
    rule: &Rule,
    now: DateTime<Utc>,
) -> Result<Values, ApiError> {
    let since = now - Duration::minutes(i64::from(rule.window_minutes));
    let scoped = |key: &str, value: Option<&str>| {
        rule.scope
            .get(key)
            .is_none_or(|wanted| value == Some(wanted.as_str()))
    };
    Ok(match rule.metric_name {
        Metric::EventCount => {
            let filter = event_filter(rule, now)?;
            let counts = store
                .count_events(tenant, &filter, rule.group_by.as_deref(), MAX_GROUPS)
                .await?;
            counts.into_iter().map(|(g, n)| (g, n as f64)).collect()
        }
        Metric::ErrorRate | Metric::P95Latency | Metric::Throughput => {
            let minutes = f64::from(rule.window_minutes);
            store
                .endpoints(tenant, since, EndpointStep::Window)
                .await?
                .into_iter()
                .filter(|e| {
                    scoped("service", e.service.as_deref()) && scoped("endpoint", Some(&e.endpoint))
                })
                .filter_map(|e| {
                    let name = match &e.method {
                        Some(method) => format!("{method} {}", e.endpoint),
                        None => e.endpoint.clone(),
                    };
                    let value = match rule.metric_name {
                        Metric::ErrorRate => Some(e.error_rate),
                        Metric::P95Latency => e.p95,
                        _ => Some(e.request_count as f64 / minutes),
                    }?;
                    Some((Some(name), value))
                })
                .collect()
        }
        Metric::ActionFailureRate | Metric::ActionAvgLatency => store
            .integrations(tenant, since)
            .await?
            .into_iter()
            .filter(|i| scoped("provider", Some(&i.provider)))
            .filter_map(|i| {
                let value = match rule.metric_name {
                    Metric::ActionFailureRate => Some(100.0 - i.success_rate),
                    _ => i.avg_response_time_ms,
                }?;
                Some((Some(i.provider), value))
            })
            .collect(),
        Metric::AuditChanges => {
            vec![(None, store.count_audit_since(tenant, since).await? as f64)]
        }
        Metric::NewErrorGroups | Metric::RegressedErrorGroups => {
            let query = GroupQuery {
                statuses: Vec::new(),
                seen_since: Some(since),
                severity: None,
                error_type: None,
                order: GroupOrder::LastSeen,
                cursor: None,
                limit: MAX_GROUPS,
            };
            let groups = store.list_error_groups(tenant, &query).await?.items;
            let n = groups
                .iter()
                .filter(|g| match rule.metric_name {
                    Metric::NewErrorGroups => g.first_seen >= since,
                    _ => g.regressed_at.is_some_and(|at| at >= since),
                })
                .count();
            vec![(None, n as f64)]
        }
        Metric::MonitorDown => {
            let mut values = Vec::new();
            for monitor in store.monitors(tenant).await? {
                if !monitor.enabled || !scoped("service", Some(&monitor.name)) {
                    continue;
                }
                let newest = store.recent_checks(tenant, monitor.id, 1).await?;
                let down = newest
                    .first()
                    .is_some_and(|c| c.status == logbook_model::monitors::ServiceStatus::Down);
                values.push((Some(monitor.name), if down { 1.0 } else { 0.0 }));
            }
            values
        }
        Metric::Anomaly => {
            let hour = now.timestamp() - now.timestamp().rem_euclid(3600);
            crate::routes::anomalies::find(store, tenant, 7, now)
                .await?
                .into_iter()
                .filter(|a| a.hour.timestamp() == hour)
                .map(|a| (Some(a.series), a.count as f64))
                .collect()
        }
    })
}
