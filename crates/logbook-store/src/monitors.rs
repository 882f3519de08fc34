//! Monitors and their checks: the statements both backends run, written once against
//! [`Dialect`]. A monitor is kept whole as JSON; a check's status and time are columns.

use chrono::{DateTime, Utc};
use logbook_model::{
    TenantId,
    monitors::{Check, Monitor},
};
use uuid::Uuid;

use crate::{
    alerts::to_json,
    conditions::Param,
    dialect::{Dialect, Where},
};

/// Uptime over the three windows: checks, and checks not down, since each start.
pub struct Uptimes {
    pub checks: [i64; 3],
    pub up: [i64; 3],
}

pub fn insert<D: Dialect>(tenant: TenantId, m: &Monitor, now: DateTime<Utc>) -> (String, Where<D>) {
    let mut v = Where::<D>::values();
    let marks = [
        v.bind(Param::Uuid(tenant.0)),
        v.bind(Param::Uuid(m.id)),
        v.bind(Param::Text(m.name.clone())),
        v.bind(Param::Bool(m.enabled)),
        v.bind(Param::Time(now)),
        v.bind(Param::Text(to_json(m))),
    ]
    .join(", ");
    let sql = format!(
        "INSERT INTO monitors (tenant_id, id, name, enabled, next_check, body) VALUES ({marks}) \
         ON CONFLICT DO NOTHING"
    );
    (sql, v)
}

/// Replaces a monitor; it is checked afresh at once.
pub fn update<D: Dialect>(tenant: TenantId, m: &Monitor, now: DateTime<Utc>) -> (String, Where<D>) {
    let mut v = Where::<D>::values();
    let name = v.bind(Param::Text(m.name.clone()));
    let enabled = v.bind(Param::Bool(m.enabled));
    let next = v.bind(Param::Time(now));
    let body = v.bind(Param::Text(to_json(m)));
    let tenant = v.bind(Param::Uuid(tenant.0));
    let id = v.bind(Param::Uuid(m.id));
    let sql = format!(
        "UPDATE monitors SET name = {name}, enabled = {enabled}, next_check = {next}, body = {body} \
         WHERE tenant_id = {tenant} AND id = {id}"
    );
    (sql, v)
}

pub fn list<D: Dialect>(tenant: TenantId) -> (String, Where<D>) {
    let w = Where::<D>::new(tenant);
    let sql = format!("SELECT body FROM monitors WHERE {} ORDER BY name", w.sql);
    (sql, w)
}

pub fn get<D: Dialect>(tenant: TenantId, id: Uuid) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    let id = w.bind(Param::Uuid(id));
    let sql = format!("SELECT body FROM monitors WHERE {} AND id = {id}", w.sql);
    (sql, w)
}

/// Deletes a monitor's checks, then the monitor.
pub fn delete<D: Dialect>(tenant: TenantId, id: Uuid) -> [(String, Where<D>); 2] {
    let of = |table: &str, column: &str| {
        let mut w = Where::<D>::new(tenant);
        let id = w.bind(Param::Uuid(id));
        (
            format!("DELETE FROM {table} WHERE {} AND {column} = {id}", w.sql),
            w,
        )
    };
    [of("monitor_checks", "monitor_id"), of("monitors", "id")]
}

/// Enabled monitors of every tenant due at `now`, the longest due first.
pub fn due<D: Dialect>(now: DateTime<Utc>, limit: u32) -> (String, Where<D>) {
    let mut v = Where::<D>::values();
    let enabled = v.bind(Param::Bool(true));
    let now = v.bind(Param::Time(now));
    let limit = v.bind(Param::Int(limit.into()));
    let sql = format!(
        "SELECT tenant_id, body FROM monitors WHERE enabled = {enabled} AND next_check <= {now} \
         ORDER BY next_check LIMIT {limit}"
    );
    (sql, v)
}

pub fn insert_check<D: Dialect>(tenant: TenantId, monitor: Uuid, c: &Check) -> (String, Where<D>) {
    let mut v = Where::<D>::values();
    let marks = [
        v.bind(Param::Uuid(tenant.0)),
        v.bind(Param::Uuid(monitor)),
        v.bind(Param::Time(c.checked_at)),
        v.bind(Param::Text(c.status.as_str().into())),
        match c.response_time {
            Some(ms) => v.bind(Param::Int(ms.into())),
            None => "NULL".into(),
        },
        v.bind(Param::Text(to_json(c))),
    ]
    .join(", ");
    let sql = format!(
        "INSERT INTO monitor_checks (tenant_id, monitor_id, checked_at, status, response_time, body) \
         VALUES ({marks}) ON CONFLICT DO NOTHING"
    );
    (sql, v)
}

pub fn checked<D: Dialect>(
    tenant: TenantId,
    monitor: Uuid,
    next: DateTime<Utc>,
) -> (String, Where<D>) {
    let mut v = Where::<D>::values();
    let next = v.bind(Param::Time(next));
    let tenant = v.bind(Param::Uuid(tenant.0));
    let id = v.bind(Param::Uuid(monitor));
    let sql =
        format!("UPDATE monitors SET next_check = {next} WHERE tenant_id = {tenant} AND id = {id}");
    (sql, v)
}

/// The monitor's newest checks, newest first.
pub fn recent<D: Dialect>(tenant: TenantId, monitor: Uuid, limit: u32) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    let id = w.bind(Param::Uuid(monitor));
    let limit = w.bind(Param::Int(limit.into()));
    let sql = format!(
        "SELECT body FROM monitor_checks WHERE {} AND monitor_id = {id} \
         ORDER BY checked_at DESC LIMIT {limit}",
        w.sql
    );
    (sql, w)
}

/// Checks and checks not down since each of the three starts (24 h, 7 d, 30 d). Values
/// are bound in the order their marks appear (SQLite's `?` are positional).
pub fn uptimes<D: Dialect>(
    tenant: TenantId,
    monitor: Uuid,
    starts: [DateTime<Utc>; 3],
) -> (String, Where<D>) {
    let mut v = Where::<D>::values();
    let mut columns = Vec::new();
    for start in starts {
        let at = v.bind(Param::Time(start));
        columns.push(format!(
            "SUM(CASE WHEN checked_at >= {at} THEN 1 ELSE 0 END)"
        ));
    }
    for start in starts {
        let at = v.bind(Param::Time(start));
        columns.push(format!(
            "SUM(CASE WHEN checked_at >= {at} AND status <> 'down' THEN 1 ELSE 0 END)"
        ));
    }
    let tenant = v.bind(Param::Uuid(tenant.0));
    let id = v.bind(Param::Uuid(monitor));
    let oldest = v.bind(Param::Time(starts[2]));
    let sql = format!(
        "SELECT {} FROM monitor_checks WHERE tenant_id = {tenant} AND monitor_id = {id} \
         AND checked_at >= {oldest}",
        columns.join(", ")
    );
    (sql, v)
}

/// Response times of the monitor's checks since `since`.
pub fn response_times<D: Dialect>(
    tenant: TenantId,
    monitor: Uuid,
    since: DateTime<Utc>,
) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    let id = w.bind(Param::Uuid(monitor));
    let since = w.bind(Param::Time(since));
    let sql = format!(
        "SELECT response_time FROM monitor_checks WHERE {} AND monitor_id = {id} \
         AND checked_at >= {since} AND response_time IS NOT NULL ORDER BY response_time",
        w.sql
    );
    (sql, w)
}

/// Checks older than `before`, of every tenant (seed 001 keeps 30 days).
pub fn purge<D: Dialect>(before: DateTime<Utc>) -> (String, Where<D>) {
    let mut v = Where::<D>::values();
    let before = v.bind(Param::Time(before));
    (
        format!("DELETE FROM monitor_checks WHERE checked_at < {before}"),
        v,
    )
}
