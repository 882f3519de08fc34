//! Daily partitions of `events`: made ahead of time, and on demand for back-filled days.
//!
//! Which days exist is cached per process, so the ingest path asks the database only
//! for a day it has not seen. Creation is serialized across processes by an advisory
//! lock; `IF NOT EXISTS` makes a lost race harmless.

use std::{collections::HashSet, sync::Mutex};

use chrono::{Days, NaiveDate, Utc};
use deadpool_postgres::Client;

use super::db;
use crate::Result;

const PARTITION_LOCK: i64 = 0x6c6f_6762_6f6f_6b02;

/// How many days past today get a partition before any event needs it.
pub const DAYS_AHEAD: u64 = 3;

#[derive(Default)]
pub struct Partitions {
    known: Mutex<HashSet<NaiveDate>>,
}

impl Partitions {
    /// Makes sure each day has a partition.
    pub async fn ensure(
        &self,
        client: &mut Client,
        days: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<()> {
        let missing: Vec<NaiveDate> = {
            let known = self.known.lock().expect("partition cache lock");
            let mut missing: Vec<NaiveDate> =
                days.into_iter().filter(|d| !known.contains(d)).collect();
            missing.sort_unstable();
            missing.dedup();
            missing
        };
        if missing.is_empty() {
            return Ok(());
        }
        let tx = client
            .transaction()
            .await
            .map_err(db("starting partition creation"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PARTITION_LOCK])
            .await
            .map_err(db("taking the partition lock"))?;
        for day in &missing {
            // DDL cannot take bind parameters; the name and bounds come from a typed
            // date, never from text a client sent.
            let next = *day + Days::new(1);
            let sql = format!(
                "CREATE TABLE IF NOT EXISTS events_p{} PARTITION OF events \
                 FOR VALUES FROM ('{} 00:00:00+00') TO ('{} 00:00:00+00')",
                day.format("%Y%m%d"),
                day.format("%Y-%m-%d"),
                next.format("%Y-%m-%d"),
            );
            tx.batch_execute(&sql)
                .await
                .map_err(db("creating a day partition"))?;
        }
        tx.commit()
            .await
            .map_err(db("committing partition creation"))?;
        self.known
            .lock()
            .expect("partition cache lock")
            .extend(missing);
        Ok(())
    }

    /// Yesterday through [`DAYS_AHEAD`] days from now.
    pub async fn ensure_ahead(&self, client: &mut Client) -> Result<()> {
        let today = Utc::now().date_naive();
        let days = (0..=DAYS_AHEAD + 1)
            .filter_map(|i| (today - Days::new(1)).checked_add_days(Days::new(i)));
        self.ensure(client, days.collect::<Vec<_>>()).await
    }
}
