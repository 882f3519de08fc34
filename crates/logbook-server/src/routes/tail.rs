//! `GET /logs/tail`: the live tail as server-sent events. Takes the `/logs` filters; each
//! event committed after the request (this server's or, on PostgreSQL, any server's) that
//! matches is sent as one `data:` line of event JSON, its `id:` the `/logs` cursor after
//! it. With `cursor` (or a reconnecting client's `Last-Event-ID`) the stored events after
//! it are sent first. A client too slow to take what comes is sent `event: missed` with
//! how many events it lost, and is never allowed to slow ingest down.

use std::{
    collections::{HashSet, VecDeque},
    convert::Infallible,
    sync::atomic::Ordering,
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    extract::{Query, State},
    http::HeaderMap,
    http::header,
    response::{IntoResponse, Response},
    routing::get,
};
use bytes::Bytes;
use logbook_model::{Cursor, Event, EventQuery, Order};

use crate::{
    ApiError, AppState,
    access::{Access, Answer},
    auth::ReadKey,
    params::Params,
    tail::Delivery,
};

/// Stored events sent before the live ones at most; a client further behind pages
/// `/logs` first.
const MAX_REPLAY: usize = 10_000;
/// Tails one server serves at once: each holds up to a queue of events.
pub const MAX_SUBSCRIBERS: usize = 256;

pub fn router() -> Router<AppState> {
    Router::new().route("/logs/tail", get(tail))
}

async fn tail(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    if let Some((name, _)) = pairs
        .iter()
        .find(|(name, _)| ["order", "limit", "skip", "from", "to"].contains(&name.as_str()))
    {
        return Err(ApiError::parameter(
            name,
            "is not taken by the tail, which sends events as they commit (give cursor to start after a stored event)",
        ));
    }
    let mut params = Params::new(pairs)?;
    let mut query = super::event_query(&mut params, None)?;
    let filters = params.finish()?;
    if query.cursor.is_none()
        && let Some(last) = headers.get("last-event-id").and_then(|v| v.to_str().ok())
    {
        query.cursor = Some(
            last.parse()
                .map_err(|e: String| ApiError::BadRequest(format!("Last-Event-ID: {e}")))?,
        );
    }
    if state.tail.subscribers() >= MAX_SUBSCRIBERS {
        return Err(ApiError::Busy(5));
    }
    let tenant = principal.tenant;
    // Subscribed before the stored events are read, so nothing commits in between unseen.
    let subscription = state.tail.subscribe(tenant, query.filter.clone());
    let replay = match query.cursor {
        Some(cursor) => replay(&state, tenant, &query, cursor).await?,
        None => Vec::new(),
    };
    access
        .record(&state, &principal, Answer::rows(replay.len(), filters))
        .await?;
    let tailing = Tailing {
        replayed: replay.iter().map(|e| e.id).collect(),
        replay: replay.into(),
        subscription,
        stopping: state.stopping.clone(),
        cipher: state.cipher.clone(),
    };
    let stream = futures_util::stream::unfold(tailing, |mut t| async move {
        let chunk = t.next_chunk().await?;
        Some((Ok::<_, Infallible>(chunk), t))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// The stored events after `cursor` that match, oldest first, up to [`MAX_REPLAY`].
async fn replay(
    state: &AppState,
    tenant: logbook_model::TenantId,
    query: &EventQuery,
    cursor: Cursor,
) -> Result<Vec<Event>, ApiError> {
    let mut page_query = EventQuery {
        filter: query.filter.clone(),
        order: Order::Asc,
        limit: logbook_model::filter::MAX_PAGE,
        cursor: Some(cursor),
        skip: 0,
    };
    let mut events = Vec::new();
    loop {
        let page = state.store.list_events(tenant, &page_query).await?;
        let more = page.next_cursor.is_some();
        page_query.cursor = page.items.last().map(Cursor::after);
        events.extend(page.items);
        if events.len() > MAX_REPLAY {
            return Err(ApiError::BadRequest(format!(
                "more than {MAX_REPLAY} stored events follow the cursor: page them with /logs, then tail from the last"
            )));
        }
        if !more {
            break;
        }
    }
    Ok(events)
}

/// Where one client's tail stands.
struct Tailing {
    replay: VecDeque<Event>,
    replayed: HashSet<uuid::Uuid>,
    subscription: crate::tail::Subscription,
    stopping: tokio_util::sync::CancellationToken,
    cipher: Option<std::sync::Arc<crate::encryption::FieldCipher>>,
}

impl Tailing {
    /// The next bytes for the client: every message ready now (at most [`PER_CHUNK`]),
    /// written as one chunk, or a keep-alive comment after a quiet while; `None` ends the
    /// stream (the server is stopping).
    async fn next_chunk(&mut self) -> Option<Bytes> {
        let mut out = String::new();
        for event in self.replay.drain(..self.replay.len().min(PER_CHUNK)) {
            write(&mut out, &Delivery::of(&event, self.cipher.as_deref()));
        }
        if !out.is_empty() {
            return Some(out.into());
        }
        let first = tokio::select! {
            _ = self.stopping.cancelled() => return None,
            _ = tokio::time::sleep(KEEP_ALIVE) => return Some(Bytes::from_static(b":\n\n")),
            next = self.subscription.events.recv() => next?,
        };
        let mut next = Some(first);
        let mut written = 0;
        while let Some(event) = next.take() {
            let missed = self.subscription.missed.swap(0, Ordering::Relaxed);
            if missed > 0 {
                out.push_str(&format!("event: missed\ndata: {{\"missed\":{missed}}}\n\n"));
            }
            if !self.replayed.contains(&event.id) {
                write(&mut out, &event);
                written += 1;
            }
            if written < PER_CHUNK {
                next = self.subscription.events.try_recv().ok();
            }
        }
        Some(out.into())
    }
}

/// Messages written to the client at once at most.
const PER_CHUNK: usize = 256;
/// A comment this often keeps proxies from closing a quiet tail.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// One event as a server-sent message: its cursor as `id`, its JSON (one line) as `data`.
fn write(out: &mut String, event: &Delivery) {
    out.push_str("id: ");
    out.push_str(&event.cursor);
    out.push_str("\ndata: ");
    out.push_str(&event.json);
    out.push_str("\n\n");
}
