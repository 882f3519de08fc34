//! The ingest pipeline: handler → bounded queue → writers → `Store::append`.
//!
//! The queue is bounded in events, not requests: a request takes one permit per event
//! and gives them back once its batch is stored, so memory stays bounded however
//! clients batch. When permits run out, ingest answers 429 at once rather than buffer.
//!
//! Each writer takes every request waiting (up to `max_batch_events`) and stores them in
//! one transaction. While a writer is busy, the next batch builds up behind it, so under
//! load batches grow by themselves (group commit), and when idle a lone request is
//! written at once, with no timer to wait out.

mod writer;

use std::sync::Arc;

use logbook_store::{ItemOutcome, Store, StoreError, WriteItem};
use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot},
    task::JoinHandle,
};

use crate::IngestConfig;

/// Why a submission was not stored.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the ingest queue is full")]
    QueueFull,
    #[error("the server is shutting down")]
    Closed,
    #[error(transparent)]
    Store(Arc<StoreError>),
}

struct Job {
    item: WriteItem,
    reply: oneshot::Sender<Result<ItemOutcome, Arc<StoreError>>>,
    /// Held until the job's batch is stored, then returned to the queue.
    permit: OwnedSemaphorePermit,
}

/// The handle requests submit to; cheap to clone.
#[derive(Clone)]
pub struct Ingestor {
    queue: mpsc::UnboundedSender<Job>,
    permits: Arc<Semaphore>,
}

impl Ingestor {
    /// Starts the writers. They stop once every `Ingestor` clone is dropped and the
    /// queue is drained.
    pub fn start(store: Arc<dyn Store>, config: &IngestConfig) -> (Self, Vec<JoinHandle<()>>) {
        let (queue, receiver) = mpsc::unbounded_channel();
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        let writers = config.writers.unwrap_or(match store.backend() {
            "postgres" => 2,
            _ => 1,
        });
        let handles = (0..writers.max(1))
            .map(|_| {
                tokio::spawn(writer::run(
                    receiver.clone(),
                    store.clone(),
                    config.max_batch_events,
                ))
            })
            .collect();
        let permits = Arc::new(Semaphore::new(config.queue_events));
        (Self { queue, permits }, handles)
    }

    /// Queues one request's events and waits until they are durably stored.
    pub async fn submit(&self, item: WriteItem) -> Result<ItemOutcome, SubmitError> {
        let n = u32::try_from(item.events.len().max(1)).map_err(|_| SubmitError::QueueFull)?;
        let permit = self
            .permits
            .clone()
            .try_acquire_many_owned(n)
            .map_err(|_| SubmitError::QueueFull)?;
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job {
                item,
                reply,
                permit,
            })
            .map_err(|_| SubmitError::Closed)?;
        answer
            .await
            .map_err(|_| SubmitError::Closed)?
            .map_err(SubmitError::Store)
    }
}
