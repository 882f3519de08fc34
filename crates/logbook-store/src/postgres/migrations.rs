//! PostgreSQL schema versions. All pending migrations run in one transaction under an
//! advisory lock, so several `logbook serve` processes starting at once apply each once.

use deadpool_postgres::Client;

use super::db;
use crate::Result;

/// (version, name, SQL). Append only: a released migration is never edited.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "events_tenants_keys",
        include_str!("migrations/0001_events_tenants_keys.sql"),
    ),
    (
        2,
        "row_level_security",
        include_str!("migrations/0002_row_level_security.sql"),
    ),
    (
        3,
        "audit_events",
        include_str!("migrations/0003_audit_events.sql"),
    ),
    (
        4,
        "access_keyring_key_changes",
        include_str!("migrations/0004_access_keyring_key_changes.sql"),
    ),
    (
        5,
        "default_partition",
        include_str!("migrations/0005_default_partition.sql"),
    ),
    (
        6,
        "retention_rules",
        include_str!("migrations/0006_retention_rules.sql"),
    ),
    (7, "rollups", include_str!("migrations/0007_rollups.sql")),
    (
        8,
        "rollup_sketches",
        include_str!("migrations/0008_rollup_sketches.sql"),
    ),
    (
        9,
        "audit_cuts",
        include_str!("migrations/0009_audit_cuts.sql"),
    ),
    (
        10,
        "endpoint_rollups",
        include_str!("migrations/0010_endpoint_rollups.sql"),
    ),
];

/// The migrations that made or reshaped the rollup table: after any of them, the events
/// already stored are rolled up (again) in the same transaction.
const ROLLUP_SHAPES: [i32; 3] = [7, 8, 10];

/// Any constant works; it only has to be the same in every process.
const MIGRATION_LOCK: i64 = 0x6c6f_6762_6f6f_6b01;

pub async fn apply(client: &mut Client) -> Result<()> {
    let tx = client
        .transaction()
        .await
        .map_err(db("starting migrations"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(db("taking the migration lock"))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version integer PRIMARY KEY,
            name text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )
    .await
    .map_err(db("creating schema_migrations"))?;
    let current: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await
        .map_err(db("reading the schema version"))?
        .get(0);
    let mut rebuild = false;
    for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > current) {
        rebuild |= ROLLUP_SHAPES.contains(version);
        tx.batch_execute(sql)
            .await
            .map_err(db("applying a migration"))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[version, name],
        )
        .await
        .map_err(db("recording a migration"))?;
        tracing::info!(version, name, "applied postgres migration");
    }
    if rebuild {
        super::rollups::rebuild(&tx).await?;
    }
    tx.commit().await.map_err(db("committing migrations"))
}
