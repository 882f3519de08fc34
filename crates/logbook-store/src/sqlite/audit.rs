//! The audit chain in SQLite: one writer, so an immediate transaction orders appends.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use logbook_model::{
    TenantId,
    audit::{
        ActorSummary, AuditEvent, AuditQuery,
        chain::{self, Verification},
        checkpoint::{Checkpoint, Keyring, TrustedKey},
        verifier::{ChainEnd, Start, Verifier},
    },
};
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

use super::{SqliteStore, db, dialect::Sqlite, from_micros, micros};
use crate::{AuditStore, Result, SeqRange, StoreError, columns::AUDIT_COLUMNS, statements};

/// Links `events` onto the tenant's chain and inserts them, inside the caller's
/// transaction (SQLite's one writer orders appends); returns the seqs they were given.
pub fn append(
    tx: &Connection,
    tenant: TenantId,
    events: &[AuditEvent],
) -> Result<Option<SeqRange>> {
    if events.is_empty() {
        return Ok(None);
    }
    let (mut seq, mut hash) = head(tx, tenant)?;
    let first = seq + 1;
    let sql = format!(
        "INSERT INTO audit_events ({AUDIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, \
         ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)"
    );
    let mut insert = tx
        .prepare_cached(&sql)
        .map_err(db("preparing the audit insert"))?;
    for event in events {
        let mut e = event.clone();
        e.tenant_id = tenant;
        chain::link(&mut e, seq, &hash);
        insert
            .execute(params![
                e.tenant_id.0,
                e.seq,
                e.id,
                micros(e.occurred_at),
                micros(e.received_at),
                e.actor_id,
                e.actor_email,
                e.actor_role,
                e.action,
                e.resource_type,
                e.resource_id,
                e.resource_name,
                e.description,
                e.before,
                e.after,
                e.changes,
                e.outcome.as_str(),
                e.failure_reason,
                e.ip_address.map(|ip| ip.to_string()),
                e.user_agent,
                e.session_id,
                e.request_id,
                e.module,
                e.severity.as_str(),
                e.data_classification,
                e.metadata,
                e.prev_hash,
                e.hash,
            ])
            .map_err(db("inserting an audit event"))?;
        (seq, hash) = (e.seq, e.hash);
    }
    tx.execute(
        "INSERT INTO audit_chain_heads (tenant_id, seq, hash) VALUES (?1, ?2, ?3)
         ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        params![tenant.0, seq, hash],
    )
    .map_err(db("moving the chain head"))?;
    Ok(Some(SeqRange { first, last: seq }))
}

/// Verifies a run of the chain in one read transaction: WAL gives it a snapshot, so
/// appends committed meanwhile are neither seen nor mistaken for tampering.
pub fn verify(
    conn: &Connection,
    tenant: TenantId,
    from_seq: i64,
    to_seq: Option<i64>,
    witnessed: Vec<Checkpoint>,
) -> Result<Verification> {
    conn.execute_batch("BEGIN DEFERRED")
        .map_err(db("starting a verification"))?;
    let result = (|| {
        let (head_seq, head_hash) = head(conn, tenant)?;
        let witnessed: Vec<Checkpoint> = witnessed
            .into_iter()
            .filter(|c| c.tenant_id == tenant)
            .collect();
        let mut checkpoints: Vec<Checkpoint> =
            witnessed.iter().filter(|c| !c.cut).cloned().collect();
        checkpoints.extend(self::checkpoints(conn, tenant)?);
        let cuts = self::cuts(conn, tenant)?;
        let keyring = keyring(conn)?;
        let start = Start::of(from_seq, &cuts, &witnessed);
        let previous_hash = match start {
            Start::After(seq) => range(conn, tenant, seq, seq, 1)?.pop().map(|e| e.hash),
            _ => None,
        };
        let mut verifier =
            Verifier::from_start(start, previous_hash, to_seq, checkpoints, &keyring);
        // Never past the snapshot's head: rows there are judged as rows, not read.
        let to = to_seq.map_or(head_seq, |to| to.min(head_seq));
        while verifier.wants_more() && verifier.next_seq() <= to {
            let page = range(conn, tenant, verifier.next_seq(), to, PAGE)?;
            if page.is_empty() {
                break;
            }
            verifier.feed(&page);
        }
        let rows_past_end = !range(conn, tenant, head_seq + 1, i64::MAX, 1)?.is_empty();
        Ok(verifier.finish(ChainEnd {
            seq: head_seq,
            hash: Some(head_hash),
            rows_past_end,
        }))
    })();
    conn.execute_batch("COMMIT")
        .map_err(db("ending a verification"))?;
    result
}

const PAGE: i64 = 1000;

pub fn trust_signing_key(conn: &Connection, key_id: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO signing_keys (key_id, added_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![key_id, micros(chrono::Utc::now())],
    )
    .map_err(db("trusting a signing key"))?;
    Ok(())
}

pub fn retire_signing_key(conn: &Connection, key_id: &str, at: DateTime<Utc>) -> Result<bool> {
    conn.execute(
        "UPDATE signing_keys SET retired_at = ?2 WHERE key_id = ?1",
        params![key_id, micros(at)],
    )
    .map(|n| n > 0)
    .map_err(db("retiring a signing key"))
}

pub fn keyring(conn: &Connection) -> Result<Keyring> {
    let mut stmt = conn
        .prepare_cached("SELECT key_id, added_at, retired_at FROM signing_keys ORDER BY added_at")
        .map_err(db("reading the keyring"))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<i64>>(2)?,
            ))
        })
        .map_err(db("reading the keyring"))?;
    let mut keys = Vec::new();
    for row in rows {
        let (key_id, added, retired) = row.map_err(db("reading the keyring"))?;
        keys.push(TrustedKey {
            key_id,
            added_at: from_micros(added)?,
            retired_at: retired.map(from_micros).transpose()?,
        });
    }
    Ok(Keyring(keys))
}

pub fn head(conn: &Connection, tenant: TenantId) -> Result<(i64, String)> {
    let head = conn
        .query_row(
            "SELECT seq, hash FROM audit_chain_heads WHERE tenant_id = ?1",
            [tenant.0],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(db("reading the chain head"))?;
    Ok(head.unwrap_or((0, chain::GENESIS.to_owned())))
}

pub fn heads(conn: &Connection) -> Result<Vec<(TenantId, i64, String)>> {
    let mut stmt = conn
        .prepare("SELECT tenant_id, seq, hash FROM audit_chain_heads")
        .map_err(db("reading chain heads"))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((TenantId(r.get::<_, Uuid>(0)?), r.get(1)?, r.get(2)?))
        })
        .map_err(db("reading chain heads"))?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(db("reading chain heads"))
}

pub fn add_checkpoint(conn: &Connection, checkpoint: &Checkpoint) -> Result<()> {
    keep(conn, "audit_checkpoints", checkpoint)
}

pub fn checkpoints(conn: &Connection, tenant: TenantId) -> Result<Vec<Checkpoint>> {
    signed(conn, "audit_checkpoints", tenant)
}

/// The tenant's cuts, in seq order.
pub fn cuts(conn: &Connection, tenant: TenantId) -> Result<Vec<Checkpoint>> {
    signed(conn, "audit_cuts", tenant)
}

/// Keeps a signed statement in `table` (`audit_checkpoints` or `audit_cuts`).
fn keep(conn: &Connection, table: &str, c: &Checkpoint) -> Result<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO {table} (tenant_id, seq, hash, count, time, key_id, signature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING"
    ))
    .and_then(|mut insert| {
        insert.execute(params![
            c.tenant_id.0,
            c.seq,
            c.hash,
            c.count,
            micros(c.time),
            c.key_id,
            c.signature
        ])
    })
    .map_err(db("keeping a signed checkpoint"))?;
    Ok(())
}

/// The tenant's signed statements in `table`, in seq order.
fn signed(conn: &Connection, table: &str, tenant: TenantId) -> Result<Vec<Checkpoint>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {SIGNED_COLUMNS} FROM {table} WHERE tenant_id = ?1 ORDER BY seq"
        ))
        .map_err(db("reading checkpoints"))?;
    let cut = table == "audit_cuts";
    let rows = stmt
        .query_map([tenant.0], |r| read_signed(r, tenant, cut))
        .map_err(db("reading checkpoints"))?;
    rows.map(|row| row.map_err(db("reading a checkpoint"))?)
        .collect()
}

const SIGNED_COLUMNS: &str = "seq, hash, count, time, key_id, signature";

fn read_signed(r: &Row<'_>, tenant: TenantId, cut: bool) -> rusqlite::Result<Result<Checkpoint>> {
    let time: i64 = r.get(3)?;
    let mut checkpoint = Checkpoint {
        tenant_id: tenant,
        seq: r.get(0)?,
        hash: r.get(1)?,
        count: r.get(2)?,
        time: DateTime::UNIX_EPOCH,
        key_id: r.get(4)?,
        signature: r.get(5)?,
        cut,
    };
    Ok(from_micros(time).map(|time| {
        checkpoint.time = time;
        checkpoint
    }))
}

/// The newest checkpoint past the tenant's newest cut whose event came before `before`
/// and still holds the signed hash.
pub fn cut_point(
    conn: &Connection,
    tenant: TenantId,
    before: DateTime<Utc>,
) -> Result<Option<Checkpoint>> {
    conn.query_row(
        "SELECT c.seq, c.hash, c.count, c.time, c.key_id, c.signature
         FROM audit_checkpoints c
         JOIN audit_events e ON e.tenant_id = c.tenant_id AND e.seq = c.seq
         WHERE c.tenant_id = ?1 AND e.received_at < ?2 AND e.hash = c.hash
           AND c.seq > COALESCE((SELECT MAX(seq) FROM audit_cuts WHERE tenant_id = ?1), 0)
         ORDER BY c.seq DESC LIMIT 1",
        params![tenant.0, micros(before)],
        |r| read_signed(r, tenant, false),
    )
    .optional()
    .map_err(db("finding where to cut the audit chain"))?
    .transpose()
}

/// Keeps a cut, in one transaction with the check that its event still holds its hash.
pub fn cut(conn: &mut Connection, cut: &Checkpoint) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(db("starting a cut of the audit chain"))?;
    let hash: Option<String> = tx
        .query_row(
            "SELECT hash FROM audit_events WHERE tenant_id = ?1 AND seq = ?2",
            params![cut.tenant_id.0, cut.seq],
            |r| r.get(0),
        )
        .optional()
        .map_err(db("reading the event at a cut"))?;
    if hash.as_deref() != Some(cut.hash.as_str()) {
        return Err(StoreError::Conflict(format!(
            "the audit chain cannot be cut after seq {}: that event is gone or changed",
            cut.seq
        )));
    }
    keep(&tx, "audit_cuts", cut)?;
    tx.commit().map_err(db("keeping a cut of the audit chain"))
}

/// Each tenant with a cut and the newest cut's seq.
pub fn newest_cuts(conn: &Connection) -> Result<Vec<(TenantId, i64)>> {
    let mut stmt = conn
        .prepare_cached("SELECT tenant_id, MAX(seq) FROM audit_cuts GROUP BY tenant_id")
        .map_err(db("reading the cuts of the audit chains"))?;
    let rows = stmt
        .query_map([], |r| Ok((TenantId(r.get(0)?), r.get(1)?)))
        .map_err(db("reading the cuts of the audit chains"))?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(db("reading the cuts of the audit chains"))
}

/// Removes up to `batch` of the tenant's events at or before `seq`; returns how many.
pub fn remove_cut_batch(conn: &Connection, tenant: TenantId, seq: i64, batch: i64) -> Result<u64> {
    conn.prepare_cached(
        "DELETE FROM audit_events WHERE tenant_id = ?1 AND seq IN
             (SELECT seq FROM audit_events WHERE tenant_id = ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3)",
    )
    .and_then(|mut delete| delete.execute(params![tenant.0, seq, batch]))
    .map(|n| n as u64)
    .map_err(db("removing audit events before a cut"))
}

pub fn range(
    conn: &Connection,
    tenant: TenantId,
    from_seq: i64,
    to_seq: i64,
    limit: i64,
) -> Result<Vec<AuditEvent>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE tenant_id = ?1 AND seq >= ?2 AND seq <= ?3 ORDER BY seq LIMIT ?4"
        ))
        .map_err(db("reading the audit chain"))?;
    let rows = stmt
        .query_map(params![tenant.0, from_seq, to_seq, limit], read)
        .map_err(db("reading the audit chain"))?;
    rows.map(|r| r.map_err(db("reading an audit event"))?)
        .collect()
}

pub fn search(conn: &Connection, tenant: TenantId, q: &AuditQuery) -> Result<Vec<AuditEvent>> {
    let (sql, clause) = statements::search_audit::<Sqlite>(tenant, q, AUDIT_COLUMNS);
    let mut stmt = conn
        .prepare_cached(&sql)
        .map_err(db("searching the audit trail"))?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(clause.params), read)
        .map_err(db("searching the audit trail"))?;
    rows.map(|r| r.map_err(db("reading an audit event"))?)
        .collect()
}

pub fn actor_summary(conn: &Connection, tenant: TenantId, actor_id: &str) -> Result<ActorSummary> {
    let (total, days, first, last, failures): (i64, i64, Option<i64>, Option<i64>, i64) = conn
        .query_row(
            "SELECT COUNT(*), COUNT(DISTINCT occurred_at / 86400000000), MIN(occurred_at), MAX(occurred_at),
                    COUNT(*) FILTER (WHERE outcome = 'failure')
             FROM audit_events WHERE tenant_id = ?1 AND actor_id = ?2",
            params![tenant.0, actor_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .map_err(db("summarizing an actor"))?;
    Ok(ActorSummary {
        actor_id: actor_id.to_owned(),
        total,
        active_days: days,
        first_seen: first.map(from_micros).transpose()?,
        last_seen: last.map(from_micros).transpose()?,
        failures,
    })
}

fn read(r: &Row<'_>) -> rusqlite::Result<Result<AuditEvent>> {
    let tenant: Uuid = r.get(0)?;
    let (occurred, received): (i64, i64) = (r.get(3)?, r.get(4)?);
    let (outcome, ip, severity): (String, Option<String>, String) =
        (r.get(16)?, r.get(18)?, r.get(23)?);
    let mut e = AuditEvent {
        id: r.get(2)?,
        tenant_id: TenantId(tenant),
        seq: r.get(1)?,
        occurred_at: chrono::DateTime::UNIX_EPOCH,
        received_at: chrono::DateTime::UNIX_EPOCH,
        actor_id: r.get(5)?,
        actor_email: r.get(6)?,
        actor_role: r.get(7)?,
        action: r.get(8)?,
        resource_type: r.get(9)?,
        resource_id: r.get(10)?,
        resource_name: r.get(11)?,
        description: r.get(12)?,
        before: r.get(13)?,
        after: r.get(14)?,
        changes: r.get(15)?,
        outcome: Default::default(),
        failure_reason: r.get(17)?,
        ip_address: None,
        user_agent: r.get(19)?,
        session_id: r.get(20)?,
        request_id: r.get(21)?,
        module: r.get(22)?,
        severity: Default::default(),
        data_classification: r.get(24)?,
        metadata: r.get(25)?,
        prev_hash: r.get(26)?,
        hash: r.get(27)?,
    };
    let invalid =
        |what: &str, error: String| StoreError::Invalid(format!("stored audit {what}: {error}"));
    Ok((|| {
        e.occurred_at = from_micros(occurred)?;
        e.received_at = from_micros(received)?;
        e.outcome = outcome.parse().map_err(|err| invalid("outcome", err))?;
        e.severity = severity.parse().map_err(|err| invalid("severity", err))?;
        e.ip_address = ip
            .map(|ip| ip.parse())
            .transpose()
            .map_err(|err: std::net::AddrParseError| invalid("ip_address", err.to_string()))?;
        Ok(e)
    })())
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn verify_audit(
        &self,
        tenant: TenantId,
        from_seq: i64,
        to_seq: Option<i64>,
        witnessed: Vec<Checkpoint>,
    ) -> Result<Verification> {
        self.read(move |conn| super::audit::verify(conn, tenant, from_seq, to_seq, witnessed))
            .await
    }

    async fn audit_range(
        &self,
        tenant: TenantId,
        from_seq: i64,
        to_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditEvent>> {
        self.read(move |conn| super::audit::range(conn, tenant, from_seq, to_seq, limit))
            .await
    }

    async fn audit_head(&self, tenant: TenantId) -> Result<(i64, String)> {
        self.read(move |conn| super::audit::head(conn, tenant))
            .await
    }

    async fn search_audit(&self, tenant: TenantId, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        let query = query.clone();
        self.read(move |conn| super::audit::search(conn, tenant, &query))
            .await
    }

    async fn actor_summary(&self, tenant: TenantId, actor_id: &str) -> Result<ActorSummary> {
        let actor_id = actor_id.to_owned();
        self.read(move |conn| super::audit::actor_summary(conn, tenant, &actor_id))
            .await
    }

    async fn audit_heads(&self) -> Result<Vec<(TenantId, i64, String)>> {
        self.read(super::audit::heads).await
    }

    async fn add_checkpoint(&self, checkpoint: Checkpoint) -> Result<()> {
        self.write(move |conn| super::audit::add_checkpoint(conn, &checkpoint))
            .await
    }

    async fn checkpoints(&self, tenant: TenantId) -> Result<Vec<Checkpoint>> {
        self.read(move |conn| super::audit::checkpoints(conn, tenant))
            .await
    }

    async fn trust_signing_key(&self, key_id: &str) -> Result<()> {
        let key_id = key_id.to_owned();
        self.write(move |conn| super::audit::trust_signing_key(conn, &key_id))
            .await
    }

    async fn retire_signing_key(&self, key_id: &str, at: DateTime<Utc>) -> Result<bool> {
        let key_id = key_id.to_owned();
        self.write(move |conn| super::audit::retire_signing_key(conn, &key_id, at))
            .await
    }

    async fn keyring(&self) -> Result<Keyring> {
        self.read(super::audit::keyring).await
    }

    async fn audit_cut(&self, tenant: TenantId) -> Result<Option<Checkpoint>> {
        self.read(move |conn| Ok(super::audit::cuts(conn, tenant)?.pop()))
            .await
    }

    async fn audit_cut_point(
        &self,
        tenant: TenantId,
        before: DateTime<Utc>,
    ) -> Result<Option<Checkpoint>> {
        self.read(move |conn| super::audit::cut_point(conn, tenant, before))
            .await
    }

    async fn cut_audit(&self, cut: Checkpoint) -> Result<()> {
        self.write(move |conn| super::audit::cut(conn, &cut)).await
    }

    async fn remove_cut_audit(&self) -> Result<u64> {
        let mut removed = 0;
        for (tenant, seq) in self.read(super::audit::newest_cuts).await? {
            // One batch per write: appends wait behind one batch at most.
            loop {
                let batch = self
                    .write(move |conn| {
                        super::audit::remove_cut_batch(conn, tenant, seq, crate::RANGE_REMOVE_BATCH)
                    })
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
