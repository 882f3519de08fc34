//! Delivers the notifications evaluation queued: each due one is tried, then recorded as
//! sent, to be tried again after a backoff, or failed for good. A notification is
//! recorded after it is sent, so a server stopped between the two sends it once more on
//! the next round (at least once; webhooks carry `X-Logbook-Delivery` to tell).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use logbook_store::{Store, StoreError, alerts::Delivery};

use super::{
    Outbound,
    channels::{self, Failure, Mailer},
};

/// Notifications tried per round at most.
const PER_ROUND: u32 = 100;
/// Attempts before a notification is given up.
pub const MAX_ATTEMPTS: u32 = 8;
/// The longest wait between attempts.
const MAX_BACKOFF_SECONDS: i64 = 600;

pub struct Sender {
    pub store: Arc<dyn Store>,
    pub outbound: Outbound,
    pub mailer: Option<Mailer>,
}

/// When to try again after `attempts` failed attempts: 2, 4, 8 … seconds, at most ten minutes.
pub fn backoff(attempts: u32, now: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = 2_i64
        .saturating_pow(attempts.min(20))
        .min(MAX_BACKOFF_SECONDS);
    now + Duration::seconds(seconds)
}

impl Sender {
    /// Tries every notification due at `now`; returns how many were sent.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut sent = 0;
        for pending in self.store.due_notifications(now, PER_ROUND).await? {
            let n = &pending.notification;
            let result =
                channels::deliver(n, &self.outbound, self.mailer.as_ref(), self.store.as_ref())
                    .await;
            let tried = pending.attempts + 1;
            let outcome = match result {
                Ok(()) => {
                    sent += 1;
                    Delivery::Sent
                }
                Err(Failure::Retry(error)) if tried < MAX_ATTEMPTS => {
                    Delivery::Retry(backoff(tried, now), error)
                }
                Err(Failure::Retry(error) | Failure::Permanent(error)) => {
                    tracing::warn!(
                        notification = %n.id, channel = n.channel.kind.as_str(), %error,
                        "an alert notification could not be delivered"
                    );
                    Delivery::Failed(error)
                }
            };
            self.store
                .notification_delivered(pending.tenant, n, &outcome)
                .await?;
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_ten_minutes() {
        let now = DateTime::UNIX_EPOCH;
        let waits: Vec<i64> = [1, 2, 3, 9, 10, 40]
            .map(|a| (backoff(a, now) - now).num_seconds())
            .into();
        assert_eq!(waits, [2, 4, 8, 512, 600, 600]);
    }
}
