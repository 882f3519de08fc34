//! The PostgreSQL measurements, each on a fresh database with the real schema.

use std::sync::Arc;

use anyhow::{Context, bail};
use logbook_model::{Event, TenantId};
use logbook_store::{
    StoreLocation,
    postgres::{PgStore, copy_events, insert_single},
    with_database,
};
use tokio_postgres::NoTls;

use super::{IngestBenchArgs, Measured, Stopwatch, http, workload::Workload};

/// Rows per COPY on the raw path: as large as the server's biggest batches.
const COPY_CHUNK: usize = 10_000;
const COPY_CONNECTIONS: usize = 2;
const INSERT_POOL: usize = 10;

pub struct Figures {
    /// Mean size of a stored `events` row, as PostgreSQL counts it.
    pub row_bytes: f64,
    /// One per round.
    pub http: Vec<Measured>,
    /// One per round, each measured just before the same round's HTTP run.
    pub copy: Vec<Measured>,
    pub inserts: Measured,
}

pub async fn measure(args: &IngestBenchArgs, workload: &Workload) -> anyhow::Result<Figures> {
    let databases = Databases::connect(&args.database_url).await?;
    let events = Arc::new(workload.events(TenantId::new()));

    let (mut http, mut copy) = (Vec::new(), Vec::new());
    let mut row_bytes = 0.0;
    for round in 0..args.rounds.max(1) {
        let url = databases.fresh(&format!("copy{round}")).await?;
        databases.checkpoint().await;
        copy.push(raw_copy(&url, events.clone()).await?);
        row_bytes = mean_row_bytes(&url).await?;
        let url = databases.fresh(&format!("http{round}")).await?;
        databases.checkpoint().await;
        let measured =
            http::drive(StoreLocation::Postgres(url.clone()), workload, args.clients).await?;
        check_count(&url, measured.events).await?;
        http.push(measured);
        databases.drop_all().await;
    }
    let url = databases.fresh("insert").await?;
    databases.checkpoint().await;
    let sample = args.insert_sample.min(events.len());
    let inserts = single_inserts(&url, events.clone(), sample).await?;

    databases.drop_all().await;
    Ok(Figures {
        row_bytes,
        http,
        copy,
        inserts,
    })
}

async fn raw_copy(url: &str, events: Arc<Vec<Event>>) -> anyhow::Result<Measured> {
    let store = PgStore::connect(url, Default::default()).await?;
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let watch = Stopwatch::start();
    let tasks: Vec<_> = (0..COPY_CONNECTIONS)
        .map(|_| {
            let (store, events, next) = (store.clone(), events.clone(), next.clone());
            tokio::spawn(async move {
                let mut client = store.client().await?;
                loop {
                    let start = next.fetch_add(COPY_CHUNK, std::sync::atomic::Ordering::Relaxed);
                    if start >= events.len() {
                        return Ok::<_, anyhow::Error>(());
                    }
                    let chunk = &events[start..(start + COPY_CHUNK).min(events.len())];
                    let tx = client.transaction().await?;
                    copy_events(&tx, chunk).await?;
                    tx.commit().await?;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let measured = watch.stop(events.len());
    check_count(url, events.len()).await?;
    Ok(measured)
}

async fn single_inserts(
    url: &str,
    events: Arc<Vec<Event>>,
    sample: usize,
) -> anyhow::Result<Measured> {
    let store = PgStore::connect(url, Default::default()).await?;
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let watch = Stopwatch::start();
    let tasks: Vec<_> = (0..INSERT_POOL)
        .map(|_| {
            let (store, events, next) = (store.clone(), events.clone(), next.clone());
            tokio::spawn(async move {
                let client = store.client().await?;
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= sample {
                        return Ok::<_, anyhow::Error>(());
                    }
                    insert_single(&client, &events[i]).await?;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let measured = watch.stop(sample);
    check_count(url, sample).await?;
    Ok(measured)
}

/// A benchmark that lost rows would measure nothing: count them.
async fn check_count(url: &str, expected: usize) -> anyhow::Result<()> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(connection);
    let stored: i64 = client
        .query_one("SELECT count(*) FROM events", &[])
        .await?
        .get(0);
    if stored as usize != expected {
        bail!("expected {expected} stored events, found {stored}");
    }
    Ok(())
}

async fn mean_row_bytes(url: &str) -> anyhow::Result<f64> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(connection);
    let row = client
        .query_one("SELECT avg(pg_column_size(e.*))::float8 FROM events e", &[])
        .await?;
    Ok(row.get::<_, Option<f64>>(0).unwrap_or(0.0))
}

/// Creates the benchmark's databases and drops them afterwards.
pub(super) struct Databases {
    base: String,
    admin: tokio_postgres::Client,
    created: std::sync::Mutex<Vec<String>>,
}

impl Databases {
    pub(super) async fn connect(base: &str) -> anyhow::Result<Self> {
        let (admin, connection) =
            tokio_postgres::connect(base, NoTls)
                .await
                .with_context(|| {
                    format!(
                        "cannot connect to {}",
                        StoreLocation::Postgres(base.into()).describe()
                    )
                })?;
        tokio::spawn(connection);
        Ok(Self {
            base: base.to_owned(),
            admin,
            created: Default::default(),
        })
    }

    pub(super) async fn fresh(&self, purpose: &str) -> anyhow::Result<String> {
        let name = format!("logbook_bench_{purpose}_{}", std::process::id());
        self.admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .await?;
        self.admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        self.created.lock().expect("lock").push(name.clone());
        Ok(with_database(&self.base, &name))
    }

    /// Starts each measurement with no dirty pages left by the one before (needs a
    /// superuser; without one the measurement runs all the same).
    pub(super) async fn checkpoint(&self) {
        let _ = self.admin.batch_execute("CHECKPOINT").await;
    }

    pub(super) async fn drop_all(&self) {
        let names = std::mem::take(&mut *self.created.lock().expect("lock"));
        for name in names {
            let _ = self
                .admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
        }
    }
}
