//! Other servers' commits, for the tail: each note names a tenant and the span of
//! `created_at` a commit wrote; when someone here tails that tenant, the span is read back
//! and handed to the hub, which delivers each event once however often spans overlap.

use std::sync::Arc;

use chrono::Duration;
use logbook_model::{EventFilter, EventQuery, Order};
use logbook_store::{CommitNote, Store};
use tokio::sync::mpsc;

use super::{Committed, TailHub};

/// Events read back per note at most; a larger commit is read a page at a time.
const PAGE: u32 = 1000;
const MOST_PAGES: usize = 100;

/// Reads back the commits of other servers until `stop` (or the store's notes end).
pub async fn follow(
    store: Arc<dyn Store>,
    hub: TailHub,
    mut notes: mpsc::Receiver<CommitNote>,
    stop: tokio_util::sync::CancellationToken,
) {
    loop {
        let note = tokio::select! {
            _ = stop.cancelled() => return,
            note = notes.recv() => note,
        };
        let Some(note) = note else { return };
        if !hub.wants(note.tenant) {
            continue;
        }
        let mut query = EventQuery {
            filter: EventFilter {
                from: Some(note.first),
                to: Some(note.last + Duration::microseconds(1)),
                ..EventFilter::default()
            },
            order: Order::Asc,
            limit: PAGE,
            cursor: None,
            skip: 0,
        };
        for _ in 0..MOST_PAGES {
            let page = match store.list_events(note.tenant, &query).await {
                Ok(page) => page,
                Err(error) => {
                    tracing::warn!(%error, "reading back another server's commit for the tail failed");
                    break;
                }
            };
            let next = page.items.last().map(logbook_model::Cursor::after);
            let full = page.items.len() as u32 == PAGE;
            hub.publish(Committed::read_back(note.tenant, page.items));
            match next {
                Some(cursor) if full => query.cursor = Some(cursor),
                _ => break,
            }
        }
    }
}
