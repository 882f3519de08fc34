//! Recently verified keys, so a busy client costs one key lookup per minute, not one
//! per request. Entries live at most [`TTL`], so a revoked key stops working within it.

use std::{
    collections::HashMap,
    sync::RwLock,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};

use super::Principal;

pub const TTL: Duration = Duration::from_secs(60);
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct KeyCache {
    entries: RwLock<HashMap<[u8; 32], Entry>>,
}

struct Entry {
    principal: Principal,
    fresh_until: Instant,
    expires_at: Option<DateTime<Utc>>,
}

impl KeyCache {
    pub fn get(&self, hash: &[u8; 32]) -> Option<Principal> {
        let entries = self.entries.read().expect("key cache lock");
        let entry = entries.get(hash)?;
        let live =
            entry.fresh_until > Instant::now() && entry.expires_at.is_none_or(|at| at > Utc::now());
        live.then(|| entry.principal.clone())
    }

    /// Drops a revoked key at once, rather than when its entry goes stale.
    pub fn forget(&self, key_id: uuid::Uuid) {
        self.entries
            .write()
            .expect("key cache lock")
            .retain(|_, entry| entry.principal.key_id != key_id);
    }

    pub fn insert(&self, hash: [u8; 32], principal: Principal, expires_at: Option<DateTime<Utc>>) {
        let mut entries = self.entries.write().expect("key cache lock");
        if entries.len() >= MAX_ENTRIES {
            // Bounded memory matters more than hit rate: start over.
            entries.clear();
        }
        entries.insert(
            hash,
            Entry {
                principal,
                fresh_until: Instant::now() + TTL,
                expires_at,
            },
        );
    }
}
