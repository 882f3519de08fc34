//! The SQLite measurements, each on a fresh file.

use logbook_model::TenantId;
use logbook_store::{EventStore, StoreLocation, WriteItem, sqlite::SqliteStore};

use super::{IngestBenchArgs, Measured, Stopwatch, http, workload::Workload};

const CHUNK: usize = 10_000;

pub struct Figures {
    pub http: Measured,
    pub batched: Measured,
}

pub async fn measure(args: &IngestBenchArgs, workload: &Workload) -> anyhow::Result<Figures> {
    let dir = std::env::temp_dir().join(format!("logbook-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let http = http::drive(
        StoreLocation::Sqlite(dir.join("http.db")),
        workload,
        args.clients,
    )
    .await?;

    let store = SqliteStore::open(&dir.join("batched.db"), Default::default()).await?;
    let tenant = TenantId::new();
    let events = workload.events(tenant);
    let total = events.len();
    let mut chunks = Vec::new();
    let mut rest = events;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(CHUNK));
        chunks.push(std::mem::replace(&mut rest, tail));
    }
    let since = chrono::Utc::now();
    let watch = Stopwatch::start();
    for chunk in chunks {
        store
            .append(vec![WriteItem::events(tenant, chunk)].into(), since)
            .await?;
    }
    let batched = watch.stop(total);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Figures { http, batched })
}
