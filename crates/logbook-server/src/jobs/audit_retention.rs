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
    audit::{
        AuditEvent,
        checkpoint::{Checkpoint, Keyring},
        verifier::{ChainEnd, Start, Verifier},
    },
    retention::first_kept_day,
};
use logbook_store::{
    Store, StoreError,
    archive::{ArchiveDir, ArchiveWriter, Manifest},
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

/// Cuts every tenant's trail whose events received before its `days` days ago include
/// a checkpoint. Without a signing key nothing is cut.
pub async fn cut_audit_trails(
    store: &dyn Store,
    archive: &ArchiveDir,
    days: &(dyn Fn(TenantId) -> u32 + Sync),
    signer: Option<&Checkpointer>,
    now: DateTime<Utc>,
) -> Result<AuditCuts, StoreError> {
    let mut done = AuditCuts::default();
    if let Some(signer) = signer {
        for (tenant, _, _) in store.audit_heads().await? {
            let before = first_kept_day(days(tenant), now)
                .and_time(chrono::NaiveTime::MIN)
                .and_utc();
            signer.witness_own_cut(store, tenant).await?;
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

/// Archives and cuts one tenant's chain after `point`; returns the files written.
async fn cut(
    store: &dyn Store,
    archive: &ArchiveDir,
    signer: &Checkpointer,
    tenant: TenantId,
    point: &Checkpoint,
) -> Result<usize, StoreError> {
    let written = archive_run(store, archive, signer, tenant, point).await?;
    if let Err(error) = signer.cut(store, point).await {
        // Not cut: the files would archive the same events twice next round.
        for manifest in &written {
            if let Err(discard) = archive.discard(manifest) {
                tracing::warn!(%discard, "cannot remove an archive file of a cut not made");
            }
        }
        return Err(error);
    }
    tracing::info!(%tenant, seq = point.seq, files = written.len(), "cut the audit trail past its retention");
    Ok(written.len())
}

/// Writes the events after the chain's newest cut up to `point` to one archive file per
/// day received, verifying exactly the events it writes as it writes them: links,
/// hashes, every stored and witnessed checkpoint, and the end at `point`'s hash. A run
/// that does not verify leaves no file behind.
async fn archive_run(
    store: &dyn Store,
    archive: &ArchiveDir,
    signer: &Checkpointer,
    tenant: TenantId,
    point: &Checkpoint,
) -> Result<Vec<Manifest>, StoreError> {
    let mut run = Run::start(store, signer, tenant, point).await?;
    let mut written = Vec::new();
    let result = run.write(store, archive, signer, &mut written).await;
    if result.is_err() {
        for manifest in &written {
            if let Err(discard) = archive.discard(manifest) {
                tracing::warn!(%discard, "cannot remove an archive file of a refused run");
            }
        }
    }
    result.map(|()| written)
}

/// One run of the chain being archived: where it starts, what checks it, where it ends.
struct Run {
    tenant: TenantId,
    point: Checkpoint,
    /// The cut the run starts after, if any; it vouches for the first file's start.
    previous: Option<Checkpoint>,
    keyring: Keyring,
    checkpoints: Vec<Checkpoint>,
    verifier: Verifier,
}

impl Run {
    async fn start(
        store: &dyn Store,
        signer: &Checkpointer,
        tenant: TenantId,
        point: &Checkpoint,
    ) -> Result<Self, StoreError> {
        let keyring = store.keyring().await?;
        let witnessed = signer.witnessed(tenant);
        let mut checkpoints = store.checkpoints(tenant).await?;
        checkpoints.extend(witnessed.iter().filter(|c| !c.cut).cloned());
        checkpoints.retain(|c| c.seq <= point.seq);
        let stored_cuts: Vec<Checkpoint> = store.audit_cut(tenant).await?.into_iter().collect();
        let start = Start::of(1, &stored_cuts, &witnessed);
        let previous = match &start {
            Start::Cut(cut) => Some(cut.clone()),
            _ => None,
        };
        let verifier =
            Verifier::from_start(start, None, Some(point.seq), checkpoints.clone(), &keyring);
        Ok(Self {
            tenant,
            point: point.clone(),
            previous,
            keyring,
            checkpoints,
            verifier,
        })
    }

    async fn write(
        &mut self,
        store: &dyn Store,
        archive: &ArchiveDir,
        signer: &Checkpointer,
        written: &mut Vec<Manifest>,
    ) -> Result<(), StoreError> {
        const PAGE: i64 = 1000;
        let tenant = self.tenant;
        let mut follows = self.previous.as_ref().map_or_else(
            || logbook_model::audit::chain::GENESIS.to_owned(),
            |c| c.hash.clone(),
        );
        // The first file starts at the cut before it, which vouches for its start; each
        // later one follows the file before.
        let mut start_cut = self.previous.clone();
        let mut open: Option<DayFile> = None;
        while self.verifier.wants_more() {
            let next = self.verifier.next_seq();
            let page = store
                .audit_range(tenant, next, self.point.seq, PAGE)
                .await?;
            self.verifier.feed(&page);
            // Nothing of a run that breaks is written.
            if page.is_empty() || self.verifier.is_broken() {
                break;
            }
            for event in page {
                let day = event.received_at.date_naive();
                // Days only move forward: an event received just before midnight but
                // linked after one past it stays in the later day's file, so each file
                // is one run.
                if open.as_ref().is_none_or(|file| day > file.day) {
                    if let Some(file) = open.take() {
                        written.push(file.finish(&self.checkpoints).await?);
                    }
                    let header = export_header(
                        tenant,
                        Some(signer.public_key()),
                        &self.keyring,
                        event.seq,
                        &follows,
                        None,
                        start_cut.take().as_ref(),
                    );
                    let archive = archive.clone();
                    let writer =
                        blocking(move || archive.audit_writer(tenant, day, &header)).await?;
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
        let verifier = std::mem::replace(
            &mut self.verifier,
            Verifier::new(0, String::new(), None, vec![], &self.keyring),
        );
        let verified = verifier.finish(ChainEnd {
            seq: self.point.seq,
            hash: Some(self.point.hash.clone()),
            rows_past_end: false,
        });
        if let Some(bad) = verified.first_bad {
            if let Some(file) = open {
                file.abandon();
            }
            return Err(StoreError::Invalid(format!(
                "the chain does not verify at seq {}: {}; it is not cut",
                bad.seq, bad.reason
            )));
        }
        if let Some(file) = open {
            written.push(file.finish(&self.checkpoints).await?);
        }
        Ok(())
    }
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

    /// Removes the file begun: its run did not verify.
    fn abandon(self) {
        self.writer.abandon();
    }

    /// Writes the rest, then the checkpoints of the file's seqs, and completes it.
    async fn finish(self, checkpoints: &[Checkpoint]) -> Result<Manifest, StoreError> {
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
            ArchiveWriter::finish(writer)
        })
        .await
    }
}
