//! Recently looked-up keys, so a busy client costs one key lookup per minute, not one per
//! request, and a flood of one bad key reaches the database once per few seconds.
//!
//! Revocation is seen at once by the server that revoked; every other server (and a
//! revocation from the CLI) is seen within a second: each server watches the store's
//! count of key changes ([`KeyCache::watch`]) and starts its cache over when it moves.

use std::{
    collections::HashMap,
    sync::RwLock,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use logbook_store::Store;
use tokio_util::sync::CancellationToken;

use super::Principal;

pub const TTL: Duration = Duration::from_secs(60);
/// How long a key the store does not know is answered 401 without asking it again.
pub const UNKNOWN_TTL: Duration = Duration::from_secs(5);
/// How often each server asks the store whether keys changed.
pub const WATCH_EVERY: Duration = Duration::from_millis(500);
const MAX_ENTRIES: usize = 10_000;

pub struct KeyCache {
    known: RwLock<HashMap<[u8; 32], Entry>>,
    unknown: RwLock<HashMap<[u8; 32], Instant>>,
    known_for: Duration,
    unknown_for: Duration,
}

impl Default for KeyCache {
    fn default() -> Self {
        Self::remembering(TTL, UNKNOWN_TTL)
    }
}

struct Entry {
    principal: Principal,
    fresh_until: Instant,
    expires_at: Option<DateTime<Utc>>,
}

/// What the cache knows of a key's hash.
pub enum Cached {
    Known(Principal),
    /// The store did not know it a moment ago.
    Unknown,
    Miss,
}

impl KeyCache {
    /// A cache that serves a known key for `known_for` and answers an unknown one for
    /// `unknown_for` before asking the store again.
    pub fn remembering(known_for: Duration, unknown_for: Duration) -> Self {
        Self {
            known: RwLock::default(),
            unknown: RwLock::default(),
            known_for,
            unknown_for,
        }
    }

    pub fn get(&self, hash: &[u8; 32]) -> Cached {
        if let Some(entry) = self.known.read().expect("key cache lock").get(hash) {
            let live = entry.fresh_until > Instant::now()
                && entry.expires_at.is_none_or(|at| at > Utc::now());
            if live {
                return Cached::Known(entry.principal.clone());
            }
        }
        match self.unknown.read().expect("key cache lock").get(hash) {
            Some(until) if *until > Instant::now() => Cached::Unknown,
            _ => Cached::Miss,
        }
    }

    /// Drops a revoked key at once, rather than when its entry goes stale.
    pub fn forget(&self, key_id: uuid::Uuid) {
        self.known
            .write()
            .expect("key cache lock")
            .retain(|_, entry| entry.principal.key_id != key_id);
    }

    /// Forgets which keys were unknown: a key was just made.
    pub fn forget_unknown(&self) {
        self.unknown.write().expect("key cache lock").clear();
    }

    /// Starts over: keys changed somewhere.
    pub fn clear(&self) {
        self.known.write().expect("key cache lock").clear();
        self.forget_unknown();
    }

    pub fn insert(&self, hash: [u8; 32], principal: Principal, expires_at: Option<DateTime<Utc>>) {
        let mut entries = self.known.write().expect("key cache lock");
        if entries.len() >= MAX_ENTRIES {
            // Bounded memory matters more than hit rate: start over.
            entries.clear();
        }
        entries.insert(
            hash,
            Entry {
                principal,
                fresh_until: Instant::now() + self.known_for,
                expires_at,
            },
        );
    }

    pub fn insert_unknown(&self, hash: [u8; 32]) {
        let mut unknown = self.unknown.write().expect("key cache lock");
        if unknown.len() >= MAX_ENTRIES {
            unknown.clear();
        }
        unknown.insert(hash, Instant::now() + self.unknown_for);
    }

    /// Watches the store's count of key changes until `stop`, starting the cache over
    /// whenever it moves (a key made or revoked by any server or the CLI).
    pub async fn watch(&self, store: &dyn Store, stop: CancellationToken) {
        let mut seen = None;
        loop {
            match store.key_changes().await {
                Ok(count) => {
                    if seen.is_some_and(|seen| seen != count) {
                        self.clear();
                    }
                    seen = Some(count);
                }
                Err(error) => {
                    // Unsure what changed: trust nothing cached.
                    tracing::warn!(%error, "cannot see whether keys changed");
                    self.clear();
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(WATCH_EVERY) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use logbook_model::{Scopes, TenantId};

    use super::*;

    fn principal() -> Principal {
        Principal {
            key_id: uuid::Uuid::new_v4(),
            tenant: TenantId::new(),
            scopes: Scopes::all(),
        }
    }

    #[test]
    fn entries_are_served_only_while_fresh() {
        let cache = KeyCache::remembering(Duration::from_millis(200), Duration::from_millis(200));
        let (known, unknown) = ([1; 32], [2; 32]);
        cache.insert(known, principal(), None);
        cache.insert_unknown(unknown);
        assert!(matches!(cache.get(&known), Cached::Known(_)));
        assert!(matches!(cache.get(&unknown), Cached::Unknown));
        std::thread::sleep(Duration::from_millis(250));
        assert!(
            matches!(cache.get(&known), Cached::Miss),
            "a known key is looked up again once its entry is stale"
        );
        assert!(
            matches!(cache.get(&unknown), Cached::Miss),
            "an unknown key is asked about again after a while"
        );
    }

    #[test]
    fn a_key_is_served_until_it_expires() {
        let cache = KeyCache::default();
        let (later, earlier) = ([1; 32], [2; 32]);
        cache.insert(
            later,
            principal(),
            Some(Utc::now() + chrono::Duration::hours(1)),
        );
        cache.insert(
            earlier,
            principal(),
            Some(Utc::now() - chrono::Duration::seconds(1)),
        );
        assert!(matches!(cache.get(&later), Cached::Known(_)));
        assert!(matches!(cache.get(&earlier), Cached::Miss));
    }

    #[test]
    fn many_keys_are_held_at_once() {
        let cache = KeyCache::default();
        let hashes: Vec<[u8; 32]> = (0..3u8).map(|i| [i; 32]).collect();
        for hash in &hashes {
            cache.insert(*hash, principal(), None);
            cache.insert_unknown([hash[0] + 100; 32]);
        }
        for hash in &hashes {
            assert!(matches!(cache.get(hash), Cached::Known(_)));
            assert!(matches!(cache.get(&[hash[0] + 100; 32]), Cached::Unknown));
        }
    }

    /// The watch keeps what is cached while keys stay as they are, and starts over once
    /// a key is made anywhere.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_watch_starts_over_only_when_keys_change() {
        let store = logbook_store::open(&logbook_store::StoreLocation::Sqlite(
            logbook_store::testing::temp_sqlite_path(),
        ))
        .await
        .unwrap();
        let cache = std::sync::Arc::new(KeyCache::default());
        cache.insert([1; 32], principal(), None);
        let stop = CancellationToken::new();
        let watching = {
            let (cache, store, stop) = (cache.clone(), store.clone(), stop.clone());
            tokio::spawn(async move { cache.watch(store.as_ref(), stop).await })
        };
        tokio::time::sleep(WATCH_EVERY * 3).await;
        assert!(
            matches!(cache.get(&[1; 32]), Cached::Known(_)),
            "nothing changed: the cache is kept"
        );
        let tenant = store.create_tenant("watched").await.unwrap();
        crate::auth::keys::create(store.as_ref(), tenant.id, "new", Scopes::all(), None)
            .await
            .unwrap();
        // Seen at the next look, though a busy machine may be late by a little.
        let made = Instant::now();
        while !matches!(cache.get(&[1; 32]), Cached::Miss) {
            assert!(
                made.elapsed() < Duration::from_secs(10),
                "a key was made: the cache starts over"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.cancel();
        watching.await.unwrap();
    }

    #[test]
    fn unknown_keys_are_remembered_briefly_and_changes_start_over() {
        let cache = KeyCache::default();
        let (known, unknown) = ([1; 32], [2; 32]);
        assert!(matches!(cache.get(&unknown), Cached::Miss));
        cache.insert_unknown(unknown);
        assert!(
            matches!(cache.get(&unknown), Cached::Unknown),
            "a flood of one bad key asks the store once"
        );
        let principal = Principal {
            key_id: uuid::Uuid::new_v4(),
            tenant: TenantId::new(),
            scopes: Scopes::all(),
        };
        cache.insert(known, principal.clone(), None);
        assert!(matches!(cache.get(&known), Cached::Known(p) if p == principal));
        cache.forget_unknown();
        assert!(
            matches!(cache.get(&unknown), Cached::Miss),
            "a key just made is looked up"
        );
        cache.insert_unknown(unknown);
        cache.clear();
        assert!(matches!(cache.get(&known), Cached::Miss));
        assert!(matches!(cache.get(&unknown), Cached::Miss));
        cache.insert(
            known,
            principal.clone(),
            Some(Utc::now() - chrono::Duration::seconds(1)),
        );
        assert!(
            matches!(cache.get(&known), Cached::Miss),
            "an expired key is not served from the cache"
        );
    }
}
