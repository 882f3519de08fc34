use std::sync::Arc;

use logbook_store::{Store, StoreError};

/// Keeps storage ready for the coming days (on PostgreSQL: the next day partitions).
pub struct StorageMaintenance {
    pub store: Arc<dyn Store>,
}

impl StorageMaintenance {
    pub async fn run_once(&self) -> Result<(), StoreError> {
        self.store.maintain().await
    }
}
