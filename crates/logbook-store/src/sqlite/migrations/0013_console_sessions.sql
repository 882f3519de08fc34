-- Console sign-ins: see the PostgreSQL migration of the same name. Times in microseconds.
CREATE TABLE console_sessions (
    token_hash BLOB PRIMARY KEY,
    tenant_id BLOB NOT NULL,
    key_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
