//! The store's periodic upkeep as one round: partitions and statistics, rollup
//! compaction, forgetting old idempotency keys, anonymizing old events. The server runs a round every quarter hour;
//! `logbook maintain` runs one and prints what it did. Each job runs on one server of
//! those sharing the store at a time.

use std::{fmt, sync::Arc};

use logbook_store::{Compaction, Store, StoreError, Upkeep};

use super::{AnonymizationJob, IdempotencyPurge, RetentionJob, as_leader, retention::Removed};

pub struct Maintenance {
    pub store: Arc<dyn Store>,
    pub purge: IdempotencyPurge,
    pub anonymize: AnonymizationJob,
    /// `None` leaves events where they are: `logbook maintain` without retention flags.
    pub retention: Option<RetentionJob>,
}

/// One job's part of a round: what it did, or `None` when another server ran it.
pub type Outcome<T> = Result<Option<T>, StoreError>;

/// What one round of [`Maintenance`] did.
pub struct MaintenanceReport {
    pub storage: Outcome<Upkeep>,
    pub rollups: Outcome<Compaction>,
    pub retention: Outcome<Removed>,
    pub idempotency_keys_forgotten: Outcome<u64>,
    /// `Ok(Some(0))` too when anonymization is off.
    pub events_anonymized: Outcome<u64>,
    anonymization_on: bool,
    retention_on: bool,
}

impl Maintenance {
    pub fn new(
        store: Arc<dyn Store>,
        anonymization: Option<crate::Anonymization>,
        retention: Option<crate::config::Retention>,
        signer: Option<Arc<crate::checkpoints::Checkpointer>>,
    ) -> Self {
        Self {
            retention: retention.map(|retention| RetentionJob {
                store: store.clone(),
                retention,
                signer,
            }),
            purge: IdempotencyPurge {
                store: store.clone(),
            },
            anonymize: AnonymizationJob {
                store: store.clone(),
                config: anonymization,
            },
            store,
        }
    }

    /// One round, each job skipped when another server is running it.
    pub async fn run_once(&self) -> MaintenanceReport {
        let store = self.store.as_ref();
        MaintenanceReport {
            storage: as_leader(store, "maintenance", store.maintain()).await,
            rollups: as_leader(store, super::ROLLUP_COMPACTION, store.compact_rollups()).await,
            retention: match &self.retention {
                Some(job) => as_leader(store, "retention", job.run_once()).await,
                None => Ok(None),
            },
            idempotency_keys_forgotten: as_leader(
                store,
                "idempotency_purge",
                self.purge.run_once(),
            )
            .await,
            events_anonymized: as_leader(store, "anonymization", self.anonymize.run_once()).await,
            anonymization_on: self.anonymize.config.is_some(),
            retention_on: self.retention.is_some(),
        }
    }

    /// One round in which every job runs, led or not: for tests, which must see each
    /// job's effect now, whatever this server's own rounds are doing.
    pub async fn run_every_job(&self) -> MaintenanceReport {
        let store = self.store.as_ref();
        MaintenanceReport {
            storage: store.maintain().await.map(Some),
            rollups: store.compact_rollups().await.map(Some),
            retention: match &self.retention {
                Some(job) => job.run_once().await.map(Some),
                None => Ok(None),
            },
            idempotency_keys_forgotten: self.purge.run_once().await.map(Some),
            events_anonymized: self.anonymize.run_once().await.map(Some),
            anonymization_on: self.anonymize.config.is_some(),
            retention_on: self.retention.is_some(),
        }
    }
}

impl MaintenanceReport {
    /// Each job that failed, by name.
    pub fn failures(&self) -> Vec<(&'static str, &StoreError)> {
        [
            ("storage upkeep", self.storage.as_ref().err()),
            ("rollup compaction", self.rollups.as_ref().err()),
            ("retention", self.retention.as_ref().err()),
            (
                "idempotency purge",
                self.idempotency_keys_forgotten.as_ref().err(),
            ),
            ("anonymization", self.events_anonymized.as_ref().err()),
        ]
        .into_iter()
        .filter_map(|(job, error)| error.map(|e| (job, e)))
        .collect()
    }

    /// The first failure, if any job failed.
    pub fn into_result(self) -> Result<(), StoreError> {
        self.storage?;
        self.rollups?;
        self.retention?;
        self.idempotency_keys_forgotten?;
        self.events_anonymized?;
        Ok(())
    }

    /// Logs failures as warnings and anything done as information.
    pub fn log(&self) {
        for (job, error) in self.failures() {
            tracing::warn!(%error, "{job} failed");
        }
        if let Ok(Some(upkeep)) = &self.storage
            && (!upkeep.partitions_made.is_empty() || upkeep.events_moved > 0)
        {
            tracing::info!(
                partitions = upkeep.partitions_made.len(),
                events_moved = upkeep.events_moved,
                "made day partitions"
            );
        }
    }
}

impl fmt::Display for MaintenanceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn line<T>(
            f: &mut fmt::Formatter<'_>,
            job: &str,
            outcome: &Outcome<T>,
            done: impl Fn(&T) -> String,
        ) -> fmt::Result {
            match outcome {
                Ok(Some(value)) => writeln!(f, "{job}: {}", done(value)),
                Ok(None) => writeln!(f, "{job}: skipped, another server is running it"),
                Err(error) => writeln!(f, "{job}: failed: {error}"),
            }
        }
        line(f, "storage", &self.storage, describe_upkeep)?;
        line(f, "rollups", &self.rollups, |c| {
            format!(
                "{} rows merged into {}; {} rows past their age removed",
                c.rows_merged, c.rows_written, c.rows_expired
            )
        })?;
        if self.retention_on {
            line(f, "retention", &self.retention, |removed| {
                format!(
                    "{} events past their time removed, {} archive files written",
                    removed.events, removed.archive_files
                )
            })?;
            if let Ok(Some(removed)) = &self.retention {
                let audit = &removed.audit;
                writeln!(
                    f,
                    "audit trail: {} chains cut at a signed checkpoint, {} events past their time removed, {} archive files written",
                    audit.cuts, audit.events, audit.archive_files
                )?;
                writeln!(
                    f,
                    "access records: {} past their time removed, {} archive files written",
                    removed.access.records, removed.access.archive_files
                )?;
            }
        } else {
            writeln!(
                f,
                "retention: not run (give --retention-days, and --retention, as the server has them)"
            )?;
        }
        line(
            f,
            "idempotency keys",
            &self.idempotency_keys_forgotten,
            |n| format!("{n} older than 24 hours forgotten"),
        )?;
        if self.anonymization_on {
            line(f, "anonymization", &self.events_anonymized, |n| {
                format!("{n} events anonymized")
            })
        } else {
            writeln!(f, "anonymization: off (no --anonymize rules)")
        }
    }
}

fn describe_upkeep(upkeep: &Upkeep) -> String {
    let mut parts = Vec::new();
    match (
        upkeep.partitions_made.first(),
        upkeep.partitions_made.last(),
    ) {
        (Some(first), Some(last)) => parts.push(format!(
            "{} day partitions made ({first} to {last})",
            upkeep.partitions_made.len()
        )),
        _ => parts.push("no day partition needed".into()),
    }
    if upkeep.events_moved > 0 {
        parts.push(format!(
            "{} events moved out of the default partition",
            upkeep.events_moved
        ));
    }
    if upkeep.statistics_refreshed {
        parts.push("planner statistics refreshed".into());
    }
    if upkeep.tables_analyzed > 0 {
        parts.push(format!(
            "planner statistics refreshed for {} tables",
            upkeep.tables_analyzed
        ));
    }
    parts.join("; ")
}
