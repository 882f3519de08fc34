//! When each key was last used, gathered in memory and written in batches by the
//! `KeyUsageFlush` job, so authenticating a request never waits on a write.

use std::{collections::HashMap, sync::Mutex};

use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Default)]
pub struct KeyUsage {
    pending: Mutex<HashMap<Uuid, DateTime<Utc>>>,
}

impl KeyUsage {
    pub fn record(&self, key_id: Uuid) {
        self.pending
            .lock()
            .expect("key usage lock")
            .insert(key_id, Utc::now());
    }

    /// Everything recorded since the last call.
    pub fn take(&self) -> Vec<(Uuid, DateTime<Utc>)> {
        std::mem::take(&mut *self.pending.lock().expect("key usage lock"))
            .into_iter()
            .collect()
    }
}
