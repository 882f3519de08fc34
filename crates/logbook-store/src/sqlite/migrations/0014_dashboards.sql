-- Dashboards: see the PostgreSQL migration of the same name.
CREATE TABLE dashboards (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    owner_id BLOB NOT NULL,
    visibility TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX dashboards_by_name ON dashboards (tenant_id, name);
