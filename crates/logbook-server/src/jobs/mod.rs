//! Background jobs. Each is a struct with a `run_once` that tests call directly; `run_all`
//! runs each on its own period until the token is cancelled, and once more at the end
//! where losing the last round would lose data (key use).
//!
//! Jobs that act for every server sharing a store (purging, partitions, rollup
//! compaction, anonymizing, signing checkpoints) run on one server at a time: each round first asks the store
//! for the job's lease (`Store::try_lead`; on PostgreSQL an advisory lock) and skips the
//! round when another server holds it. Jobs about this server's own state (its key
//! cache, the key uses it gathered) run on every server.

mod access_retention;
mod anonymization;
mod audit_retention;
mod idempotency_purge;
mod key_usage_flush;
mod maintenance;
mod retention;

use std::{future::Future, sync::Arc, time::Duration};

use logbook_store::{Store, StoreError};
use tokio_util::sync::CancellationToken;

pub use access_retention::AccessRemoved;
pub use anonymization::AnonymizationJob;
pub use audit_retention::AuditCuts;
pub use idempotency_purge::IdempotencyPurge;
pub use key_usage_flush::KeyUsageFlush;
pub use maintenance::{Maintenance, MaintenanceReport};
pub use retention::{Removed, RetentionJob};

use crate::auth::{KeyCache, KeyUsage};

/// Runs `job` if this server leads `name` now; `None` when another server does.
pub(crate) async fn as_leader<T>(
    store: &dyn Store,
    name: &'static str,
    job: impl Future<Output = Result<T, StoreError>>,
) -> Result<Option<T>, StoreError> {
    let Some(lease) = store.try_lead(name).await? else {
        return Ok(None);
    };
    let result = job.await;
    lease.release().await;
    result.map(Some)
}

const TICK: Duration = Duration::from_secs(60);
/// Every ingest batch appends rollup rows; merging them this often keeps a dashboard read
/// to a few hundred rows however fast events arrive.
const COMPACT_EVERY: Duration = Duration::from_secs(10);
const ROLLUP_COMPACTION: &str = "rollup_compaction";

async fn compact_rollups(store: Arc<dyn Store>, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(COMPACT_EVERY) => {}
        }
        if let Err(error) =
            as_leader(store.as_ref(), ROLLUP_COMPACTION, store.compact_rollups()).await
        {
            tracing::warn!(%error, "compacting rollups failed");
        }
    }
}
/// Purge and maintenance run every this many ticks.
const SLOW_EVERY: u64 = 15;

pub async fn run_all(
    store: Arc<dyn Store>,
    usage: Arc<KeyUsage>,
    keys: Arc<KeyCache>,
    maintenance: Arc<Maintenance>,
    checkpointer: Option<Arc<crate::checkpoints::Checkpointer>>,
    stop: CancellationToken,
) {
    // Checkpoints every `every` while a chain moves, counted in ticks of a minute.
    let checkpoint_every = checkpointer
        .as_ref()
        .map_or(1, |c| (c.every.as_secs() / TICK.as_secs()).max(1));
    let checkpoint = crate::checkpoints::CheckpointJob {
        store: store.clone(),
        checkpointer,
    };
    let watcher = {
        let (store, stop) = (store.clone(), stop.clone());
        tokio::spawn(async move { keys.watch(store.as_ref(), stop).await })
    };
    let compaction = tokio::spawn(compact_rollups(store.clone(), stop.clone()));
    let flush = KeyUsageFlush {
        store: store.clone(),
        usage,
    };
    let store = store.as_ref();
    for tick in 0u64.. {
        // Not at start: opening the store made the partitions and statistics, and a
        // round that removes data waits until the server has run a while.
        if tick > 0 && tick % SLOW_EVERY == 0 {
            maintenance.run_once().await.log();
        }
        // Not at start: appends sign as they pass the checkpoint interval, so a chain
        // that moved is signed on the next round at the latest.
        if tick > 0
            && tick % checkpoint_every == 0
            && let Err(error) = as_leader(store, "checkpoints", checkpoint.run_once()).await
        {
            tracing::warn!(%error, "signing audit checkpoints failed");
        }
        let stopping = tokio::select! {
            _ = stop.cancelled() => true,
            _ = tokio::time::sleep(TICK) => false,
        };
        if let Err(error) = flush.run_once().await {
            tracing::warn!(%error, "recording key use failed");
        }
        if stopping {
            let _ = watcher.await;
            let _ = compaction.await;
            return;
        }
    }
}
