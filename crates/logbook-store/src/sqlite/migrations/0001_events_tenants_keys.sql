-- Times are microseconds since the Unix epoch (UTC); ids are 16-byte UUIDs.

CREATE TABLE tenants (
    id BLOB PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id BLOB PRIMARY KEY,
    tenant_id BLOB NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash BLOB NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER,
    last_used_at INTEGER
);

CREATE TABLE idempotency_keys (
    tenant_id BLOB NOT NULL,
    key TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- Seed 000's `logs` columns plus tenant_id, service, severity, request_id, provider, status.
CREATE TABLE events (
    id BLOB NOT NULL,
    tenant_id BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    event_subtype TEXT,
    user_id TEXT,
    fingerprint TEXT,
    device_id TEXT,
    ip_address TEXT,
    user_agent TEXT,
    http_method TEXT,
    request_path TEXT,
    request_params TEXT,
    request_body_summary TEXT,
    response_status_code INTEGER,
    response_time_ms INTEGER,
    geo_country TEXT,
    geo_region TEXT,
    geo_city TEXT,
    geo_timezone TEXT,
    session_id TEXT,
    referrer TEXT,
    origin TEXT,
    success INTEGER NOT NULL DEFAULT 1,
    message TEXT,
    error_code TEXT,
    metadata TEXT,
    service TEXT,
    severity TEXT NOT NULL DEFAULT 'info',
    request_id TEXT,
    provider TEXT,
    status TEXT,
    PRIMARY KEY (tenant_id, created_at, id)
);

-- Seed 000's indexes, each led by tenant_id.
CREATE INDEX events_event_type ON events (tenant_id, event_type, created_at DESC);
CREATE INDEX events_user_id ON events (tenant_id, user_id, created_at DESC) WHERE user_id IS NOT NULL;
CREATE INDEX events_fingerprint ON events (tenant_id, fingerprint, created_at DESC) WHERE fingerprint IS NOT NULL;
CREATE INDEX events_ip_address ON events (tenant_id, ip_address, created_at DESC);
CREATE INDEX events_failures ON events (tenant_id, created_at DESC) WHERE success = 0;
CREATE INDEX events_auth_failures ON events (tenant_id, ip_address, created_at DESC)
    WHERE event_type IN ('AUTH_LOGIN', 'AUTH_FAILURE') AND success = 0;
