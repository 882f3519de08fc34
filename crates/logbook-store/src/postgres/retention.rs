//! Events past their retention. A day whose every row expires goes as a whole partition
//! (`DROP TABLE`, no row-by-row DELETE to vacuum afterwards); rows that expire while
//! others of their day are kept go in small DELETEs.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use deadpool_postgres::Client;
use logbook_model::{
    EventType, TenantId,
    retention::{RetentionRules, TypeDays},
};
use uuid::Uuid;

use super::{column, db, partitions};
use crate::{EventGroup, REMOVE_BATCH, Result, StoreError};

pub async fn groups_before(client: &Client, before: NaiveDate) -> Result<Vec<EventGroup>> {
    let before = before.and_time(chrono::NaiveTime::MIN).and_utc();
    let rows = client
        .query(
            "SELECT tenant_id, (created_at AT TIME ZONE 'UTC')::date, event_type, COUNT(*)
               FROM events WHERE created_at < $1
              GROUP BY 1, 2, 3 ORDER BY 2, 1, 3",
            &[&before],
        )
        .await
        .map_err(db("finding events past their retention"))?;
    let mut groups = Vec::new();
    for row in &rows {
        let event_type: String = column(row, 2)?;
        let event_type = EventType::parse(&event_type)
            .map_err(|e| StoreError::Invalid(format!("stored event_type: {e}")))?;
        groups.push(EventGroup {
            tenant: TenantId(column::<Uuid>(row, 0)?),
            day: column(row, 1)?,
            event_type,
            rows: column::<i64>(row, 3)? as u64,
        });
    }
    Ok(groups)
}

pub async fn remove(client: &mut Client, groups: &[EventGroup]) -> Result<u64> {
    let mut by_day: BTreeMap<NaiveDate, Vec<&EventGroup>> = BTreeMap::new();
    for group in groups {
        by_day.entry(group.day).or_default().push(group);
    }
    let with_partition = partitions::existing_days(client).await?;
    let mut removed = 0;
    for (day, groups) in by_day {
        if with_partition.contains(&day)
            && let Some(rows) = drop_if_whole(client, day, &groups).await?
        {
            removed += rows;
            continue;
        }
        for group in groups {
            removed += remove_group(client, group).await?;
        }
    }
    Ok(removed)
}

/// Drops `day`'s partition when its rows are exactly the groups', counted under a lock
/// that keeps writers out; the rows dropped, or `None` when some are to stay.
async fn drop_if_whole(
    client: &mut Client,
    day: NaiveDate,
    groups: &[&EventGroup],
) -> Result<Option<u64>> {
    let expired: u64 = groups.iter().map(|g| g.rows).sum();
    let name = partitions::name(day);
    let tx = client
        .transaction()
        .await
        .map_err(db("starting a partition drop"))?;
    // The name comes from a typed date, never from text a client sent.
    tx.batch_execute(&format!("LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE"))
        .await
        .map_err(db("locking a day partition"))?;
    let held: i64 = tx
        .query_one(&format!("SELECT COUNT(*) FROM {name}"), &[])
        .await
        .map_err(db("counting a day partition"))?
        .get(0);
    if held as u64 != expired {
        return Ok(None);
    }
    tx.batch_execute(&format!("DROP TABLE {name}"))
        .await
        .map_err(db("dropping a day partition"))?;
    tx.commit()
        .await
        .map_err(db("committing a partition drop"))?;
    Ok(Some(expired))
}

async fn remove_group(client: &Client, group: &EventGroup) -> Result<u64> {
    let (start, end) = group.window();
    let tenant = group.tenant.0;
    let event_type = group.event_type.as_str();
    let held: i64 = client
        .query_one(
            "SELECT COUNT(*) FROM events
              WHERE tenant_id = $1 AND event_type = $2 AND created_at >= $3 AND created_at < $4",
            &[&tenant, &event_type, &start, &end],
        )
        .await
        .map_err(db("counting an archived group"))?
        .get(0);
    if held as u64 != group.rows {
        return Ok(0);
    }
    let mut removed = 0;
    loop {
        let n = client
            .execute(
                "DELETE FROM events WHERE (tenant_id, created_at, id) IN (
                     SELECT tenant_id, created_at, id FROM events
                      WHERE tenant_id = $1 AND event_type = $2
                        AND created_at >= $3 AND created_at < $4
                      LIMIT $5)",
                &[&tenant, &event_type, &start, &end, &REMOVE_BATCH],
            )
            .await
            .map_err(db("removing events past their retention"))?;
        removed += n;
        if n < REMOVE_BATCH as u64 {
            return Ok(removed);
        }
    }
}

/// The wildcard event type standing for every type without a period of its own.
const EVERY_TYPE: &str = "*";

pub async fn rules(client: &Client) -> Result<Vec<(TenantId, RetentionRules)>> {
    let rows = client
        .query(
            "SELECT tenant_id, event_type, days FROM retention_rules ORDER BY tenant_id, event_type",
            &[],
        )
        .await
        .map_err(db("reading the retention rules"))?;
    let mut all: Vec<(TenantId, RetentionRules)> = Vec::new();
    for row in &rows {
        let tenant = TenantId(column(row, 0)?);
        let event_type: String = column(row, 1)?;
        let days = column::<i32>(row, 2)? as u32;
        if all.last().is_none_or(|(t, _)| *t != tenant) {
            all.push((tenant, RetentionRules::default()));
        }
        let rules = &mut all.last_mut().expect("just pushed").1;
        if event_type == EVERY_TYPE {
            rules.days = Some(days);
        } else {
            let event_type = EventType::parse(&event_type)
                .map_err(|e| StoreError::Invalid(format!("stored retention rule: {e}")))?;
            rules.by_type.push(TypeDays { event_type, days });
        }
    }
    Ok(all)
}

pub async fn set_rules(
    client: &mut Client,
    tenant: TenantId,
    rules: &RetentionRules,
) -> Result<()> {
    let tx = client
        .transaction()
        .await
        .map_err(db("starting to set retention rules"))?;
    tx.execute(
        "DELETE FROM retention_rules WHERE tenant_id = $1",
        &[&tenant.0],
    )
    .await
    .map_err(db("clearing retention rules"))?;
    let rows = rules.days.map(|days| (EVERY_TYPE, days)).into_iter().chain(
        rules
            .by_type
            .iter()
            .map(|r| (r.event_type.as_str(), r.days)),
    );
    for (event_type, days) in rows {
        tx.execute(
            "INSERT INTO retention_rules (tenant_id, event_type, days) VALUES ($1, $2, $3)",
            &[&tenant.0, &event_type, &(days as i32)],
        )
        .await
        .map_err(db("setting a retention rule"))?;
    }
    tx.commit().await.map_err(db("committing retention rules"))
}
