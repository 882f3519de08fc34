//! Alerting: the evaluator measures each due rule and moves its alerts through their
//! lifecycle ([`logbook_model::alerts::step`]); the sender delivers the notifications that
//! evaluation queued. Both run on one server at a time (each round asks the store for
//! its lease), and both keep all their state in the store: a restart, or another server
//! taking over, neither repeats a notification recorded as sent nor loses one queued.

mod channels;
mod evaluator;
mod metrics;
mod monitor;
mod outbound;
mod sender;

pub use channels::webhook_body;
pub use evaluator::{Evaluator, notifications};
pub use metrics::event_filter;
pub use monitor::Checker;
pub use outbound::Outbound;
pub use sender::Sender;

/// Where notifications may go and how e-mail leaves.
#[derive(Clone, Default)]
pub struct AlertsConfig {
    /// `smtp://[user:password@]host[:port]` (STARTTLS when the relay offers it) or
    /// `smtps://…` (TLS from the start); without it, e-mail channels fail.
    pub smtp_url: Option<String>,
    /// The sender address of alert e-mail.
    pub smtp_from: Option<String>,
    /// Lets webhooks reach link-local and cloud metadata addresses, refused by default.
    pub allow_link_local: bool,
}

/// The SMTP URL may hold a password: shown only as set or not.
impl std::fmt::Debug for AlertsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertsConfig")
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "[set]"))
            .field("smtp_from", &self.smtp_from)
            .field("allow_link_local", &self.allow_link_local)
            .finish()
    }
}

impl AlertsConfig {
    /// Checks the SMTP settings, so a mistake stops `serve` instead of every e-mail.
    pub fn check(&self) -> Result<(), String> {
        self.mailer().map(drop)
    }

    fn mailer(&self) -> Result<Option<channels::Mailer>, String> {
        self.smtp_url
            .as_deref()
            .map(|url| {
                channels::Mailer::new(url, self.smtp_from.as_deref().unwrap_or(DEFAULT_FROM))
            })
            .transpose()
    }

    /// The evaluator, the sender and the monitor checker over `store`.
    pub fn start(
        &self,
        store: std::sync::Arc<dyn logbook_store::Store>,
    ) -> (Evaluator, Sender, Checker) {
        let mailer = self.mailer().unwrap_or_else(|error| {
            tracing::error!(%error, "alert e-mail is off");
            None
        });
        let outbound = Outbound::new(self.allow_link_local);
        (
            Evaluator {
                store: store.clone(),
            },
            Sender {
                store: store.clone(),
                outbound: outbound.clone(),
                mailer,
            },
            Checker { store, outbound },
        )
    }
}

/// The sender address when none is configured.
pub const DEFAULT_FROM: &str = "Logbook <logbook@localhost>";

/// How often the evaluator looks for rules due, and the sender for notifications due:
/// the shortest evaluation interval a rule may have.
const TICK: std::time::Duration = std::time::Duration::from_secs(1);

/// Checks monitors until `stop`, on one server of those sharing the store at a time; a
/// slow check never holds up alert evaluation, which runs in its own loop.
pub async fn check_monitors(
    checker: std::sync::Arc<Checker>,
    stop: tokio_util::sync::CancellationToken,
) {
    let store = checker.store.clone();
    for round in 0u64.. {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(TICK) => {}
        }
        let now = chrono::Utc::now();
        let job = async {
            let checked = checker.run_once(now).await?;
            // About once an hour: the old checks go.
            if round % 3600 == 0 {
                checker.purge(now).await?;
            }
            Ok(checked)
        };
        if let Err(error) = crate::jobs::as_leader(store.as_ref(), "monitor_checks", job).await {
            tracing::warn!(%error, "checking monitors failed");
        }
    }
}

/// Evaluates and delivers until `stop`, each on one server of those sharing the store.
pub async fn run(
    evaluator: std::sync::Arc<Evaluator>,
    sender: std::sync::Arc<Sender>,
    stop: tokio_util::sync::CancellationToken,
) {
    let store = evaluator.store.clone();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(TICK) => {}
        }
        let now = chrono::Utc::now();
        let evaluated =
            crate::jobs::as_leader(store.as_ref(), "alert_evaluation", evaluator.run_once(now))
                .await;
        if let Err(error) = evaluated {
            tracing::warn!(%error, "evaluating alert rules failed");
        }
        let sent = crate::jobs::as_leader(
            store.as_ref(),
            "alert_delivery",
            sender.run_once(chrono::Utc::now()),
        )
        .await;
        if let Err(error) = sent {
            tracing::warn!(%error, "delivering alert notifications failed");
        }
    }
}
