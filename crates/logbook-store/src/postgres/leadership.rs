//! One server at a time runs each background job: the job's leader holds a session-level
//! advisory lock on a connection of its own for the length of the run. A server that
//! dies mid-run loses its connection, and with it the lock, so another takes over.

use async_trait::async_trait;
use deadpool_postgres::{Client, Object};

use super::db;
use crate::{Lease, Result};

/// The lock of `job`: one number per job name, the same in every process.
fn lock_of(job: &str) -> i64 {
    // FNV-1a: stable across builds, unlike std's hasher.
    let hash = job.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash & 0x00ff_ffff_ffff_ffff) as i64 | 0x6c00_0000_0000_0000
}

pub async fn try_lead(client: Client, job: &'static str) -> Result<Option<Box<dyn Lease>>> {
    let lock = lock_of(job);
    let led: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&lock])
        .await
        .map_err(db("asking to lead a job"))?
        .try_get(0)
        .map_err(db("asking to lead a job"))?;
    Ok(led.then(|| {
        Box::new(Leadership {
            client: Some(client),
            lock,
        }) as Box<dyn Lease>
    }))
}

struct Leadership {
    client: Option<Client>,
    lock: i64,
}

#[async_trait]
impl Lease for Leadership {
    async fn release(mut self: Box<Self>) {
        if let Some(client) = self.client.take()
            && let Err(error) = client
                .execute("SELECT pg_advisory_unlock($1)", &[&self.lock])
                .await
        {
            tracing::warn!(%error, "releasing a job's lock failed; closing its connection");
            drop(Object::take(client));
        }
    }
}

impl Drop for Leadership {
    /// Not released: the connection is closed rather than pooled, which releases the lock.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            drop(Object::take(client));
        }
    }
}
