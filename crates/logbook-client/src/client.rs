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
    delivery::{self, Shared},
    spool::Spool,
    transport::{EXCHANGE_TIMEOUT, Transport},
    worker::{Collector, Command},
};

/// How many events went where; all monotonic. An event is counted once in `sent`,
/// `rejected` or `dropped` when its fate is settled; `retried`, `spooled`,
/// `unauthorized` and `quarantined` count what happened to it on the way (an event
/// spooled and later sent is counted in both).
#[derive(Debug, Default)]
pub struct Counters {
    /// Stored by Logbook.
    pub sent: AtomicU64,
    /// Sent again after an attempt failed (per attempt).
    pub retried: AtomicU64,
    /// Written to the spool to wait for Logbook.
    pub spooled: AtomicU64,
    /// Lost on this side: no room in the queue, the outbox or the spool, or (with no
    /// spool) out of attempts.
    pub dropped: AtomicU64,
    /// Refused by Logbook for good: named in an answer's `rejected` list, in a batch
    /// answered with a 4xx other than 401, 403 and 413, or a single event too large.
    pub rejected: AtomicU64,
    /// Answered 401 or 403, and kept for a key that works (per attempt).
    pub unauthorized: AtomicU64,
    /// In spooled files that could not be read back, set aside in `quarantine/`.
    pub quarantined: AtomicU64,
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
    pub outbox_max_bytes: usize,
    pub spool_dir: Option<PathBuf>,
    pub spool_max_bytes: u64,
    pub timeout: Duration,
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

    /// The longest an event waits for its batch to fill (default 1 s; at least 4 ms).
    pub fn max_age(mut self, age: Duration) -> Self {
        self.settings.max_age = age.max(Duration::from_millis(4));
        self
    }

    /// Events recorded but not yet batched (default 100,000); past it, `record` drops
    /// and counts.
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.settings.queue_capacity = n.max(1);
        self
    }

    /// The compressed batches held in memory while they wait for Logbook (default 16 MiB);
    /// past it they go to the spool or, with none, are dropped and counted.
    pub fn outbox_max_bytes(mut self, bytes: usize) -> Self {
        self.settings.outbox_max_bytes = bytes;
        self
    }

    /// The longest one exchange with Logbook may take, answer included (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
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

    /// Starts the background tasks on the current tokio runtime.
    pub fn build(self) -> Client {
        let settings = self.settings;
        let (commands, receiver) = mpsc::channel(settings.queue_capacity);
        let counters = Arc::new(Counters::default());
        let transport = Transport::new(&self.url, &self.key, settings.timeout);
        let spool = Spool::open(
            settings.spool_dir.as_deref(),
            settings.spool_max_bytes,
            counters.clone(),
        );
        let shared = Arc::new(Shared::new(
            spool,
            settings.outbox_max_bytes,
            counters.clone(),
        ));
        let sender = tokio::spawn(delivery::run(shared.clone(), transport.clone()));
        let collector = Collector {
            batch_size: settings.batch_size,
            max_age: settings.max_age,
            grace: settings.timeout,
            shared,
        };
        let task = tokio::spawn(async move {
            collector.run(receiver).await;
            let _ = sender.await;
        });
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
                outbox_max_bytes: 16 * 1024 * 1024,
                spool_dir: None,
                spool_max_bytes: 100 * 1024 * 1024,
                timeout: EXCHANGE_TIMEOUT,
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

    /// When this is the last handle: batches what is queued, delivers for at most the
    /// exchange `timeout` more, keeps the rest in the spool, and stops the background
    /// tasks. Otherwise, the same as [`Client::flush`].
    pub async fn shutdown(self) {
        if Arc::strong_count(&self.inner) > 1 {
            return self.flush().await;
        }
        let task = self.inner.task.lock().expect("task lock").take();
        drop(self);
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// The counters, shared: they stay readable after [`Client::shutdown`].
    pub fn counters(&self) -> Arc<Counters> {
        self.inner.counters.clone()
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{delivery, transport};

    /// A zero max_age would make the collector's timer panic and stop delivery.
    #[test]
    fn max_age_has_a_floor() {
        let settings = Client::builder("http://127.0.0.1:1", "lbk_x")
            .max_age(Duration::ZERO)
            .settings;
        assert_eq!(settings.max_age, Duration::from_millis(4));
    }

    /// The contract in the README names the defaults; they must be the code's.
    #[test]
    fn the_readme_states_the_defaults_the_code_has() {
        let readme = include_str!("../README.md")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let settings = Client::builder("http://127.0.0.1:1", "lbk_x").settings;
        let mib = |bytes: u64| bytes / (1024 * 1024);
        let stated = [
            format!(
                "({} events, or whatever has waited {} s",
                settings.batch_size,
                settings.max_age.as_secs()
            ),
            format!(
                "at most `queue_capacity` events (default {},{:03})",
                settings.queue_capacity / 1000,
                settings.queue_capacity % 1000
            ),
            format!("(default {} MiB)", mib(settings.outbox_max_bytes as u64)),
            format!(
                "`spool_max_bytes` (default {} MiB)",
                mib(settings.spool_max_bytes)
            ),
            format!(
                "within `timeout` (default {} s,",
                settings.timeout.as_secs()
            ),
            format!(
                "backoff ({} ms doubling to {} s,",
                delivery::FIRST_BACKOFF.as_millis(),
                delivery::MAX_BACKOFF.as_secs()
            ),
            format!("After {} failures in a row", delivery::ATTEMPTS),
            format!("the first {} KiB are kept", transport::BODY_LIMIT / 1024),
            format!(
                "`Retry-After` (obeyed up to {} minutes)",
                delivery::LONGEST_WAIT.as_secs() / 60
            ),
        ];
        for words in stated {
            assert!(readme.contains(&words), "the README does not say: {words}");
        }
    }
}
