//! Signing the audit chains (model `audit::checkpoint`): an Ed25519 key kept outside the
//! database signs each tenant's head every N events and every few minutes; each
//! checkpoint goes to the database and to an append-only witness file beside the key.
//! Verification then holds the stored chain against every checkpoint: a chain rewritten
//! with fresh hashes, or cut short, contradicts a signature no one else could make.

use std::{
    io::Write,
    path::{Path, PathBuf},
    time::Duration,
};

use chrono::Utc;
use ed25519_dalek::{Signature, Signer, SigningKey};
use logbook_model::{
    TenantId,
    audit::{chain::Verification, checkpoint::Checkpoint},
    hex,
};
use logbook_store::{Store, StoreError};

/// The signing side, with where it keeps its witness.
pub struct Checkpointer {
    key: SigningKey,
    public: String,
    witness: PathBuf,
    /// Sign a tenant's head once it is this many events past its last checkpoint.
    pub every_events: i64,
    /// And at least this often while its head moves.
    pub every: Duration,
}

impl std::fmt::Debug for Checkpointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Checkpointer {{ public: {}, witness: {:?} }}",
            self.public, self.witness
        )
    }
}

impl Checkpointer {
    pub fn new(seed: [u8; 32], witness: PathBuf) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let public = hex::encode(&key.verifying_key().to_bytes());
        Self {
            key,
            public,
            witness,
            every_events: 1000,
            every: Duration::from_secs(300),
        }
    }

    /// Hex of the public key: what an auditor needs to check checkpoints.
    pub fn public_key(&self) -> &str {
        &self.public
    }

    pub fn witness_path(&self) -> &Path {
        &self.witness
    }

    fn sign(&self, tenant: TenantId, seq: i64, hash: String, cut: bool) -> Checkpoint {
        let mut checkpoint = Checkpoint {
            tenant_id: tenant,
            seq,
            hash,
            count: seq,
            time: logbook_model::parse::truncate_to_micros(Utc::now()),
            key_id: self.public.clone(),
            signature: String::new(),
            cut,
        };
        let signature: Signature = self.key.sign(checkpoint.signed_text().as_bytes());
        checkpoint.signature = hex::encode(&signature.to_bytes());
        checkpoint
    }

    /// Signs the tenant's head if it moved past its last checkpoint (and by at least
    /// `min_events`), keeping the checkpoint in the witness file and the database.
    pub async fn checkpoint(
        &self,
        store: &dyn Store,
        tenant: TenantId,
        min_events: i64,
    ) -> Result<Option<Checkpoint>, StoreError> {
        let (seq, hash) = store.audit_head(tenant).await?;
        let last = store.checkpoints(tenant).await?.last().map_or(0, |c| c.seq);
        if seq == 0 || seq <= last || seq - last < min_events {
            return Ok(None);
        }
        let checkpoint = self.sign(tenant, seq, hash, false);
        self.witness(&checkpoint)?;
        store.add_checkpoint(checkpoint.clone()).await?;
        Ok(Some(checkpoint))
    }

    /// Signs a cut of the tenant's chain after `at` (a checkpoint the events up to which
    /// are archived), keeping it in the witness file and the database. The events up to
    /// it may then be removed: verification starts after the cut.
    pub async fn cut(&self, store: &dyn Store, at: &Checkpoint) -> Result<Checkpoint, StoreError> {
        let cut = self.sign(at.tenant_id, at.seq, at.hash.clone(), true);
        // The database first: it refuses a cut whose event no longer holds the hash, and
        // a cut only the witness held would skip the events it was to remove.
        store.cut_audit(cut.clone()).await?;
        self.witness(&cut)?;
        Ok(cut)
    }

    /// Writes the tenant's newest stored cut to the witness file if this key signed it
    /// and the witness lacks it (a round that stopped between the two).
    pub async fn witness_own_cut(
        &self,
        store: &dyn Store,
        tenant: TenantId,
    ) -> Result<(), StoreError> {
        if let Some(cut) = store.audit_cut(tenant).await?
            && cut.key_id == self.public
            && !self.witnessed(tenant).contains(&cut)
        {
            self.witness(&cut)?;
        }
        Ok(())
    }

    /// Appends one line to the witness file and syncs it.
    fn witness(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        let unavailable = |e: std::io::Error| {
            StoreError::Unavailable(format!("witness file {}: {e}", self.witness.display()))
        };
        if let Some(dir) = self.witness.parent() {
            std::fs::create_dir_all(dir).map_err(unavailable)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&self.witness).map_err(unavailable)?;
        let line = serde_json::to_string(checkpoint).expect("a checkpoint serializes");
        writeln!(file, "{line}").map_err(unavailable)?;
        file.sync_data().map_err(unavailable)
    }

    /// The tenant's checkpoints from the witness file.
    pub fn witnessed(&self, tenant: TenantId) -> Vec<Checkpoint> {
        witnessed(&self.witness, tenant)
    }
}

/// The tenant's checkpoints in the witness file at `path` (none if there is no file).
pub fn witnessed(path: &Path, tenant: TenantId) -> Vec<Checkpoint> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| serde_json::from_str::<Checkpoint>(line).ok())
        .filter(|c| c.tenant_id == tenant)
        .collect()
}

/// Signs every tenant whose head moved since its last checkpoint.
pub struct CheckpointJob {
    pub store: std::sync::Arc<dyn Store>,
    pub checkpointer: Option<std::sync::Arc<Checkpointer>>,
}

impl CheckpointJob {
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let Some(checkpointer) = &self.checkpointer else {
            return Ok(0);
        };
        let mut signed = 0;
        for (tenant, _, _) in self.store.audit_heads().await? {
            if checkpointer
                .checkpoint(self.store.as_ref(), tenant, 1)
                .await?
                .is_some()
            {
                signed += 1;
            }
        }
        Ok(signed)
    }
}

/// The first line of an audit export, and of an archive of the audit trail: whose chain,
/// the keys that sign it, and where the file's run starts (after `follows_hash`, or after
/// a signed `cut` that vouches for it) and ends (`to_seq`; else at its last event).
pub fn export_header(
    tenant: TenantId,
    public_key: Option<&str>,
    keyring: &logbook_model::audit::checkpoint::Keyring,
    from_seq: i64,
    follows_hash: &str,
    to_seq: Option<i64>,
    cut: Option<&Checkpoint>,
) -> serde_json::Value {
    let mut header = serde_json::json!({
        "type": EXPORT_TYPE, "version": 1, "tenant_id": tenant,
        "public_key": public_key, "public_keys": keyring.0,
        "from_seq": from_seq, "follows_hash": follows_hash,
    });
    if let Some(to_seq) = to_seq {
        header["to_seq"] = to_seq.into();
    }
    if let Some(cut) = cut {
        header["cut"] = serde_json::json!(cut);
    }
    header
}

const EXPORT_TYPE: &str = "logbook-audit-export";

/// The lines of a file, each read no further than the longest an export or archive
/// writes ([`logbook_store::archive::MAX_LINE`]): a line without end is an error, not
/// all the memory there is.
struct BoundedLines<R>(R);

impl<R: std::io::BufRead> Iterator for BoundedLines<R> {
    type Item = std::io::Result<String>;

    fn next(&mut self) -> Option<Self::Item> {
        use std::io::{BufRead, Read};
        let limit = logbook_store::archive::MAX_LINE;
        let mut line = Vec::new();
        match (&mut self.0)
            .take(limit as u64 + 1)
            .read_until(b'\n', &mut line)
        {
            Err(error) => Some(Err(error)),
            Ok(0) => None,
            Ok(_) => {
                if line.last() == Some(&b'\n') {
                    line.pop();
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                }
                Some(if line.len() > limit {
                    Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("a line is longer than any export writes ({limit} bytes)"),
                    ))
                } else {
                    String::from_utf8(line).map_err(|e| {
                        std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
                    })
                })
            }
        }
    }
}

/// Verifies audit exports (from `GET /api/v1/audit/export`) or archives of the audit
/// trail without a server, as one run: the files are put in seq order, and the chain is
/// checked from the first one's start to where the last one says it ends, with every
/// checkpoint in them vouched for by `public_keys` (an auditor's own copy) or else by
/// the keys the files name. A run that starts after a cut starts only after a cut a
/// trusted key signed. Each file is read twice (`open` opens it again): once for its
/// header and checkpoints, which follow the events, then for the events a page at a
/// time, so memory stays flat however long the trail.
pub fn verify_export<R: std::io::BufRead>(
    files: &[&dyn Fn() -> std::io::Result<R>],
    public_keys: &[String],
) -> Result<Verification, String> {
    use logbook_model::audit::{
        AuditEvent,
        checkpoint::{Keyring, TrustedKey},
        verifier::{ChainEnd, Verifier},
    };

    #[derive(serde::Deserialize)]
    struct Kind {
        #[serde(rename = "type")]
        kind: Option<String>,
        seq: Option<i64>,
        hash: Option<String>,
    }

    /// What the first reading of one file found.
    struct Scanned<'a, R> {
        open: &'a dyn Fn() -> std::io::Result<R>,
        header: serde_json::Value,
        checkpoints: Vec<Checkpoint>,
        /// The seqs of its first and last events, and the last one's hash.
        events: Option<(i64, i64, String)>,
    }

    let lines = |open: &dyn Fn() -> std::io::Result<R>| -> Result<_, String> {
        Ok(BoundedLines(open().map_err(|e| e.to_string())?)
            .enumerate()
            .map(|(i, line)| (i + 1, line)))
    };
    let mut scanned = Vec::with_capacity(files.len());
    for open in files {
        let mut first = lines(*open)?;
        let header: serde_json::Value = match first.next() {
            Some((_, line)) => serde_json::from_str(&line.map_err(|e| e.to_string())?)
                .map_err(|e| format!("line 1: {e}"))?,
            None => return Err("the file is empty".into()),
        };
        if header["type"] != EXPORT_TYPE {
            return Err("line 1 is not the header of a Logbook audit export".into());
        }
        let mut checkpoints: Vec<Checkpoint> = Vec::new();
        let mut events: Option<(i64, i64, String)> = None;
        for (number, line) in first {
            let line = line.map_err(|e| e.to_string())?;
            if line.trim().is_empty() {
                continue;
            }
            let kind: Kind =
                serde_json::from_str(&line).map_err(|e| format!("line {number}: {e}"))?;
            match kind.kind.as_deref() {
                Some("checkpoint") => checkpoints
                    .push(serde_json::from_str(&line).map_err(|e| format!("line {number}: {e}"))?),
                Some("event") => {
                    let (Some(seq), Some(hash)) = (kind.seq, kind.hash) else {
                        return Err(format!("line {number}: an event without its seq and hash"));
                    };
                    events = Some(match events {
                        Some((first, _, _)) => (first, seq, hash),
                        None => (seq, seq, hash),
                    });
                }
                _ => return Err(format!("line {number}: neither an event nor a checkpoint")),
            }
        }
        scanned.push(Scanned {
            open: *open,
            header,
            checkpoints,
            events,
        });
    }
    scanned.sort_by_key(|file| file.header["from_seq"].as_i64().unwrap_or(1));
    // The same run archived twice (a round that archived, then could not cut) is read
    // once; runs that overlap otherwise cannot be one chain.
    scanned.dedup_by(|later, earlier| {
        later.header["from_seq"] == earlier.header["from_seq"] && later.events == earlier.events
    });
    let (Some(first), Some(last)) = (scanned.first(), scanned.last()) else {
        return Err("no file to verify".into());
    };
    let tenant = first.header["tenant_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for file in &scanned {
        let signed_for_another = file
            .checkpoints
            .iter()
            .chain(
                file.header
                    .get("cut")
                    .and_then(|c| serde_json::from_value::<Checkpoint>(c.clone()).ok())
                    .as_ref(),
            )
            .any(|c| c.tenant_id.to_string() != tenant);
        if file.header["tenant_id"] != first.header["tenant_id"] || signed_for_another {
            return Err("the files are of different tenants' audit trails".into());
        }
    }
    let keyring = if public_keys.is_empty() {
        let mut named = Vec::new();
        for file in &scanned {
            let listed: Vec<TrustedKey> =
                serde_json::from_value(file.header["public_keys"].clone()).unwrap_or_default();
            named.extend(listed);
            if let Some(key) = file.header["public_key"].as_str() {
                named.extend(Keyring::of_public_keys([key]).0);
            }
        }
        Keyring(named)
    } else {
        Keyring::of_public_keys(public_keys.iter().map(String::as_str))
    };
    if keyring.0.is_empty() {
        return Err("no public key: pass one (the export names none)".into());
    }
    let from = first.header["from_seq"].as_i64().unwrap_or(1);
    let follows = first.header["follows_hash"]
        .as_str()
        .unwrap_or(logbook_model::audit::chain::GENESIS)
        .to_owned();
    let to = last.header["to_seq"].as_i64();
    let checkpoints: Vec<Checkpoint> = scanned
        .iter()
        .flat_map(|file| file.checkpoints.iter().cloned())
        .collect();
    let mut verifier = match first.header.get("cut") {
        Some(cut) => {
            let cut: Checkpoint = serde_json::from_value(cut.clone())
                .map_err(|e| format!("the header's cut: {e}"))?;
            if cut.seq.saturating_add(1) != from || cut.hash != follows {
                return Err(format!(
                    "the header says the run starts after seq {} but its cut is after seq {}",
                    from.saturating_sub(1),
                    cut.seq
                ));
            }
            Verifier::after_cut(cut, to, checkpoints, &keyring)
        }
        None => Verifier::new(from.saturating_sub(1), follows, to, checkpoints, &keyring),
    };
    let mut page: Vec<AuditEvent> = Vec::with_capacity(1000);
    let mut last_seq = from.saturating_sub(1);
    for file in &scanned {
        for (number, line) in lines(file.open)?.skip(1) {
            let line = line.map_err(|e| e.to_string())?;
            let kind: Option<Kind> = serde_json::from_str(&line).ok();
            if kind.and_then(|k| k.kind).as_deref() != Some("event") {
                continue;
            }
            let event: AuditEvent =
                serde_json::from_str(&line).map_err(|e| format!("line {number}: {e}"))?;
            if event.tenant_id.to_string() != tenant {
                return Err(format!("line {number}: an event of another tenant"));
            }
            last_seq = last_seq.max(event.seq);
            page.push(event);
            if page.len() == 1000 {
                verifier.feed(&page);
                page.clear();
            }
        }
    }
    verifier.feed(&page);
    Ok(verifier.finish(ChainEnd {
        seq: to.unwrap_or(last_seq),
        hash: None,
        rows_past_end: to.is_some_and(|to| last_seq > to),
    }))
}

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Cursor, Read};

    use super::*;

    #[test]
    fn a_line_longer_than_any_export_is_refused_without_holding_it() {
        let header =
            r#"{"type":"logbook-audit-export","version":1,"from_seq":1}"#.to_owned() + "\n";
        let endless = || {
            Ok(BufReader::new(
                Cursor::new(header.clone().into_bytes()).chain(
                    std::io::repeat(b'x').take(logbook_store::archive::MAX_LINE as u64 + 10),
                ),
            ))
        };
        let refused = verify_export(&[&endless], &["ab".repeat(32)]).unwrap_err();
        assert!(refused.contains("longer than any export"), "{refused}");
        let lines: Vec<_> = BoundedLines(Cursor::new("a\r\nb\n\nc"))
            .map(Result::unwrap)
            .collect();
        assert_eq!(lines, ["a", "b", "", "c"]);
    }
}
