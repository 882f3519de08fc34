-- Error groups, their occurrences and the distinct users and environments each has
-- seen: see the PostgreSQL migration of the same name. Times in microseconds.
CREATE TABLE error_groups (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    fingerprint TEXT NOT NULL,
    error_type TEXT NOT NULL,
    message TEXT NOT NULL,
    severity TEXT NOT NULL,
    culprit TEXT,
    service TEXT,
    status TEXT NOT NULL DEFAULT 'new',
    occurrence_count INTEGER NOT NULL,
    affected_users INTEGER NOT NULL DEFAULT 0,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    assigned_to TEXT,
    resolution_note TEXT,
    resolved_at INTEGER,
    regressed_at INTEGER,
    times_regressed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, fingerprint)
);
CREATE INDEX error_groups_last_seen ON error_groups (tenant_id, last_seen DESC, id DESC);

CREATE TABLE error_occurrences (
    tenant_id BLOB NOT NULL,
    group_id BLOB NOT NULL,
    occurred_at INTEGER NOT NULL,
    event_id BLOB NOT NULL,
    user_key TEXT,
    PRIMARY KEY (tenant_id, group_id, occurred_at, event_id)
);
CREATE INDEX error_occurrences_by_time ON error_occurrences (tenant_id, occurred_at);

CREATE TABLE error_group_values (
    tenant_id BLOB NOT NULL,
    group_id BLOB NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (tenant_id, group_id, kind, value)
) WITHOUT ROWID;
