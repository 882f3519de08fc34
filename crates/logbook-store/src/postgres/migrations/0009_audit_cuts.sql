-- Signed cuts of the audit chains: retention removed a tenant's chain up to and
-- including seq, which now starts after hash. Verification starts at the newest.
CREATE TABLE audit_cuts (
    tenant_id uuid NOT NULL,
    seq bigint NOT NULL,
    hash char(64) NOT NULL,
    count bigint NOT NULL,
    time timestamptz NOT NULL,
    key_id text NOT NULL,
    signature text NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

ALTER TABLE audit_cuts ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_cuts_tenant_isolation ON audit_cuts FOR SELECT
    USING (tenant_id = NULLIF(current_setting('logbook.tenant_id', true), '')::uuid);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'logbook_reader') THEN
        GRANT SELECT ON audit_cuts TO logbook_reader;
    END IF;
EXCEPTION
    WHEN insufficient_privilege THEN RAISE NOTICE 'cannot grant logbook_reader';
END
$$;
