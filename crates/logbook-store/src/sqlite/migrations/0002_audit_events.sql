-- The audit trail: append-only, hash-chained per tenant (see logbook_model::audit).
CREATE TABLE audit_events (
    tenant_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    id BLOB NOT NULL,
    occurred_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    actor_id TEXT,
    actor_email TEXT,
    actor_role TEXT,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT,
    resource_name TEXT,
    description TEXT,
    before TEXT,
    after TEXT,
    changes TEXT,
    outcome TEXT NOT NULL,
    failure_reason TEXT,
    ip_address TEXT,
    user_agent TEXT,
    session_id TEXT,
    request_id TEXT,
    module TEXT,
    severity TEXT NOT NULL,
    data_classification TEXT,
    metadata TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_events_resource ON audit_events (tenant_id, resource_type, resource_id, seq);
CREATE INDEX audit_events_actor ON audit_events (tenant_id, actor_id, seq) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_events_occurred_at ON audit_events (tenant_id, occurred_at);

-- Each tenant's last seq and hash: where the next event links on.
CREATE TABLE audit_chain_heads (
    tenant_id BLOB PRIMARY KEY,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);

-- Signed statements of a chain's hash at a seq (copies of what the witness file holds).
CREATE TABLE audit_checkpoints (
    tenant_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    count INTEGER NOT NULL,
    time INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
