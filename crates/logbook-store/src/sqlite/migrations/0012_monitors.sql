-- Monitors and their checks: see the PostgreSQL migration of the same name. Times in
-- microseconds.
CREATE TABLE monitors (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    name TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    next_check INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);
CREATE INDEX monitors_due ON monitors (next_check) WHERE enabled;

CREATE TABLE monitor_checks (
    tenant_id BLOB NOT NULL,
    monitor_id BLOB NOT NULL,
    checked_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    response_time INTEGER,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, monitor_id, checked_at)
);
CREATE INDEX monitor_checks_by_time ON monitor_checks (checked_at);
