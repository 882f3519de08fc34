-- Dashboards (seed 001 tb_dashboard), each kept whole as JSON in `body` with its widgets
-- (tb_widget) inside, so deleting one deletes them; the owner (the key that made it) and
-- the visibility are columns for listing what a key may see.
CREATE TABLE dashboards (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    owner_id uuid NOT NULL,
    visibility varchar(16) NOT NULL,
    name varchar(200) NOT NULL,
    body text NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX dashboards_by_name ON dashboards (tenant_id, name);

ALTER TABLE dashboards ENABLE ROW LEVEL SECURITY;
CREATE POLICY dashboards_tenant_isolation ON dashboards FOR SELECT
    USING (tenant_id = NULLIF(current_setting('logbook.tenant_id', true), '')::uuid);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'logbook_reader') THEN
        GRANT SELECT ON dashboards TO logbook_reader;
    END IF;
EXCEPTION
    WHEN insufficient_privilege THEN RAISE NOTICE 'cannot grant logbook_reader';
END
$$;
