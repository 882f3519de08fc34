-- Rollups (see the store's rollups module): ingest appends delta rows (compacted = false)
-- in the transaction that stores the events; compaction merges a bucket's rows into one
-- per key. bucket is the bucket's start in microseconds since the epoch, as on SQLite, so
-- both backends read and write rollups with the same code; key is a JSON array.
CREATE TABLE rollups (
    tenant_id uuid NOT NULL,
    kind smallint NOT NULL,
    bucket bigint NOT NULL,
    key text NOT NULL,
    compacted boolean NOT NULL,
    measures bytea NOT NULL
);
CREATE INDEX rollups_window ON rollups (tenant_id, kind, bucket);
CREATE INDEX rollups_pending ON rollups (tenant_id, kind, bucket) WHERE NOT compacted;

ALTER TABLE rollups ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollups_tenant_isolation ON rollups FOR SELECT
    USING (tenant_id = NULLIF(current_setting('logbook.tenant_id', true), '')::uuid);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'logbook_reader') THEN
        GRANT SELECT ON rollups TO logbook_reader;
    END IF;
EXCEPTION
    WHEN insufficient_privilege THEN RAISE NOTICE 'cannot grant logbook_reader';
END
$$;
