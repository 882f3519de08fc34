//! Error groups, counted by ingest: a batch's occurrences tallied per group, and the
//! statements both backends run to count them in and to read and change groups, written
//! once against [`Dialect`].

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use logbook_model::{
    TenantId,
    error_groups::{ErrorOccurrence, ErrorStatus, GroupChange, GroupOrder, GroupQuery},
};
use uuid::Uuid;

use crate::{
    WriteItem,
    conditions::Param,
    dialect::{Dialect, Where},
};

/// The columns every read of a group selects, in the order backends read them.
pub const GROUP_COLUMNS: &str = "id, fingerprint, error_type, message, severity, culprit, \
    service, status, occurrence_count, affected_users, first_seen, last_seen, assigned_to, \
    resolution_note, resolved_at, regressed_at, times_regressed";

/// The kinds of distinct value a group keeps.
pub const USER: &str = "u";
pub const ENVIRONMENT: &str = "e";

/// What a group keeps of a user to count them: a hash, so a user id the operator has
/// chosen to encrypt in events is not kept in the clear beside them.
pub fn user_key(user_id: &str) -> String {
    use sha2::{Digest, Sha256};
    logbook_model::hex::encode(&Sha256::digest(user_id.as_bytes())[..16])
}

/// One group's share of a batch.
pub struct Tally<'a> {
    pub tenant: TenantId,
    /// The newest occurrence: the group shows its message, severity and place.
    pub latest: &'a ErrorOccurrence,
    pub count: i64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Keys of the distinct users (see [`user_key`]).
    pub users: BTreeSet<String>,
    pub environments: BTreeSet<&'a str>,
    pub occurrences: Vec<&'a ErrorOccurrence>,
}

/// The stored items' occurrences by tenant and fingerprint, in that order: the order in
/// which every writer locks group rows, so two writers never wait on each other in a
/// circle.
pub fn tally<'a>(items: impl IntoIterator<Item = &'a WriteItem>) -> Vec<Tally<'a>> {
    let mut groups: BTreeMap<(Uuid, &str), Tally<'a>> = BTreeMap::new();
    for item in items {
        for o in &item.errors {
            let tally = groups
                .entry((item.tenant.0, o.fingerprint.as_str()))
                .or_insert_with(|| Tally {
                    tenant: item.tenant,
                    latest: o,
                    count: 0,
                    first_seen: o.occurred_at,
                    last_seen: o.occurred_at,
                    users: BTreeSet::new(),
                    environments: BTreeSet::new(),
                    occurrences: Vec::new(),
                });
            tally.count += 1;
            tally.first_seen = tally.first_seen.min(o.occurred_at);
            if o.occurred_at >= tally.last_seen {
                tally.last_seen = o.occurred_at;
                tally.latest = o;
            }
            tally.users.extend(o.user_id.as_deref().map(user_key));
            tally.environments.extend(o.environment.as_deref());
            tally.occurrences.push(o);
        }
    }
    groups.into_values().collect()
}

/// Counts a tally into its group, making the group if it is new; returns the group's id.
/// An occurrence stored after the group was resolved reopens it as a regression.
pub fn upsert<D: Dialect>(t: &Tally<'_>, now: DateTime<Utc>) -> (String, Where<D>) {
    let mut v = Where::<D>::values();
    let l = t.latest;
    let marks = [
        v.bind(Param::Uuid(t.tenant.0)),
        v.bind(Param::Uuid(Uuid::new_v4())),
        v.bind(Param::Text(l.fingerprint.clone())),
        v.bind(Param::Text(l.error_type.clone())),
        v.bind(Param::Text(l.message.clone())),
        v.bind(Param::Text(l.severity.as_str().to_owned())),
        v.bind(Param::MaybeText(l.culprit.clone())),
        v.bind(Param::MaybeText(l.service.clone())),
        v.bind(Param::Int(t.count)),
        v.bind(Param::Time(t.first_seen)),
        v.bind(Param::Time(t.last_seen)),
    ]
    .join(", ");
    let regressed_at = v.bind(Param::Time(now));
    let (smaller, larger) = (D::SMALLER, D::LARGER);
    // A late or back-filled occurrence counts, but neither replaces what the group shows
    // (its newest occurrence's) nor reopens a group resolved after it happened.
    let newer = "excluded.last_seen >= error_groups.last_seen";
    let resolved = "error_groups.status = 'resolved' AND (error_groups.resolved_at IS NULL \
                    OR excluded.last_seen > error_groups.resolved_at)";
    let newest = |column: &str| {
        format!(
            "{column} = CASE WHEN {newer} THEN excluded.{column} ELSE error_groups.{column} END"
        )
    };
    let sql = format!(
        "INSERT INTO error_groups (tenant_id, id, fingerprint, error_type, message, severity, \
         culprit, service, occurrence_count, first_seen, last_seen) VALUES ({marks}) \
         ON CONFLICT (tenant_id, fingerprint) DO UPDATE SET \
         occurrence_count = error_groups.occurrence_count + excluded.occurrence_count, \
         first_seen = {smaller}(error_groups.first_seen, excluded.first_seen), \
         last_seen = {larger}(error_groups.last_seen, excluded.last_seen), \
         {}, {}, {}, \
         culprit = CASE WHEN {newer} THEN COALESCE(excluded.culprit, error_groups.culprit) \
         ELSE COALESCE(error_groups.culprit, excluded.culprit) END, \
         service = CASE WHEN {newer} THEN COALESCE(excluded.service, error_groups.service) \
         ELSE COALESCE(error_groups.service, excluded.service) END, \
         times_regressed = error_groups.times_regressed + CASE WHEN {resolved} THEN 1 ELSE 0 END, \
         regressed_at = CASE WHEN {resolved} THEN {regressed_at} ELSE error_groups.regressed_at END, \
         resolved_at = CASE WHEN {resolved} THEN NULL ELSE error_groups.resolved_at END, \
         status = CASE WHEN {resolved} THEN 'new' ELSE error_groups.status END \
         RETURNING id",
        newest("error_type"),
        newest("message"),
        newest("severity"),
    );
    (sql, v)
}

/// Remembers one distinct value of a group; a value it had already seen changes nothing
/// (the statement then affects no row).
pub fn add_value<D: Dialect>(
    tenant: TenantId,
    group: Uuid,
    kind: &str,
    value: &str,
) -> (String, Where<D>) {
    let mut v = Where::<D>::values();
    let marks = [
        v.bind(Param::Uuid(tenant.0)),
        v.bind(Param::Uuid(group)),
        v.bind(Param::Text(kind.to_owned())),
        v.bind(Param::Text(value.to_owned())),
    ]
    .join(", ");
    let sql = format!(
        "INSERT INTO error_group_values (tenant_id, group_id, kind, value) VALUES ({marks}) \
         ON CONFLICT DO NOTHING"
    );
    (sql, v)
}

pub fn add_users<D: Dialect>(tenant: TenantId, group: Uuid, new_users: i64) -> (String, Where<D>) {
    // SQLite numbers `?` by where they stand: bind in the statement's order.
    let mut v = Where::<D>::values();
    let n = v.bind(Param::Int(new_users));
    let tenant = v.bind(Param::Uuid(tenant.0));
    let id = v.bind(Param::Uuid(group));
    let sql = format!(
        "UPDATE error_groups SET affected_users = affected_users + {n} \
         WHERE tenant_id = {tenant} AND id = {id}"
    );
    (sql, v)
}

pub fn add_occurrence<D: Dialect>(
    tenant: TenantId,
    group: Uuid,
    o: &ErrorOccurrence,
) -> (String, Where<D>) {
    let mut v = Where::<D>::values();
    let marks = [
        v.bind(Param::Uuid(tenant.0)),
        v.bind(Param::Uuid(group)),
        v.bind(Param::Time(o.occurred_at)),
        v.bind(Param::Uuid(o.event_id)),
        v.bind(Param::MaybeText(o.user_id.as_deref().map(user_key))),
    ]
    .join(", ");
    let sql = format!(
        "INSERT INTO error_occurrences (tenant_id, group_id, occurred_at, event_id, user_key) \
         VALUES ({marks}) ON CONFLICT DO NOTHING"
    );
    (sql, v)
}

/// A page of groups, one more than the page holds (to tell whether another follows).
pub fn list<D: Dialect>(tenant: TenantId, q: &GroupQuery) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    if !q.statuses.is_empty() {
        let marks: Vec<String> = q
            .statuses
            .iter()
            .map(|s| w.bind(Param::Text(s.as_str().to_owned())))
            .collect();
        w.and_sql(&format!("status IN ({})", marks.join(", ")));
    }
    if let Some(since) = q.seen_since {
        let mark = w.bind(Param::Time(since));
        w.and_sql(&format!("last_seen >= {mark}"));
    }
    if let Some(severity) = q.severity {
        let mark = w.bind(Param::Text(severity.as_str().to_owned()));
        w.and_sql(&format!("severity = {mark}"));
    }
    if let Some(error_type) = &q.error_type {
        let mark = w.bind(Param::Text(error_type.clone()));
        w.and_sql(&format!("error_type = {mark}"));
    }
    let order = match q.order {
        GroupOrder::LastSeen => {
            if let Some(cursor) = q.cursor {
                w.after("last_seen", "<", cursor);
            }
            "last_seen DESC, id DESC"
        }
        GroupOrder::Occurrences => "occurrence_count DESC, last_seen DESC, id DESC",
    };
    let limit = w.bind(Param::Int(i64::from(q.limit) + 1));
    let sql = format!(
        "SELECT {GROUP_COLUMNS} FROM error_groups WHERE {} ORDER BY {order} LIMIT {limit}",
        w.sql
    );
    (sql, w)
}

pub fn get<D: Dialect>(tenant: TenantId, id: Uuid) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    let mark = w.bind(Param::Uuid(id));
    let sql = format!(
        "SELECT {GROUP_COLUMNS} FROM error_groups WHERE {} AND id = {mark}",
        w.sql
    );
    (sql, w)
}

pub fn environments<D: Dialect>(tenant: TenantId, id: Uuid) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    let group = w.bind(Param::Uuid(id));
    let kind = w.bind(Param::Text(ENVIRONMENT.to_owned()));
    let sql = format!(
        "SELECT value FROM error_group_values WHERE {} AND group_id = {group} AND kind = {kind} \
         ORDER BY value",
        w.sql
    );
    (sql, w)
}

/// The ids of a group's newest occurrences' events, newest first.
pub fn recent_occurrences<D: Dialect>(
    tenant: TenantId,
    id: Uuid,
    limit: u32,
) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    let group = w.bind(Param::Uuid(id));
    let limit = w.bind(Param::Int(i64::from(limit)));
    let sql = format!(
        "SELECT event_id FROM error_occurrences WHERE {} AND group_id = {group} \
         ORDER BY occurred_at DESC, event_id DESC LIMIT {limit}",
        w.sql
    );
    (sql, w)
}

/// Applies a change to a group's workflow fields: resolving stamps `resolved_at`, any
/// other status clears it.
pub fn change<D: Dialect>(
    tenant: TenantId,
    id: Uuid,
    change: &GroupChange,
    now: DateTime<Utc>,
) -> (String, Where<D>) {
    let mut w = Where::<D>::values();
    let mut sets = Vec::new();
    if let Some(status) = change.status {
        let mark = w.bind(Param::Text(status.as_str().to_owned()));
        sets.push(format!("status = {mark}"));
        let resolved_at = (status == ErrorStatus::Resolved).then_some(now);
        let mark = w.bind(Param::MaybeTime(resolved_at));
        sets.push(format!("resolved_at = {mark}"));
    }
    if let Some(assigned_to) = &change.assigned_to {
        let mark = w.bind(Param::MaybeText(assigned_to.clone()));
        sets.push(format!("assigned_to = {mark}"));
    }
    if let Some(note) = &change.resolution_note {
        let mark = w.bind(Param::MaybeText(note.clone()));
        sets.push(format!("resolution_note = {mark}"));
    }
    if sets.is_empty() {
        sets.push("status = status".to_owned());
    }
    let tenant_mark = w.bind(Param::Uuid(tenant.0));
    let id_mark = w.bind(Param::Uuid(id));
    let sql = format!(
        "UPDATE error_groups SET {} WHERE tenant_id = {tenant_mark} AND id = {id_mark}",
        sets.join(", ")
    );
    (sql, w)
}

/// Seed 001's error trend: occurrences and distinct users per group type and UTC day
/// since `since`, newest day first, the most frequent first within a day.
pub fn trend<D: Dialect>(tenant: TenantId, since: DateTime<Utc>) -> (String, Where<D>) {
    let mut w = Where::<D>::values();
    let tenant = w.bind(Param::Uuid(tenant.0));
    let since = w.bind(Param::Time(since));
    let day = D::day_of("o.occurred_at");
    let sql = format!(
        "SELECT g.error_type, {day} AS day, COUNT(*) AS error_count, \
         COUNT(DISTINCT o.user_key) AS affected_users \
         FROM error_occurrences o JOIN error_groups g \
         ON g.tenant_id = o.tenant_id AND g.id = o.group_id \
         WHERE o.tenant_id = {tenant} AND o.occurred_at >= {since} \
         GROUP BY g.error_type, {day} ORDER BY day DESC, error_count DESC, g.error_type"
    );
    (sql, w)
}

/// Seed 001's unresolved errors by severity: open groups seen since `since`.
pub fn unresolved_by_severity<D: Dialect>(
    tenant: TenantId,
    since: DateTime<Utc>,
) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    let since = w.bind(Param::Time(since));
    let open: Vec<String> = ErrorStatus::ALL
        .into_iter()
        .filter(|s| s.is_open())
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    let sql = format!(
        "SELECT severity, COUNT(*), CAST(SUM(occurrence_count) AS BIGINT), \
         CAST(SUM(affected_users) AS BIGINT) \
         FROM error_groups WHERE {} AND last_seen >= {since} AND status IN ({}) \
         GROUP BY severity",
        w.sql,
        open.join(", ")
    );
    (sql, w)
}
