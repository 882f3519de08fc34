-- Monitors (seed 001 tb_service_health) and their checks (tb_health_check_log): each
-- monitor kept whole as JSON in `body` beside the columns its lookups use; each check's
-- status and time as columns for uptimes, its details in `body`.
CREATE TABLE monitors (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    name varchar(100) NOT NULL,
    enabled boolean NOT NULL,
    next_check timestamptz NOT NULL,
    body text NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);
CREATE INDEX monitors_due ON monitors (next_check) WHERE enabled;

CREATE TABLE monitor_checks (
    tenant_id uuid NOT NULL,
    monitor_id uuid NOT NULL,
    checked_at timestamptz NOT NULL,
    status varchar(16) NOT NULL,
    response_time bigint,
    body text NOT NULL,
    PRIMARY KEY (tenant_id, monitor_id, checked_at)
);
CREATE INDEX monitor_checks_by_time ON monitor_checks (checked_at);

ALTER TABLE monitors ENABLE ROW LEVEL SECURITY;
CREATE POLICY monitors_tenant_isolation ON monitors FOR SELECT
    USING (tenant_id = NULLIF(current_setting('logbook.tenant_id', true), '')::uuid);
ALTER TABLE monitor_checks ENABLE ROW LEVEL SECURITY;
CREATE POLICY monitor_checks_tenant_isolation ON monitor_checks FOR SELECT
    USING (tenant_id = NULLIF(current_setting('logbook.tenant_id', true), '')::uuid);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'logbook_reader') THEN
        GRANT SELECT ON monitors, monitor_checks TO logbook_reader;
    END IF;
EXCEPTION
    WHEN insufficient_privilege THEN RAISE NOTICE 'cannot grant logbook_reader';
END
$$;
