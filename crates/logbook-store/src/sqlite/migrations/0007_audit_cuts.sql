-- Signed cuts of the audit chains: retention removed a tenant's chain up to and
-- including seq, which now starts after hash. Verification starts at the newest.
CREATE TABLE audit_cuts (
    tenant_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    count INTEGER NOT NULL,
    time INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) WITHOUT ROWID;
