use std::sync::Arc;

use chrono::Utc;
use logbook_store::{Store, StoreError};

use crate::config::IDEMPOTENCY_WINDOW;

/// Forgets idempotency keys older than the 24-hour window.
pub struct IdempotencyPurge {
    pub store: Arc<dyn Store>,
}

impl IdempotencyPurge {
    pub async fn run_once(&self) -> Result<u64, StoreError> {
        self.store
            .purge_idempotency_keys(Utc::now() - IDEMPOTENCY_WINDOW)
            .await
    }
}
