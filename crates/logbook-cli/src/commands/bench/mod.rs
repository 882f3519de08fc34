//! `logbook bench ingest`: how fast events get in, side by side with the references.
//!
//! On PostgreSQL, in one run and on the same generated rows, each into a fresh database
//! with the same table and indexes:
//! (a) HTTP ingest through the server, with concurrent clients;
//! (b) raw binary COPY of the rows over 2 connections — the physical limit here;
//! (c) one INSERT per event, autocommit, from a pool of 10 (seed 000's way) on a sample.
//! On SQLite: HTTP ingest and the store's own batched transactions.

mod http;
mod layer;
mod pages;
mod postgres;
mod scale;
mod sqlite;
mod storage;
mod tail;
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
    let args = match command {
        BenchCommand::Ingest(args) => args,
        BenchCommand::Parse { events } => return parse(events),
        BenchCommand::Layer { requests } => return layer::run(requests).await,
        BenchCommand::Tail {
            events,
            subscribers,
            rounds,
            probes,
            database_url,
        } => {
            return tail::run(tail::TailBenchArgs {
                database_url,
                events,
                batch: 1000,
                clients: 16,
                subscribers,
                rounds,
                probes,
            })
            .await;
        }
        BenchCommand::Storage {
            events,
            database_url,
            timescaledb_url,
        } => return storage::run(events, &database_url, timescaledb_url.as_deref()).await,
        BenchCommand::Scale {
            events,
            days,
            full_day,
            runs,
            database_url,
            skip_sqlite,
            skip_postgres,
            pages,
            skip_routes,
        } => {
            return scale::run(scale::ScaleArgs {
                events,
                days,
                full_day,
                runs,
                database_url,
                skip_sqlite,
                skip_postgres,
                pages,
                skip_routes,
            })
            .await;
        }
    };
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
    println!("  mean stored row: {:.0} bytes", pg.row_bytes);
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

/// Splitting bodies and parsing events, single-threaded, as the ingest handler does.
fn parse(events: usize) -> anyhow::Result<()> {
    let workload = workload::Workload::generate(events, 1000);
    let parser = logbook_model::EventParser::default();
    let tenant = logbook_model::TenantId::new();
    let now = chrono::Utc::now();
    let watch = Stopwatch::start();
    let mut parsed = 0;
    for body in &workload.bodies {
        for raw in logbook_model::body::split(body.as_bytes(), logbook_model::body::Framing::Json)?
        {
            parser
                .parse_json(tenant, raw, now)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            parsed += 1;
        }
    }
    let measured = watch.stop(parsed);
    println!(
        "parsed {parsed} events ({} bytes of JSON each on average): {:.2} µs per event, {:.0} events/s on one core",
        workload.mean_json_bytes(),
        measured.elapsed.as_secs_f64() * 1e6 / parsed as f64,
        measured.rate()
    );
    Ok(())
}

/// Events stored in a measured time, and the CPU this process spent meanwhile (server,
/// clients and encoding; PostgreSQL's own work is in its processes, not counted here).
pub struct Measured {
    pub events: usize,
    pub elapsed: Duration,
    pub cpu: Option<Duration>,
    /// How busy the whole machine's CPUs were, 0–1.
    pub machine_busy: Option<f64>,
}

/// Starts timing a measurement.
pub struct Stopwatch {
    started: std::time::Instant,
    cpu: Option<Duration>,
    machine: Option<(u64, u64)>,
}

impl Stopwatch {
    pub fn start() -> Self {
        Self {
            started: std::time::Instant::now(),
            cpu: process_cpu(),
            machine: machine_ticks(),
        }
    }

    pub fn stop(self, events: usize) -> Measured {
        let elapsed = self.started.elapsed();
        let cpu = process_cpu()
            .zip(self.cpu)
            .map(|(end, start)| end.saturating_sub(start));
        let machine_busy =
            machine_ticks()
                .zip(self.machine)
                .and_then(|((busy, all), (busy0, all0))| {
                    (all > all0).then(|| (busy - busy0) as f64 / (all - all0) as f64)
                });
        Measured {
            events,
            elapsed,
            cpu,
            machine_busy,
        }
    }
}

/// (busy, total) CPU ticks of the whole machine, from /proc/stat (Linux).
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    let total: u64 = ticks.iter().sum();
    // idle and iowait are the 4th and 5th columns.
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some((total - idle, total))
}

/// User plus system CPU time of this process, from /proc (Linux); `None` elsewhere.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // /proc reports in USER_HZ, which Linux fixes at 100 for user space.
    Some(Duration::from_millis(ticks * 10))
}

impl Measured {
    pub fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }
}

pub(super) fn line(label: &str, m: &Measured) {
    let cpu = m
        .cpu
        .map(|cpu| format!(", {:.2} s CPU in this process", cpu.as_secs_f64()))
        .unwrap_or_default();
    let busy = m
        .machine_busy
        .map(|b| format!(", CPUs {:.0}% busy", b * 100.0))
        .unwrap_or_default();
    let cpu = cpu + &busy;
    println!(
        "    {label:<52} {:>9.0} events/s  ({} in {:.2} s{cpu})",
        m.rate(),
        m.events,
        m.elapsed.as_secs_f64()
    );
}
