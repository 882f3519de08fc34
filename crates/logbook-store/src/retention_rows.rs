//! Tenants' retention rules as the `retention_rules` table holds them, one row per
//! period, for both backends: `*` stands for every type without a period of its own.

use logbook_model::{
    EventType, TenantId,
    retention::{RetentionRules, TypeDays},
};

use crate::{Result, StoreError};

const EVERY_TYPE: &str = "*";

/// Rows `(tenant, event type, days)` ordered by tenant, gathered into each tenant's rules.
pub fn gather(
    rows: impl IntoIterator<Item = Result<(TenantId, String, u32)>>,
) -> Result<Vec<(TenantId, RetentionRules)>> {
    let mut all: Vec<(TenantId, RetentionRules)> = Vec::new();
    for row in rows {
        let (tenant, event_type, days) = row?;
        if all.last().is_none_or(|(t, _)| *t != tenant) {
            all.push((tenant, RetentionRules::default()));
        }
        let rules = &mut all.last_mut().expect("just pushed").1;
        if event_type == EVERY_TYPE {
            rules.days = Some(days);
        } else {
            let event_type = EventType::parse(&event_type)
                .map_err(|e| StoreError::Invalid(format!("stored retention rule: {e}")))?;
            rules.by_type.push(TypeDays { event_type, days });
        }
    }
    Ok(all)
}

/// One tenant's rules as rows `(event type, days)`.
pub fn rows(rules: &RetentionRules) -> impl Iterator<Item = (&str, u32)> {
    rules.days.map(|days| (EVERY_TYPE, days)).into_iter().chain(
        rules
            .by_type
            .iter()
            .map(|r| (r.event_type.as_str(), r.days)),
    )
}
