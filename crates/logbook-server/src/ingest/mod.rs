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

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

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
    /// More events than the whole queue holds: no wait would let them in.
    #[error("{0} events are more than the ingest queue holds at once")]
    TooMany(usize),
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
    capacity: usize,
    /// Writers still running; none left means nothing queued would ever be stored.
    writers: Arc<AtomicUsize>,
}

impl Ingestor {
    /// Starts the writers. They stop once every `Ingestor` clone is dropped and the
    /// queue is drained.
    pub fn start(
        store: Arc<dyn Store>,
        config: &IngestConfig,
        tail: crate::tail::TailHub,
    ) -> (Self, Vec<JoinHandle<()>>) {
        let (queue, receiver) = mpsc::unbounded_channel();
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        let writers = config.writers.unwrap_or(match store.backend() {
            "postgres" => 2,
            _ => 1,
        });
        let alive = Arc::new(AtomicUsize::new(writers.max(1)));
        let handles = (0..writers.max(1))
            .map(|_| {
                let alive = WriterAlive(alive.clone());
                let (receiver, store, tail) = (receiver.clone(), store.clone(), tail.clone());
                let max = config.max_batch_events;
                tokio::spawn(async move {
                    let _alive = alive;
                    writer::run(receiver, store, max, tail).await
                })
            })
            .collect();
        let ingestor = Self {
            queue,
            permits: Arc::new(Semaphore::new(config.queue_events)),
            capacity: config.queue_events,
            writers: alive,
        };
        (ingestor, handles)
    }

    /// Whether any writer is running (for `/ready`).
    pub fn is_writing(&self) -> bool {
        self.writers.load(Ordering::Acquire) > 0
    }

    /// Queues one request's events and waits until they are durably stored.
    pub async fn submit(&self, item: WriteItem) -> Result<ItemOutcome, SubmitError> {
        let n = item.len().max(1);
        if n > self.capacity {
            return Err(SubmitError::TooMany(n));
        }
        if !self.is_writing() {
            return Err(SubmitError::Closed);
        }
        let n = u32::try_from(n).map_err(|_| SubmitError::TooMany(n))?;
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

/// Counts a writer out when its task ends, however it ends (a panic included).
struct WriterAlive(Arc<AtomicUsize>);

impl Drop for WriterAlive {
    fn drop(&mut self) {
        let last = self.0.fetch_sub(1, Ordering::AcqRel) == 1;
        // A writer also ends when the server stops and its queue is drained; only a
        // writer that died is news.
        if std::thread::panicking() {
            tracing::error!(last, "an ingest writer died");
            if last {
                tracing::error!(
                    "every ingest writer has died: ingest answers 503 and /ready fails"
                );
            }
        }
    }
}

impl From<SubmitError> for crate::ApiError {
    fn from(error: SubmitError) -> Self {
        match error {
            SubmitError::QueueFull => Self::QueueFull(1),
            SubmitError::TooMany(_) => Self::TooLarge(error.to_string()),
            SubmitError::Closed => Self::Unavailable,
            SubmitError::Store(error) => match error.as_ref() {
                StoreError::Unavailable(_) => Self::Unavailable,
                _ => Self::Internal,
            },
        }
    }
}
