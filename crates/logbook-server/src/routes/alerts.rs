//! `/alerts`: rules (seed 001 tb_alert_rule), the alerts they raise (tb_alert) and what
//! people do to them. Reading takes a read key; changing rules and acting on alerts takes
//! an admin key and is recorded in the tenant's audit trail. The evaluation itself runs
//! in the background (see [`crate::alerts`]).

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::{get, post},
};
use chrono::{DateTime, Duration, Utc};
use logbook_model::alerts::{Action, Alert, AlertStatus, ChannelType, Rule, defaults};
use logbook_store::alerts::RuleStats;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    ApiError, AppState,
    access::{Access, Answer},
    auth::{AdminKey, Principal, ReadKey},
    params::Params,
    request_body::RequestBody,
};

/// Alerts listed at most, and by default.
const MAX_ALERTS: i64 = 1000;
const DEFAULT_ALERTS: i64 = 100;
/// Rules a tenant may have.
const MAX_RULES: usize = 500;
const MAX_NOTE: usize = 4096;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(list_alerts))
        .route("/alerts/rules", get(list_rules).post(create_rule))
        .route(
            "/alerts/rules/{id}",
            get(show_rule).patch(change_rule).delete(delete_rule),
        )
        .route("/alerts/stats", get(rule_stats))
        .route("/alerts/stream", get(stream))
        .route("/alerts/{id}", get(show_alert))
        .route("/alerts/{id}/{action}", post(act))
}

fn id(name: &str, text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::parameter(name, format!("{text:?} is not a UUID")))
}

/// Checks what the store cannot: that the rule's filter reads as `/logs` filters, and
/// that its channels can be served by this store.
fn check(state: &AppState, rule: &Rule) -> Result<(), ApiError> {
    rule.check().map_err(ApiError::BadRequest)?;
    crate::alerts::event_filter(rule, Utc::now()).map_err(|e| match e {
        ApiError::BadParameter { name, detail } => {
            ApiError::BadRequest(format!("filter {name}: {detail}"))
        }
        other => other,
    })?;
    if state.store.backend() != "postgres"
        && rule.all_channels().any(|c| c.kind == ChannelType::Notify)
    {
        return Err(ApiError::BadRequest(
            "notify channels need PostgreSQL: this server stores in SQLite".into(),
        ));
    }
    Ok(())
}

#[derive(Serialize)]
struct Rules {
    items: Vec<Value>,
}

async fn list_rules(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Rules>, ApiError> {
    let filters = Params::none(pairs)?;
    let rules = state
        .store
        .alert_rules(principal.tenant, &defaults::rules())
        .await?;
    access
        .record(&state, &principal, Answer::rows(rules.len(), filters))
        .await?;
    Ok(Json(Rules {
        items: rules.iter().map(Rule::shown).collect(),
    }))
}

async fn show_rule(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Path(rule_id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let filters = Params::none(pairs)?;
    let rule = find_rule(&state, principal.tenant, &rule_id).await?;
    access
        .record(&state, &principal, Answer::rows(1, filters))
        .await?;
    Ok(Json(rule.shown()))
}

async fn find_rule(
    state: &AppState,
    tenant: logbook_model::TenantId,
    text: &str,
) -> Result<Rule, ApiError> {
    let rule_id = id("id", text)?;
    state
        .store
        .alert_rule(tenant, rule_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no alert rule {rule_id}")))
}

async fn create_rule(
    State(state): State<AppState>,
    AdminKey(principal): AdminKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
    body: RequestBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    Params::none(pairs)?;
    let mut rule: Rule = body.json()?;
    let now = Utc::now();
    rule.id = Uuid::now_v7();
    rule.created_by = principal.key_id.to_string();
    rule.created_at = now;
    rule.updated_at = now;
    rule.last_triggered = None;
    check(&state, &rule)?;
    let existing = state
        .store
        .alert_rules(principal.tenant, &defaults::rules())
        .await?;
    if existing.len() >= MAX_RULES {
        return Err(ApiError::Conflict(format!(
            "a tenant has at most {MAX_RULES} alert rules"
        )));
    }
    state
        .store
        .put_alert_rule(principal.tenant, &rule, false)
        .await?;
    record_rule_change(
        &state,
        &access,
        &principal,
        "alert_rule.create",
        &rule,
        None,
        Some(&rule),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(rule.shown())))
}

async fn change_rule(
    State(state): State<AppState>,
    AdminKey(principal): AdminKey,
    access: Access,
    Path(rule_id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
    body: RequestBody,
) -> Result<Json<Value>, ApiError> {
    Params::none(pairs)?;
    let before = find_rule(&state, principal.tenant, &rule_id).await?;
    let mut rule: Rule = super::patched(
        &before,
        &body,
        &[
            "id",
            "created_by",
            "created_at",
            "updated_at",
            "last_triggered",
        ],
    )?;
    rule.keep_secrets(&before);
    rule.updated_at = Utc::now();
    check(&state, &rule)?;
    if !state
        .store
        .put_alert_rule(principal.tenant, &rule, true)
        .await?
    {
        return Err(ApiError::NotFound(format!("no alert rule {}", rule.id)));
    }
    record_rule_change(
        &state,
        &access,
        &principal,
        "alert_rule.update",
        &rule,
        Some(&before),
        Some(&rule),
    )
    .await?;
    Ok(Json(rule.shown()))
}

async fn delete_rule(
    State(state): State<AppState>,
    AdminKey(principal): AdminKey,
    access: Access,
    Path(rule_id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<StatusCode, ApiError> {
    Params::none(pairs)?;
    let before = find_rule(&state, principal.tenant, &rule_id).await?;
    if !state
        .store
        .delete_alert_rule(principal.tenant, before.id)
        .await?
    {
        return Err(ApiError::NotFound(format!("no alert rule {}", before.id)));
    }
    record_rule_change(
        &state,
        &access,
        &principal,
        "alert_rule.delete",
        &before,
        Some(&before),
        None,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn record_rule_change(
    state: &AppState,
    access: &Access,
    principal: &Principal,
    action: &str,
    rule: &Rule,
    before: Option<&Rule>,
    after: Option<&Rule>,
) -> Result<(), ApiError> {
    access
        .record_change(
            state,
            principal,
            principal.tenant,
            json!({
                "action": action, "resource_type": "alert_rule",
                "resource_id": rule.id.to_string(), "resource_name": rule.name,
                "before": before.map(Rule::shown), "after": after.map(Rule::shown),
            }),
        )
        .await
}

#[derive(Serialize)]
struct Alerts {
    items: Vec<Alert>,
}

/// Seed 001 5.5: active alerts gravest first, then the newest; other statuses newest first.
async fn list_alerts(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Alerts>, ApiError> {
    let mut params = Params::new(pairs)?;
    let status: Option<AlertStatus> = params.parse("status")?;
    let limit = params.int("limit", DEFAULT_ALERTS, 1, MAX_ALERTS)? as u32;
    let filters = params.finish()?;
    let mut items = state
        .store
        .list_alerts(principal.tenant, status, limit)
        .await?;
    if status == Some(AlertStatus::Active) {
        items.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(b.triggered_at.cmp(&a.triggered_at))
        });
    }
    access
        .record(&state, &principal, Answer::rows(items.len(), filters))
        .await?;
    Ok(Json(Alerts { items }))
}

async fn show_alert(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Path(alert_id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Alert>, ApiError> {
    let filters = Params::none(pairs)?;
    let alert = find_alert(&state, principal.tenant, &alert_id).await?;
    access
        .record(&state, &principal, Answer::rows(1, filters))
        .await?;
    Ok(Json(alert))
}

async fn find_alert(
    state: &AppState,
    tenant: logbook_model::TenantId,
    text: &str,
) -> Result<Alert, ApiError> {
    let alert_id = id("id", text)?;
    state
        .store
        .alert(tenant, alert_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no alert {alert_id}")))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    note: Option<String>,
    until: Option<DateTime<Utc>>,
}

/// `POST /alerts/{id}/acknowledge|resolve|silence` with `{note, until}`.
async fn act(
    State(state): State<AppState>,
    AdminKey(principal): AdminKey,
    access: Access,
    Path((alert_id, action)): Path<(String, String)>,
    Query(pairs): Query<Vec<(String, String)>>,
    body: RequestBody,
) -> Result<Json<Alert>, ApiError> {
    Params::none(pairs)?;
    let body: ActionBody = if body.bytes.is_empty() {
        ActionBody::default()
    } else {
        body.json()?
    };
    if body
        .note
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NOTE || n.contains('\0'))
    {
        return Err(ApiError::BadRequest(format!(
            "note must be at most {MAX_NOTE} characters"
        )));
    }
    let action = match (action.as_str(), body.until) {
        ("acknowledge", None) => Action::Acknowledge,
        ("resolve", None) => Action::Resolve,
        ("silence", Some(until)) if until - Utc::now() <= Duration::days(365) => {
            Action::Silence(until)
        }
        ("silence", Some(_)) => {
            return Err(ApiError::BadRequest(
                "a silence lasts at most a year".into(),
            ));
        }
        ("silence", None) => {
            return Err(ApiError::BadRequest(
                "silence needs until: the time the silence ends".into(),
            ));
        }
        ("acknowledge" | "resolve", Some(_)) => {
            return Err(ApiError::BadRequest(format!("{action} takes no until")));
        }
        (other, _) => {
            return Err(ApiError::NotFound(format!(
                "{other:?} is not an alert action: acknowledge, resolve or silence"
            )));
        }
    };
    let before = find_alert(&state, principal.tenant, &alert_id).await?;
    let mut after = before.clone();
    let by = principal.key_id.to_string();
    after
        .act(&action, &by, body.note, Utc::now())
        .map_err(ApiError::Conflict)?;
    let queued = match state
        .store
        .alert_rule(principal.tenant, after.rule_id)
        .await?
    {
        Some(rule) => {
            crate::alerts::notifications(&rule, &after, &action.notices(&rule), Utc::now())
        }
        None => Vec::new(),
    };
    let applied = state
        .store
        .write_alerts(
            principal.tenant,
            &[logbook_store::alerts::AlertWrite::Update(
                after.clone(),
                queued,
            )],
            None,
        )
        .await?;
    if applied.first() != Some(&true) {
        return Err(ApiError::Conflict(
            "the alert changed while this request was made; read it and try again".into(),
        ));
    }
    after.version += 1;
    let shown = |a: &Alert| json!({"status": a.status, "note": a.acknowledgment_note, "resolution_note": a.resolution_note, "suppressed_until": a.suppressed_until});
    access
        .record_change(
            &state,
            &principal,
            principal.tenant,
            json!({
                "action": format!("alert.{}", action.name()),
                "resource_type": "alert", "resource_id": after.id.to_string(),
                "resource_name": after.rule_name,
                "before": shown(&before), "after": shown(&after),
            }),
        )
        .await?;
    Ok(Json(after))
}

#[derive(Serialize)]
struct StatsRow {
    id: Uuid,
    name: String,
    status: &'static str,
    #[serde(flatten)]
    stats: RuleStats,
}

#[derive(Serialize)]
struct Stats {
    days: i64,
    items: Vec<StatsRow>,
}

/// Seed 001 5.5's alert statistics by rule over the last `days` (30 by default), the
/// rules with the most alerts first; rules without alerts are listed with zeros.
async fn rule_stats(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Stats>, ApiError> {
    let mut params = Params::new(pairs)?;
    let days = params.int("days", 30, 1, 3660)?;
    let filters = params.finish()?;
    let tenant = principal.tenant;
    let rules = state.store.alert_rules(tenant, &defaults::rules()).await?;
    let stats = state
        .store
        .alert_stats(tenant, Utc::now() - Duration::days(days))
        .await?;
    let mut items: Vec<StatsRow> = rules
        .into_iter()
        .map(|rule| StatsRow {
            stats: stats
                .iter()
                .find(|s| s.rule_id == rule.id)
                .cloned()
                .unwrap_or(RuleStats {
                    rule_id: rule.id,
                    total_alerts: 0,
                    active_alerts: 0,
                    resolved_alerts: 0,
                    last_triggered: None,
                    avg_resolution_time_minutes: None,
                }),
            id: rule.id,
            name: rule.name,
            status: rule.status.as_str(),
        })
        .collect();
    items.sort_by(|a, b| {
        b.stats
            .total_alerts
            .cmp(&a.stats.total_alerts)
            .then(a.name.cmp(&b.name))
    });
    access
        .record(&state, &principal, Answer::rows(items.len(), filters))
        .await?;
    Ok(Json(Stats { days, items }))
}

/// How often the alert stream looks for new entries: they come from whichever server
/// evaluates, so the store is asked rather than this process.
const STREAM_POLL: std::time::Duration = std::time::Duration::from_secs(1);
const STREAM_PAGE: u32 = 100;

/// `GET /alerts/stream`: the alert changes queued for the tenant's `sse` channels, as
/// server-sent events — `event:` the kind (triggered, repeated, escalated, resolved),
/// `id:` the notification (send it back as `cursor` or `Last-Event-ID` to resume),
/// `data:` the JSON a webhook receives. Without a cursor, from two seconds ago.
async fn stream(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    headers: axum::http::HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let mut params = Params::new(pairs)?;
    let cursor = params
        .text("cursor")
        .or_else(|| {
            headers
                .get("last-event-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .map(|c| id("cursor", &c))
        .transpose()?;
    let filters = params.finish()?;
    let tenant = principal.tenant;
    let after = Some(cursor.unwrap_or_else(just_before_now));
    // Each stream reads the store every second: as many at once as the tail allows.
    let open = StreamSlot::take(&state.alert_streams)?;
    access
        .record(&state, &principal, Answer::rows(0, filters))
        .await?;
    let (store, stopping) = (state.store.clone(), state.stopping.clone());
    let body = futures_util::stream::unfold(
        (store, stopping, after, false, open),
        move |(store, stopping, mut after, mut waited, open)| async move {
            loop {
                if waited {
                    tokio::select! {
                        _ = stopping.cancelled() => return None,
                        _ = tokio::time::sleep(STREAM_POLL) => {}
                    }
                }
                waited = true;
                let entries = match store.alert_stream(tenant, after, STREAM_PAGE).await {
                    Ok(entries) => entries,
                    Err(error) => {
                        tracing::warn!(%error, "reading the alert stream failed");
                        continue;
                    }
                };
                if entries.is_empty() {
                    continue;
                }
                let mut out = String::new();
                for n in &entries {
                    let kind = serde_json::to_value(n.kind).unwrap_or_default();
                    out.push_str(&format!(
                        "event: {}\nid: {}\ndata: {}\n\n",
                        kind.as_str().unwrap_or("change"),
                        n.id,
                        crate::alerts::webhook_body(n)
                    ));
                }
                after = entries.last().map(|n| n.id);
                // A full page may have more behind it: read again at once.
                waited = entries.len() < STREAM_PAGE as usize;
                let chunk = axum::body::Bytes::from(out);
                return Some((
                    Ok::<_, std::convert::Infallible>(chunk),
                    (store, stopping, after, waited, open),
                ));
            }
        },
    );
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/event-stream"),
            (axum::http::header::CACHE_CONTROL, "no-cache"),
        ],
        axum::body::Body::from_stream(body),
    )
        .into_response())
}

/// Where a stream "from now" starts: entry ids are time-ordered (UUID v7), so an id
/// made two seconds ago sorts before every entry since, allowing for servers' clocks to
/// differ by as much.
fn just_before_now() -> Uuid {
    let then = Utc::now() - Duration::seconds(2);
    let ts = uuid::Timestamp::from_unix(
        uuid::NoContext,
        then.timestamp() as u64,
        then.timestamp_subsec_nanos(),
    );
    // The smallest id of that millisecond.
    let mut bytes = *Uuid::new_v7(ts).as_bytes();
    bytes[6] &= 0xf0;
    bytes[7] = 0;
    bytes[8] &= 0xc0;
    bytes[9..].fill(0);
    Uuid::from_bytes(bytes)
}

/// One open alert stream, counted while it lives.
struct StreamSlot(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl StreamSlot {
    fn take(open: &std::sync::Arc<std::sync::atomic::AtomicUsize>) -> Result<Self, ApiError> {
        use std::sync::atomic::Ordering;
        if open.fetch_add(1, Ordering::AcqRel) >= super::tail::MAX_SUBSCRIBERS {
            open.fetch_sub(1, Ordering::AcqRel);
            return Err(ApiError::Busy(5));
        }
        Ok(Self(open.clone()))
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}
