//! `/api/v1/errors`: errors reported by applications, grouped (seed 001's error log).
//! `POST` takes reports (one object, a JSON array or NDJSON, with partial acceptance as
//! for events); each is stored as an ERROR event and counted into its group in the same
//! transaction. `GET` lists groups (newest first, or `sort=occurrences` for the top
//! ones), `GET /errors/{id}` shows one with its recent occurrences, and `PATCH` moves it
//! through its workflow — recorded in the tenant's audit trail. `/errors/trend` and
//! `/errors/unresolved` are seed 001's error trend by type and unresolved errors by
//! severity.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    response::Response,
    routing::get,
};
use chrono::{Duration, Utc};
use logbook_model::{
    Cursor, Event,
    error_groups::{
        ErrorGroup, ErrorTrend, GroupChange, GroupOrder, GroupPage, GroupQuery,
        UnresolvedBySeverity, report::ErrorReport,
    },
};
use logbook_store::{ItemOutcome, WriteItem};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::ingest_events::{Rejection, json, split_body};
use crate::{
    ApiError, AppState,
    access::{Access, Answer},
    auth::{AdminKey, IngestKey, ReadKey},
    params::Params,
    request_body::RequestBody,
};

/// Occurrences shown with a group.
const RECENT_OCCURRENCES: u32 = 20;
/// Longest window a list may look back over: as long as events are kept at most.
const MAX_DAYS: i64 = 36_500;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/errors", get(list_groups).post(report_errors))
        .route("/errors/trend", get(error_trend))
        .route("/errors/unresolved", get(unresolved_errors))
        .route("/errors/{id}", get(show_group).patch(change_group))
}

#[derive(Serialize)]
struct ReportResponse {
    accepted: usize,
    rejected: Vec<Rejection>,
}

async fn report_errors(
    State(state): State<AppState>,
    IngestKey(principal): IngestKey,
    body: RequestBody,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let mut item = WriteItem::events(principal.tenant, Vec::new());
    let mut rejected = Vec::new();
    for (index, raw) in split_body(&body)?.into_iter().enumerate() {
        match ErrorReport::parse(raw).and_then(|r| r.accept(&state.parser, principal.tenant, now)) {
            Ok((event, occurrence)) => {
                item.events.push(event);
                item.errors.push(occurrence);
            }
            Err(error) => rejected.push(Rejection {
                index,
                error: error.to_string(),
                field: error.field,
            }),
        }
    }
    store_reports(&state, item, rejected).await
}

/// Stores accepted reports and answers with what was accepted and what was not.
pub(crate) async fn store_reports(
    state: &AppState,
    mut item: WriteItem,
    rejected: Vec<Rejection>,
) -> Result<Response, ApiError> {
    if item.events.is_empty() {
        return Err(ApiError::NothingAccepted {
            rejected: serde_json::to_value(&rejected).map_err(|_| ApiError::Internal)?,
        });
    }
    if let Some(cipher) = &state.cipher {
        cipher.seal_item(&mut item);
    }
    let response = serde_json::to_string(&ReportResponse {
        accepted: item.events.len(),
        rejected,
    })
    .map_err(|_| ApiError::Internal)?;
    match state.ingestor.submit(item).await? {
        ItemOutcome::Stored { .. } => Ok(json(response)),
        ItemOutcome::Duplicate { response, .. } => Ok(json(response)),
    }
}

async fn list_groups(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<GroupPage>, ApiError> {
    let mut params = Params::new(pairs)?;
    let statuses = match params.text("status") {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|s| {
                s.trim()
                    .parse()
                    .map_err(|e: String| ApiError::parameter("status", e))
            })
            .collect::<Result<_, _>>()?,
    };
    let seen_since = params
        .int_opt("days", 1, MAX_DAYS)?
        .map(|days| Utc::now() - Duration::days(days));
    let severity = params.parse("severity")?;
    let error_type = params.text("error_type");
    let order = match params.text("sort").as_deref() {
        None | Some("last_seen") => GroupOrder::LastSeen,
        Some("occurrences") => GroupOrder::Occurrences,
        Some(_) => {
            return Err(ApiError::parameter(
                "sort",
                "must be last_seen or occurrences",
            ));
        }
    };
    let cursor: Option<Cursor> = params.parse("cursor")?;
    if cursor.is_some() && order == GroupOrder::Occurrences {
        return Err(ApiError::parameter(
            "cursor",
            "pages only the newest-first order; sort=occurrences answers one page",
        ));
    }
    let limit = params.page_limit()?;
    let filters = params.finish()?;
    let query = GroupQuery {
        statuses,
        seen_since,
        severity,
        error_type,
        order,
        cursor,
        limit,
    };
    let mut page = state
        .store
        .list_error_groups(principal.tenant, &query)
        .await?;
    access
        .record(&state, &principal, Answer::rows(page.items.len(), filters))
        .await?;
    if let Some(cipher) = &state.cipher {
        page.items.iter_mut().for_each(|g| cipher.open_group(g));
    }
    Ok(Json(page))
}

/// Seed 001's windows: 30 days unless asked otherwise.
const TREND_DAYS: i64 = 30;

async fn error_trend(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<ErrorTrend>>, ApiError> {
    let mut params = Params::new(pairs)?;
    let days = params.int("days", TREND_DAYS, 1, MAX_DAYS)?;
    let filters = params.finish()?;
    let since = Utc::now() - Duration::days(days);
    let rows = state.store.error_trend(principal.tenant, since).await?;
    access
        .record(&state, &principal, Answer::rows(rows.len(), filters))
        .await?;
    Ok(Json(rows))
}

async fn unresolved_errors(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<UnresolvedBySeverity>>, ApiError> {
    let mut params = Params::new(pairs)?;
    let days = params.int("days", TREND_DAYS, 1, MAX_DAYS)?;
    let filters = params.finish()?;
    let since = Utc::now() - Duration::days(days);
    let rows = state
        .store
        .unresolved_errors(principal.tenant, since)
        .await?;
    access
        .record(&state, &principal, Answer::rows(rows.len(), filters))
        .await?;
    Ok(Json(rows))
}

#[derive(Serialize)]
struct GroupDetail {
    #[serde(flatten)]
    group: ErrorGroup,
    /// The newest occurrences' events (stack trace, breadcrumbs and context in
    /// `metadata.error`).
    recent: Vec<Event>,
}

async fn show_group(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Path(id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<GroupDetail>, ApiError> {
    let filters = Params::none(pairs)?;
    let id = group_id(&id)?;
    let group = state.store.error_group(principal.tenant, id).await?;
    let recent = match &group {
        Some(_) => {
            state
                .store
                .error_group_events(principal.tenant, id, RECENT_OCCURRENCES)
                .await?
        }
        None => Vec::new(),
    };
    access
        .record(
            &state,
            &principal,
            Answer {
                status: if group.is_some() { 200 } else { 404 },
                ..Answer::rows(usize::from(group.is_some()), filters)
            },
        )
        .await?;
    let mut group = group.ok_or_else(|| ApiError::NotFound(format!("no error group {id}")))?;
    let mut recent = recent;
    if let Some(cipher) = &state.cipher {
        recent.iter_mut().for_each(|e| cipher.open_event(e));
        cipher.open_group(&mut group);
    }
    Ok(Json(GroupDetail { group, recent }))
}

/// A workflow change as PATCH takes it: absent fields stay, `null` or "" clears.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    status: Option<String>,
    #[serde(default, deserialize_with = "present")]
    assigned_to: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    resolution_note: Option<Option<String>>,
}

/// A field given (even as `null`) is `Some`; an absent one stays `None`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(
        Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()),
    ))
}

/// Longest assignee (as a user id) and resolution note.
const MAX_ASSIGNEE: usize = 255;
const MAX_NOTE: usize = 4096;

async fn change_group(
    State(state): State<AppState>,
    AdminKey(principal): AdminKey,
    access: Access,
    Path(id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
    body: RequestBody,
) -> Result<Json<ErrorGroup>, ApiError> {
    Params::none(pairs)?;
    let id = group_id(&id)?;
    let body: ChangeBody = body.json()?;
    let too_long = |text: &Option<Option<String>>, most: usize| {
        text.as_ref()
            .and_then(Option::as_ref)
            .is_some_and(|t| t.chars().count() > most || t.contains('\0'))
    };
    if too_long(&body.assigned_to, MAX_ASSIGNEE) {
        return Err(ApiError::BadRequest(format!(
            "assigned_to must be at most {MAX_ASSIGNEE} characters"
        )));
    }
    if too_long(&body.resolution_note, MAX_NOTE) {
        return Err(ApiError::BadRequest(format!(
            "resolution_note must be at most {MAX_NOTE} characters"
        )));
    }
    let change = GroupChange {
        status: body
            .status
            .map(|s| s.parse().map_err(ApiError::BadRequest))
            .transpose()?,
        assigned_to: body.assigned_to,
        resolution_note: body.resolution_note,
    };
    let (before, after) = state
        .store
        .change_error_group(principal.tenant, id, &change)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no error group {id}")))?;
    let workflow = |g: &ErrorGroup| json!({"status": g.status, "assigned_to": g.assigned_to, "resolution_note": g.resolution_note});
    access
        .record_change(
            &state,
            &principal,
            principal.tenant,
            json!({
                "action": "error_group.change", "resource_type": "error_group",
                "resource_id": id.to_string(), "resource_name": after.error_type,
                "before": workflow(&before), "after": workflow(&after),
            }),
        )
        .await?;
    let mut after = after;
    if let Some(cipher) = &state.cipher {
        cipher.open_group(&mut after);
    }
    Ok(Json(after))
}

fn group_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::parameter("id", format!("{text:?} is not a UUID")))
}
