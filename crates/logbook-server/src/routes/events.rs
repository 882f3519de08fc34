//! Reading events: `GET /api/v1/logs` (filters, keyset cursor, skip), `/logs/{id}`, and
//! `/logs/users/{user_id}`.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    routing::get,
};
use logbook_model::{Event, EventFilter, EventQuery, EventType, Page};
use uuid::Uuid;

use crate::{
    ApiError, AppState,
    access::{Access, Answer},
    auth::ReadKey,
    params::Params,
};

/// The longest `q`: a substring search over messages, not a document.
const MAX_Q: usize = 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/logs", get(list_events))
        .route("/logs/{id}", get(get_event))
        .route("/logs/users/{user_id}", get(list_user_events))
}

async fn list_events(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Page>, ApiError> {
    let mut params = Params::new(pairs)?;
    let query = event_query(&mut params, None)?;
    let filters = params.finish()?;
    let page = state.store.list_events(principal.tenant, &query).await?;
    access
        .record(&state, &principal, Answer::rows(page.items.len(), filters))
        .await?;
    Ok(Json(opened(&state, page)))
}

async fn list_user_events(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Path(user_id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Page>, ApiError> {
    let mut params = Params::new(pairs)?;
    let query = event_query(&mut params, Some(user_id))?;
    let filters = params.finish()?;
    let page = state.store.list_events(principal.tenant, &query).await?;
    access
        .record(&state, &principal, Answer::rows(page.items.len(), filters))
        .await?;
    Ok(Json(opened(&state, page)))
}

async fn get_event(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Path(id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Event>, ApiError> {
    let filters = Params::none(pairs)?;
    let id = Uuid::parse_str(&id)
        .map_err(|_| ApiError::parameter("id", format!("{id:?} is not a UUID")))?;
    let found = state.store.get_event(principal.tenant, id).await?;
    let status = if found.is_some() { 200 } else { 404 };
    access
        .record(
            &state,
            &principal,
            Answer {
                status,
                ..Answer::rows(usize::from(found.is_some()), filters)
            },
        )
        .await?;
    let mut event = found.ok_or_else(|| ApiError::NotFound(format!("no event {id}")))?;
    if let Some(cipher) = &state.cipher {
        cipher.open_event(&mut event);
    }
    Ok(Json(event))
}

/// The page with its encrypted fields opened: a read key reads plaintext.
fn opened(state: &AppState, mut page: Page) -> Page {
    if let Some(cipher) = &state.cipher {
        page.items
            .iter_mut()
            .for_each(|event| cipher.open_event(event));
    }
    page
}

/// A text search (`q`) reads every message in its window, so the window is bounded:
/// without `from` it covers the day before `to` (or now); longer than this is refused.
const MAX_Q_WINDOW_DAYS: i64 = 7;

fn bound_search(mut filter: EventFilter) -> Result<EventFilter, ApiError> {
    if filter.message_contains.is_none() {
        return Ok(filter);
    }
    let to = filter.to.unwrap_or_else(chrono::Utc::now);
    let from = *filter.from.get_or_insert(to - chrono::Duration::days(1));
    if to - from > chrono::Duration::days(MAX_Q_WINDOW_DAYS) {
        return Err(ApiError::parameter(
            "q",
            format!(
                "searches at most {MAX_Q_WINDOW_DAYS} days of messages: give from and to \
                 at most {MAX_Q_WINDOW_DAYS} days apart (without from, the last day is searched)"
            ),
        ));
    }
    Ok(filter)
}

/// The filters, order and page of `/logs`; `user_id` comes from the path when given.
pub(crate) fn event_query(
    params: &mut Params,
    user_id: Option<String>,
) -> Result<EventQuery, ApiError> {
    let user_id = match user_id {
        Some(from_path) => Some(from_path),
        None => params.text("user_id"),
    };
    let filter = EventFilter {
        event_type: params
            .text("event_type")
            .map(|t| EventType::parse(&t).map_err(|e| ApiError::parameter("event_type", e)))
            .transpose()?,
        event_subtype: params.text("event_subtype"),
        user_id,
        ip: params.parse("ip")?,
        fingerprint: params.text("fingerprint"),
        session_id: params.text("session_id"),
        request_id: params.text("request_id"),
        service: params.text("service"),
        provider: params.text("provider"),
        statuses: params
            .text("status")
            .map(|s| {
                s.split(',')
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        success: params.bool("success")?,
        severity: params.parse("severity")?,
        status_code: params
            .int_opt("status_code", 0, 999)?
            .map(|code| code as i16),
        path_prefix: params.text("path"),
        message_contains: match params.text("q") {
            Some(q) if q.chars().count() > MAX_Q => {
                return Err(ApiError::parameter(
                    "q",
                    format!("must be at most {MAX_Q} characters"),
                ));
            }
            q => q,
        },
        from: params.time("from")?,
        to: params.time("to")?,
    };
    let filter = bound_search(filter)?;
    Ok(EventQuery {
        filter,
        order: params.parse("order")?.unwrap_or_default(),
        limit: params.page_limit()?,
        cursor: params.parse("cursor")?,
        skip: params.skip()?,
    })
}
