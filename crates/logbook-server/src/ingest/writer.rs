//! One writer: take what is queued, store it in one transaction, answer each request.

use std::sync::Arc;

use chrono::Utc;
use logbook_store::{ItemOutcome, Store, StoreError, WriteItem};
use tokio::sync::{Mutex, mpsc};

use super::Job;
use crate::config::IDEMPOTENCY_WINDOW;
use crate::tail::TailHub;

pub async fn run(
    queue: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>,
    store: Arc<dyn Store>,
    max_batch_events: usize,
    tail: TailHub,
) {
    while let Some(jobs) = next_batch(&queue, max_batch_events).await {
        let mut items = Vec::with_capacity(jobs.len());
        let mut replies = Vec::with_capacity(jobs.len());
        let mut permits = Vec::with_capacity(jobs.len());
        for job in jobs {
            items.push(job.item);
            replies.push(job.reply);
            permits.push(job.permit);
        }
        let results = store_batch(store.as_ref(), items, &tail).await;
        // The queue's room comes back before anyone hears their answer, so a client
        // that sends again as soon as it is answered finds the room there.
        drop(permits);
        for (reply, result) in replies.into_iter().zip(results) {
            let _ = reply.send(result);
        }
    }
}

type Answer = Result<ItemOutcome, Arc<StoreError>>;

/// Stores the requests of a batch in one transaction: an answer for each, in order.
/// What was stored is handed to the live tail once committed.
async fn store_batch(store: &dyn Store, items: Vec<WriteItem>, tail: &TailHub) -> Vec<Answer> {
    let since = Utc::now() - IDEMPOTENCY_WINDOW;
    let requests = items.len();
    let items = Arc::new(items);
    match store.append(items.clone(), since).await {
        Ok(outcomes) => {
            tail.committed(&items, &outcomes);
            outcomes.into_iter().map(Ok).collect()
        }
        // Storage is down: every request of the batch gets the same answer (503).
        Err(error @ StoreError::Unavailable(_)) => vec![Err(Arc::new(error)); requests],
        // Something in the batch was refused. Requests share a batch only to share a
        // commit, so one request's bad data must not fail the others: store each alone.
        Err(error) if requests > 1 => {
            tracing::warn!(%error, requests, "an ingest batch failed; storing its requests one by one");
            let items = Arc::try_unwrap(items).unwrap_or_else(|shared| shared.as_ref().clone());
            let mut answers = Vec::with_capacity(requests);
            for item in items {
                let item = Arc::new(vec![item]);
                let result = store.append(item.clone(), since).await;
                if let Ok(outcomes) = &result {
                    tail.committed(&item, outcomes);
                }
                answers.push(
                    result
                        .map(|mut outcomes| outcomes.remove(0))
                        .map_err(|error| {
                            tracing::warn!(%error, "an ingest request failed");
                            Arc::new(error)
                        }),
                );
            }
            answers
        }
        Err(error) => {
            tracing::warn!(%error, "an ingest request failed");
            vec![Err(Arc::new(error))]
        }
    }
}

/// Waits for one job, then takes whatever else is queued, up to `max_events`.
/// `None` once the queue is closed and empty.
async fn next_batch(
    queue: &Mutex<mpsc::UnboundedReceiver<Job>>,
    max_events: usize,
) -> Option<Vec<Job>> {
    let mut queue = queue.lock().await;
    let first = queue.recv().await?;
    let mut events = first.item.events.len();
    let mut jobs = vec![first];
    while events < max_events {
        match queue.try_recv() {
            Ok(job) => {
                events += job.item.events.len();
                jobs.push(job);
            }
            Err(_) => break,
        }
    }
    Some(jobs)
}
