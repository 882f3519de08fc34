-- The audit trail: append-only, hash-chained per tenant (see logbook_model::audit).
CREATE TABLE audit_events (
    tenant_id uuid NOT NULL,
    seq bigint NOT NULL,
    id uuid NOT NULL,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    actor_id varchar(255),
    actor_email varchar(255),
    actor_role varchar(50),
    action varchar(100) NOT NULL,
    resource_type varchar(100) NOT NULL,
    resource_id varchar(255),
    resource_name varchar(255),
    description text,
    before jsonb,
    after jsonb,
    changes jsonb,
    outcome varchar(16) NOT NULL,
    failure_reason text,
    ip_address inet,
    user_agent text,
    session_id varchar(128),
    request_id varchar(128),
    module varchar(100),
    severity varchar(16) NOT NULL,
    data_classification varchar(50),
    metadata jsonb,
    prev_hash char(64) NOT NULL,
    hash char(64) NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_events_resource ON audit_events (tenant_id, resource_type, resource_id, seq);
CREATE INDEX audit_events_actor ON audit_events (tenant_id, actor_id, seq) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_events_occurred_at ON audit_events (tenant_id, occurred_at);

-- Each tenant's last seq and hash. Appending locks the tenant's row, so several servers
-- writing one tenant's trail at once still make one chain.
CREATE TABLE audit_chain_heads (
    tenant_id uuid PRIMARY KEY,
    seq bigint NOT NULL,
    hash char(64) NOT NULL
);

ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_events_tenant_isolation ON audit_events FOR SELECT
    USING (tenant_id = NULLIF(current_setting('logbook.tenant_id', true), '')::uuid);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'logbook_reader') THEN
        GRANT SELECT ON audit_events TO logbook_reader;
    END IF;
EXCEPTION
    WHEN insufficient_privilege THEN RAISE NOTICE 'cannot grant logbook_reader';
END
$$;

-- Signed statements of a chain's hash at a seq (copies of what the witness file holds).
CREATE TABLE audit_checkpoints (
    tenant_id uuid NOT NULL,
    seq bigint NOT NULL,
    hash char(64) NOT NULL,
    count bigint NOT NULL,
    time timestamptz NOT NULL,
    key_id text NOT NULL,
    signature text NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
