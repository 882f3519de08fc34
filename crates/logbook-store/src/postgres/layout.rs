//! How `events` is laid out: day partitions that Logbook makes and drops itself, or —
//! when the TimescaleDB extension is available — a hypertable of 1-day chunks that
//! TimescaleDB compresses after 7 days, with continuous aggregates beside it.
//!
//! The layout is chosen once, when the schema is first made, and recorded: TimescaleDB
//! cannot take over a partitioned table, so an existing store keeps its layout.

use std::str::FromStr;

use deadpool_postgres::{GenericClient, Transaction};

use super::db;
use crate::{Result, StoreError};

/// The layout of a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Native RANGE partitions by day, made ahead by maintenance.
    Partitions,
    /// A TimescaleDB hypertable.
    Hypertable,
}

/// What a new store is to be: a hypertable when TimescaleDB is available (`Auto`), or
/// one layout whatever is installed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LayoutChoice {
    #[default]
    Auto,
    Partitions,
    Hypertable,
}

impl FromStr for LayoutChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "auto" => Ok(Self::Auto),
            "partitions" => Ok(Self::Partitions),
            "hypertable" => Ok(Self::Hypertable),
            other => Err(format!(
                "unknown PostgreSQL layout {other:?}: use auto, partitions or hypertable"
            )),
        }
    }
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Self::Partitions => "partitions",
            Self::Hypertable => "hypertable",
        }
    }
}

/// The store's layout: the recorded one, or — for a schema not made yet — the chosen
/// one, recorded in the migrations' transaction. A store made before layouts were
/// recorded has day partitions.
pub async fn settle(tx: &Transaction<'_>, fresh: bool, choice: LayoutChoice) -> Result<Layout> {
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_layout (layout text NOT NULL)")
        .await
        .map_err(db("creating schema_layout"))?;
    if let Some(layout) = recorded(tx).await? {
        return Ok(layout);
    }
    let layout = match (fresh, choice) {
        (false, _) | (true, LayoutChoice::Partitions) => Layout::Partitions,
        (true, LayoutChoice::Hypertable) if !timescaledb_available(tx).await? => {
            return Err(StoreError::Invalid(
                "a hypertable layout needs the timescaledb extension, which this PostgreSQL \
                 server does not have"
                    .into(),
            ));
        }
        (true, LayoutChoice::Hypertable) => Layout::Hypertable,
        (true, LayoutChoice::Auto) if timescaledb_available(tx).await? => Layout::Hypertable,
        (true, LayoutChoice::Auto) => Layout::Partitions,
    };
    tx.execute(
        "INSERT INTO schema_layout (layout) VALUES ($1)",
        &[&layout.name()],
    )
    .await
    .map_err(db("recording the layout"))?;
    Ok(layout)
}

/// The recorded layout, if any.
pub async fn recorded<C: GenericClient>(client: &C) -> Result<Option<Layout>> {
    let row = client
        .query_opt("SELECT layout FROM schema_layout", &[])
        .await
        .map_err(db("reading the layout"))?;
    match row.map(|r| super::column::<String>(&r, 0)).transpose()? {
        None => Ok(None),
        Some(name) if name == "partitions" => Ok(Some(Layout::Partitions)),
        Some(name) if name == "hypertable" => Ok(Some(Layout::Hypertable)),
        Some(other) => Err(StoreError::Invalid(format!(
            "the recorded layout {other:?} is unknown to this version of Logbook"
        ))),
    }
}

async fn timescaledb_available<C: GenericClient>(client: &C) -> Result<bool> {
    Ok(client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')",
            &[],
        )
        .await
        .map_err(db("looking for the timescaledb extension"))?
        .get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layout_is_chosen_by_its_name() {
        assert_eq!("auto".parse(), Ok(LayoutChoice::Auto));
        assert_eq!("partitions".parse(), Ok(LayoutChoice::Partitions));
        assert_eq!("hypertable".parse(), Ok(LayoutChoice::Hypertable));
        let refused = "timescale".parse::<LayoutChoice>().unwrap_err();
        assert!(
            refused.contains("auto, partitions or hypertable"),
            "{refused}"
        );
    }
}
