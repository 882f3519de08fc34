//! The handle applications hold.

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::sync::{mpsc, oneshot};

use crate::{
    Event,
    spool::Spool,
    transport::Transport,
    worker::{Command, Worker},
};

/// How many events went where; all monotonic.
#[derive(Debug, Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub retried: AtomicU64,
    pub spooled: AtomicU64,
    pub dropped: AtomicU64,
}

impl Counters {
    /// (sent, retried, spooled, dropped)
    pub fn snapshot(&self) -> (u64, u64, u64, u64) {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        (
            get(&self.sent),
            get(&self.retried),
            get(&self.spooled),
            get(&self.dropped),
        )
    }
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub batch_size: usize,
    pub max_age: Duration,
    pub queue_capacity: usize,
    pub spool_dir: Option<PathBuf>,
    pub spool_max_bytes: u64,
}

pub struct ClientBuilder {
    url: String,
    key: String,
    settings: Settings,
}

impl ClientBuilder {
    /// Events per batch (default 500).
    pub fn batch_size(mut self, n: usize) -> Self {
        self.settings.batch_size = n.clamp(1, 10_000);
        self
    }

    /// The longest an event waits for its batch to fill (default 1 s).
    pub fn max_age(mut self, age: Duration) -> Self {
        self.settings.max_age = age;
        self
    }

    /// Events held in memory (default 100,000); past it, `record` drops and counts.
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.settings.queue_capacity = n.max(1);
        self
    }

    /// Where batches wait while Logbook is unreachable (default: nowhere — they are
    /// retried a few times, then dropped and counted).
    pub fn spool_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.settings.spool_dir = Some(dir.into());
        self
    }

    /// The spool's size bound (default 100 MiB).
    pub fn spool_max_bytes(mut self, bytes: u64) -> Self {
        self.settings.spool_max_bytes = bytes;
        self
    }

    /// Starts the background task on the current tokio runtime.
    pub fn build(self) -> Client {
        let (commands, receiver) = mpsc::channel(self.settings.queue_capacity);
        let counters = Arc::new(Counters::default());
        let transport = Transport::new(&self.url, &self.key);
        let spool = Spool::open(
            self.settings.spool_dir.as_deref(),
            self.settings.spool_max_bytes,
        );
        let worker = Worker {
            settings: self.settings,
            transport: transport.clone(),
            spool,
            counters: counters.clone(),
        };
        let task = tokio::spawn(worker.run(receiver));
        Client {
            inner: Arc::new(Inner {
                commands: Some(commands),
                counters,
                transport,
                task: std::sync::Mutex::new(Some(task)),
            }),
        }
    }
}

/// A cheap-to-clone handle. Dropping the last clone sends what is queued (or spools it)
/// in the background; [`Client::shutdown`] waits for that.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    commands: Option<mpsc::Sender<Command>>,
    counters: Arc<Counters>,
    pub(crate) transport: Transport,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Client {
    pub fn builder(url: &str, key: &str) -> ClientBuilder {
        ClientBuilder {
            url: url.to_owned(),
            key: key.to_owned(),
            settings: Settings {
                batch_size: 500,
                max_age: Duration::from_secs(1),
                queue_capacity: 100_000,
                spool_dir: None,
                spool_max_bytes: 100 * 1024 * 1024,
            },
        }
    }

    /// Queues an event; never waits. When the queue is full the event is dropped and
    /// counted.
    pub fn record(&self, event: Event) {
        let Some(commands) = &self.inner.commands else {
            return;
        };
        if commands.try_send(Command::Record(event)).is_err() {
            self.inner.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Waits until everything recorded so far was sent — or spooled, if Logbook is away.
    pub async fn flush(&self) {
        let Some(commands) = &self.inner.commands else {
            return;
        };
        let (done, finished) = oneshot::channel();
        if commands.send(Command::Flush(done)).await.is_ok() {
            let _ = finished.await;
        }
    }

    /// Flushes; when this is the last handle, also stops the background task and waits
    /// for it.
    pub async fn shutdown(self) {
        self.flush().await;
        if Arc::strong_count(&self.inner) == 1 {
            let task = self.inner.task.lock().expect("task lock").take();
            drop(self);
            if let Some(task) = task {
                let _ = task.await;
            }
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.inner.counters
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }
}
