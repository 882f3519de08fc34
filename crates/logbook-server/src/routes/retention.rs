//! `/api/v1/retention`: how long a tenant's events, audit trail and access records are
//! kept. The server's defaults (`--retention-days`, `--retention`,
//! `--audit-retention-days`, `--access-retention-days`) hold unless the tenant sets its
//! own, with an admin key (an operator admin may name another tenant with `?tenant=`).
//! Setting them is appended to the tenant's audit trail.

use std::collections::BTreeMap;

use axum::{
    Json, Router,
    extract::{Query, State},
    routing::get,
};
use logbook_model::{
    EventType,
    retention::{EventRetention, MAX_DAYS, RetentionRules, TypeDays},
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    ApiError, AppState,
    access::{Access, Answer},
    auth::AdminKey,
    params::Params,
    request_body::RequestBody,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/retention", get(show).put(set))
}

/// Periods as the API shows and takes them.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Periods {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    days: Option<u32>,
    #[serde(default)]
    by_type: BTreeMap<String, u32>,
}

impl From<&RetentionRules> for Periods {
    fn from(rules: &RetentionRules) -> Self {
        Self {
            days: rules.days,
            by_type: by_type(&rules.by_type),
        }
    }
}

impl From<&EventRetention> for Periods {
    fn from(retention: &EventRetention) -> Self {
        Self {
            days: Some(retention.days),
            by_type: by_type(&retention.by_type),
        }
    }
}

fn by_type(rules: &[TypeDays]) -> BTreeMap<String, u32> {
    rules
        .iter()
        .map(|r| (r.event_type.as_str().to_owned(), r.days))
        .collect()
}

/// A tenant's own rules, as PUT takes them and the audit trail records them.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct OwnRules {
    #[serde(default)]
    events: Periods,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    audit: Option<StreamDays>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access: Option<StreamDays>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct StreamDays {
    days: u32,
}

impl From<&RetentionRules> for OwnRules {
    fn from(rules: &RetentionRules) -> Self {
        Self {
            events: rules.into(),
            audit: rules.audit_days.map(|days| StreamDays { days }),
            access: rules.access_days.map(|days| StreamDays { days }),
        }
    }
}

#[derive(Serialize)]
struct RetentionView {
    /// What holds for the tenant's events now.
    events: Periods,
    /// The tenant's own rules; empty when the defaults hold.
    rules: Periods,
    /// The server's defaults.
    defaults: Periods,
    /// How long the audit trail is kept, counted from when each event was received.
    audit: StreamPeriod,
    /// How long access records are kept.
    access: StreamPeriod,
}

#[derive(Serialize)]
struct StreamPeriod {
    /// What holds for the tenant.
    days: u32,
    /// The server's.
    default: u32,
}

async fn rules_of(
    state: &AppState,
    tenant: logbook_model::TenantId,
) -> Result<RetentionRules, ApiError> {
    Ok(state
        .store
        .retention_rules()
        .await?
        .into_iter()
        .find(|(t, _)| *t == tenant)
        .map(|(_, rules)| rules)
        .unwrap_or_default())
}

fn view(state: &AppState, rules: &RetentionRules) -> RetentionView {
    RetentionView {
        events: (&rules.over(&state.retention.events)).into(),
        rules: rules.into(),
        defaults: (&state.retention.events).into(),
        audit: StreamPeriod {
            days: rules.audit_days.unwrap_or(state.retention.audit_days),
            default: state.retention.audit_days,
        },
        access: StreamPeriod {
            days: rules.access_days.unwrap_or(state.retention.access_days),
            default: state.retention.access_days,
        },
    }
}

async fn show(
    State(state): State<AppState>,
    AdminKey(principal): AdminKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<RetentionView>, ApiError> {
    let mut params = Params::new(pairs)?;
    let tenant = super::keys::target_tenant(&state, &principal, params.text("tenant")).await?;
    let filters = params.finish()?;
    let rules = rules_of(&state, tenant).await?;
    access
        .record(&state, &principal, Answer::rows(1, filters))
        .await?;
    Ok(Json(view(&state, &rules)))
}

async fn set(
    State(state): State<AppState>,
    AdminKey(principal): AdminKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
    body: RequestBody,
) -> Result<Json<RetentionView>, ApiError> {
    let mut params = Params::new(pairs)?;
    let tenant = super::keys::target_tenant(&state, &principal, params.text("tenant")).await?;
    params.finish()?;
    let new: OwnRules = body.json()?;
    let rules = parse_rules(new)?;
    let before = rules_of(&state, tenant).await?;
    state.store.set_retention_rules(tenant, &rules).await?;
    access
        .record_change(
            &state,
            &principal,
            tenant,
            json!({
                "action": "retention.set", "resource_type": "retention",
                "resource_id": tenant.to_string(),
                "before": OwnRules::from(&before), "after": OwnRules::from(&rules),
            }),
        )
        .await?;
    Ok(Json(view(&state, &rules)))
}

/// More event types than any application names; keeps a tenant's rules small.
const MAX_RULES: usize = 100;

fn parse_rules(own: OwnRules) -> Result<RetentionRules, ApiError> {
    let periods = own.events;
    if periods.by_type.len() > MAX_RULES {
        return Err(ApiError::BadRequest(format!(
            "events.by_type names {} event types; at most {MAX_RULES}",
            periods.by_type.len()
        )));
    }
    let check = |what: &str, days: u32| {
        if (1..=MAX_DAYS).contains(&days) {
            Ok(days)
        } else {
            Err(ApiError::BadRequest(format!(
                "{what} must be a whole number of days from 1 to {MAX_DAYS}, got {days}"
            )))
        }
    };
    let days = periods.days.map(|d| check("events.days", d)).transpose()?;
    let by_type = periods
        .by_type
        .into_iter()
        .map(|(name, days)| {
            let event_type = EventType::parse(&name)
                .map_err(|e| ApiError::BadRequest(format!("events.by_type: {e}")))?;
            let days = check(&format!("events.by_type.{name}"), days)?;
            Ok(TypeDays { event_type, days })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(RetentionRules {
        days,
        by_type,
        audit_days: own.audit.map(|a| check("audit.days", a.days)).transpose()?,
        access_days: own
            .access
            .map(|a| check("access.days", a.days))
            .transpose()?,
    })
}
