-- Rollups (see the store's rollups module): ingest appends delta rows (compacted = 0) in
-- the transaction that stores the events; compaction merges a bucket's rows into one per
-- key. bucket is the bucket's start in microseconds, key a JSON array, measures encoded.
CREATE TABLE rollups (
    tenant_id BLOB NOT NULL,
    kind INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    key TEXT NOT NULL,
    compacted INTEGER NOT NULL,
    measures BLOB NOT NULL
);
CREATE INDEX rollups_window ON rollups (tenant_id, kind, bucket);
CREATE INDEX rollups_pending ON rollups (tenant_id, kind, bucket) WHERE compacted = 0;
