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

/// Where a run asked to begin at `from_seq` starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    /// At the chain's first event, after the genesis hash.
    Genesis,
    /// After a signed cut: retention removed the chain up to it, so a run asked to
    /// begin at or before it begins just after it.
    Cut(Checkpoint),
    /// After the stored event at this seq, which the reader must find.
    After(i64),
    /// Nowhere: the newest cut is not in the witness, yet it would hide a checkpoint
    /// the witness holds (at `hidden`). A key added to the database's keyring could sign
    /// such a cut; only the witness, kept outside the database, can tell.
    Unwitnessed { cut: Checkpoint, hidden: i64 },
}

impl Start {
    /// Where a run from `from_seq` starts, given the chain's cuts in the database and
    /// the statements of the witness file (its cuts count too; the newest cut counts).
    pub fn of(from_seq: i64, stored_cuts: &[Checkpoint], witnessed: &[Checkpoint]) -> Self {
        let from = from_seq.max(1);
        let cuts = stored_cuts.iter().chain(witnessed).filter(|c| c.cut);
        let newest = match cuts.max_by_key(|c| c.seq) {
            Some(cut) if from <= cut.seq.saturating_add(1) => cut,
            _ if from == 1 => return Self::Genesis,
            _ => return Self::After(from - 1),
        };
        if witnessed.contains(newest) {
            return Self::Cut(newest.clone());
        }
        let witnessed_cut = witnessed
            .iter()
            .filter(|c| c.cut)
            .map(|c| c.seq)
            .max()
            .unwrap_or(0);
        match witnessed
            .iter()
            .filter(|c| !c.cut && c.seq > witnessed_cut && c.seq <= newest.seq)
            .map(|c| c.seq)
            .max()
        {
            Some(hidden) => Self::Unwitnessed {
                cut: newest.clone(),
                hidden,
            },
            None => Self::Cut(newest.clone()),
        }
    }
}

impl Verifier {
    /// Starts a run at `start`; for [`Start::After`], `previous_hash` is the stored hash
    /// of the event there, and a run whose previous event is missing fails at it.
    pub fn from_start(
        start: Start,
        previous_hash: Option<String>,
        to_seq: Option<i64>,
        checkpoints: Vec<Checkpoint>,
        keyring: &Keyring,
    ) -> Self {
        match (start, previous_hash) {
            (Start::Genesis, _) => Self::new(
                0,
                super::chain::GENESIS.into(),
                to_seq,
                checkpoints,
                keyring,
            ),
            (Start::Cut(cut), _) => Self::after_cut(cut, to_seq, checkpoints, keyring),
            (Start::Unwitnessed { cut, hidden }, _) => {
                let seq = cut.seq;
                let mut verifier = Self::after_cut(cut, to_seq, vec![], keyring);
                verifier.fail(
                    seq,
                    format!(
                        "the chain was cut after seq {seq} by a cut the witness file does not \
                         hold, which would hide the witnessed checkpoint at seq {hidden}"
                    ),
                );
                verifier
            }
            (Start::After(seq), Some(hash)) => Self::new(seq, hash, to_seq, checkpoints, keyring),
            (Start::After(seq), None) => {
                let mut verifier = Self::new(seq, String::new(), to_seq, vec![], keyring);
                verifier.fail(seq, format!("seq {seq} is missing"));
                verifier
            }
        }
    }

    /// Starts a run after a signed cut, which a trusted key must vouch for: a chain whose
    /// start was removed without one fails at the cut.
    pub fn after_cut(
        cut: Checkpoint,
        to_seq: Option<i64>,
        checkpoints: Vec<Checkpoint>,
        keyring: &Keyring,
    ) -> Self {
        let mut verifier = Self::new(cut.seq, cut.hash.clone(), to_seq, checkpoints, keyring);
        if !cut.cut || !keyring.vouches_for(&cut) {
            verifier.fail(
                cut.seq,
                format!(
                    "the chain was cut after seq {}, but no trusted key signed that cut",
                    cut.seq
                ),
            );
        }
        verifier.result.cut = Some(cut);
        verifier
    }

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
        self.expected.0.saturating_add(1)
    }

    /// Whether the run has failed.
    pub fn is_broken(&self) -> bool {
        !self.result.ok
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
        if to_end && last > end.seq {
            let reason = format!(
                "the chain starts after seq {last} but its head is at seq {}: events past \
                 the head were removed, or the store is older than its cut",
                end.seq
            );
            self.fail(end.seq.saturating_add(1), reason);
        } else if to_end && last < end.seq {
            let reason = format!(
                "truncated: the chain ends at seq {last} but its head is at seq {}",
                end.seq
            );
            self.fail(last.saturating_add(1), reason);
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
            self.fail(end.seq.saturating_add(1), reason);
        } else if to_end
            && last == end.seq
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

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use ed25519_dalek::{Signer, SigningKey};
    use serde_json::json;

    use super::*;
    use crate::{
        TenantId,
        audit::{AuditParser, chain::GENESIS, checkpoint::TrustedKey},
        hex,
    };

    struct Fixture {
        events: Vec<AuditEvent>,
        key: SigningKey,
    }

    impl Fixture {
        fn new(n: usize) -> Self {
            let parser = AuditParser::default();
            let tenant = TenantId::new();
            let (mut seq, mut head) = (0, GENESIS.to_owned());
            let events = (0..n)
                .map(|i| {
                    let raw = json!({"action": "update", "resource_type": "doc", "resource_id": i.to_string()});
                    let mut event = parser.parse_json(tenant, &raw.to_string(), Utc::now()).unwrap();
                    chain::link(&mut event, seq, &head);
                    (seq, head) = (event.seq, event.hash.clone());
                    event
                })
                .collect();
            Self {
                events,
                key: SigningKey::from_bytes(&[7; 32]),
            }
        }

        fn key_id(&self) -> String {
            hex::encode(self.key.verifying_key().as_bytes())
        }

        fn keyring(&self) -> Keyring {
            Keyring::of_public_keys([self.key_id().as_str()])
        }

        /// A checkpoint over the chain as it stands at `seq`.
        fn checkpoint(&self, seq: i64) -> Checkpoint {
            let event = &self.events[seq as usize - 1];
            let mut checkpoint = Checkpoint {
                tenant_id: event.tenant_id,
                seq,
                hash: event.hash.clone(),
                count: seq,
                time: DateTime::from_timestamp(1_767_000_000, 0).unwrap(),
                key_id: self.key_id(),
                signature: String::new(),
                cut: false,
            };
            let signature = self.key.sign(checkpoint.signed_text().as_bytes());
            checkpoint.signature = hex::encode(&signature.to_bytes());
            checkpoint
        }

        /// A signed cut of the chain after `seq`.
        fn cut(&self, seq: i64) -> Checkpoint {
            let mut cut = Checkpoint {
                cut: true,
                ..self.checkpoint(seq)
            };
            let signature = self.key.sign(cut.signed_text().as_bytes());
            cut.signature = hex::encode(&signature.to_bytes());
            cut
        }

        fn head(&self) -> ChainEnd {
            let last = self.events.last().unwrap();
            ChainEnd {
                seq: last.seq,
                hash: Some(last.hash.clone()),
                rows_past_end: false,
            }
        }

        /// Verifies `events` fed in pages of `page`, from the start, to `end`.
        fn verify(
            &self,
            events: &[AuditEvent],
            checkpoints: Vec<Checkpoint>,
            page: usize,
            end: ChainEnd,
        ) -> Verification {
            let mut verifier = Verifier::new(0, GENESIS.into(), None, checkpoints, &self.keyring());
            for chunk in events.chunks(page) {
                assert_eq!(verifier.next_seq(), chunk[0].seq.min(verifier.next_seq()));
                verifier.feed(chunk);
            }
            verifier.finish(end)
        }
    }

    fn broken_at(result: &Verification) -> Option<(i64, &str)> {
        result
            .first_bad
            .as_ref()
            .map(|b| (b.seq, b.reason.as_str()))
    }

    #[test]
    fn a_whole_chain_read_in_pages_verifies_with_its_checkpoints() {
        let chain = Fixture::new(10);
        let checkpoints = vec![chain.checkpoint(4), chain.checkpoint(10)];
        let result = chain.verify(&chain.events, checkpoints, 3, chain.head());
        assert!(result.ok, "{result:?}");
        assert_eq!(
            (result.checked, result.first_seq, result.last_seq),
            (10, Some(1), Some(10))
        );
        assert_eq!(
            result.last_hash.as_deref(),
            Some(chain.events[9].hash.as_str())
        );
    }

    #[test]
    fn the_next_page_starts_after_the_last_event_checked() {
        let chain = Fixture::new(6);
        let mut verifier = Verifier::new(0, GENESIS.into(), None, vec![], &chain.keyring());
        assert_eq!(verifier.next_seq(), 1);
        verifier.feed(&chain.events[..4]);
        assert_eq!(verifier.next_seq(), 5);
        let mut from_middle = Verifier::new(
            2,
            chain.events[1].hash.clone(),
            None,
            vec![],
            &chain.keyring(),
        );
        assert_eq!(from_middle.next_seq(), 3);
        from_middle.feed(&chain.events[2..]);
        assert!(from_middle.finish(chain.head()).ok);
    }

    #[test]
    fn a_run_to_a_seq_wants_no_more_past_it() {
        let chain = Fixture::new(6);
        let mut verifier = Verifier::new(0, GENESIS.into(), Some(4), vec![], &chain.keyring());
        assert!(verifier.wants_more());
        verifier.feed(&chain.events[..3]);
        assert!(verifier.wants_more(), "seq 3 is short of 4");
        verifier.feed(&chain.events[3..4]);
        assert!(!verifier.wants_more(), "seq 4 reached");
        // A run that stops at its own end is whole, though the chain goes on.
        let result = verifier.finish(chain.head());
        assert!(result.ok && result.checked == 4, "{result:?}");

        let mut open = Verifier::new(0, GENESIS.into(), None, vec![], &chain.keyring());
        open.feed(&chain.events);
        assert!(open.wants_more(), "an open run always wants more");
        let mut broken = Verifier::new(0, GENESIS.into(), None, vec![], &chain.keyring());
        broken.feed(&chain.events[1..]);
        assert!(!broken.wants_more(), "a broken run wants no more");
    }

    #[test]
    fn a_break_is_reported_once_at_its_first_event_and_feeding_stops() {
        let chain = Fixture::new(6);
        let mut events = chain.events.clone();
        events[2].actor_id = Some("mallory".into());
        let mut verifier = Verifier::new(0, GENESIS.into(), None, vec![], &chain.keyring());
        verifier.feed(&events[..2]);
        assert!(!verifier.is_broken());
        verifier.feed(&events[2..4]);
        assert!(verifier.is_broken());
        // Later pages, broken too, do not move the first break.
        verifier.feed(&events[5..]);
        let result = verifier.finish(chain.head());
        assert_eq!(broken_at(&result).map(|b| b.0), Some(3));
        assert!(broken_at(&result).unwrap().1.contains("altered"));
        assert_eq!(result.checked, 2);
    }

    #[test]
    fn a_chain_cut_short_of_its_head_is_truncated() {
        let chain = Fixture::new(6);
        let result = chain.verify(&chain.events[..4], vec![], 2, chain.head());
        assert_eq!(
            broken_at(&result),
            Some((
                5,
                "truncated: the chain ends at seq 4 but its head is at seq 6"
            ))
        );
        // A run up to seq 4 is not cut short by ending there.
        let mut to_four = Verifier::new(0, GENESIS.into(), Some(4), vec![], &chain.keyring());
        to_four.feed(&chain.events[..4]);
        assert!(to_four.finish(chain.head()).ok);
    }

    #[test]
    fn a_checkpoint_past_the_end_shows_truncation_the_head_hides() {
        let chain = Fixture::new(6);
        let checkpoint = chain.checkpoint(6);
        // The head row was cut too: the chain and its head agree at seq 4.
        let cut_head = ChainEnd {
            seq: 4,
            hash: Some(chain.events[3].hash.clone()),
            rows_past_end: false,
        };
        let result = chain.verify(&chain.events[..4], vec![checkpoint], 2, cut_head);
        let (seq, reason) = broken_at(&result).unwrap();
        assert_eq!(seq, 6);
        assert!(
            reason.starts_with("truncated: a checkpoint signed at")
                && reason.ends_with("covers seq 6 but the chain ends at seq 4"),
            "{reason}"
        );
    }

    #[test]
    fn rows_past_the_head_were_added_outside_logbook() {
        let chain = Fixture::new(4);
        let end = ChainEnd {
            rows_past_end: true,
            ..chain.head()
        };
        let result = chain.verify(&chain.events, vec![], 4, end);
        assert_eq!(
            broken_at(&result),
            Some((
                5,
                "events past the chain head (seq 4) were added outside Logbook"
            ))
        );
    }

    #[test]
    fn a_head_that_records_another_hash_breaks_the_chain() {
        let chain = Fixture::new(4);
        let end = ChainEnd {
            hash: Some(chain.events[2].hash.clone()),
            ..chain.head()
        };
        let result = chain.verify(&chain.events, vec![], 4, end);
        assert_eq!(
            broken_at(&result),
            Some((
                4,
                "the last event's hash is not the one the chain head recorded"
            ))
        );
        // No recorded hash (an export's end) is no contradiction.
        let end = ChainEnd {
            hash: None,
            ..chain.head()
        };
        assert!(chain.verify(&chain.events, vec![], 4, end).ok);
    }

    #[test]
    fn a_rewritten_chain_contradicts_its_checkpoint() {
        let chain = Fixture::new(6);
        let checkpoint = chain.checkpoint(3);
        // Rewritten from seq 2 on, every hash recomputed: links hold, the signature not.
        let mut rewritten = chain.events.clone();
        rewritten[1].description = Some("nothing to see".into());
        for i in 1..rewritten.len() {
            let (seq, prev) = (rewritten[i - 1].seq, rewritten[i - 1].hash.clone());
            chain::link(&mut rewritten[i], seq, &prev);
        }
        let head = ChainEnd {
            seq: 6,
            hash: Some(rewritten[5].hash.clone()),
            rows_past_end: false,
        };
        let result = chain.verify(&rewritten, vec![checkpoint.clone()], 2, head);
        let (seq, reason) = broken_at(&result).unwrap();
        assert_eq!(seq, 3);
        assert!(
            reason.starts_with("rewritten: seq 3 no longer has the hash signed at"),
            "{reason}"
        );
        assert_eq!(result.checked, 3, "counted up to the event found rewritten");
        assert!(
            chain
                .verify(&chain.events, vec![checkpoint], 2, chain.head())
                .ok
        );
    }

    #[test]
    fn checkpoints_outside_the_run_are_not_its_business() {
        let chain = Fixture::new(6);
        let mut forged = chain.checkpoint(2);
        forged.signature = "00".repeat(64);
        let mut from_three = Verifier::new(
            2,
            chain.events[1].hash.clone(),
            Some(5),
            vec![forged.clone(), chain.checkpoint(6)],
            &chain.keyring(),
        );
        from_three.feed(&chain.events[2..5]);
        assert!(
            from_three.finish(chain.head()).ok,
            "before the run and past its end"
        );
        let mut whole = Verifier::new(
            0,
            GENESIS.into(),
            None,
            vec![forged, chain.checkpoint(6)],
            &chain.keyring(),
        );
        whole.feed(&chain.events);
        assert_eq!(broken_at(&whole.finish(chain.head())).map(|b| b.0), Some(2));
    }

    #[test]
    fn a_run_after_a_signed_cut_verifies_what_is_left() {
        let chain = Fixture::new(8);
        let cut = chain.cut(3);
        let mut verifier = Verifier::after_cut(
            cut.clone(),
            None,
            vec![chain.checkpoint(3), chain.checkpoint(6), cut.clone()],
            &chain.keyring(),
        );
        assert_eq!(verifier.next_seq(), 4);
        verifier.feed(&chain.events[3..]);
        let result = verifier.finish(chain.head());
        assert!(result.ok, "{result:?}");
        assert_eq!((result.checked, result.first_seq), (5, Some(4)));
        assert_eq!(result.cut, Some(cut));

        // Events left that do not follow the cut's hash are a break at the first of them.
        let mut other_hash = Checkpoint {
            hash: chain.events[1].hash.clone(),
            ..chain.cut(3)
        };
        other_hash.signature = hex::encode(
            &chain
                .key
                .sign(other_hash.signed_text().as_bytes())
                .to_bytes(),
        );
        let mut wrong = Verifier::after_cut(other_hash, None, vec![], &chain.keyring());
        wrong.feed(&chain.events[3..]);
        assert_eq!(broken_at(&wrong.finish(chain.head())).map(|b| b.0), Some(4));
    }

    #[test]
    fn a_cut_no_trusted_key_signed_as_a_cut_breaks_the_chain_there() {
        let chain = Fixture::new(5);
        let unsigned = |cut: Checkpoint| {
            let mut verifier = Verifier::after_cut(cut, None, vec![], &chain.keyring());
            verifier.feed(&chain.events[2..]);
            verifier.finish(chain.head())
        };
        assert!(unsigned(chain.cut(2)).ok);
        // A checkpoint's own signature does not make it a cut: the cut flag is signed.
        let checkpoint_as_cut = Checkpoint {
            cut: true,
            ..chain.checkpoint(2)
        };
        let stranger = SigningKey::from_bytes(&[9; 32]);
        let mut foreign = Checkpoint {
            key_id: hex::encode(stranger.verifying_key().as_bytes()),
            ..chain.cut(2)
        };
        foreign.signature =
            hex::encode(&stranger.sign(foreign.signed_text().as_bytes()).to_bytes());
        for cut in [checkpoint_as_cut, foreign, chain.checkpoint(2)] {
            let result = unsigned(cut);
            assert_eq!(
                broken_at(&result),
                Some((
                    2,
                    "the chain was cut after seq 2, but no trusted key signed that cut"
                ))
            );
            assert_eq!(result.checked, 0);
        }
    }

    #[test]
    fn a_run_starts_after_the_newest_cut_when_asked_for_what_it_removed() {
        let chain = Fixture::new(9);
        let cuts = [chain.cut(3), chain.cut(6), chain.checkpoint(8)];
        assert_eq!(Start::of(1, &cuts, &[]), Start::Cut(chain.cut(6)));
        assert_eq!(Start::of(7, &cuts, &[]), Start::Cut(chain.cut(6)));
        assert_eq!(Start::of(8, &cuts, &[]), Start::After(7));
        assert_eq!(Start::of(1, &[], &[]), Start::Genesis);
        assert_eq!(Start::of(0, &[chain.checkpoint(4)], &[]), Start::Genesis);
        assert_eq!(Start::of(5, &[], &[]), Start::After(4));
        assert_eq!(
            Start::of(1, &[], &cuts),
            Start::Cut(chain.cut(6)),
            "witnessed"
        );
        let far = Checkpoint {
            seq: i64::MAX,
            ..chain.cut(6)
        };
        assert_eq!(
            Start::of(i64::MAX, std::slice::from_ref(&far), &[]),
            Start::Cut(far)
        );
    }

    #[test]
    fn a_cut_the_witness_lacks_may_not_hide_what_it_witnessed() {
        let chain = Fixture::new(9);
        let witnessed = [chain.checkpoint(2), chain.cut(4), chain.checkpoint(6)];
        // A stored cut at 8, witnessed nowhere, would hide the witnessed checkpoint at 6.
        assert_eq!(
            Start::of(1, &[chain.cut(8)], &witnessed),
            Start::Unwitnessed {
                cut: chain.cut(8),
                hidden: 6
            }
        );
        let mut verifier = Verifier::from_start(
            Start::of(1, &[chain.cut(8)], &witnessed),
            None,
            None,
            vec![],
            &chain.keyring(),
        );
        verifier.feed(&chain.events[8..]);
        let result = verifier.finish(chain.head());
        assert_eq!(result.first_bad.map(|b| b.seq), Some(8));
        // Witnessed, or hiding nothing witnessed past the witnessed cut: it holds.
        let also_witnessed = [chain.checkpoint(2), chain.cut(4), chain.cut(8)];
        assert_eq!(
            Start::of(1, &[chain.cut(8)], &also_witnessed),
            Start::Cut(chain.cut(8))
        );
        assert_eq!(
            Start::of(1, &[chain.cut(5)], &witnessed),
            Start::Cut(chain.cut(5)),
            "the checkpoint at 2 lies before the witnessed cut at 4"
        );
        assert_eq!(
            Start::of(1, &[chain.cut(3)], &witnessed),
            Start::Cut(chain.cut(4)),
            "the newest cut counts"
        );
        let at_the_cut = [chain.cut(4), chain.checkpoint(4)];
        assert_eq!(
            Start::of(1, &[chain.cut(7)], &at_the_cut),
            Start::Cut(chain.cut(7)),
            "a checkpoint at the witnessed cut is behind it"
        );
    }

    #[test]
    fn a_cut_past_the_head_is_a_removed_tail() {
        let chain = Fixture::new(4);
        let mut verifier = Verifier::after_cut(chain.cut(4), None, vec![], &chain.keyring());
        verifier.feed(&[]);
        let head_at_two = ChainEnd {
            seq: 2,
            hash: Some(chain.events[1].hash.clone()),
            rows_past_end: false,
        };
        let result = verifier.finish(head_at_two);
        assert_eq!(result.first_bad.map(|b| b.seq), Some(3));
        let at_head = Verifier::after_cut(chain.cut(4), None, vec![], &chain.keyring());
        assert!(
            at_head.finish(chain.head()).ok,
            "a cut at the head, nothing after"
        );
    }

    #[test]
    fn the_signed_text_is_the_checkpoints_canonical_json() {
        let chain = Fixture::new(1);
        let checkpoint = Checkpoint {
            tenant_id: chain.events[0].tenant_id,
            hash: "ab".repeat(32),
            time: DateTime::from_timestamp(1_767_000_000, 6_000).unwrap(),
            ..chain.checkpoint(1)
        };
        assert_eq!(
            checkpoint.signed_text(),
            format!(
                r#"{{"count":1,"hash":"{}","seq":1,"tenant_id":"{}","time":"2025-12-29T09:20:00.000006Z"}}"#,
                "ab".repeat(32),
                checkpoint.tenant_id
            )
        );
    }

    #[test]
    fn a_key_vouches_only_for_its_own_untouched_signatures_made_before_it_retired() {
        let chain = Fixture::new(3);
        let checkpoint = chain.checkpoint(3);
        assert!(chain.keyring().vouches_for(&checkpoint));
        assert!(super::super::checkpoint::signature_holds(
            &checkpoint,
            &chain.key_id()
        ));

        let altered = Checkpoint {
            count: 2,
            ..checkpoint.clone()
        };
        assert!(
            !chain.keyring().vouches_for(&altered),
            "the signature covers the count"
        );
        assert!(!super::super::checkpoint::signature_holds(
            &altered,
            &chain.key_id()
        ));

        let stranger = SigningKey::from_bytes(&[9; 32]);
        let stranger_id = hex::encode(stranger.verifying_key().as_bytes());
        assert!(
            !Keyring::of_public_keys([stranger_id.as_str()]).vouches_for(&checkpoint),
            "not the signer"
        );
        assert!(!super::super::checkpoint::signature_holds(
            &checkpoint,
            &stranger_id
        ));
        // A key named as the signer must also have made the signature.
        let claimed = Checkpoint {
            key_id: stranger_id.clone(),
            ..checkpoint.clone()
        };
        assert!(!Keyring::of_public_keys([stranger_id.as_str()]).vouches_for(&claimed));

        let retired_at = |at: DateTime<Utc>| {
            Keyring(vec![TrustedKey {
                key_id: chain.key_id(),
                added_at: DateTime::UNIX_EPOCH,
                retired_at: Some(at),
            }])
        };
        assert!(
            retired_at(checkpoint.time).vouches_for(&checkpoint),
            "signed as it retired"
        );
        assert!(
            !retired_at(checkpoint.time - chrono::Duration::seconds(1)).vouches_for(&checkpoint),
            "signed after"
        );
        assert!(
            Keyring::of_public_keys([chain.key_id().to_uppercase().as_str()])
                .vouches_for(&checkpoint),
            "hex in any case"
        );
        assert!(!Keyring::default().vouches_for(&checkpoint));
    }
}
