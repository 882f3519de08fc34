-- Hypertable layout, after 0001: TimescaleDB cannot take over a partitioned table, so the
-- empty partitioned `events` just made gives way to a plain table of the same columns,
-- handed to create_hypertable with 1-day chunks, and seed 000's indexes are made again
-- (a hypertable makes each index on every chunk, as a partitioned table does).
CREATE EXTENSION IF NOT EXISTS timescaledb;

ALTER TABLE events RENAME TO events_declared;
CREATE TABLE events (LIKE events_declared INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
DROP TABLE events_declared;
ALTER TABLE events ADD PRIMARY KEY (tenant_id, created_at, id);
SELECT create_hypertable('events', 'created_at',
    chunk_time_interval => INTERVAL '1 day', create_default_indexes => false);

CREATE INDEX events_event_type ON events (tenant_id, event_type, created_at DESC);
CREATE INDEX events_user_id ON events (tenant_id, user_id, created_at DESC) WHERE user_id IS NOT NULL;
CREATE INDEX events_fingerprint ON events (tenant_id, fingerprint, created_at DESC) WHERE fingerprint IS NOT NULL;
CREATE INDEX events_ip_address ON events (tenant_id, ip_address, created_at DESC);
CREATE INDEX events_failures ON events (tenant_id, created_at DESC) WHERE success = false;
CREATE INDEX events_auth_failures ON events (tenant_id, ip_address, created_at DESC)
    WHERE event_type IN ('AUTH_LOGIN', 'AUTH_FAILURE') AND success = false;
