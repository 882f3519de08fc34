use std::collections::HashSet;

use anyhow::Context;
use logbook_model::{
    EventType,
    filter::{Cursor, MAX_PAGE},
};
use logbook_store::{
    EventGroup, Store, WriteItem,
    archive::{self, ArchiveDir},
};

use super::open;
use crate::cli::ArchiveCommand;

pub async fn run(command: ArchiveCommand) -> anyhow::Result<()> {
    match command {
        ArchiveCommand::List {
            archive_dir,
            data_dir,
        } => {
            let dir = ArchiveDir::new(archive_dir.unwrap_or_else(|| data_dir.join("archive")));
            let found = dir.list()?;
            if found.is_empty() {
                println!("no archive files under {}", dir.root().display());
            }
            for (path, m) in found {
                let what = match (m.from_seq, m.to_seq) {
                    (Some(from), Some(to)) => format!("audit {from}-{to}"),
                    _ => m.event_type.clone(),
                };
                println!(
                    "{}  {}  {:<16} {:>9} events  {}",
                    m.tenant_id,
                    m.day,
                    what,
                    m.rows,
                    path.with_file_name(&m.file).display()
                );
            }
            Ok(())
        }
        ArchiveCommand::Restore { file, store } => {
            let (manifest, events) = archive::open(&file)?;
            let store = open(&store).await?;
            let event_type = EventType::parse(&manifest.event_type)
                .map_err(|e| anyhow::anyhow!("the manifest's event type: {e}"))?;
            let group = EventGroup {
                tenant: manifest.tenant_id,
                day: manifest.day,
                event_type,
                rows: manifest.rows,
            };
            let present = stored_ids(store.as_ref(), &group).await?;
            let (mut restored, mut already) = (0u64, 0u64);
            let mut batch = Vec::new();
            for event in events {
                let event = event?;
                if present.contains(&event.id) {
                    already += 1;
                    continue;
                }
                batch.push(event);
                if batch.len() == MAX_PAGE as usize {
                    restored +=
                        store_batch(store.as_ref(), &group, std::mem::take(&mut batch)).await?;
                }
            }
            restored += store_batch(store.as_ref(), &group, batch).await?;
            println!(
                "restored {restored} events of tenant {} on {} ({}); {already} were already stored",
                manifest.tenant_id, manifest.day, manifest.event_type
            );
            Ok(())
        }
    }
}

/// The ids the store holds of the archive's tenant, day and type.
async fn stored_ids(store: &dyn Store, group: &EventGroup) -> anyhow::Result<HashSet<uuid::Uuid>> {
    let mut query = group.first_page();
    let mut ids = HashSet::new();
    loop {
        let page = store.list_events(group.tenant, &query).await?;
        ids.extend(page.items.iter().map(|e| e.id));
        match (page.next_cursor, page.items.last()) {
            (Some(_), Some(last)) => query.cursor = Some(Cursor::after(last)),
            _ => return Ok(ids),
        }
    }
}

async fn store_batch(
    store: &dyn Store,
    group: &EventGroup,
    events: Vec<logbook_model::Event>,
) -> anyhow::Result<u64> {
    if events.is_empty() {
        return Ok(0);
    }
    let n = events.len() as u64;
    store
        .append(
            vec![WriteItem::events(group.tenant, events)].into(),
            chrono::Utc::now(),
        )
        .await
        .context("cannot store the archived events")?;
    Ok(n)
}
