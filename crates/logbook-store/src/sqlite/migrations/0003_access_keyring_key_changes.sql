-- Logbook's own records of who read what, apart from the tenant's events (never in
-- event lists, summaries or exports). Append-only, like the audit trail.
CREATE TABLE access_log (
    tenant_id BLOB NOT NULL,
    at INTEGER NOT NULL,
    id BLOB NOT NULL,
    key_id BLOB NOT NULL,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    path TEXT NOT NULL,
    filters TEXT,
    rows INTEGER,
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    client_ip TEXT,
    PRIMARY KEY (tenant_id, at, id)
) WITHOUT ROWID;
CREATE INDEX access_log_key ON access_log (tenant_id, key_id, at);

-- Public keys trusted to sign checkpoints (hex of the Ed25519 public key): every server
-- of a cluster adds its own at start, so each verifies the others' checkpoints.
CREATE TABLE signing_keys (
    key_id TEXT PRIMARY KEY,
    added_at INTEGER NOT NULL,
    retired_at INTEGER
);

-- Changes whenever a key is made or revoked, so every server's key cache starts over.
CREATE TABLE key_changes (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    counter INTEGER NOT NULL
);
INSERT INTO key_changes (id, counter) VALUES (1, 0);

-- The seqs an audit append was given, answered again to a retry with its key.
ALTER TABLE idempotency_keys ADD COLUMN first_seq INTEGER;
ALTER TABLE idempotency_keys ADD COLUMN last_seq INTEGER;
