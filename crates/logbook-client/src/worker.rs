//! The collector: gathers recorded events into batches (by count and age) and hands each
//! to delivery. It never waits on the network, so recording goes on at full speed while
//! the server is slow or away.

use std::{sync::Arc, time::Duration};

use tokio::{
    sync::{mpsc, oneshot},
    time::Instant,
};

use crate::{Event, batch::Batch, delivery::Shared};

pub enum Command {
    Record(Event),
    Flush(oneshot::Sender<()>),
}

pub struct Collector {
    pub batch_size: usize,
    pub max_age: Duration,
    /// How long delivery goes on once the client is dropped.
    pub grace: Duration,
    pub shared: Arc<Shared>,
}

impl Collector {
    pub async fn run(self, mut commands: mpsc::Receiver<Command>) {
        let mut batch: Vec<Event> = Vec::new();
        let mut deadline: Option<Instant> = None;
        // Checked four times per max_age: a batch moves to the spool between one and one
        // and a quarter max_age after it was made, never before (the crash window).
        let mut stale_check = tokio::time::interval(self.max_age / 4);
        stale_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let command = tokio::select! {
                command = commands.recv() => command,
                _ = sleep_until(deadline) => {
                    self.hand_over(&mut batch).await;
                    deadline = None;
                    continue;
                }
                _ = stale_check.tick() => {
                    let (shared, max_wait) = (self.shared.clone(), self.max_age);
                    let _ = tokio::task::spawn_blocking(move || shared.spool_stale(max_wait)).await;
                    continue;
                }
            };
            match command {
                Some(Command::Record(event)) => {
                    batch.push(event);
                    deadline.get_or_insert_with(|| Instant::now() + self.max_age);
                    if batch.len() >= self.batch_size {
                        self.hand_over(&mut batch).await;
                        deadline = None;
                    }
                }
                Some(Command::Flush(done)) => {
                    self.hand_over(&mut batch).await;
                    deadline = None;
                    self.shared.when_settled(done);
                }
                None => {
                    // The client is gone: what is left is delivered, or kept in the spool.
                    self.hand_over(&mut batch).await;
                    self.shared.close(self.grace);
                    return;
                }
            }
        }
    }

    /// Compresses the batch and adds it to delivery, on a blocking thread: compressing
    /// and spooling are work the application's tasks should not wait behind.
    async fn hand_over(&self, batch: &mut Vec<Event>) {
        if batch.is_empty() {
            return;
        }
        let events = std::mem::take(batch);
        let shared = self.shared.clone();
        let _ = tokio::task::spawn_blocking(move || {
            shared.add(Batch::of(shared.next_seq(), &events));
        })
        .await;
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
