//! Delivery, apart from the collector that makes batches, so a slow or silent server never
//! holds up recording: batches wait in a memory outbox bounded in bytes; when the outbox
//! is full, or a delivery fails, batches go to the on-disk spool instead (in order: the
//! outbox holds only batches older than everything spooled). The sender takes the oldest
//! batch, outbox first, then the spool, and sends it:
//!
//! - stored → counted as sent, less the events the answer names as rejected;
//! - 429, 408, 5xx, no whole answer in time → the outbox goes to the spool, and the sender
//!   waits the server's `Retry-After` (up to [`LONGEST_WAIT`]) or its own backoff with
//!   jitter, whichever is longer;
//! - 413 → sent again in halves (a single event too large is counted as rejected);
//! - 401 or 403 → kept, like a failure, until a key works; counted as unauthorized;
//! - another 4xx → counted as rejected.
//!
//! A batch that can be kept nowhere (the outbox full or the spool in use, and the spool
//! unable to take it) is dropped and counted; after [`ATTEMPTS`] failures in a row, so is
//! what the spool could not take from the outbox.
//!
//! Disk work (spooling, reading the spool back) runs on tokio's blocking threads, so a
//! slow disk never stalls the application's own tasks.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, MutexGuard, atomic::Ordering},
    time::Duration,
};

use tokio::{
    sync::{Notify, oneshot, watch},
    time::Instant,
};

use crate::{
    Counters,
    batch::Batch,
    spool::{Spool, SpoolError},
    transport::{Outcome, Transport},
};

/// Failures in a row after which what the spool cannot take from the outbox is dropped.
pub const ATTEMPTS: u32 = 3;
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The longest `Retry-After` obeyed: a server asking for a day is asked again sooner.
pub const LONGEST_WAIT: Duration = Duration::from_secs(5 * 60);

/// What is made but not yet delivered, and where the sender stands.
pub struct Pending {
    outbox: VecDeque<Batch>,
    max_outbox_bytes: usize,
    spool: Spool,
    /// The last batch made.
    made: u64,
    /// Failed attempts in a row; while above zero the server counts as away.
    failures: u32,
    backoff: Duration,
    /// No attempt before this.
    quiet_until: Option<Instant>,
    /// Set by [`Shared::close`]: past it, what is left is spooled rather than sent.
    closing_by: Option<Instant>,
    /// Flushes waiting for every batch up to theirs to be delivered or spooled.
    waiters: Vec<(u64, oneshot::Sender<()>)>,
    counters: Arc<Counters>,
}

pub struct Shared {
    pending: Mutex<Pending>,
    /// A batch was added, a flush is waiting, or the client is closing.
    work: Notify,
    /// When a closing client stops delivering, for the exchange under way to race.
    closing: watch::Sender<Option<Instant>>,
}

impl Shared {
    pub fn new(spool: Spool, max_outbox_bytes: usize, counters: Arc<Counters>) -> Self {
        Self {
            pending: Mutex::new(Pending {
                outbox: VecDeque::new(),
                max_outbox_bytes,
                spool,
                made: 0,
                failures: 0,
                backoff: FIRST_BACKOFF,
                quiet_until: None,
                closing_by: None,
                waiters: Vec::new(),
                counters,
            }),
            work: Notify::new(),
            closing: watch::Sender::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic elsewhere while holding the lock leaves nothing half-done that matters
        // more than going on delivering.
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The number the next batch gets.
    pub fn next_seq(&self) -> u64 {
        self.lock().made + 1
    }

    /// Adds a batch: to the outbox while it has room and nothing is spooled, else to the
    /// spool; dropped (and counted) only when neither can take it. May write to disk.
    pub fn add(&self, batch: Batch) {
        let mut pending = self.lock();
        pending.made = pending.made.max(batch.seq);
        let fits = pending.outbox.is_empty()
            || pending.outbox_bytes() + batch.body.len() <= pending.max_outbox_bytes;
        if pending.spool.is_empty() && fits {
            pending.outbox.push_back(batch);
        } else {
            pending.spool_back(&batch);
        }
        drop(pending);
        self.work.notify_one();
    }

    /// Moves the batches that have waited longer than `max_wait` behind the one being sent
    /// to the spool, so what a crash can lose stays small. May write to disk.
    pub fn spool_stale(&self, max_wait: Duration) {
        let mut pending = self.lock();
        let stale = |batch: &Batch| batch.made.elapsed() > max_wait;
        if !pending.spool.has_dir() || !pending.spool.is_empty() {
            return;
        }
        // Once the oldest waiting batch is stale, every one behind the batch being sent
        // goes, in order: the outbox must stay older than everything spooled.
        if pending.outbox.get(1).is_some_and(stale) {
            let waiting: Vec<Batch> = pending.outbox.drain(1..).collect();
            for batch in &waiting {
                pending.spool_back(batch);
            }
        }
    }

    /// `done` is answered once every batch made so far is delivered, spooled, rejected
    /// or dropped.
    pub fn when_settled(&self, done: oneshot::Sender<()>) {
        let mut pending = self.lock();
        let made = pending.made;
        pending.waiters.push((made, done));
        pending.answer_waiters();
        drop(pending);
        self.work.notify_one();
    }

    /// No more batches will come: the sender goes on delivering for at most `grace`,
    /// then keeps the rest in the spool (or drops and counts it, with none) and stops.
    pub fn close(&self, grace: Duration) {
        let by = Instant::now() + grace;
        self.lock().closing_by = Some(by);
        self.closing.send_replace(Some(by));
        self.work.notify_one();
    }

    /// Resolves once the client is closing and its time to deliver is up.
    async fn out_of_time(&self) {
        let mut closing = self.closing.subscribe();
        loop {
            let by = *closing.borrow_and_update();
            if let Some(by) = by {
                return tokio::time::sleep_until(by).await;
            }
            if closing.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }

    /// Runs `work` on the pending state on a blocking thread (it may touch the disk);
    /// `None` when the runtime is shutting down.
    async fn with_pending<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&mut Pending) -> T + Send + 'static,
    ) -> Option<T> {
        let shared = self.clone();
        tokio::task::spawn_blocking(move || work(&mut shared.lock()))
            .await
            .ok()
    }
}

/// What the sender does next.
enum Step {
    Send(Batch, bool),
    Wait(Option<Instant>),
    Stop,
}

impl Pending {
    /// The outbox holds at most a few hundred batches: summing is cheaper than keeping a
    /// count in step with every change.
    fn outbox_bytes(&self) -> usize {
        self.outbox.iter().map(|batch| batch.body.len()).sum()
    }

    /// The first batch not yet settled (delivered, rejected or dropped — or, while the
    /// server is away, kept for later); every batch before it is.
    fn first_unsettled(&self) -> u64 {
        if self.failures > 0 {
            return u64::MAX;
        }
        // The outbox holds the oldest batches, the spool the next; those an earlier run
        // left are numbered 0, before any of this run's.
        let oldest = self.outbox.front().map(|batch| batch.seq);
        oldest
            .or_else(|| self.spool.oldest_seq())
            .unwrap_or(self.made + 1)
    }

    fn answer_waiters(&mut self) {
        let first_unsettled = self.first_unsettled();
        let waiters = std::mem::take(&mut self.waiters);
        for (made, waiter) in waiters {
            if made < first_unsettled {
                let _ = waiter.send(());
            } else {
                self.waiters.push((made, waiter));
            }
        }
    }

    fn next_step(&mut self) -> Step {
        self.answer_waiters();
        let now = Instant::now();
        let closing = self.closing_by.is_some();
        let out_of_time = self.closing_by.is_some_and(|by| by <= now);
        let waiting = self.quiet_until.filter(|&at| at > now);
        let head = if self.outbox.is_empty() && self.spool.is_empty() {
            None
        } else if (closing && self.failures > 0) || out_of_time {
            // Closing while the server is away or slow: what is left stays in the spool.
            self.spool_outbox();
            self.drop_outbox("the client closed and there is no spool to keep them in");
            self.answer_waiters();
            return Step::Stop;
        } else if waiting.is_some() {
            None
        } else if let Some(batch) = self.outbox.front() {
            Some((batch.clone(), true))
        } else {
            self.spool.oldest().map(|batch| (batch, false))
        };
        match head {
            Some((batch, from_outbox)) => Step::Send(batch, from_outbox),
            None if closing && waiting.is_none() => Step::Stop,
            None => Step::Wait(waiting.or(self.closing_by)),
        }
    }

    /// What an attempt's outcome does to the batch at the head.
    fn settle(&mut self, batch: &Batch, from_outbox: bool, outcome: Outcome) {
        let counters = self.counters.clone();
        let count = |counter: &std::sync::atomic::AtomicU64, events: usize| {
            counter.fetch_add(events as u64, Ordering::Relaxed);
        };
        let retry_after = match outcome {
            Outcome::Delivered { rejected } => {
                let rejected = rejected.min(batch.events);
                count(&counters.sent, batch.events - rejected);
                count(&counters.rejected, rejected);
                if rejected > 0 {
                    tracing::warn!(
                        rejected,
                        events = batch.events,
                        "Logbook refused some events of a batch"
                    );
                }
                self.remove_head(from_outbox);
                self.failures = 0;
                self.backoff = FIRST_BACKOFF;
                self.quiet_until = None;
                return;
            }
            Outcome::TooLarge => {
                match batch.halves() {
                    Some(halves) => self.split_head(from_outbox, halves),
                    None => {
                        tracing::warn!("Logbook refused an event as too large");
                        count(&counters.rejected, batch.events);
                        self.remove_head(from_outbox);
                    }
                }
                return;
            }
            Outcome::Refused(reason) => {
                tracing::warn!(%reason, events = batch.events, "Logbook refused a batch");
                count(&counters.rejected, batch.events);
                self.remove_head(from_outbox);
                return;
            }
            Outcome::Unauthorized(reason) => {
                tracing::warn!(%reason, events = batch.events, "Logbook does not take this key now: the batch is kept");
                count(&counters.unauthorized, batch.events);
                None
            }
            Outcome::Retry(after) => {
                count(&counters.retried, batch.events);
                after
            }
        };
        // A failed attempt: keep the outbox on disk, and wait before the next.
        self.failures += 1;
        self.spool_outbox();
        if self.failures >= ATTEMPTS {
            self.drop_outbox("Logbook stayed unreachable and there is no spool to keep them in");
        }
        let asked = retry_after.unwrap_or_default().min(LONGEST_WAIT);
        let delay = jitter(self.backoff).max(asked);
        self.quiet_until = Some(Instant::now() + delay);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }

    fn spool_back(&mut self, batch: &Batch) {
        match self.spool.push_back(batch) {
            Ok(()) => {
                self.counters
                    .spooled
                    .fetch_add(batch.events as u64, Ordering::Relaxed);
            }
            Err(error) => self.drop_batch(batch, &error),
        }
    }

    fn drop_batch(&self, batch: &Batch, error: &SpoolError) {
        tracing::warn!(%error, events = batch.events, "Logbook cannot take these events now and they cannot be kept: dropped");
        self.counters
            .dropped
            .fetch_add(batch.events as u64, Ordering::Relaxed);
    }

    /// Moves the whole outbox to the head of the spool, oldest first; what the spool
    /// cannot take stays in the outbox.
    fn spool_outbox(&mut self) {
        while let Some(batch) = self.outbox.pop_back() {
            if self.spool.push_front(&batch).is_err() {
                self.outbox.push_back(batch);
                return;
            }
            self.counters
                .spooled
                .fetch_add(batch.events as u64, Ordering::Relaxed);
        }
    }

    fn drop_outbox(&mut self, why: &str) {
        let events: usize = self.outbox.iter().map(|batch| batch.events).sum();
        if events > 0 {
            tracing::warn!(events, "{why}: dropped");
            self.counters
                .dropped
                .fetch_add(events as u64, Ordering::Relaxed);
        }
        self.outbox.clear();
    }

    /// The batch at the head (from the outbox or the spool) is done with.
    fn remove_head(&mut self, from_outbox: bool) {
        if from_outbox {
            self.outbox.pop_front();
        } else {
            self.spool.remove_oldest();
        }
    }

    /// The head replaced by its two halves, in order.
    fn split_head(&mut self, from_outbox: bool, (first, second): (Batch, Batch)) {
        if from_outbox {
            self.outbox.pop_front();
            self.outbox.push_front(second);
            self.outbox.push_front(first);
            return;
        }
        for (half, error) in self.spool.split_oldest((first, second)) {
            self.drop_batch(&half, &error);
        }
    }
}

/// The sending loop; returns once closed and nothing more can be sent now.
pub async fn run(shared: Arc<Shared>, transport: Transport) {
    loop {
        let Some(step) = shared.with_pending(Pending::next_step).await else {
            return;
        };
        match step {
            Step::Stop => return,
            Step::Wait(until) => {
                let work = shared.work.notified();
                match until {
                    Some(at) => {
                        tokio::select! {
                            _ = tokio::time::sleep_until(at) => {}
                            _ = work => {}
                        }
                    }
                    None => work.await,
                }
            }
            Step::Send(batch, from_outbox) => {
                let exchange = transport.post(
                    "/api/v1/events",
                    batch.body.clone(),
                    &batch.key,
                    batch.events,
                );
                let outcome = tokio::select! {
                    outcome = exchange => outcome,
                    // Cut short by the close: the batch stays at the head, to be spooled
                    // under its key.
                    () = shared.out_of_time() => continue,
                };
                let settled = shared
                    .with_pending(move |pending| pending.settle(&batch, from_outbox, outcome))
                    .await;
                if settled.is_none() {
                    return;
                }
            }
        }
    }
}

/// "Full jitter": a random wait between half and all of `backoff`, so many clients
/// coming back at once do not retry in step.
fn jitter(backoff: Duration) -> Duration {
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    backoff / 2 + backoff.mul_f64(f64::from(byte[0]) / 510.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Event;

    fn batch(shared: &Shared) -> Batch {
        Batch::of(shared.next_seq(), &[Event::new("REQUEST")])
    }

    /// A flush waits for the batches made before it, not for those made after.
    #[test]
    fn a_flush_is_settled_by_the_batches_made_before_it() {
        let shared = Shared::new(
            Spool::open(None, 0, Arc::default()),
            1 << 20,
            Arc::default(),
        );
        shared.add(batch(&shared));
        let (done, mut settled) = oneshot::channel();
        shared.when_settled(done);
        shared.add(batch(&shared));
        assert!(
            settled.try_recv().is_err(),
            "its batch is still in the outbox"
        );
        let mut pending = shared.lock();
        pending.remove_head(true);
        pending.answer_waiters();
        drop(pending);
        assert_eq!(
            settled.try_recv(),
            Ok(()),
            "the later batch is not its business"
        );
    }
}
