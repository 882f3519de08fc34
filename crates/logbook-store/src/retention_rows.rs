//! Tenants' retention rules as the `retention_rules` table holds them, one row per
//! period, for both backends: `*` stands for every type without a period of its own,
//! `@audit` and `@access` for the audit trail and the access records (no event type
//! begins with `@`).

use logbook_model::{
    EventType, TenantId,
    retention::{RetentionRules, TypeDays},
};

use crate::{Result, StoreError};

const EVERY_TYPE: &str = "*";
const AUDIT: &str = "@audit";
const ACCESS: &str = "@access";

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
        } else if event_type == AUDIT {
            rules.audit_days = Some(days);
        } else if event_type == ACCESS {
            rules.access_days = Some(days);
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
    let streams = [
        (EVERY_TYPE, rules.days),
        (AUDIT, rules.audit_days),
        (ACCESS, rules.access_days),
    ];
    streams
        .into_iter()
        .filter_map(|(name, days)| days.map(|days| (name, days)))
        .chain(
            rules
                .by_type
                .iter()
                .map(|r| (r.event_type.as_str(), r.days)),
        )
}
