-- Tenant isolation in the database, beside the WHERE clauses in the code: reads run as
-- the role logbook_reader with the tenant set for the session, and a policy shows that
-- role only the rows of that tenant. A query that forgets its tenant condition returns
-- nothing of other tenants'. Writes (COPY, which PostgreSQL does not allow under
-- row-level security) stay with the owner, whom the policy does not restrict.
--
-- Making the role needs CREATEROLE; without it the migration still succeeds, the server
-- warns at start, and isolation rests on the WHERE clauses alone.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'logbook_reader') THEN
        CREATE ROLE logbook_reader NOLOGIN NOBYPASSRLS;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;  -- another database of this cluster made it first
    WHEN insufficient_privilege THEN RAISE NOTICE 'cannot create role logbook_reader';
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'logbook_reader') THEN
        EXECUTE format('GRANT logbook_reader TO %I', current_user);
        GRANT USAGE ON SCHEMA public TO logbook_reader;
        GRANT SELECT ON events TO logbook_reader;
    END IF;
EXCEPTION
    WHEN insufficient_privilege THEN RAISE NOTICE 'cannot grant logbook_reader';
END
$$;

ALTER TABLE events ENABLE ROW LEVEL SECURITY;

-- An unset or empty tenant matches no row.
CREATE POLICY events_tenant_isolation ON events FOR SELECT
    USING (tenant_id = NULLIF(current_setting('logbook.tenant_id', true), '')::uuid);
