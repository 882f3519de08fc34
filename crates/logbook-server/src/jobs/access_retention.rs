//! Removes access records past their retention (seed 002: seven years), each tenant's day
//! first written to an archive file, `DIR/<tenant>/access/<YYYY-MM-DD>/access.ndjson.zst`.
//! A day is removed only if it still holds exactly what was archived. Records are made
//! with the server's clock, so a day past its time gets no more.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use logbook_model::{
    TenantId,
    access::AccessQuery,
    filter::{Keyed, MAX_PAGE, Order},
    retention::first_kept_day,
};
use logbook_store::{
    Store, StoreError,
    archive::{ArchiveDir, ArchiveWriter},
};

use super::retention::blocking;

/// Days archived per tenant and round at most, so a first round over years of records
/// ends; the next rounds take the rest.
const DAYS_PER_ROUND: usize = 31;

/// What one round did to the access records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessRemoved {
    pub archive_files: usize,
    pub records: u64,
}

/// Archives, then removes, every tenant's access records older than its `days` days.
pub async fn remove_old_access(
    store: &dyn Store,
    archive: &ArchiveDir,
    days: &(dyn Fn(TenantId) -> u32 + Sync),
    now: DateTime<Utc>,
) -> Result<AccessRemoved, StoreError> {
    let mut done = AccessRemoved::default();
    for tenant in store.list_tenants().await? {
        let first_kept = first_kept_day(days(tenant.id), now);
        for _ in 0..DAYS_PER_ROUND {
            let Some(oldest) = store.oldest_access(tenant.id).await? else {
                break;
            };
            let day = oldest.date_naive();
            if day >= first_kept {
                break;
            }
            let (from, to) = (start_of(day), start_of(day + Days::new(1)));
            let rows = archive_day(store, archive, tenant.id, day, from, to).await?;
            let removed = store.remove_access(tenant.id, from, to, rows).await?;
            done.archive_files += 1;
            done.records += removed;
            if removed != rows {
                // More arrived than was archived: kept, and archived again next round.
                tracing::warn!(tenant = %tenant.id, %day, "access records changed while archived");
                break;
            }
        }
    }
    Ok(done)
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// Writes the tenant's access records of `[from, to)` to a new file; returns how many.
async fn archive_day(
    store: &dyn Store,
    archive: &ArchiveDir,
    tenant: TenantId,
    day: NaiveDate,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut query = AccessQuery {
        from: Some(from),
        to: Some(to),
        order: Order::Asc,
        limit: MAX_PAGE,
        ..AccessQuery::default()
    };
    let mut writer = {
        let archive = archive.clone();
        blocking(move || archive.access_writer(tenant, day)).await?
    };
    let mut rows = 0;
    loop {
        let page = store.list_access(tenant, &query).await?;
        rows += page.items.len() as u64;
        let next = page
            .next_cursor
            .as_ref()
            .and(page.items.last())
            .map(Keyed::position);
        writer = blocking(move || {
            page.items.iter().try_for_each(|r| writer.write_access(r))?;
            Ok(writer)
        })
        .await?;
        match next {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    blocking(move || ArchiveWriter::finish(writer)).await?;
    Ok(rows)
}
