//! Cuts each tenant's audit trail past its retention. The chain can only lose a prefix,
//! and only at a checkpoint signed while the events were still there: the events received
//! before the first kept day, up to the newest checkpoint among them, are verified, then
//! written to archive files (one per day received, each in the form of an audit export
//! with the checkpoints that cover it), then a cut is signed at that checkpoint and the
//! events are removed. Verification, online and offline, starts after the cut; a chain
//! that does not verify is never cut, so a cut never launders a break.

use chrono::{DateTime, NaiveDate, Utc};
use logbook_model::{
    TenantId,
    audit::{AuditEvent, checkpoint::Checkpoint},
    retention::first_kept_day,
};
use logbook_store::{
    Store, StoreError,
    archive::{ArchiveDir, ArchiveWriter},
};

use super::retention::blocking;
use crate::checkpoints::{Checkpointer, export_header};

/// What one round did to the audit trails.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditCuts {
    /// Chains cut this round.
    pub cuts: usize,
    pub archive_files: usize,
    /// Events removed at or before a cut (this round's or an earlier one's).
    pub events: u64,
}

/// Cuts every tenant's trail whose events received before `days` days ago include a
/// checkpoint. Without a signing key nothing is cut.
pub async fn cut_audit_trails(
    store: &dyn Store,
    archive: &ArchiveDir,
    days: u32,
    signer: Option<&Checkpointer>,
    now: DateTime<Utc>,
) -> Result<AuditCuts, StoreError> {
    let mut done = AuditCuts::default();
    if let Some(signer) = signer {
        let before = first_kept_day(days, now)
            .and_time(chrono::NaiveTime::MIN)
            .and_utc();
        for (tenant, _, _) in store.audit_heads().await? {
            if let Some(point) = store.audit_cut_point(tenant, before).await? {
                match cut(store, archive, signer, tenant, &point).await {
                    Ok(files) => {
                        done.cuts += 1;
                        done.archive_files += files;
                    }
                    Err(error) => tracing::warn!(
                        %error, %tenant, seq = point.seq,
                        "cannot cut the audit trail past its retention"
                    ),
                }
            }
        }
    }
    // Also finishes removals an interrupted round left behind.
    done.events = store.remove_cut_audit().await?;
    Ok(done)
}

/// Verifies, archives and cuts one tenant's chain after `point`; returns the files written.
async fn cut(
    store: &dyn Store,
    archive: &ArchiveDir,
    signer: &Checkpointer,
    tenant: TenantId,
    point: &Checkpoint,
) -> Result<usize, StoreError> {
    let previous = store.audit_cut(tenant).await?;
    let from = previous.as_ref().map_or(1, |cut| cut.seq + 1);
    let verified = store
        .verify_audit(tenant, from, Some(point.seq), signer.witnessed(tenant))
        .await?;
    if let Some(bad) = verified.first_bad {
        return Err(StoreError::Invalid(format!(
            "the chain does not verify at seq {}: {}",
            bad.seq, bad.reason
        )));
    }
    let files = archive_run(store, archive, signer, tenant, previous, point).await?;
    signer.cut(store, point).await?;
    tracing::info!(%tenant, seq = point.seq, files, "cut the audit trail past its retention");
    Ok(files)
}

/// Writes the events after `previous` up to `point` to one archive file per day received.
async fn archive_run(
    store: &dyn Store,
    archive: &ArchiveDir,
    signer: &Checkpointer,
    tenant: TenantId,
    previous: Option<Checkpoint>,
    point: &Checkpoint,
) -> Result<usize, StoreError> {
    const PAGE: i64 = 1000;
    let keyring = store.keyring().await?;
    let checkpoints: Vec<Checkpoint> = store
        .checkpoints(tenant)
        .await?
        .into_iter()
        .filter(|c| c.seq <= point.seq)
        .collect();
    let mut next = previous.as_ref().map_or(1, |cut| cut.seq + 1);
    let mut follows = previous.as_ref().map_or_else(
        || logbook_model::audit::chain::GENESIS.to_owned(),
        |c| c.hash.clone(),
    );
    // The first file starts at the cut before it, which vouches for its start; each
    // later one follows the file before.
    let mut start_cut = previous;
    let mut open: Option<DayFile> = None;
    let mut files = 0;
    while next <= point.seq {
        let page = store.audit_range(tenant, next, point.seq, PAGE).await?;
        let Some(last) = page.last() else {
            return Err(StoreError::Invalid(format!(
                "the chain has no seq {next} though a checkpoint covers seq {}",
                point.seq
            )));
        };
        next = last.seq + 1;
        for event in page {
            let day = event.received_at.date_naive();
            // Days only move forward: an event received just before midnight but linked
            // after one past it stays in the later day's file, so each file is one run.
            if open.as_ref().is_none_or(|file| day > file.day) {
                if let Some(file) = open.take() {
                    file.finish(&checkpoints).await?;
                    files += 1;
                }
                let header = export_header(
                    tenant,
                    Some(signer.public_key()),
                    &keyring,
                    event.seq,
                    &follows,
                    None,
                    start_cut.take().as_ref(),
                );
                let archive = archive.clone();
                let writer = blocking(move || archive.audit_writer(tenant, day, &header)).await?;
                open = Some(DayFile {
                    day,
                    writer,
                    pending: Vec::new(),
                });
            }
            follows = event.hash.clone();
            if let Some(file) = open.as_mut() {
                file.pending.push(event);
            }
        }
        if let Some(file) = open.take() {
            open = Some(file.flush().await?);
        }
    }
    if let Some(file) = open {
        file.finish(&checkpoints).await?;
        files += 1;
    }
    Ok(files)
}

/// The archive file of one day, and the events read for it but not yet written.
struct DayFile {
    day: NaiveDate,
    writer: ArchiveWriter,
    pending: Vec<AuditEvent>,
}

impl DayFile {
    /// Writes the pending events, off the async threads.
    async fn flush(self) -> Result<Self, StoreError> {
        let Self {
            day,
            mut writer,
            pending,
        } = self;
        let writer = blocking(move || {
            pending.iter().try_for_each(|e| writer.write_audit(e))?;
            Ok(writer)
        })
        .await?;
        Ok(Self {
            day,
            writer,
            pending: Vec::new(),
        })
    }

    /// Writes the rest, then the checkpoints of the file's seqs, and completes it.
    async fn finish(self, checkpoints: &[Checkpoint]) -> Result<(), StoreError> {
        let mut writer = self.flush().await?.writer;
        let (first, last) = (writer.first_seq(), writer.last_seq());
        let covering: Vec<Checkpoint> = checkpoints
            .iter()
            .filter(|c| first.is_some_and(|f| c.seq >= f) && last.is_some_and(|l| c.seq <= l))
            .cloned()
            .collect();
        blocking(move || {
            covering
                .iter()
                .try_for_each(|c| writer.write_checkpoint(c))?;
            ArchiveWriter::finish(writer).map(drop)
        })
        .await
    }
}
