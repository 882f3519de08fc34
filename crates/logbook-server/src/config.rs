//! The server's settings, one typed struct; the CLI fills it from flags and environment.

use chrono::TimeDelta;
use logbook_store::StoreLocation;

/// How long a retried request with the same `Idempotency-Key` is recognised.
pub const IDEMPOTENCY_WINDOW: TimeDelta = TimeDelta::hours(24);

#[derive(Clone, Debug)]
pub struct Config {
    pub location: StoreLocation,
    /// How a new PostgreSQL store lays out events.
    pub postgres_layout: logbook_store::postgres::LayoutChoice,
    pub ingest: IngestConfig,
    /// Object keys whose values are replaced by `[REDACTED]` before storage.
    pub redact_keys: Vec<String>,
    pub rate_limits: crate::auth::rate_limit::RateLimits,
    pub timeouts: Timeouts,
    /// Off unless set: which fields are encrypted at rest, and with which keys.
    pub encryption: Option<std::sync::Arc<crate::encryption::FieldCipher>>,
    /// Signs the audit chains; off unless set (`logbook serve` always sets it).
    pub checkpoints: Option<std::sync::Arc<crate::checkpoints::Checkpointer>>,
    /// Off unless set: which event types to anonymize after how long.
    pub anonymization: Option<Anonymization>,
    /// How request bodies may arrive: size held at once, minimum rate.
    pub bodies: crate::request_body::BodyLimits,
    /// How long events are kept, and where they are archived before removal.
    pub retention: Retention,
    /// Where alert notifications may go, and the SMTP relay e-mail leaves through.
    pub alerts: crate::alerts::AlertsConfig,
}

/// Events past their time are written to the archive, then removed; so is the audit
/// trail, cut at a signed checkpoint.
#[derive(Clone, Debug)]
pub struct Retention {
    pub events: logbook_model::retention::EventRetention,
    /// Days the audit trail is kept, counted from when each event was received.
    pub audit_days: u32,
    /// Days access records are kept.
    pub access_days: u32,
    pub archive: logbook_store::archive::ArchiveDir,
}

impl Retention {
    /// The seeds' periods, archiving beside the SQLite file, or under `logbook-data/`
    /// (the command line's default data dir) for PostgreSQL.
    pub fn default_for(location: &StoreLocation) -> Self {
        let data_dir = match location {
            StoreLocation::Sqlite(path) => path
                .parent()
                .map_or_else(|| std::path::PathBuf::from("."), ToOwned::to_owned),
            StoreLocation::Postgres(_) => std::path::PathBuf::from("logbook-data"),
        };
        Self {
            events: Default::default(),
            audit_days: logbook_model::retention::AUDIT_DAYS,
            access_days: logbook_model::retention::AUDIT_DAYS,
            archive: logbook_store::archive::ArchiveDir::new(data_dir.join("archive")),
        }
    }
}

/// Old events of these types lose IP and user agent, and their user ids become keyed
/// pseudonyms.
#[derive(Clone, Debug)]
pub struct Anonymization {
    pub rules: Vec<logbook_model::pseudonym::AnonymizeRule>,
    pub pseudonymizer: logbook_model::pseudonym::Pseudonymizer,
}

/// Bounds on slow clients.
#[derive(Clone, Debug)]
pub struct Timeouts {
    /// To send a request's headers; past it the connection is closed.
    pub header: std::time::Duration,
    /// For a whole request, body included; past it the answer is 408. Events of an
    /// ingest request cut off while queued are still stored: a retry with the same
    /// Idempotency-Key then stores nothing twice.
    pub request: std::time::Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            header: std::time::Duration::from_secs(10),
            request: std::time::Duration::from_secs(30),
        }
    }
}

impl Config {
    pub fn new(location: StoreLocation) -> Self {
        Self {
            retention: Retention::default_for(&location),
            location,
            postgres_layout: Default::default(),
            ingest: IngestConfig::default(),
            rate_limits: Default::default(),
            timeouts: Timeouts::default(),
            anonymization: None,
            encryption: None,
            checkpoints: None,
            bodies: Default::default(),
            alerts: Default::default(),
            redact_keys: logbook_model::redact::DEFAULT_KEYS
                .iter()
                .map(|k| (*k).to_owned())
                .collect(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct IngestConfig {
    /// Events waiting for storage across all requests; beyond it ingest answers 429.
    pub queue_events: usize,
    /// Most events written in one transaction.
    pub max_batch_events: usize,
    /// Concurrent writers; `None` picks per backend (SQLite has one writer, PostgreSQL two,
    /// which measured as the best on two cores: each COPY keeps a core busy on indexes).
    pub writers: Option<usize>,
    /// How far in the past an event's `created_at` may lie (the back-fill window).
    pub backfill: chrono::Duration,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            queue_events: 100_000,
            max_batch_events: 10_000,
            writers: None,
            backfill: chrono::Duration::days(logbook_model::Limits::BACKFILL_DAYS),
        }
    }
}
