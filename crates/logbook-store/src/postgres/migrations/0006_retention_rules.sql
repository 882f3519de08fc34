-- A tenant's own retention periods in days, set through the API; the event type '*'
-- stands for every type without a period of its own. The server's defaults hold for
-- what a tenant does not set.
CREATE TABLE retention_rules (
    tenant_id uuid NOT NULL,
    event_type varchar(64) NOT NULL,
    days integer NOT NULL CHECK (days BETWEEN 1 AND 36500),
    PRIMARY KEY (tenant_id, event_type)
);
