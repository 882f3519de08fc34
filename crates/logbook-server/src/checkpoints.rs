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
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
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

    fn sign(&self, tenant: TenantId, seq: i64, hash: String) -> Checkpoint {
        let mut checkpoint = Checkpoint {
            tenant_id: tenant,
            seq,
            hash,
            count: seq,
            time: logbook_model::parse::truncate_to_micros(Utc::now()),
            key_id: self.public.clone(),
            signature: String::new(),
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
        let checkpoint = self.sign(tenant, seq, hash);
        self.witness(&checkpoint)?;
        store.add_checkpoint(checkpoint.clone()).await?;
        Ok(Some(checkpoint))
    }

    /// Appends one line to the witness file and syncs it.
    fn witness(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        let unavailable = |e: std::io::Error| {
            StoreError::Unavailable(format!("witness file {}: {e}", self.witness.display()))
        };
        if let Some(dir) = self.witness.parent() {
            std::fs::create_dir_all(dir).map_err(unavailable)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.witness)
            .map_err(unavailable)?;
        let line = serde_json::to_string(checkpoint).expect("a checkpoint serializes");
        writeln!(file, "{line}").map_err(unavailable)?;
        file.sync_data().map_err(unavailable)
    }

    /// The tenant's checkpoints from the witness file.
    pub fn witnessed(&self, tenant: TenantId) -> Vec<Checkpoint> {
        let Ok(text) = std::fs::read_to_string(&self.witness) else {
            return Vec::new();
        };
        text.lines()
            .filter_map(|line| serde_json::from_str::<Checkpoint>(line).ok())
            .filter(|c| c.tenant_id == tenant)
            .collect()
    }

    /// Holds a chain that verified on its own against the tenant's checkpoints, from
    /// the database and the witness file alike.
    pub async fn check(
        &self,
        store: &dyn Store,
        tenant: TenantId,
        result: Verification,
    ) -> Result<Verification, StoreError> {
        if !result.ok {
            return Ok(result);
        }
        let mut checkpoints = store.checkpoints(tenant).await?;
        checkpoints.extend(self.witnessed(tenant));
        checkpoints.sort_by_key(|c| c.seq);
        let (head_seq, _) = store.audit_head(tenant).await?;
        for checkpoint in checkpoints {
            let failure = if !signature_holds(&checkpoint, &self.public) {
                Some("a checkpoint's signature does not hold: it was forged or altered".to_owned())
            } else if checkpoint.seq > head_seq {
                Some(format!(
                    "truncated: a checkpoint signed at {} covers seq {} but the chain ends at seq {head_seq}",
                    checkpoint.time.to_rfc3339(),
                    checkpoint.seq
                ))
            } else {
                match store
                    .audit_range(tenant, checkpoint.seq, checkpoint.seq, 1)
                    .await?
                    .pop()
                {
                    Some(event) if event.hash == checkpoint.hash => None,
                    Some(_) => Some(format!(
                        "rewritten: seq {} no longer has the hash signed at {}",
                        checkpoint.seq,
                        checkpoint.time.to_rfc3339()
                    )),
                    None => Some(format!(
                        "seq {}, covered by a checkpoint, is missing",
                        checkpoint.seq
                    )),
                }
            };
            if let Some(reason) = failure {
                return Ok(result.broken(checkpoint.seq, reason));
            }
        }
        Ok(result)
    }
}

/// Whether `checkpoint` was signed by the key `public` (hex).
pub fn signature_holds(checkpoint: &Checkpoint, public: &str) -> bool {
    if checkpoint.key_id != public {
        return false;
    }
    let Some(key) = hex::decode_key(public).and_then(|k| VerifyingKey::from_bytes(&k).ok()) else {
        return false;
    };
    let Some(signature) =
        hex::decode(&checkpoint.signature).and_then(|s| Signature::try_from(s.as_slice()).ok())
    else {
        return false;
    };
    key.verify(checkpoint.signed_text().as_bytes(), &signature)
        .is_ok()
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

/// Verifies an audit export (from `GET /api/v1/audit/export`) without a server: the chain
/// from its first event, every checkpoint's signature under `public_key`, and every
/// checkpoint against the event it covers. Reads line by line; keeps 32 bytes per event.
pub fn verify_export(
    reader: impl std::io::BufRead,
    public_key: Option<&str>,
) -> Result<Verification, String> {
    use logbook_model::audit::{AuditEvent, chain};

    let mut lines = reader.lines();
    let header: serde_json::Value = match lines.next() {
        Some(line) => serde_json::from_str(&line.map_err(|e| e.to_string())?)
            .map_err(|e| format!("line 1: {e}"))?,
        None => return Err("the file is empty".into()),
    };
    if header["type"] != "logbook-audit-export" {
        return Err("line 1 is not the header of a Logbook audit export".into());
    }
    let key = public_key
        .map(str::to_owned)
        .or_else(|| header["public_key"].as_str().map(str::to_owned))
        .ok_or("no public key: pass one (the export names none)")?;
    let from = header["from_seq"].as_i64().unwrap_or(1);
    let follows = header["follows_hash"]
        .as_str()
        .unwrap_or(chain::GENESIS)
        .to_owned();
    let mut expected = (from - 1, follows);
    let mut hashes: Vec<[u8; 32]> = Vec::new();
    let mut checkpoints: Vec<Checkpoint> = Vec::new();
    let mut result = Verification::default();
    for (number, line) in lines.enumerate() {
        let line = line.map_err(|e| e.to_string())?;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| format!("line {}: {e}", number + 2))?;
        match value["type"].as_str() {
            Some("event") => {
                let event: AuditEvent = serde_json::from_value(value)
                    .map_err(|e| format!("line {}: {e}", number + 2))?;
                let step = chain::verify(std::slice::from_ref(&event), (expected.0, &expected.1));
                if let Some(bad) = step.first_bad {
                    return Ok(result.broken(bad.seq, bad.reason));
                }
                hashes.push(hex::decode_key(&event.hash).unwrap_or_default());
                result.accept(&event);
                expected = (event.seq, event.hash);
            }
            Some("checkpoint") => checkpoints.push(
                serde_json::from_value(value).map_err(|e| format!("line {}: {e}", number + 2))?,
            ),
            _ => {
                return Err(format!(
                    "line {}: neither an event nor a checkpoint",
                    number + 2
                ));
            }
        }
    }
    for checkpoint in checkpoints.iter().filter(|c| c.seq >= from) {
        let reason = if !signature_holds(checkpoint, &key) {
            Some("a checkpoint's signature does not hold under the public key".to_owned())
        } else if checkpoint.seq > expected.0 {
            Some(format!(
                "truncated: a checkpoint covers seq {} but the export ends at seq {}",
                checkpoint.seq, expected.0
            ))
        } else if hashes
            .get((checkpoint.seq - from) as usize)
            .map(|h| hex::encode(h))
            != Some(checkpoint.hash.clone())
        {
            Some(format!(
                "rewritten: seq {} does not have the hash signed at {}",
                checkpoint.seq,
                checkpoint.time.to_rfc3339()
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            return Ok(result.broken(checkpoint.seq, reason));
        }
    }
    Ok(result)
}
