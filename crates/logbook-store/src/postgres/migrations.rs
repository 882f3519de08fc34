//! PostgreSQL schema versions. All pending migrations run in one transaction under an
//! advisory lock, so several `logbook serve` processes starting at once apply each once.

use deadpool_postgres::Client;

use super::{
    db,
    layout::{Layout, LayoutChoice},
};
use crate::Result;

/// One schema version: its SQL for day partitions, and what the hypertable layout does
/// instead (see [`super::layout`]).
struct Migration {
    version: i32,
    name: &'static str,
    sql: &'static str,
    hypertable: InHypertable,
}

enum InHypertable {
    Same,
    /// The migration, then this.
    Then(&'static str),
    /// This instead of the migration.
    Instead(&'static str),
}

impl Migration {
    const fn new(version: i32, name: &'static str, sql: &'static str) -> Self {
        Self {
            version,
            name,
            sql,
            hypertable: InHypertable::Same,
        }
    }

    const fn in_hypertable(self, hypertable: InHypertable) -> Self {
        Self { hypertable, ..self }
    }

    fn statements(&self, layout: Layout) -> [&'static str; 2] {
        match (layout, &self.hypertable) {
            (Layout::Partitions, _) | (Layout::Hypertable, InHypertable::Same) => [self.sql, ""],
            (Layout::Hypertable, InHypertable::Then(more)) => [self.sql, more],
            (Layout::Hypertable, InHypertable::Instead(other)) => [other, ""],
        }
    }
}

/// Append only: a released migration is never edited.
const MIGRATIONS: &[Migration] = &[
    Migration::new(
        1,
        "events_tenants_keys",
        include_str!("migrations/0001_events_tenants_keys.sql"),
    )
    .in_hypertable(InHypertable::Then(include_str!(
        "migrations/hypertable/0001_events_hypertable.sql"
    ))),
    Migration::new(
        2,
        "row_level_security",
        include_str!("migrations/0002_row_level_security.sql"),
    )
    .in_hypertable(InHypertable::Then(include_str!(
        "migrations/hypertable/0002_events_without_row_security.sql"
    ))),
    Migration::new(
        3,
        "audit_events",
        include_str!("migrations/0003_audit_events.sql"),
    ),
    Migration::new(
        4,
        "access_keyring_key_changes",
        include_str!("migrations/0004_access_keyring_key_changes.sql"),
    ),
    // A hypertable has no default partition: TimescaleDB makes each day's chunk.
    Migration::new(
        5,
        "default_partition",
        include_str!("migrations/0005_default_partition.sql"),
    )
    .in_hypertable(InHypertable::Instead("")),
    Migration::new(
        6,
        "retention_rules",
        include_str!("migrations/0006_retention_rules.sql"),
    ),
    Migration::new(7, "rollups", include_str!("migrations/0007_rollups.sql")),
    Migration::new(
        8,
        "rollup_sketches",
        include_str!("migrations/0008_rollup_sketches.sql"),
    ),
    Migration::new(
        9,
        "audit_cuts",
        include_str!("migrations/0009_audit_cuts.sql"),
    ),
    Migration::new(
        10,
        "endpoint_rollups",
        include_str!("migrations/0010_endpoint_rollups.sql"),
    ),
    // Day partitions have nothing to compress or aggregate this way.
    Migration::new(11, "compression_and_aggregates", "").in_hypertable(InHypertable::Instead(
        include_str!("migrations/hypertable/0011_compression_and_aggregates.sql"),
    )),
    Migration::new(
        12,
        "error_groups",
        include_str!("migrations/0012_error_groups.sql"),
    ),
    Migration::new(13, "alerts", include_str!("migrations/0013_alerts.sql")),
    Migration::new(14, "monitors", include_str!("migrations/0014_monitors.sql")),
    Migration::new(
        15,
        "console_sessions",
        include_str!("migrations/0015_console_sessions.sql"),
    ),
    Migration::new(
        16,
        "dashboards",
        include_str!("migrations/0016_dashboards.sql"),
    ),
];

/// The migrations that made or reshaped the rollup table: after any of them, the events
/// already stored are rolled up (again) in the same transaction.
const ROLLUP_SHAPES: [i32; 3] = [7, 8, 10];

/// Any constant works; it only has to be the same in every process.
const MIGRATION_LOCK: i64 = 0x6c6f_6762_6f6f_6b01;

/// Applies what is pending and returns the store's layout.
pub async fn apply(client: &mut Client, choice: LayoutChoice) -> Result<Layout> {
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
    let layout = super::layout::settle(&tx, current == 0, choice).await?;
    let mut rebuild = false;
    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        let (version, name) = (migration.version, migration.name);
        rebuild |= ROLLUP_SHAPES.contains(&version);
        for sql in migration
            .statements(layout)
            .into_iter()
            .filter(|s| !s.is_empty())
        {
            tx.batch_execute(sql)
                .await
                .map_err(db("applying a migration"))?;
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[&version, &name],
        )
        .await
        .map_err(db("recording a migration"))?;
        tracing::info!(version, name, "applied postgres migration");
    }
    if rebuild {
        super::rollups::rebuild(&tx).await?;
    }
    tx.commit().await.map_err(db("committing migrations"))?;
    Ok(layout)
}
