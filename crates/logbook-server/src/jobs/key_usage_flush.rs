use std::sync::Arc;

use logbook_store::{Store, StoreError};

use crate::auth::KeyUsage;

/// Writes the keys' last-use times gathered since the previous run.
pub struct KeyUsageFlush {
    pub store: Arc<dyn Store>,
    pub usage: Arc<KeyUsage>,
}

impl KeyUsageFlush {
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let uses = self.usage.take();
        let n = uses.len();
        if n > 0 {
            self.store.record_key_use(uses).await?;
        }
        Ok(n)
    }
}
