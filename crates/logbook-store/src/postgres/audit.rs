//! The audit chain in PostgreSQL. Appending locks the tenant's chain head row, so
//! several servers writing one tenant's trail at once still make a single chain.

use deadpool_postgres::Client;
use logbook_model::{
    TenantId,
    audit::{ActorSummary, AuditEvent, AuditQuery, chain, checkpoint::Checkpoint},
};
use tokio_postgres::{Row, types::ToSql};

use super::{db, events::Where};
use crate::{Result, StoreError, columns::AUDIT_COLUMNS, conditions};

pub async fn append(
    client: &mut Client,
    tenant: TenantId,
    mut events: Vec<AuditEvent>,
) -> Result<Vec<AuditEvent>> {
    let tx = client
        .transaction()
        .await
        .map_err(db("starting an audit append"))?;
    tx.execute(
        "INSERT INTO audit_chain_heads (tenant_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (tenant_id) DO NOTHING",
        &[&tenant.0, &chain::GENESIS],
    )
    .await
    .map_err(db("making the chain head"))?;
    let head = tx
        .query_one(
            "SELECT seq, hash::text FROM audit_chain_heads WHERE tenant_id = $1 FOR UPDATE",
            &[&tenant.0],
        )
        .await
        .map_err(db("locking the chain head"))?;
    let (mut seq, mut hash): (i64, String) = (head.get(0), head.get(1));
    let insert = tx
        .prepare_cached(&format!(
            "INSERT INTO audit_events ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)"
        ))
        .await
        .map_err(db("preparing the audit insert"))?;
    for e in &mut events {
        e.tenant_id = tenant;
        chain::link(e, seq, &hash);
        (seq, hash) = (e.seq, e.hash.clone());
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
        tx.execute(&insert, &values)
            .await
            .map_err(db("inserting an audit event"))?;
    }
    tx.execute(
        "UPDATE audit_chain_heads SET seq = $2, hash = $3 WHERE tenant_id = $1",
        &[&tenant.0, &seq, &hash],
    )
    .await
    .map_err(db("moving the chain head"))?;
    tx.commit().await.map_err(db("committing audit events"))?;
    Ok(events)
}

pub async fn head(client: &Client, tenant: TenantId) -> Result<(i64, String)> {
    let row = client
        .query_opt(
            "SELECT seq, hash::text FROM audit_chain_heads WHERE tenant_id = $1",
            &[&tenant.0],
        )
        .await
        .map_err(db("reading the chain head"))?;
    Ok(row.map_or((0, chain::GENESIS.to_owned()), |r| (r.get(0), r.get(1))))
}

pub async fn heads(client: &Client) -> Result<Vec<(TenantId, i64, String)>> {
    let rows = client
        .query(
            "SELECT tenant_id, seq, hash::text FROM audit_chain_heads",
            &[],
        )
        .await
        .map_err(db("reading chain heads"))?;
    Ok(rows
        .iter()
        .map(|r| (TenantId(r.get(0)), r.get(1), r.get(2)))
        .collect())
}

pub async fn add_checkpoint(client: &Client, c: &Checkpoint) -> Result<()> {
    client
        .execute(
            "INSERT INTO audit_checkpoints (tenant_id, seq, hash, count, time, key_id, signature)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
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
        .map_err(db("keeping a checkpoint"))?;
    Ok(())
}

pub async fn checkpoints(client: &Client, tenant: TenantId) -> Result<Vec<Checkpoint>> {
    let rows = client
        .query(
            "SELECT seq, hash::text, count, time, key_id, signature FROM audit_checkpoints WHERE tenant_id = $1 ORDER BY seq",
            &[&tenant.0],
        )
        .await
        .map_err(db("reading checkpoints"))?;
    Ok(rows
        .iter()
        .map(|r| Checkpoint {
            tenant_id: tenant,
            seq: r.get(0),
            hash: r.get(1),
            count: r.get(2),
            time: r.get(3),
            key_id: r.get(4),
            signature: r.get(5),
        })
        .collect())
}

pub async fn range(
    client: &Client,
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
    let mut clause = Where::new(tenant);
    clause.conditions(conditions::for_audit(q));
    let limit = clause.bind(i64::from(q.limit));
    let skip = clause.bind(q.skip.min(i64::MAX as u64) as i64);
    let columns = AUDIT_COLUMNS.replace("prev_hash, hash", "prev_hash::text, hash::text");
    let sql = format!(
        "SELECT {columns} FROM audit_events WHERE {} ORDER BY seq DESC LIMIT {limit} OFFSET {skip}",
        clause.sql
    );
    let rows = client
        .query(&sql, &clause.refs())
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
        total: r.get(0),
        active_days: r.get(1),
        first_seen: r.get(2),
        last_seen: r.get(3),
        failures: r.get(4),
    })
}

fn read(r: &Row) -> Result<AuditEvent> {
    let invalid =
        |what: &str, error: String| StoreError::Invalid(format!("stored audit {what}: {error}"));
    let outcome: &str = r.get(16);
    let severity: &str = r.get(23);
    Ok(AuditEvent {
        tenant_id: TenantId(r.get(0)),
        seq: r.get(1),
        id: r.get(2),
        occurred_at: r.get(3),
        received_at: r.get(4),
        actor_id: r.get(5),
        actor_email: r.get(6),
        actor_role: r.get(7),
        action: r.get(8),
        resource_type: r.get(9),
        resource_id: r.get(10),
        resource_name: r.get(11),
        description: r.get(12),
        before: r.get(13),
        after: r.get(14),
        changes: r.get(15),
        outcome: outcome.parse().map_err(|e| invalid("outcome", e))?,
        failure_reason: r.get(17),
        ip_address: r.get(18),
        user_agent: r.get(19),
        session_id: r.get(20),
        request_id: r.get(21),
        module: r.get(22),
        severity: severity.parse().map_err(|e| invalid("severity", e))?,
        data_classification: r.get(24),
        metadata: r.get(25),
        prev_hash: r.get(26),
        hash: r.get(27),
    })
}
