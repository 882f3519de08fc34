//! One writer: take what is queued, store it in one transaction, answer each request.

use std::sync::Arc;

use chrono::Utc;
use logbook_store::{ItemOutcome, Store, StoreError};
use tokio::sync::{Mutex, OwnedSemaphorePermit, mpsc, oneshot};

use super::Job;
use crate::config::IDEMPOTENCY_WINDOW;

pub async fn run(
    queue: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>,
    store: Arc<dyn Store>,
    max_batch_events: usize,
) {
    while let Some(jobs) = next_batch(&queue, max_batch_events).await {
        let (items, waiting): (Vec<_>, Vec<_>) = jobs
            .into_iter()
            .map(|job| (job.item, (job.reply, job.permit)))
            .unzip();
        let since = Utc::now() - IDEMPOTENCY_WINDOW;
        let items = Arc::new(items);
        match store.append(items.clone(), since).await {
            Ok(outcomes) => {
                for (outcome, (reply, _permit)) in outcomes.into_iter().zip(waiting) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            // Storage is down: every request of the batch gets the same answer (503).
            Err(error @ StoreError::Unavailable(_)) => answer_all(waiting, error),
            // Something in the batch was refused. Requests share a batch only to share a
            // commit, so one request's bad data must not fail the others: store each alone.
            Err(error) if items.len() > 1 => {
                tracing::warn!(%error, requests = items.len(), "an ingest batch failed; storing its requests one by one");
                let items = Arc::try_unwrap(items).unwrap_or_else(|shared| shared.as_ref().clone());
                for (item, (reply, _permit)) in items.into_iter().zip(waiting) {
                    let result = store.append(Arc::new(vec![item]), since).await;
                    let _ = reply.send(result.map(|mut outcomes| outcomes.remove(0)).map_err(
                        |error| {
                            tracing::warn!(%error, "an ingest request failed");
                            Arc::new(error)
                        },
                    ));
                }
            }
            Err(error) => {
                tracing::warn!(%error, "an ingest request failed");
                answer_all(waiting, error);
            }
        }
    }
}

type Waiting = (
    oneshot::Sender<Result<ItemOutcome, Arc<StoreError>>>,
    OwnedSemaphorePermit,
);

fn answer_all(waiting: Vec<Waiting>, error: StoreError) {
    let error = Arc::new(error);
    for (reply, _permit) in waiting {
        let _ = reply.send(Err(error.clone()));
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
