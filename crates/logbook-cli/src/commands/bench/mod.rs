//! `logbook bench ingest`: how fast events get in, side by side with the references.
//!
//! On PostgreSQL, in one run and on the same generated rows, each into a fresh database
//! with the same table and indexes:
//! (a) HTTP ingest through the server, with concurrent clients;
//! (b) raw binary COPY of the rows over 2 connections — the physical limit here;
//! (c) one INSERT per event, autocommit, from a pool of 10 (seed 000's way) on a sample.
//! On SQLite: HTTP ingest and the store's own batched transactions.

mod http;
mod postgres;
mod sqlite;
mod workload;

use std::time::Duration;

use clap::Args;

use crate::cli::BenchCommand;

#[derive(Debug, Args)]
pub struct IngestBenchArgs {
    /// PostgreSQL server to create the benchmark databases on.
    #[arg(long, env = "LOGBOOK_BENCH_DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub database_url: String,
    /// Events per measurement.
    #[arg(long, default_value_t = 200_000)]
    pub events: usize,
    /// Events per HTTP request.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Events for the one-INSERT-per-event path (it is slow).
    #[arg(long, default_value_t = 20_000)]
    pub insert_sample: usize,
    /// Leave out the SQLite measurements.
    #[arg(long)]
    pub skip_sqlite: bool,
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    let BenchCommand::Ingest(args) = command;
    let workload = workload::Workload::generate(args.events, args.batch);
    println!(
        "Ingest benchmark: {} events (80% REQUEST, 10% AUTH_LOGIN, 5% AUTH_FAILURE, 5% other), \
         {} bytes of JSON per event on average, {} IPs, {} users; HTTP: {} clients x {} events per request",
        args.events,
        workload.mean_json_bytes(),
        workload::IPS,
        workload::USERS,
        args.clients,
        args.batch,
    );

    let pg = postgres::measure(&args, &workload).await?;
    println!("\nPostgreSQL ({})", logbook_store::StoreLocation::Postgres(args.database_url.clone()).describe());
    line("(a) HTTP ingest through the server", &pg.http);
    line("(b) raw binary COPY, 2 connections", &pg.copy);
    line(&format!("(c) one INSERT per event, pool of 10 ({} events)", pg.inserts.events), &pg.inserts);
    println!("    a/b = {:.2}   a/c = {:.1}", pg.http.rate() / pg.copy.rate(), pg.http.rate() / pg.inserts.rate());

    if !args.skip_sqlite {
        let lite = sqlite::measure(&args, &workload).await?;
        println!("\nSQLite (WAL, synchronous=FULL)");
        line("(a) HTTP ingest through the server", &lite.http);
        line("(b) store.append, 10000 events per transaction", &lite.batched);
        println!("    a/b = {:.2}", lite.http.rate() / lite.batched.rate());
    }
    Ok(())
}

/// Events stored in a measured time.
pub struct Measured {
    pub events: usize,
    pub elapsed: Duration,
}

impl Measured {
    pub fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }
}

fn line(label: &str, m: &Measured) {
    println!("    {label:<52} {:>9.0} events/s  ({} in {:.2} s)", m.rate(), m.events, m.elapsed.as_secs_f64());
}
