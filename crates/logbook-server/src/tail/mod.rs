//! The live tail's hub: events reach subscribers after they commit, filtered as `/logs`
//! filters. Ingest never waits on a subscriber. This server's writers hand each committed
//! batch to the hub with one non-blocking send (nothing at all while nobody
//! subscribes); one fan-out task filters it into each subscriber's bounded queue. Batches
//! other servers commit to the same PostgreSQL are announced by `NOTIFY` and read back
//! (see [`remote`]). Whatever does not fit — the hub's queue, a subscriber's, or its pace
//! of [`EVENTS_PER_SECOND`] — is counted, and the subscriber is told how many events it
//! missed.

pub mod remote;

use std::{
    collections::{HashSet, VecDeque},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
};

use logbook_model::{Event, EventFilter, TenantId};
use logbook_store::{ItemOutcome, WriteItem};
use tokio::sync::mpsc;

use crate::encryption::FieldCipher;

/// Committed batches waiting for the fan-out task.
const FEED: usize = 256;
/// Events waiting for one subscriber to take them.
pub const PER_SUBSCRIBER: usize = 1000;
/// Ids remembered per tenant to deliver an event read back twice only once.
const REMEMBERED: usize = 100_000;

/// A committed batch as the writer stored it, and which of its items were stored (a
/// retried request is not).
pub struct Committed {
    items: Arc<Vec<WriteItem>>,
    stored: Vec<bool>,
}

impl Committed {
    /// Events read back from the store, all stored.
    pub fn read_back(tenant: TenantId, events: Vec<Event>) -> Self {
        Self {
            items: Arc::new(vec![WriteItem::events(tenant, events)]),
            stored: vec![true],
        }
    }

    fn events(&self) -> impl Iterator<Item = (TenantId, &Event)> {
        self.items
            .iter()
            .zip(&self.stored)
            .filter(|(_, stored)| **stored)
            .flat_map(|(item, _)| item.events.iter().map(|e| (item.tenant, e)))
    }

    fn count(&self, tenant: TenantId) -> u64 {
        self.events().filter(|(t, _)| *t == tenant).count() as u64
    }
}

/// An event as every subscriber is sent it: serialized once (its encrypted fields
/// opened), whoever many subscribe.
pub struct Delivery {
    pub id: uuid::Uuid,
    /// The `/logs` cursor after the event.
    pub cursor: String,
    pub json: String,
}

impl Delivery {
    pub fn of(event: &Event, cipher: Option<&FieldCipher>) -> Self {
        let opened;
        let event = match cipher {
            Some(cipher) => {
                let mut copy = event.clone();
                cipher.open_event(&mut copy);
                opened = copy;
                &opened
            }
            None => event,
        };
        Self {
            id: event.id,
            cursor: logbook_model::Cursor::after(event).to_string(),
            json: serde_json::to_string(event).unwrap_or_default(),
        }
    }
}

struct Subscriber {
    tenant: TenantId,
    filter: EventFilter,
    queue: mpsc::Sender<Arc<Delivery>>,
    missed: Arc<AtomicU64>,
    pace: Pace,
}

/// Events a tail is sent per second at most, and in a burst. A tail is for watching:
/// past this it is told how many it missed (and `/logs/export` is there for everything),
/// so twenty tails of a busy tenant cost ingest little.
pub const EVENTS_PER_SECOND: f64 = 1000.0;
pub const BURST: f64 = 5000.0;

/// A token bucket: room for [`BURST`] events, refilled at [`EVENTS_PER_SECOND`].
struct Pace {
    tokens: f64,
    at: std::time::Instant,
}

impl Pace {
    fn new() -> Self {
        Self {
            tokens: BURST,
            at: std::time::Instant::now(),
        }
    }

    /// Whether one more event may go now; takes its token if so.
    fn take(&mut self, now: std::time::Instant) -> bool {
        let refill = now.duration_since(self.at).as_secs_f64() * EVENTS_PER_SECOND;
        self.tokens = (self.tokens + refill).min(BURST);
        self.at = now;
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

#[derive(Default)]
struct Subscribers {
    list: Vec<Subscriber>,
    /// Recently delivered ids per tenant (remote read-backs can overlap).
    seen: std::collections::HashMap<TenantId, Seen>,
}

#[derive(Default)]
struct Seen {
    ids: HashSet<uuid::Uuid>,
    order: VecDeque<uuid::Uuid>,
}

impl Seen {
    /// Whether the id is new; remembers it.
    fn first(&mut self, id: uuid::Uuid) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > REMEMBERED
            && let Some(old) = self.order.pop_front()
        {
            self.ids.remove(&old);
        }
        true
    }
}

/// Cheap to clone; one per server.
#[derive(Clone)]
pub struct TailHub {
    inner: Arc<Inner>,
}

struct Inner {
    count: AtomicUsize,
    cipher: Option<Arc<FieldCipher>>,
    subscribers: Mutex<Subscribers>,
    feed: mpsc::Sender<Arc<Committed>>,
}

/// One subscription: its events, and how many it missed since last asked.
pub struct Subscription {
    pub events: mpsc::Receiver<Arc<Delivery>>,
    pub missed: Arc<AtomicU64>,
    hub: TailHub,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.inner.count.fetch_sub(1, Ordering::AcqRel);
    }
}

impl TailHub {
    /// The hub and its fan-out task, which ends when every hub clone is dropped. Events
    /// are sent with the fields `cipher` sealed opened, as `/logs` sends them.
    pub fn start(cipher: Option<Arc<FieldCipher>>) -> Self {
        let (feed, batches) = mpsc::channel(FEED);
        let hub = Self {
            inner: Arc::new(Inner {
                count: AtomicUsize::new(0),
                cipher,
                subscribers: Mutex::default(),
                feed,
            }),
        };
        tokio::spawn(fan_out(Arc::downgrade(&hub.inner), batches));
        hub
    }

    pub fn subscribers(&self) -> usize {
        self.inner.count.load(Ordering::Acquire)
    }

    pub fn subscribe(&self, tenant: TenantId, filter: EventFilter) -> Subscription {
        let (queue, events) = mpsc::channel(PER_SUBSCRIBER);
        let missed = Arc::new(AtomicU64::new(0));
        self.inner.count.fetch_add(1, Ordering::AcqRel);
        self.lock().list.push(Subscriber {
            tenant,
            filter,
            queue,
            missed: missed.clone(),
            pace: Pace::new(),
        });
        Subscription {
            events,
            missed,
            hub: self.clone(),
        }
    }

    /// Whether anyone subscribes to the tenant's events.
    pub fn wants(&self, tenant: TenantId) -> bool {
        self.subscribers() > 0 && self.lock().list.iter().any(|s| s.tenant == tenant)
    }

    /// Hands a stored batch to the fan-out task; never waits. Called by the writers.
    pub fn committed(&self, items: &Arc<Vec<WriteItem>>, outcomes: &[ItemOutcome]) {
        if self.subscribers() == 0 {
            return;
        }
        let stored = outcomes
            .iter()
            .map(|o| matches!(o, ItemOutcome::Stored { .. }))
            .collect();
        self.publish(Committed {
            items: items.clone(),
            stored,
        });
    }

    /// Hands events to the fan-out task; when its queue is full they are counted as
    /// missed by their tenants' subscribers.
    pub fn publish(&self, batch: Committed) {
        if let Err(full) = self.inner.feed.try_send(Arc::new(batch)) {
            let batch = match full {
                mpsc::error::TrySendError::Full(b) | mpsc::error::TrySendError::Closed(b) => b,
            };
            for s in self.lock().list.iter() {
                s.missed.fetch_add(batch.count(s.tenant), Ordering::Relaxed);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Subscribers> {
        self.inner
            .subscribers
            .lock()
            .expect("tail subscribers lock")
    }
}

async fn fan_out(hub: std::sync::Weak<Inner>, mut batches: mpsc::Receiver<Arc<Committed>>) {
    while let Some(batch) = batches.recv().await {
        let Some(inner) = hub.upgrade() else { return };
        let mut subscribers = inner.subscribers.lock().expect("tail subscribers lock");
        subscribers.list.retain(|s| !s.queue.is_closed());
        let Subscribers { list, seen } = &mut *subscribers;
        seen.retain(|tenant, _| list.iter().any(|s| s.tenant == *tenant));
        let now = std::time::Instant::now();
        for (tenant, event) in batch.events() {
            if !list.iter().any(|s| s.tenant == tenant)
                || !seen.entry(tenant).or_default().first(event.id)
            {
                continue;
            }
            // Serialized once, and only if some subscriber has room for it.
            let mut shared: Option<Arc<Delivery>> = None;
            for s in list
                .iter_mut()
                .filter(|s| s.tenant == tenant && s.filter.matches(event))
            {
                if s.queue.capacity() == 0 || !s.pace.take(now) {
                    s.missed.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let event = shared
                    .get_or_insert_with(|| Arc::new(Delivery::of(event, inner.cipher.as_deref())))
                    .clone();
                if s.queue.try_send(event).is_err() {
                    s.missed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn a_tail_takes_a_burst_then_its_pace() {
        let start = Instant::now();
        let mut pace = Pace {
            tokens: BURST,
            at: start,
        };
        let burst = (0..10_000).filter(|_| pace.take(start)).count();
        assert_eq!(burst, BURST as usize);
        assert!(!pace.take(start));
        // A tenth of a second later: a tenth of a second's events.
        let later = start + Duration::from_millis(100);
        let paced = (0..10_000).filter(|_| pace.take(later)).count();
        assert_eq!(paced, (EVENTS_PER_SECOND / 10.0) as usize);
        // Never more than the burst, however long it rested.
        let rested = start + Duration::from_secs(3600);
        assert_eq!(
            (0..10_000).filter(|_| pace.take(rested)).count(),
            BURST as usize
        );
    }
}
