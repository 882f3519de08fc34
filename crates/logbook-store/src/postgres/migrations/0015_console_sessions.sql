-- Console sign-ins. A session is found by the hash of its cookie's token before any tenant
-- is known (as an API key is by its hash), so it has no row-level policy; it names the
-- key it was made from by that key's hash, and every request is authorised through the
-- key, so revoking the key ends its sessions.
CREATE TABLE console_sessions (
    token_hash bytea PRIMARY KEY,
    tenant_id uuid NOT NULL,
    key_hash bytea NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
