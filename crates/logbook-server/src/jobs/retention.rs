//! Removes events past their retention, each group (tenant, day, type) first written to
//! an archive file; a group is removed only if it still holds exactly what was archived.
//! Then cuts the audit trails past theirs (`audit_retention`), and archives and removes
//! old access records (`access_retention`).

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};
use logbook_model::{
    TenantId,
    filter::Cursor,
    retention::{EventRetention, RetentionRules},
};
use logbook_store::{
    ArchivedGroup, EventGroup, Store, StoreError,
    archive::{ArchiveDir, ArchiveWriter},
};
use uuid::Uuid;

use super::{
    access_retention::{AccessRemoved, remove_old_access},
    audit_retention::{AuditCuts, cut_audit_trails},
};
use crate::{checkpoints::Checkpointer, config::Retention};

pub struct RetentionJob {
    pub store: Arc<dyn Store>,
    pub retention: Retention,
    /// Signs the cuts of the audit trails; without it they are kept whole.
    pub signer: Option<Arc<Checkpointer>>,
}

/// What one round of retention did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub archive_files: usize,
    pub events: u64,
    pub audit: AuditCuts,
    pub access: AccessRemoved,
}

impl RetentionJob {
    pub async fn run_once(&self) -> Result<Removed, StoreError> {
        self.run_at(Utc::now()).await
    }

    /// One round as it would run at `now`.
    pub async fn run_at(&self, now: DateTime<Utc>) -> Result<Removed, StoreError> {
        let rules: HashMap<TenantId, RetentionRules> =
            self.store.retention_rules().await?.into_iter().collect();
        let groups = self.due_under(&rules, now).await?;
        let mut archived = Vec::with_capacity(groups.len());
        for group in groups {
            match archive(self.store.as_ref(), &self.retention.archive, &group).await {
                // Only the rows in the file are removed.
                Ok(keys) => archived.push(ArchivedGroup {
                    group: EventGroup {
                        rows: keys.len() as u64,
                        ..group
                    },
                    keys,
                }),
                // Kept, and tried again next round; the other groups go on.
                Err(error) => tracing::warn!(
                    %error, tenant = %group.tenant, day = %group.day,
                    event_type = %group.event_type, "cannot archive events past their time"
                ),
            }
        }
        let events = self.store.remove_events(&archived).await?;
        if events > 0 {
            tracing::info!(
                events,
                files = archived.len(),
                "archived and removed events past their retention"
            );
        }
        let audit_days = |tenant: TenantId| {
            rules
                .get(&tenant)
                .and_then(|r| r.audit_days)
                .unwrap_or(self.retention.audit_days)
        };
        let access_days = |tenant: TenantId| {
            rules
                .get(&tenant)
                .and_then(|r| r.access_days)
                .unwrap_or(self.retention.access_days)
        };
        let audit = cut_audit_trails(
            self.store.as_ref(),
            &self.retention.archive,
            &audit_days,
            self.signer.as_deref(),
            now,
        )
        .await?;
        let access = remove_old_access(
            self.store.as_ref(),
            &self.retention.archive,
            &access_days,
            now,
        )
        .await?;
        Ok(Removed {
            archive_files: archived.len(),
            events,
            audit,
            access,
        })
    }

    /// The groups of events past their time at `now`, each tenant by its own rules
    /// over the defaults. Tenants that keep some events shorter than the defaults are
    /// asked about on their own, so one short rule never makes every tenant's old
    /// events be counted.
    pub async fn due(&self, now: DateTime<Utc>) -> Result<Vec<EventGroup>, StoreError> {
        let rules = self.store.retention_rules().await?.into_iter().collect();
        self.due_under(&rules, now).await
    }

    /// [`Self::due`] under tenants' rules already read.
    async fn due_under(
        &self,
        rules: &HashMap<TenantId, RetentionRules>,
        now: DateTime<Utc>,
    ) -> Result<Vec<EventGroup>, StoreError> {
        let defaults = &self.retention.events;
        let tenants: HashMap<TenantId, EventRetention> = rules
            .iter()
            .map(|(tenant, rules)| (*tenant, rules.over(defaults)))
            .collect();
        let everyone_from = defaults.first_day_every_type_keeps(now);
        let mut found = self.store.event_groups_before(everyone_from, None).await?;
        for (tenant, retention) in &tenants {
            let kept_from = retention.first_day_every_type_keeps(now);
            if kept_from > everyone_from {
                found.extend(
                    self.store
                        .event_groups_before(kept_from, Some(*tenant))
                        .await?
                        .into_iter()
                        .filter(|g| g.day >= everyone_from),
                );
            }
        }
        found.sort_by_key(|g| (g.day, g.tenant.0));
        Ok(found
            .into_iter()
            .filter(|group| {
                let retention = tenants.get(&group.tenant).unwrap_or(defaults);
                group.day < retention.first_kept_day(&group.event_type, now)
            })
            .collect())
    }
}

/// Writes one group's events to a new archive file, page by page; returns the keys of
/// the rows written.
async fn archive(
    store: &dyn Store,
    dir: &ArchiveDir,
    group: &EventGroup,
) -> Result<Vec<(DateTime<Utc>, Uuid)>, StoreError> {
    let mut query = group.first_page();
    let mut writer = {
        let (dir, tenant, day, event_type) = (
            dir.clone(),
            group.tenant,
            group.day,
            group.event_type.clone(),
        );
        blocking(move || dir.writer(tenant, day, &event_type)).await?
    };
    let mut keys = Vec::with_capacity(group.rows as usize);
    loop {
        let page = store.list_events(group.tenant, &query).await?;
        let next = page
            .next_cursor
            .as_ref()
            .and(page.items.last())
            .map(Cursor::after);
        keys.extend(page.items.iter().map(|e| (e.created_at, e.id)));
        writer = blocking(move || {
            page.items.iter().try_for_each(|e| writer.write(e))?;
            Ok(writer)
        })
        .await?;
        match next {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    blocking(move || ArchiveWriter::finish(writer)).await?;
    Ok(keys)
}

/// File writing and compression, off the async threads.
pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Unavailable(format!("archive writing stopped: {e}")))?
}
