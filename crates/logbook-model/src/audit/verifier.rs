//! Verifying a run of the chain as it is read, page by page, with no I/O of its own: the
//! store feeds it pages of one snapshot, `logbook verify` feeds it the lines of an export.
//! Both therefore hold a chain to the same rules: every link and hash, no gaps, every
//! signed checkpoint in the run holding the hash it signed, and the run ending where the
//! reader says the chain ends.

use super::{
    AuditEvent,
    chain::{self, Verification},
    checkpoint::{Checkpoint, Keyring},
};

/// Where the chain ends, as the reader of the run knows it.
pub struct ChainEnd {
    /// The last seq and hash the chain has (the head in the snapshot, or the last seq an
    /// export says it holds).
    pub seq: i64,
    pub hash: Option<String>,
    /// Whether rows past `seq` were found (a snapshot's rows beyond its own head).
    pub rows_past_end: bool,
}

pub struct Verifier {
    /// The (seq, hash) the next event must follow.
    expected: (i64, String),
    /// The last seq the run covers, when it stops short of the chain's end.
    to_seq: Option<i64>,
    /// Checkpoints in the run, by seq, each waiting for the event it covers.
    checkpoints: Vec<Checkpoint>,
    next_checkpoint: usize,
    result: Verification,
}

impl Verifier {
    /// Starts a run after (`after_seq`, `after_hash`): (0, genesis) from the start.
    /// Checkpoints before the run are not its business; each of the others must be
    /// vouched for by `keyring`, or the run fails at it.
    pub fn new(
        after_seq: i64,
        after_hash: String,
        to_seq: Option<i64>,
        mut checkpoints: Vec<Checkpoint>,
        keyring: &Keyring,
    ) -> Self {
        checkpoints.retain(|c| c.seq > after_seq && to_seq.is_none_or(|to| c.seq <= to));
        checkpoints.sort_by_key(|c| c.seq);
        checkpoints.dedup_by(|a, b| a == b);
        let mut verifier = Self {
            expected: (after_seq, after_hash),
            to_seq,
            checkpoints,
            next_checkpoint: 0,
            result: Verification::default(),
        };
        if let Some(forged) = verifier
            .checkpoints
            .iter()
            .find(|c| !keyring.vouches_for(c))
        {
            let seq = forged.seq;
            verifier.fail(
                seq,
                "a checkpoint's signature does not hold under any trusted key: it was forged or altered",
            );
        }
        verifier
    }

    /// The seq the next page must start at.
    pub fn next_seq(&self) -> i64 {
        self.expected.0 + 1
    }

    /// Whether the run is still unbroken and wants more events.
    pub fn wants_more(&self) -> bool {
        self.result.ok && self.to_seq.is_none_or(|to| self.expected.0 < to)
    }

    fn fail(&mut self, seq: i64, reason: impl Into<String>) {
        if self.result.ok {
            self.result = std::mem::take(&mut self.result).broken(seq, reason);
        }
    }

    /// Checks the next events, in seq order.
    pub fn feed(&mut self, events: &[AuditEvent]) {
        if !self.result.ok {
            return;
        }
        let step = chain::verify(events, (self.expected.0, &self.expected.1));
        for event in events.iter().take(step.checked as usize) {
            self.result.accept(event);
            while let Some(checkpoint) = self.checkpoints.get(self.next_checkpoint) {
                if checkpoint.seq > event.seq {
                    break;
                }
                if checkpoint.seq == event.seq && checkpoint.hash != event.hash {
                    let reason = format!(
                        "rewritten: seq {} no longer has the hash signed at {}",
                        event.seq,
                        crate::timestamp::canonical(&checkpoint.time)
                    );
                    self.fail(event.seq, reason);
                    return;
                }
                self.next_checkpoint += 1;
            }
            self.expected = (event.seq, event.hash.clone());
        }
        if let Some(bad) = step.first_bad {
            self.fail(bad.seq, bad.reason);
        }
    }

    /// The verdict, once the run has been read to `end` (or as far as it goes).
    pub fn finish(mut self, end: ChainEnd) -> Verification {
        if !self.result.ok {
            return self.result;
        }
        let last = self.expected.0;
        let to_end = self.to_seq.is_none_or(|to| to >= end.seq);
        if to_end && last < end.seq {
            let reason = format!(
                "truncated: the chain ends at seq {last} but its head is at seq {}",
                end.seq
            );
            self.fail(last + 1, reason);
        } else if let Some(checkpoint) = self.checkpoints.get(self.next_checkpoint) {
            let reason = format!(
                "truncated: a checkpoint signed at {} covers seq {} but the chain ends at seq {last}",
                crate::timestamp::canonical(&checkpoint.time),
                checkpoint.seq
            );
            self.fail(checkpoint.seq, reason);
        } else if to_end && end.rows_past_end {
            let reason = format!(
                "events past the chain head (seq {}) were added outside Logbook",
                end.seq
            );
            self.fail(end.seq + 1, reason);
        } else if to_end
            && last == end.seq
            && last > 0
            && end
                .hash
                .as_ref()
                .is_some_and(|hash| *hash != self.expected.1)
        {
            self.fail(
                last,
                "the last event's hash is not the one the chain head recorded",
            );
        }
        self.result
    }
}
