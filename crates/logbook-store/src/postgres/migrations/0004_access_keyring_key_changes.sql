-- Logbook's own records of who read what, apart from the tenant's events (never in
-- event lists, summaries or exports). Append-only, like the audit trail.
CREATE TABLE access_log (
    tenant_id uuid NOT NULL,
    at timestamptz NOT NULL,
    id uuid NOT NULL,
    key_id uuid NOT NULL,
    method varchar(10) NOT NULL,
    route varchar(200) NOT NULL,
    path varchar(512) NOT NULL,
    filters jsonb,
    rows bigint,
    status smallint NOT NULL,
    outcome varchar(16) NOT NULL,
    client_ip inet,
    PRIMARY KEY (tenant_id, at, id)
);
CREATE INDEX access_log_key ON access_log (tenant_id, key_id, at);

-- Public keys trusted to sign checkpoints (hex of the Ed25519 public key): every server
-- of a cluster adds its own at start, so each verifies the others' checkpoints.
CREATE TABLE signing_keys (
    key_id text PRIMARY KEY,
    added_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz
);

-- Changes whenever a key is made or revoked, so every server's key cache starts over.
CREATE TABLE key_changes (
    id smallint PRIMARY KEY CHECK (id = 1),
    counter bigint NOT NULL
);
INSERT INTO key_changes (id, counter) VALUES (1, 0);

-- The seqs an audit append was given, answered again to a retry with its key.
ALTER TABLE idempotency_keys ADD COLUMN first_seq bigint, ADD COLUMN last_seq bigint;

-- Reads under row-level security see the tenant's own access records, chain head and
-- checkpoints (verification reads them in the same snapshot as the chain).
ALTER TABLE access_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY access_log_tenant_isolation ON access_log FOR SELECT
    USING (tenant_id = NULLIF(current_setting('logbook.tenant_id', true), '')::uuid);
ALTER TABLE audit_chain_heads ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_chain_heads_tenant_isolation ON audit_chain_heads FOR SELECT
    USING (tenant_id = NULLIF(current_setting('logbook.tenant_id', true), '')::uuid);
ALTER TABLE audit_checkpoints ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_checkpoints_tenant_isolation ON audit_checkpoints FOR SELECT
    USING (tenant_id = NULLIF(current_setting('logbook.tenant_id', true), '')::uuid);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'logbook_reader') THEN
        GRANT SELECT ON access_log, audit_chain_heads, audit_checkpoints, signing_keys TO logbook_reader;
    END IF;
EXCEPTION
    WHEN insufficient_privilege THEN RAISE NOTICE 'cannot grant logbook_reader';
END
$$;
