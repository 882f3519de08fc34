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
    #[arg(
        long,
        env = "LOGBOOK_BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub database_url: String,
    /// Events per measurement.
    #[arg(long, default_value_t = 200_000)]
    pub events: usize,
    /// Events per HTTP request.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Events for the one-INSERT-per-event path (it is slow).
    #[arg(long, default_value_t = 20_000)]
    pub insert_sample: usize,
    /// Rounds of (b) then (a); the machine's noise is reported, not hidden.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
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

    println!(
        "\nPostgreSQL ({}), {} rounds of (b) then (a), each on a fresh database",
        logbook_store::StoreLocation::Postgres(args.database_url.clone()).describe(),
        args.rounds
    );
    let pg = postgres::measure(&args, &workload).await?;
    for (round, (http, copy)) in pg.http.iter().zip(&pg.copy).enumerate() {
        println!("  round {}", round + 1);
        line("(a) HTTP ingest through the server", http);
        line("(b) raw binary COPY, 2 connections", copy);
        println!("    a/b = {:.2}", http.rate() / copy.rate());
    }
    line(
        &format!(
            "(c) one INSERT per event, pool of 10 ({} events)",
            pg.inserts.events
        ),
        &pg.inserts,
    );
    let best_http = pg.http.iter().map(Measured::rate).fold(0.0, f64::max);
    let mut ratios: Vec<f64> = pg
        .http
        .iter()
        .zip(&pg.copy)
        .map(|(a, b)| a.rate() / b.rate())
        .collect();
    ratios.sort_by(f64::total_cmp);
    println!(
        "  median a/b = {:.2}   best (a) / (c) = {:.1}",
        ratios[ratios.len() / 2],
        best_http / pg.inserts.rate()
    );

    if !args.skip_sqlite {
        let lite = sqlite::measure(&args, &workload).await?;
        println!("\nSQLite (WAL, synchronous=FULL), one round");
        line("(a) HTTP ingest through the server", &lite.http);
        line(
            "(b) store.append, 10000 events per transaction",
            &lite.batched,
        );
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
    println!(
        "    {label:<52} {:>9.0} events/s  ({} in {:.2} s)",
        m.rate(),
        m.events,
        m.elapsed.as_secs_f64()
    );
}
