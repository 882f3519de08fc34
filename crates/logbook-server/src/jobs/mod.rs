//! Background jobs. Each is a struct with a `run_once` that tests call directly; `run_all`
//! loops them until the token is cancelled.

mod idempotency_purge;
mod maintenance;

use std::{sync::Arc, time::Duration};

use logbook_store::Store;
use tokio_util::sync::CancellationToken;

pub use idempotency_purge::IdempotencyPurge;
pub use maintenance::StorageMaintenance;

const EVERY: Duration = Duration::from_secs(15 * 60);

pub async fn run_all(store: Arc<dyn Store>, stop: CancellationToken) {
    let purge = IdempotencyPurge {
        store: store.clone(),
    };
    let maintenance = StorageMaintenance { store };
    loop {
        if let Err(error) = purge.run_once().await {
            tracing::warn!(%error, "idempotency purge failed");
        }
        if let Err(error) = maintenance.run_once().await {
            tracing::warn!(%error, "storage maintenance failed");
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}
