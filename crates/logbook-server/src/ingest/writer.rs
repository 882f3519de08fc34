//! One writer: take what is queued, store it in one transaction, answer each request.

use std::sync::Arc;

use chrono::Utc;
use logbook_store::Store;
use tokio::sync::{Mutex, mpsc};

use super::Job;
use crate::routes::ingest_events::IDEMPOTENCY_WINDOW;

pub async fn run(
    queue: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>,
    store: Arc<dyn Store>,
    max_batch_events: usize,
) {
    while let Some(jobs) = next_batch(&queue, max_batch_events).await {
        let (items, rest): (Vec<_>, Vec<_>) = jobs
            .into_iter()
            .map(|job| (job.item, (job.reply, job.permit)))
            .unzip();
        let since = Utc::now() - IDEMPOTENCY_WINDOW;
        match store.append(items, since).await {
            Ok(outcomes) => {
                for (outcome, (reply, _permit)) in outcomes.into_iter().zip(rest) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(error) => {
                tracing::warn!(%error, "an ingest batch failed");
                let error = Arc::new(error);
                for (reply, _permit) in rest {
                    let _ = reply.send(Err(error.clone()));
                }
            }
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
