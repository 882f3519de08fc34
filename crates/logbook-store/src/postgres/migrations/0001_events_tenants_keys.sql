CREATE TABLE tenants (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Looked up by hash before the tenant is known: a reference table under Citus.
CREATE TABLE api_keys (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    name text NOT NULL,
    prefix text NOT NULL,
    key_hash bytea NOT NULL UNIQUE,
    scopes text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    revoked_at timestamptz,
    last_used_at timestamptz
);

CREATE TABLE idempotency_keys (
    tenant_id uuid NOT NULL,
    key text NOT NULL,
    response text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- Seed 000's `logs` columns plus tenant_id, service, severity, request_id, provider, status,
-- partitioned by day on created_at (partitions are made by the server, ahead and on demand).
CREATE TABLE events (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    created_at timestamptz NOT NULL,
    event_type varchar(64) NOT NULL,
    event_subtype varchar(64),
    user_id varchar(255),
    fingerprint varchar(64),
    device_id varchar(128),
    ip_address inet,
    user_agent text,
    http_method varchar(10),
    request_path varchar(512),
    request_params jsonb,
    request_body_summary jsonb,
    response_status_code smallint,
    response_time_ms integer,
    geo_country varchar(3),
    geo_region varchar(10),
    geo_city varchar(128),
    geo_timezone varchar(64),
    session_id varchar(128),
    referrer varchar(512),
    origin varchar(256),
    success boolean NOT NULL DEFAULT true,
    message text,
    error_code varchar(32),
    metadata jsonb,
    service varchar(64),
    severity varchar(16) NOT NULL DEFAULT 'info',
    request_id varchar(128),
    provider varchar(100),
    status varchar(16),
    PRIMARY KEY (tenant_id, created_at, id)
) PARTITION BY RANGE (created_at);

-- Seed 000's indexes, each led by tenant_id. The auth-failure index leads with the
-- address, not event_type, which its WHERE clause already fixes.
CREATE INDEX events_event_type ON events (tenant_id, event_type, created_at DESC);
CREATE INDEX events_user_id ON events (tenant_id, user_id, created_at DESC) WHERE user_id IS NOT NULL;
CREATE INDEX events_fingerprint ON events (tenant_id, fingerprint, created_at DESC) WHERE fingerprint IS NOT NULL;
CREATE INDEX events_ip_address ON events (tenant_id, ip_address, created_at DESC);
CREATE INDEX events_failures ON events (tenant_id, created_at DESC) WHERE success = false;
CREATE INDEX events_auth_failures ON events (tenant_id, ip_address, created_at DESC)
    WHERE event_type IN ('AUTH_LOGIN', 'AUTH_FAILURE') AND success = false;
