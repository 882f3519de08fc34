//! Per-key rate limits: a token bucket for each (key, scope), refilled continuously.
//! Over its limit a key gets 429 with `Retry-After`; other keys are not affected.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use logbook_model::Scope;
use uuid::Uuid;

/// Requests per second, with bursts of up to twice that.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub per_second: f64,
}

impl Rate {
    fn burst(self) -> f64 {
        (self.per_second * 2.0).max(1.0)
    }
}

/// The limit for each scope's routes; `None` means unlimited.
#[derive(Clone, Debug)]
pub struct RateLimits {
    pub ingest: Option<Rate>,
    pub read: Option<Rate>,
    pub admin: Option<Rate>,
}

impl Default for RateLimits {
    /// Generous for a well-behaved client (an ingest request may carry 10,000 events), low
    /// enough that one runaway key cannot take the server from the others.
    fn default() -> Self {
        Self {
            ingest: Some(Rate { per_second: 1000.0 }),
            read: Some(Rate { per_second: 100.0 }),
            admin: Some(Rate { per_second: 10.0 }),
        }
    }
}

impl RateLimits {
    fn for_scope(&self, scope: Scope) -> Option<Rate> {
        match scope {
            Scope::Ingest => self.ingest,
            Scope::Read => self.read,
            Scope::Admin => self.admin,
        }
    }
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

pub struct RateLimiter {
    limits: RateLimits,
    buckets: Mutex<HashMap<(Uuid, Scope), Bucket>>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            buckets: Mutex::default(),
        }
    }

    /// Takes one request's token, or says how long until one is free.
    pub fn check(&self, key: Uuid, scope: Scope) -> Result<(), Duration> {
        let Some(rate) = self.limits.for_scope(scope) else {
            return Ok(());
        };
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        let bucket = buckets.entry((key, scope)).or_insert(Bucket {
            tokens: rate.burst(),
            updated: now,
        });
        let refill = now.duration_since(bucket.updated).as_secs_f64() * rate.per_second;
        bucket.tokens = (bucket.tokens + refill).min(rate.burst());
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / rate.per_second,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_until_it_refills() {
        let limiter = RateLimiter::new(RateLimits {
            ingest: Some(Rate { per_second: 2.0 }),
            read: None,
            admin: None,
        });
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        for _ in 0..4 {
            assert!(limiter.check(a, Scope::Ingest).is_ok());
        }
        let wait = limiter.check(a, Scope::Ingest).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(500),
            "{wait:?}"
        );
        assert!(
            limiter.check(b, Scope::Ingest).is_ok(),
            "another key has its own bucket"
        );
        assert!(limiter.check(a, Scope::Read).is_ok(), "an unlimited scope");
        // Two tokens a second: one is back after half a second, and only one.
        std::thread::sleep(wait + Duration::from_millis(20));
        assert!(limiter.check(a, Scope::Ingest).is_ok(), "refilled");
        assert!(
            limiter.check(a, Scope::Ingest).is_err(),
            "one token, not a burst"
        );
    }
}
