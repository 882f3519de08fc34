-- Alert rules, alerts and their notifications: see the PostgreSQL migration of the same
-- name. Times in microseconds.
CREATE TABLE alert_rules (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    next_evaluation INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);
CREATE INDEX alert_rules_due ON alert_rules (next_evaluation) WHERE status <> 'disabled';

CREATE TABLE alert_rule_defaults (
    tenant_id BLOB PRIMARY KEY
);

CREATE TABLE alerts (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    rule_id BLOB NOT NULL,
    group_key TEXT NOT NULL,
    status TEXT NOT NULL,
    triggered_at INTEGER NOT NULL,
    resolved_at INTEGER,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX alerts_open ON alerts (tenant_id, rule_id, group_key) WHERE status <> 'resolved';
CREATE INDEX alerts_by_time ON alerts (tenant_id, triggered_at DESC);
CREATE INDEX alerts_by_rule ON alerts (tenant_id, rule_id, triggered_at);

CREATE TABLE alert_notifications (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    alert_id BLOB NOT NULL,
    channel_type TEXT NOT NULL,
    next_attempt INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    sent_at INTEGER,
    failed_at INTEGER,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX alert_notifications_due ON alert_notifications (next_attempt)
    WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX alert_notifications_stream ON alert_notifications (tenant_id, channel_type, id);
