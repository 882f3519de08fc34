-- Alerting (seed 001 tb_alert_rule, tb_alert): each rule and alert is kept whole as JSON
-- in `body` (the model checks it), beside the columns its lookups use. One open alert
-- per rule and group at most: the partial unique index is what stops two evaluations
-- from raising it twice. alert_notifications is the outbox: an alert's change and the
-- notifications it causes commit together, and a sender delivers them afterwards, so a
-- restart neither loses nor repeats one that was recorded as sent.
CREATE TABLE alert_rules (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    name varchar(200) NOT NULL,
    status varchar(16) NOT NULL,
    next_evaluation timestamptz NOT NULL,
    body text NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);
CREATE INDEX alert_rules_due ON alert_rules (next_evaluation) WHERE status <> 'disabled';

-- Tenants that were given the default rules, so a deleted default stays deleted.
CREATE TABLE alert_rule_defaults (
    tenant_id uuid PRIMARY KEY
);

CREATE TABLE alerts (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    rule_id uuid NOT NULL,
    group_key text NOT NULL,
    status varchar(16) NOT NULL,
    triggered_at timestamptz NOT NULL,
    resolved_at timestamptz,
    version bigint NOT NULL,
    body text NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX alerts_open ON alerts (tenant_id, rule_id, group_key) WHERE status <> 'resolved';
CREATE INDEX alerts_by_time ON alerts (tenant_id, triggered_at DESC);
CREATE INDEX alerts_by_rule ON alerts (tenant_id, rule_id, triggered_at);

CREATE TABLE alert_notifications (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    alert_id uuid NOT NULL,
    channel_type varchar(16) NOT NULL,
    next_attempt timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    sent_at timestamptz,
    failed_at timestamptz,
    body text NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX alert_notifications_due ON alert_notifications (next_attempt)
    WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX alert_notifications_stream ON alert_notifications (tenant_id, channel_type, id);

ALTER TABLE alert_rules ENABLE ROW LEVEL SECURITY;
CREATE POLICY alert_rules_tenant_isolation ON alert_rules FOR SELECT
    USING (tenant_id = NULLIF(current_setting('logbook.tenant_id', true), '')::uuid);
ALTER TABLE alerts ENABLE ROW LEVEL SECURITY;
CREATE POLICY alerts_tenant_isolation ON alerts FOR SELECT
    USING (tenant_id = NULLIF(current_setting('logbook.tenant_id', true), '')::uuid);
ALTER TABLE alert_notifications ENABLE ROW LEVEL SECURITY;
CREATE POLICY alert_notifications_tenant_isolation ON alert_notifications FOR SELECT
    USING (tenant_id = NULLIF(current_setting('logbook.tenant_id', true), '')::uuid);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'logbook_reader') THEN
        GRANT SELECT ON alert_rules, alerts, alert_notifications TO logbook_reader;
    END IF;
EXCEPTION
    WHEN insufficient_privilege THEN RAISE NOTICE 'cannot grant logbook_reader';
END
$$;
