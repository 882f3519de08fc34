//! The background task: gathers events into batches, sends them, retries, spools.

use std::{
    io::Write,
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use bytes::Bytes;
use tokio::{
    sync::{mpsc, oneshot},
    time::Instant,
};

use crate::{
    Event,
    client::{Counters, Settings},
    spool::Spool,
    transport::{Outcome, Transport},
};

pub enum Command {
    Record(Event),
    Flush(oneshot::Sender<()>),
}

/// Quick retries before a batch goes to the spool; the spool then retries slowly.
const ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub struct Worker {
    pub settings: Settings,
    pub transport: Transport,
    pub spool: Spool,
    pub counters: Arc<Counters>,
}

impl Worker {
    pub async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut batch: Vec<Event> = Vec::new();
        let mut batch_deadline: Option<Instant> = None;
        let mut replay_at = Instant::now();
        let mut replay_backoff = FIRST_BACKOFF;
        loop {
            let wake = match (batch_deadline, self.spool.is_empty()) {
                (Some(deadline), true) => Some(deadline),
                (Some(deadline), false) => Some(deadline.min(replay_at)),
                (None, false) => Some(replay_at),
                (None, true) => None,
            };
            let command = tokio::select! {
                command = commands.recv() => command,
                _ = sleep_until(wake) => {
                    if batch_deadline.is_some_and(|d| d <= Instant::now()) {
                        self.send(std::mem::take(&mut batch)).await;
                        batch_deadline = None;
                    }
                    if !self.spool.is_empty() && replay_at <= Instant::now() {
                        if self.replay().await {
                            replay_backoff = FIRST_BACKOFF;
                        } else {
                            replay_backoff = (replay_backoff * 2).min(MAX_BACKOFF);
                        }
                        replay_at = Instant::now() + jitter(replay_backoff);
                    }
                    continue;
                }
            };
            match command {
                Some(Command::Record(event)) => {
                    batch.push(event);
                    batch_deadline.get_or_insert_with(|| Instant::now() + self.settings.max_age);
                    if batch.len() >= self.settings.batch_size {
                        self.send(std::mem::take(&mut batch)).await;
                        batch_deadline = None;
                    }
                }
                Some(Command::Flush(done)) => {
                    self.send(std::mem::take(&mut batch)).await;
                    batch_deadline = None;
                    self.replay().await;
                    let _ = done.send(());
                }
                None => {
                    // The client is gone: deliver what is left, or keep it in the spool.
                    self.send(std::mem::take(&mut batch)).await;
                    self.replay().await;
                    return;
                }
            }
        }
    }

    /// Sends a batch, unless older batches wait in the spool: then it queues behind them,
    /// so events arrive in the order they were recorded.
    async fn send(&mut self, batch: Vec<Event>) {
        if batch.is_empty() {
            return;
        }
        let events = batch.len();
        let body = gzip_ndjson(&batch);
        let key = uuid::Uuid::new_v4().to_string();
        if self.spool.is_empty() && self.deliver(&body, &key, events).await {
            return;
        }
        self.keep(&key, &body, events);
    }

    /// Tries a few times; true once the server took the batch (or refused it for good).
    async fn deliver(&self, body: &Bytes, key: &str, events: usize) -> bool {
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=ATTEMPTS {
            match self
                .transport
                .post("/api/v1/events", body.clone(), key)
                .await
            {
                Outcome::Delivered => {
                    self.counters
                        .sent
                        .fetch_add(events as u64, Ordering::Relaxed);
                    return true;
                }
                Outcome::Refused(reason) => {
                    tracing::warn!(%reason, events, "Logbook refused a batch");
                    self.counters
                        .dropped
                        .fetch_add(events as u64, Ordering::Relaxed);
                    return true;
                }
                Outcome::Retry(after) if attempt < ATTEMPTS => {
                    self.counters
                        .retried
                        .fetch_add(events as u64, Ordering::Relaxed);
                    tokio::time::sleep(after.unwrap_or_else(|| jitter(backoff)).min(MAX_BACKOFF))
                        .await;
                    backoff *= 2;
                }
                Outcome::Retry(_) => {}
            }
        }
        false
    }

    fn keep(&mut self, key: &str, body: &[u8], events: usize) {
        if self.spool.push(key, body, events) {
            self.counters
                .spooled
                .fetch_add(events as u64, Ordering::Relaxed);
        } else {
            tracing::warn!(
                events,
                "Logbook is unreachable and the spool is full: events dropped"
            );
            self.counters
                .dropped
                .fetch_add(events as u64, Ordering::Relaxed);
        }
    }

    /// Sends spooled batches, oldest first, while the server takes them. True when the
    /// spool is empty afterwards.
    async fn replay(&mut self) -> bool {
        while let Some(batch) = self.spool.oldest() {
            let body = Bytes::from(batch.body);
            match self
                .transport
                .post("/api/v1/events", body, &batch.key)
                .await
            {
                Outcome::Delivered => {
                    self.counters
                        .sent
                        .fetch_add(batch.events as u64, Ordering::Relaxed);
                    self.spool.remove_oldest();
                }
                Outcome::Refused(reason) => {
                    tracing::warn!(%reason, "Logbook refused a spooled batch; it is dropped");
                    self.counters
                        .dropped
                        .fetch_add(batch.events as u64, Ordering::Relaxed);
                    self.spool.remove_oldest();
                }
                Outcome::Retry(_) => {
                    self.counters
                        .retried
                        .fetch_add(batch.events as u64, Ordering::Relaxed);
                    return false;
                }
            }
        }
        true
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// "Full jitter": a random wait between half and all of `backoff`, so many clients
/// coming back at once do not retry in step.
fn jitter(backoff: Duration) -> Duration {
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    backoff / 2 + backoff.mul_f64(f64::from(byte[0]) / 510.0)
}

fn gzip_ndjson(batch: &[Event]) -> Bytes {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for event in batch {
        let _ = writeln!(encoder, "{}", event.to_json());
    }
    Bytes::from(encoder.finish().expect("gzip into memory"))
}
