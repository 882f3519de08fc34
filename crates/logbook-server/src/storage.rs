//! The storage report of `GET /api/v1/storage` and `logbook storage`: the store's own
//! figures, with what they mean for an operator — growth per day, what retention takes
//! next, the archive and how much smaller it is, indexes never used.

use chrono::{DateTime, Days, Utc};
use logbook_store::{StorageReport, Store, StoreError};
use serde::Serialize;

use crate::{config::Retention, jobs::RetentionJob};

#[derive(Serialize)]
pub struct Storage {
    #[serde(flatten)]
    pub store: StorageReport,
    /// Average events per day over the last seven whole days.
    pub events_per_day: f64,
    /// Events past their time now, removed at the next upkeep round.
    pub past_retention: u64,
    /// Events whose time ends within a day.
    pub due_within_a_day: u64,
    pub archive: ArchiveFigures,
    /// Plain advice; nothing is ever dropped for it.
    pub advice: Vec<String>,
}

#[derive(Default, Serialize)]
pub struct ArchiveFigures {
    pub files: usize,
    pub events: u64,
    pub bytes: u64,
    /// Bytes per event in the events table over bytes per event archived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression_ratio: Option<f64>,
}

pub async fn report(
    store: &std::sync::Arc<dyn Store>,
    retention: &Retention,
    now: DateTime<Utc>,
) -> Result<Storage, StoreError> {
    let figures = store.storage().await?;
    let job = RetentionJob {
        store: store.clone(),
        retention: retention.clone(),
        signer: None,
    };
    let past: u64 = job.due(now).await?.iter().map(|g| g.rows).sum();
    let tomorrow = now.checked_add_days(Days::new(1)).unwrap_or(now);
    let due: u64 = job.due(tomorrow).await?.iter().map(|g| g.rows).sum();
    let today = now.date_naive();
    let week: i64 = figures
        .events_by_day
        .iter()
        .filter(|d| d.day < today && today - d.day <= chrono::Duration::days(7))
        .map(|d| d.rows)
        .sum();
    let archive = archive_figures(retention, &figures)?;
    let advice = figures
        .indexes
        .iter()
        .filter(|i| !i.primary_key && i.scans == Some(0))
        .map(|i| {
            format!(
                "index {} on {} ({} bytes) was never used since the statistics were reset: \
                 check that no query needs it before dropping it",
                i.index, i.table, i.bytes
            )
        })
        .collect();
    Ok(Storage {
        store: figures,
        events_per_day: week as f64 / 7.0,
        past_retention: past,
        due_within_a_day: due.saturating_sub(past),
        archive,
        advice,
    })
}

fn archive_figures(
    retention: &Retention,
    figures: &StorageReport,
) -> Result<ArchiveFigures, StoreError> {
    let mut archive = ArchiveFigures::default();
    for (manifest_path, manifest) in retention.archive.list()? {
        let data = manifest_path.with_file_name(&manifest.file);
        archive.files += 1;
        archive.events += manifest.rows;
        archive.bytes += std::fs::metadata(&data).map(|m| m.len()).unwrap_or(0);
    }
    let events = figures.tables.iter().find(|t| t.table == "events");
    if let Some(events) = events.filter(|t| t.rows > 0)
        && archive.events > 0
        && archive.bytes > 0
    {
        let stored = events.bytes as f64 / events.rows as f64;
        let archived = archive.bytes as f64 / archive.events as f64;
        archive.compression_ratio = Some((stored / archived * 10.0).round() / 10.0);
    }
    Ok(archive)
}
