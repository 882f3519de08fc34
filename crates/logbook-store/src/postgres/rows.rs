//! Rows into a table inside a transaction: one binary COPY (the fast way), or one
//! prepared INSERT per row for servers that cannot take COPY (the PGlite TimescaleDB
//! harness, some proxies). Every writer of the store goes through here, so the choice
//! is made once.

use std::pin::Pin;

use tokio_postgres::{
    Statement, Transaction,
    binary_copy::BinaryCopyInWriter,
    types::{ToSql, Type},
};

use super::db;
use crate::Result;

/// How rows are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RowWrites {
    #[default]
    Copy,
    Inserts,
}

pub struct RowWriter<'r, 'c> {
    sink: Sink<'r, 'c>,
}

enum Sink<'r, 'c> {
    Copy(Pin<Box<BinaryCopyInWriter>>),
    Inserts {
        tx: &'r Transaction<'c>,
        statement: Statement,
    },
}

impl<'r, 'c> RowWriter<'r, 'c> {
    /// Starts writing `columns` (comma-separated, of these `types`) into `table`. Both
    /// names are constants of the store, never text a client sent.
    pub async fn start(
        tx: &'r Transaction<'c>,
        writes: RowWrites,
        table: &str,
        columns: &str,
        types: &[Type],
    ) -> Result<Self> {
        let sink = match writes {
            RowWrites::Copy => {
                let copy = tx
                    .copy_in(&format!(
                        "COPY {table} ({columns}) FROM STDIN (FORMAT binary)"
                    ))
                    .await
                    .map_err(db("starting COPY"))?;
                Sink::Copy(Box::pin(BinaryCopyInWriter::new(copy, types)))
            }
            RowWrites::Inserts => {
                let placeholders: Vec<String> =
                    (1..=types.len()).map(|i| format!("${i}")).collect();
                let statement = tx
                    .prepare_typed(
                        &format!(
                            "INSERT INTO {table} ({columns}) VALUES ({})",
                            placeholders.join(", ")
                        ),
                        types,
                    )
                    .await
                    .map_err(db("preparing an INSERT"))?;
                Sink::Inserts { tx, statement }
            }
        };
        Ok(Self { sink })
    }

    pub async fn write(&mut self, values: &[&(dyn ToSql + Sync)]) -> Result<()> {
        match &mut self.sink {
            Sink::Copy(writer) => writer
                .as_mut()
                .write(values)
                .await
                .map_err(db("writing a COPY row")),
            Sink::Inserts { tx, statement } => {
                tx.execute(statement, values)
                    .await
                    .map_err(db("inserting a row"))?;
                Ok(())
            }
        }
    }

    pub async fn finish(self) -> Result<()> {
        if let Sink::Copy(mut writer) = self.sink {
            writer
                .as_mut()
                .finish()
                .await
                .map_err(db("finishing COPY"))?;
        }
        Ok(())
    }
}
