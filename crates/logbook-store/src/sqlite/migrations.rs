//! SQLite schema versions, applied in order, each once, inside one immediate transaction
//! so two processes starting together do not both apply one.

use chrono::Utc;
use rusqlite::{Connection, TransactionBehavior};

use super::db;
use crate::Result;

/// (version, name, SQL). Append only: a released migration is never edited.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "events_tenants_keys",
        include_str!("migrations/0001_events_tenants_keys.sql"),
    ),
    (
        2,
        "audit_events",
        include_str!("migrations/0002_audit_events.sql"),
    ),
    (
        3,
        "access_keyring_key_changes",
        include_str!("migrations/0003_access_keyring_key_changes.sql"),
    ),
    (
        4,
        "retention_rules",
        include_str!("migrations/0004_retention_rules.sql"),
    ),
    (5, "rollups", include_str!("migrations/0005_rollups.sql")),
    (
        6,
        "rollup_sketches",
        include_str!("migrations/0006_rollup_sketches.sql"),
    ),
    (
        7,
        "audit_cuts",
        include_str!("migrations/0007_audit_cuts.sql"),
    ),
    (
        8,
        "endpoint_rollups",
        include_str!("migrations/0008_endpoint_rollups.sql"),
    ),
    (
        9,
        "hour_led_indexes",
        include_str!("migrations/0009_hour_led_indexes.sql"),
    ),
    (
        10,
        "error_groups",
        include_str!("migrations/0010_error_groups.sql"),
    ),
    (11, "alerts", include_str!("migrations/0011_alerts.sql")),
    (12, "monitors", include_str!("migrations/0012_monitors.sql")),
    (
        13,
        "console_sessions",
        include_str!("migrations/0013_console_sessions.sql"),
    ),
    (
        14,
        "dashboards",
        include_str!("migrations/0014_dashboards.sql"),
    ),
];

/// The migrations that made or reshaped the rollup table: after any of them, the events
/// already stored are rolled up (again) in the same transaction.
const ROLLUP_SHAPES: [i64; 3] = [5, 6, 8];

pub fn apply(conn: &mut Connection) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db("starting migrations"))?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at INTEGER NOT NULL
        )",
    )
    .map_err(db("creating schema_migrations"))?;
    let current: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(db("reading schema version"))?;
    let mut rebuild = false;
    for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > current) {
        rebuild |= ROLLUP_SHAPES.contains(version);
        tx.execute_batch(sql).map_err(db("applying a migration"))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            (version, name, Utc::now().timestamp_micros()),
        )
        .map_err(db("recording a migration"))?;
        tracing::info!(version, name, "applied sqlite migration");
    }
    if rebuild {
        super::rollups::rebuild(&tx)?;
    }
    tx.commit().map_err(db("committing migrations"))
}
