//! The audit chain in PostgreSQL. Appending locks the tenant's chain head row, so
//! several servers writing one tenant's trail at once still make a single chain.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Client, GenericClient};
use logbook_model::{
    TenantId,
    audit::{
        ActorSummary, AuditEvent, AuditQuery,
        chain::{self, Verification},
        checkpoint::{Checkpoint, Keyring, TrustedKey},
        verifier::{ChainEnd, Start, Verifier},
    },
};
use tokio_postgres::{
    Row, Transaction,
    types::{ToSql, Type},
};
use uuid::Uuid;

use super::{
    PgStore, column, db,
    dialect::{Postgres, refs},
    rows::{RowWriter, RowWrites},
};
use crate::{AuditStore, Result, SeqRange, StoreError, columns::AUDIT_COLUMNS, statements};

/// The chain heads of `tenants` (sorted), made if missing and locked for the rest of
/// the transaction: several servers appending to one chain still make one chain.
pub async fn lock_heads(
    tx: &Transaction<'_>,
    tenants: &[TenantId],
) -> Result<HashMap<TenantId, Head>> {
    if tenants.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<Uuid> = tenants.iter().map(|t| t.0).collect();
    tx.execute(
        "INSERT INTO audit_chain_heads (tenant_id, seq, hash)
         SELECT id, 0, $2 FROM unnest($1::uuid[]) AS t(id) ORDER BY id
         ON CONFLICT (tenant_id) DO NOTHING",
        &[&ids, &chain::GENESIS],
    )
    .await
    .map_err(db("making chain heads"))?;
    let rows = tx
        .query(
            "SELECT tenant_id, seq, hash::text FROM audit_chain_heads
             WHERE tenant_id = ANY($1) ORDER BY tenant_id FOR UPDATE",
            &[&ids],
        )
        .await
        .map_err(db("locking chain heads"))?;
    rows.iter()
        .map(|r| {
            let tenant = TenantId(column(r, 0)?);
            let (seq, hash) = (column(r, 1)?, column(r, 2)?);
            Ok((
                tenant,
                Head {
                    seq,
                    hash,
                    moved: false,
                },
            ))
        })
        .collect()
}

/// A chain head as locked, and whether this transaction moved it.
pub struct Head {
    seq: i64,
    hash: String,
    moved: bool,
}

/// Links `events` after the tenant's head, into `linked`; returns their seqs.
pub fn link(
    heads: &mut HashMap<TenantId, Head>,
    tenant: TenantId,
    events: &[AuditEvent],
    linked: &mut Vec<AuditEvent>,
) -> Option<SeqRange> {
    let head = heads.get_mut(&tenant).filter(|_| !events.is_empty())?;
    let first = head.seq + 1;
    for event in events {
        let mut e = event.clone();
        e.tenant_id = tenant;
        chain::link(&mut e, head.seq, &head.hash);
        (head.seq, head.hash, head.moved) = (e.seq, e.hash.clone(), true);
        linked.push(e);
    }
    Some(SeqRange {
        first,
        last: head.seq,
    })
}

/// Column types of [`AUDIT_COLUMNS`] for the binary COPY.
const TYPES: [Type; 28] = [
    Type::UUID,
    Type::INT8,
    Type::UUID,
    Type::TIMESTAMPTZ,
    Type::TIMESTAMPTZ,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::TEXT,
    Type::JSONB,
    Type::JSONB,
    Type::JSONB,
    Type::VARCHAR,
    Type::TEXT,
    Type::INET,
    Type::TEXT,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::JSONB,
    Type::BPCHAR,
    Type::BPCHAR,
];

/// Writes linked audit events in the ingest transaction.
pub async fn write(tx: &Transaction<'_>, writes: RowWrites, events: &[AuditEvent]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut writer = RowWriter::start(tx, writes, "audit_events", AUDIT_COLUMNS, &TYPES).await?;
    for e in events {
        let (outcome, severity) = (e.outcome.as_str(), e.severity.as_str());
        let values: [&(dyn ToSql + Sync); 28] = [
            &e.tenant_id.0,
            &e.seq,
            &e.id,
            &e.occurred_at,
            &e.received_at,
            &e.actor_id,
            &e.actor_email,
            &e.actor_role,
            &e.action,
            &e.resource_type,
            &e.resource_id,
            &e.resource_name,
            &e.description,
            &e.before,
            &e.after,
            &e.changes,
            &outcome,
            &e.failure_reason,
            &e.ip_address,
            &e.user_agent,
            &e.session_id,
            &e.request_id,
            &e.module,
            &severity,
            &e.data_classification,
            &e.metadata,
            &e.prev_hash,
            &e.hash,
        ];
        writer.write(&values).await?;
    }
    writer.finish().await?;
    Ok(())
}

/// Moves each head this transaction appended to.
pub async fn move_heads(tx: &Transaction<'_>, heads: &HashMap<TenantId, Head>) -> Result<()> {
    for (tenant, head) in heads.iter().filter(|(_, h)| h.moved) {
        tx.execute(
            "UPDATE audit_chain_heads SET seq = $2, hash = $3 WHERE tenant_id = $1",
            &[&tenant.0, &head.seq, &head.hash],
        )
        .await
        .map_err(db("moving the chain head"))?;
    }
    Ok(())
}

const PAGE: i64 = 1000;

/// Verifies a run of the chain in one REPEATABLE READ transaction: one snapshot for the
/// head, the checkpoints, the keyring and every page, so appends committed meanwhile are
/// neither seen nor mistaken for tampering.
pub async fn verify(
    client: &mut Client,
    tenant: TenantId,
    from_seq: i64,
    to_seq: Option<i64>,
    witnessed: Vec<Checkpoint>,
) -> Result<Verification> {
    let tx = super::snapshot(client, "starting a verification").await?;
    let (head_seq, head_hash) = head(&tx, tenant).await?;
    let witnessed: Vec<Checkpoint> = witnessed
        .into_iter()
        .filter(|c| c.tenant_id == tenant)
        .collect();
    let mut checkpoints: Vec<Checkpoint> = witnessed.iter().filter(|c| !c.cut).cloned().collect();
    checkpoints.extend(self::checkpoints(&tx, tenant).await?);
    let cuts = self::cuts(&tx, tenant).await?;
    let keyring = keyring(&tx).await?;
    let start = Start::of(from_seq, &cuts, &witnessed);
    let previous_hash = match start {
        Start::After(seq) => range(&tx, tenant, seq, seq, 1).await?.pop().map(|e| e.hash),
        _ => None,
    };
    let mut verifier = Verifier::from_start(start, previous_hash, to_seq, checkpoints, &keyring);
    // Never past the snapshot's head: rows there are judged as rows, not read.
    let to = to_seq.map_or(head_seq, |to| to.min(head_seq));
    while verifier.wants_more() && verifier.next_seq() <= to {
        let page = range(&tx, tenant, verifier.next_seq(), to, PAGE).await?;
        if page.is_empty() {
            break;
        }
        verifier.feed(&page);
    }
    let rows_past_end = !range(&tx, tenant, head_seq + 1, i64::MAX, 1)
        .await?
        .is_empty();
    tx.commit().await.map_err(db("ending a verification"))?;
    Ok(verifier.finish(ChainEnd {
        seq: head_seq,
        hash: Some(head_hash),
        rows_past_end,
    }))
}

pub async fn trust_signing_key(client: &Client, key_id: &str) -> Result<()> {
    client
        .execute(
            "INSERT INTO signing_keys (key_id) VALUES ($1) ON CONFLICT DO NOTHING",
            &[&key_id],
        )
        .await
        .map_err(db("trusting a signing key"))?;
    Ok(())
}

pub async fn retire_signing_key(client: &Client, key_id: &str, at: DateTime<Utc>) -> Result<bool> {
    client
        .execute(
            "UPDATE signing_keys SET retired_at = $2 WHERE key_id = $1",
            &[&key_id, &at],
        )
        .await
        .map(|n| n > 0)
        .map_err(db("retiring a signing key"))
}

pub async fn keyring<C: GenericClient>(client: &C) -> Result<Keyring> {
    let rows = client
        .query(
            "SELECT key_id, added_at, retired_at FROM signing_keys ORDER BY added_at",
            &[],
        )
        .await
        .map_err(db("reading the keyring"))?;
    rows.iter()
        .map(|r| {
            Ok(TrustedKey {
                key_id: column(r, 0)?,
                added_at: column(r, 1)?,
                retired_at: column(r, 2)?,
            })
        })
        .collect::<Result<Vec<_>>>()
        .map(Keyring)
}

pub async fn head<C: GenericClient>(client: &C, tenant: TenantId) -> Result<(i64, String)> {
    let row = client
        .query_opt(
            "SELECT seq, hash::text FROM audit_chain_heads WHERE tenant_id = $1",
            &[&tenant.0],
        )
        .await
        .map_err(db("reading the chain head"))?;
    match row {
        None => Ok((0, chain::GENESIS.to_owned())),
        Some(r) => Ok((column(&r, 0)?, column(&r, 1)?)),
    }
}

pub async fn heads(client: &Client) -> Result<Vec<(TenantId, i64, String)>> {
    let rows = client
        .query(
            "SELECT tenant_id, seq, hash::text FROM audit_chain_heads",
            &[],
        )
        .await
        .map_err(db("reading chain heads"))?;
    rows.iter()
        .map(|r| Ok((TenantId(column(r, 0)?), column(r, 1)?, column(r, 2)?)))
        .collect()
}

pub async fn add_checkpoint(client: &Client, checkpoint: &Checkpoint) -> Result<()> {
    keep(client, "audit_checkpoints", checkpoint).await
}

pub async fn checkpoints<C: GenericClient>(
    client: &C,
    tenant: TenantId,
) -> Result<Vec<Checkpoint>> {
    signed(client, "audit_checkpoints", tenant).await
}

/// The tenant's cuts, in seq order.
pub async fn cuts<C: GenericClient>(client: &C, tenant: TenantId) -> Result<Vec<Checkpoint>> {
    signed(client, "audit_cuts", tenant).await
}

/// Keeps a signed statement in `table` (`audit_checkpoints` or `audit_cuts`).
async fn keep<C: GenericClient>(client: &C, table: &str, c: &Checkpoint) -> Result<()> {
    client
        .execute(
            &format!(
                "INSERT INTO {table} (tenant_id, seq, hash, count, time, key_id, signature)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"
            ),
            &[
                &c.tenant_id.0,
                &c.seq,
                &c.hash,
                &c.count,
                &c.time,
                &c.key_id,
                &c.signature,
            ],
        )
        .await
        .map_err(db("keeping a signed checkpoint"))?;
    Ok(())
}

const SIGNED_COLUMNS: &str = "seq, hash::text, count, time, key_id, signature";

/// The tenant's signed statements in `table`, in seq order.
async fn signed<C: GenericClient>(
    client: &C,
    table: &str,
    tenant: TenantId,
) -> Result<Vec<Checkpoint>> {
    let rows = client
        .query(
            &format!("SELECT {SIGNED_COLUMNS} FROM {table} WHERE tenant_id = $1 ORDER BY seq"),
            &[&tenant.0],
        )
        .await
        .map_err(db("reading checkpoints"))?;
    let cut = table == "audit_cuts";
    rows.iter().map(|r| read_signed(r, tenant, cut)).collect()
}

fn read_signed(r: &Row, tenant: TenantId, cut: bool) -> Result<Checkpoint> {
    Ok(Checkpoint {
        tenant_id: tenant,
        seq: column(r, 0)?,
        hash: column(r, 1)?,
        count: column(r, 2)?,
        time: column(r, 3)?,
        key_id: column(r, 4)?,
        signature: column(r, 5)?,
        cut,
    })
}

/// The newest checkpoint past the tenant's newest cut whose event came before `before`
/// and still holds the signed hash.
pub async fn cut_point(
    client: &Client,
    tenant: TenantId,
    before: DateTime<Utc>,
) -> Result<Option<Checkpoint>> {
    client
        .query_opt(
            "SELECT c.seq, c.hash::text, c.count, c.time, c.key_id, c.signature
             FROM audit_checkpoints c
             JOIN audit_events e ON e.tenant_id = c.tenant_id AND e.seq = c.seq
             WHERE c.tenant_id = $1 AND e.received_at < $2 AND e.hash = c.hash
               AND c.seq > COALESCE((SELECT MAX(seq) FROM audit_cuts WHERE tenant_id = $1), 0)
             ORDER BY c.seq DESC LIMIT 1",
            &[&tenant.0, &before],
        )
        .await
        .map_err(db("finding where to cut the audit chain"))?
        .map(|r| read_signed(&r, tenant, false))
        .transpose()
}

/// Keeps a cut, in one transaction with the check that its event still holds its hash
/// (locked, so the check holds until the cut is kept).
pub async fn cut(client: &mut Client, cut: &Checkpoint) -> Result<()> {
    let tx = client
        .transaction()
        .await
        .map_err(db("starting a cut of the audit chain"))?;
    let hash: Option<String> = tx
        .query_opt(
            "SELECT hash::text FROM audit_events WHERE tenant_id = $1 AND seq = $2 FOR UPDATE",
            &[&cut.tenant_id.0, &cut.seq],
        )
        .await
        .map_err(db("reading the event at a cut"))?
        .map(|r| column(&r, 0))
        .transpose()?;
    if hash.as_deref() != Some(cut.hash.as_str()) {
        return Err(StoreError::Conflict(format!(
            "the audit chain cannot be cut after seq {}: that event is gone or changed",
            cut.seq
        )));
    }
    keep(&tx, "audit_cuts", cut).await?;
    tx.commit()
        .await
        .map_err(db("keeping a cut of the audit chain"))
}

/// Each tenant with a cut and the newest cut's seq.
pub async fn newest_cuts(client: &Client) -> Result<Vec<(TenantId, i64)>> {
    let rows = client
        .query(
            "SELECT tenant_id, MAX(seq) FROM audit_cuts GROUP BY tenant_id",
            &[],
        )
        .await
        .map_err(db("reading the cuts of the audit chains"))?;
    rows.iter()
        .map(|r| Ok((TenantId(column(r, 0)?), column(r, 1)?)))
        .collect()
}

/// Removes up to `batch` of the tenant's events at or before `seq`; returns how many.
pub async fn remove_cut_batch(
    client: &Client,
    tenant: TenantId,
    seq: i64,
    batch: i64,
) -> Result<u64> {
    client
        .execute(
            "DELETE FROM audit_events WHERE tenant_id = $1 AND seq IN
                 (SELECT seq FROM audit_events WHERE tenant_id = $1 AND seq <= $2
                  ORDER BY seq LIMIT $3)",
            &[&tenant.0, &seq, &batch],
        )
        .await
        .map_err(db("removing audit events before a cut"))
}

pub async fn range<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    from_seq: i64,
    to_seq: i64,
    limit: i64,
) -> Result<Vec<AuditEvent>> {
    let columns = AUDIT_COLUMNS.replace("prev_hash, hash", "prev_hash::text, hash::text");
    let rows = client
        .query(
            &format!("SELECT {columns} FROM audit_events WHERE tenant_id = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq LIMIT $4"),
            &[&tenant.0, &from_seq, &to_seq, &limit],
        )
        .await
        .map_err(db("reading the audit chain"))?;
    rows.iter().map(read).collect()
}

pub async fn search(client: &Client, tenant: TenantId, q: &AuditQuery) -> Result<Vec<AuditEvent>> {
    let columns = AUDIT_COLUMNS.replace("prev_hash, hash", "prev_hash::text, hash::text");
    let (sql, clause) = statements::search_audit::<Postgres>(tenant, q, &columns);
    let rows = client
        .query(&sql, &refs(&clause.params))
        .await
        .map_err(db("searching the audit trail"))?;
    rows.iter().map(read).collect()
}

pub async fn actor_summary(
    client: &Client,
    tenant: TenantId,
    actor_id: &str,
) -> Result<ActorSummary> {
    let r = client
        .query_one(
            "SELECT COUNT(*), COUNT(DISTINCT date_bin('1 day', occurred_at, TIMESTAMPTZ 'epoch')), MIN(occurred_at),
                    MAX(occurred_at), COUNT(*) FILTER (WHERE outcome = 'failure')
             FROM audit_events WHERE tenant_id = $1 AND actor_id = $2",
            &[&tenant.0, &actor_id],
        )
        .await
        .map_err(db("summarizing an actor"))?;
    Ok(ActorSummary {
        actor_id: actor_id.to_owned(),
        total: column(&r, 0)?,
        active_days: column(&r, 1)?,
        first_seen: column(&r, 2)?,
        last_seen: column(&r, 3)?,
        failures: column(&r, 4)?,
    })
}

fn read(r: &Row) -> Result<AuditEvent> {
    let invalid =
        |what: &str, error: String| StoreError::Invalid(format!("stored audit {what}: {error}"));
    let outcome: &str = column(r, 16)?;
    let severity: &str = column(r, 23)?;
    let json = |index| -> Result<Option<serde_json::Value>> {
        let mut value: Option<serde_json::Value> = column(r, index)?;
        value
            .iter_mut()
            .for_each(logbook_model::audit::restore_doubles);
        Ok(value)
    };
    Ok(AuditEvent {
        tenant_id: TenantId(column(r, 0)?),
        seq: column(r, 1)?,
        id: column(r, 2)?,
        occurred_at: column(r, 3)?,
        received_at: column(r, 4)?,
        actor_id: column(r, 5)?,
        actor_email: column(r, 6)?,
        actor_role: column(r, 7)?,
        action: column(r, 8)?,
        resource_type: column(r, 9)?,
        resource_id: column(r, 10)?,
        resource_name: column(r, 11)?,
        description: column(r, 12)?,
        before: json(13)?,
        after: json(14)?,
        changes: json(15)?,
        outcome: outcome.parse().map_err(|e| invalid("outcome", e))?,
        failure_reason: column(r, 17)?,
        ip_address: column(r, 18)?,
        user_agent: column(r, 19)?,
        session_id: column(r, 20)?,
        request_id: column(r, 21)?,
        module: column(r, 22)?,
        severity: severity.parse().map_err(|e| invalid("severity", e))?,
        data_classification: column(r, 24)?,
        metadata: json(25)?,
        prev_hash: column(r, 26)?,
        hash: column(r, 27)?,
    })
}

#[async_trait]
impl AuditStore for PgStore {
    async fn verify_audit(
        &self,
        tenant: TenantId,
        from_seq: i64,
        to_seq: Option<i64>,
        witnessed: Vec<Checkpoint>,
    ) -> Result<Verification> {
        let mut client = self.tenant_client(tenant).await?;
        super::audit::verify(&mut client, tenant, from_seq, to_seq, witnessed).await
    }

    async fn audit_range(
        &self,
        tenant: TenantId,
        from_seq: i64,
        to_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditEvent>> {
        super::audit::range(
            &self.tenant_client(tenant).await?,
            tenant,
            from_seq,
            to_seq,
            limit,
        )
        .await
    }

    async fn audit_head(&self, tenant: TenantId) -> Result<(i64, String)> {
        super::audit::head(&self.client().await?, tenant).await
    }

    async fn search_audit(&self, tenant: TenantId, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        super::audit::search(&self.tenant_client(tenant).await?, tenant, query).await
    }

    async fn actor_summary(&self, tenant: TenantId, actor_id: &str) -> Result<ActorSummary> {
        super::audit::actor_summary(&self.tenant_client(tenant).await?, tenant, actor_id).await
    }

    async fn audit_heads(&self) -> Result<Vec<(TenantId, i64, String)>> {
        super::audit::heads(&self.client().await?).await
    }

    async fn add_checkpoint(&self, checkpoint: Checkpoint) -> Result<()> {
        super::audit::add_checkpoint(&self.client().await?, &checkpoint).await
    }

    async fn checkpoints(&self, tenant: TenantId) -> Result<Vec<Checkpoint>> {
        super::audit::checkpoints(&self.client().await?, tenant).await
    }

    async fn trust_signing_key(&self, key_id: &str) -> Result<()> {
        super::audit::trust_signing_key(&self.client().await?, key_id).await
    }

    async fn retire_signing_key(&self, key_id: &str, at: DateTime<Utc>) -> Result<bool> {
        super::audit::retire_signing_key(&self.client().await?, key_id, at).await
    }

    async fn keyring(&self) -> Result<Keyring> {
        super::audit::keyring(&self.client().await?).await
    }

    async fn audit_cut(&self, tenant: TenantId) -> Result<Option<Checkpoint>> {
        Ok(super::audit::cuts(&self.client().await?, tenant)
            .await?
            .pop())
    }

    async fn audit_cut_point(
        &self,
        tenant: TenantId,
        before: DateTime<Utc>,
    ) -> Result<Option<Checkpoint>> {
        super::audit::cut_point(&self.client().await?, tenant, before).await
    }

    async fn cut_audit(&self, cut: Checkpoint) -> Result<()> {
        super::audit::cut(&mut self.client().await?, &cut).await
    }

    async fn remove_cut_audit(&self) -> Result<u64> {
        let client = self.client().await?;
        let mut removed = 0;
        for (tenant, seq) in super::audit::newest_cuts(&client).await? {
            // One batch per statement: no lock is held long, no transaction grows large.
            loop {
                let batch =
                    super::audit::remove_cut_batch(&client, tenant, seq, crate::RANGE_REMOVE_BATCH)
                        .await?;
                removed += batch;
                if batch < crate::RANGE_REMOVE_BATCH as u64 {
                    break;
                }
            }
        }
        Ok(removed)
    }
}
