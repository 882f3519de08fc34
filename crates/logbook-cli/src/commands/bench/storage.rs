//! `logbook bench storage`: bytes on disk per event, stored (table and indexes) on each
//! backend and archived (zstd NDJSON), from the same generated events.

use logbook_model::TenantId;
use logbook_store::{
    EventStore, LifecycleStore, WriteItem, archive::ArchiveDir, postgres::PgStore,
    sqlite::SqliteStore,
};

use super::{postgres::Databases, workload::Workload};

const CHUNK: usize = 10_000;

pub async fn run(
    events: usize,
    database_url: &str,
    timescaledb_url: Option<&str>,
) -> anyhow::Result<()> {
    let workload = Workload::generate(events, 1000);
    let tenant = TenantId::new();
    println!(
        "Storage benchmark: {events} events of the ingest benchmark's mix, {} bytes of JSON \
         per event on average",
        workload.mean_json_bytes()
    );
    let dir = std::env::temp_dir().join(format!("logbook-bench-storage-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);

    let sqlite = SqliteStore::open(&dir.join("events.db"), Default::default()).await?;
    load(&sqlite, tenant, &workload, CHUNK).await?;
    let sqlite_bytes = events_bytes(&sqlite).await?;
    let file_bytes: u64 = logbook_store::files::database_files(&dir.join("events.db"))
        .iter()
        .filter(|p| p.is_file())
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    drop(sqlite);

    let databases = Databases::connect(database_url).await?;
    let url = databases.fresh("storage").await?;
    let pg = PgStore::connect(&url, Default::default()).await?;
    load(&pg, tenant, &workload, CHUNK).await?;
    pg.client()
        .await?
        .batch_execute("VACUUM ANALYZE events")
        .await?;
    let pg_bytes = events_bytes(&pg).await?;
    drop(pg);
    databases.drop_all().await;

    let archive = ArchiveDir::new(dir.join("archive"));
    let all = workload.events(tenant);
    let day = all[0].created_at.date_naive();
    let event_type = all[0].event_type.clone();
    let mut writer = archive.writer(tenant, day, &event_type)?;
    for event in &all {
        writer.write(event)?;
    }
    let manifest = writer.finish()?;
    let archived = std::fs::metadata(
        dir.join("archive")
            .join(tenant.to_string())
            .join("events")
            .join(day.format("%Y-%m-%d").to_string())
            .join(&manifest.file),
    )?
    .len();
    let _ = std::fs::remove_dir_all(&dir);
    let hypertable = match timescaledb_url {
        Some(url) => Some(compressed_hypertable(url, tenant, &workload).await?),
        None => None,
    };

    let per = |bytes: u64| bytes as f64 / events as f64;
    let archived_per = per(archived);
    println!("  {:<52} {:>8} bytes/event", "", "");
    for (what, bytes) in [
        ("SQLite: events table and its indexes", sqlite_bytes),
        ("SQLite: database files (WAL included)", file_bytes),
        ("PostgreSQL: events partitions, indexes and TOAST", pg_bytes),
        ("archive: zstd NDJSON (level 9)", archived),
    ] {
        println!(
            "  {what:<52} {:>8.0}   {:>5.1}x the archive",
            per(bytes),
            per(bytes) / archived_per
        );
    }
    if let Some((before, after)) = hypertable {
        for (what, bytes) in [
            ("TimescaleDB: hypertable, before compression", before),
            ("TimescaleDB: hypertable, compressed", after),
        ] {
            println!(
                "  {what:<52} {:>8.0}   {:>5.1}x the archive",
                per(bytes),
                per(bytes) / archived_per
            );
        }
    }
    println!(
        "  per million events: SQLite {:.0} MB, PostgreSQL {:.0} MB, archived {:.0} MB",
        per(sqlite_bytes),
        per(pg_bytes),
        archived_per
    );
    Ok(())
}

/// The events' bytes in a TimescaleDB hypertable before and after compressing every
/// chunk (what the compression policy does after 7 days). One connection and INSERTs, so
/// the PGlite harness can be measured too.
async fn compressed_hypertable(
    url: &str,
    tenant: TenantId,
    workload: &Workload,
) -> anyhow::Result<(u64, u64)> {
    let options = logbook_store::OpenOptions {
        layout: logbook_store::postgres::LayoutChoice::Hypertable,
        writes: logbook_store::postgres::RowWrites::Inserts,
        pool_size: 1,
        ..Default::default()
    };
    let store = PgStore::connect(url, options).await?;
    // Small batches: the harness cannot take a large statement.
    load(&store, tenant, workload, 200).await?;
    let before = events_bytes(&store).await?;
    store
        .client()
        .await?
        .batch_execute("SELECT compress_chunk(c) FROM show_chunks('events') c")
        .await?;
    Ok((before, events_bytes(&store).await?))
}

async fn load(
    store: &impl EventStore,
    tenant: TenantId,
    workload: &Workload,
    chunk: usize,
) -> anyhow::Result<()> {
    let since = chrono::Utc::now();
    for chunk in workload.events(tenant).chunks(chunk) {
        store
            .append(
                vec![WriteItem::events(tenant, chunk.to_vec())].into(),
                since,
            )
            .await?;
    }
    Ok(())
}

async fn events_bytes(store: &impl LifecycleStore) -> anyhow::Result<u64> {
    let report = store.storage().await?;
    let events = report
        .tables
        .iter()
        .find(|t| t.table == "events")
        .expect("the events table is reported");
    Ok(events.bytes as u64)
}
