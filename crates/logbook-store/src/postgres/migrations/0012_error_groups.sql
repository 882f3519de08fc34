-- Error groups (seed 001's error log): one row per tenant and fingerprint, counted by
-- ingest in the transaction that stores the ERROR events. Each occurrence is an event;
-- error_occurrences points a group at its events (seed 001's error instances; with the
-- user's key, for the daily trend's distinct users), and
-- error_group_values holds the distinct users (hashed) and environments a group has
-- seen, so affected_users is exact.
CREATE TABLE error_groups (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    fingerprint varchar(64) NOT NULL,
    error_type varchar(100) NOT NULL,
    message text NOT NULL,
    severity varchar(16) NOT NULL,
    culprit varchar(512),
    service varchar(64),
    status varchar(16) NOT NULL DEFAULT 'new',
    occurrence_count bigint NOT NULL,
    affected_users bigint NOT NULL DEFAULT 0,
    first_seen timestamptz NOT NULL,
    last_seen timestamptz NOT NULL,
    assigned_to varchar(255),
    resolution_note text,
    resolved_at timestamptz,
    regressed_at timestamptz,
    times_regressed bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, fingerprint)
);
CREATE INDEX error_groups_last_seen ON error_groups (tenant_id, last_seen DESC, id DESC);

CREATE TABLE error_occurrences (
    tenant_id uuid NOT NULL,
    group_id uuid NOT NULL,
    occurred_at timestamptz NOT NULL,
    event_id uuid NOT NULL,
    user_key varchar(32),
    PRIMARY KEY (tenant_id, group_id, occurred_at, event_id)
);
CREATE INDEX error_occurrences_by_time ON error_occurrences (tenant_id, occurred_at);

CREATE TABLE error_group_values (
    tenant_id uuid NOT NULL,
    group_id uuid NOT NULL,
    kind char(1) NOT NULL,
    value varchar(255) NOT NULL,
    PRIMARY KEY (tenant_id, group_id, kind, value)
);

ALTER TABLE error_groups ENABLE ROW LEVEL SECURITY;
CREATE POLICY error_groups_tenant_isolation ON error_groups FOR SELECT
    USING (tenant_id = NULLIF(current_setting('logbook.tenant_id', true), '')::uuid);
ALTER TABLE error_occurrences ENABLE ROW LEVEL SECURITY;
CREATE POLICY error_occurrences_tenant_isolation ON error_occurrences FOR SELECT
    USING (tenant_id = NULLIF(current_setting('logbook.tenant_id', true), '')::uuid);
ALTER TABLE error_group_values ENABLE ROW LEVEL SECURITY;
CREATE POLICY error_group_values_tenant_isolation ON error_group_values FOR SELECT
    USING (tenant_id = NULLIF(current_setting('logbook.tenant_id', true), '')::uuid);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'logbook_reader') THEN
        GRANT SELECT ON error_groups, error_occurrences, error_group_values TO logbook_reader;
    END IF;
EXCEPTION
    WHEN insufficient_privilege THEN RAISE NOTICE 'cannot grant logbook_reader';
END
$$;
