//! User activity (seed 001 tb_user_activity and tb_user_session, 3.13, 3.14, 5.7) read
//! from ACTIVITY events: `event_subtype` is the activity type (`page-view`, `action`,
//! `feature-use`), `metadata` holds `module`, `feature`, `duration` (seconds) and the
//! device fields, `session_id` the session. The statements, written once against
//! [`Dialect`]; `key` names below are constants, never input.

use chrono::{DateTime, Utc};
use logbook_model::TenantId;

use crate::{
    conditions::Param,
    dialect::{Dialect, Where},
};

/// Feature use over the window: module, feature, distinct users, uses, mean duration.
pub fn feature_usage<D: Dialect>(
    tenant: TenantId,
    since: DateTime<Utc>,
    limit: u32,
) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    let since = w.bind(Param::Time(since));
    let limit = w.bind(Param::Int(limit.into()));
    let (module, feature) = (
        D::json_text("metadata", "module"),
        D::json_text("metadata", "feature"),
    );
    let duration = D::json_number("metadata", "duration");
    let sql = format!(
        "SELECT {module}, {feature}, COUNT(DISTINCT user_id), COUNT(*), AVG({duration}) \
         FROM events WHERE {} AND event_type = 'ACTIVITY' AND event_subtype = 'feature-use' \
         AND created_at >= {since} GROUP BY {module}, {feature} \
         ORDER BY 4 DESC, 1, 2 LIMIT {limit}",
        w.sql
    );
    (sql, w)
}

/// Sessions active in the window, the latest first: id, user, start, end, page views,
/// actions, events.
pub fn sessions<D: Dialect>(
    tenant: TenantId,
    since: DateTime<Utc>,
    limit: u32,
) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    let since = w.bind(Param::Time(since));
    let limit = w.bind(Param::Int(limit.into()));
    let sql = format!(
        "SELECT session_id, MIN(user_id), MIN(created_at), MAX(created_at), \
         SUM(CASE WHEN event_subtype = 'page-view' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN event_subtype = 'action' THEN 1 ELSE 0 END), COUNT(*) \
         FROM events WHERE {} AND event_type = 'ACTIVITY' AND session_id IS NOT NULL \
         AND created_at >= {since} GROUP BY session_id ORDER BY 4 DESC, 1 LIMIT {limit}",
        w.sql
    );
    (sql, w)
}

/// Each user's active months (`YYYY-MM`) since `since`, for cohorts.
pub fn user_months<D: Dialect>(tenant: TenantId, since: DateTime<Utc>) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    let since = w.bind(Param::Time(since));
    let month = D::month_of("created_at");
    let sql = format!(
        "SELECT user_id, {month} FROM events WHERE {} AND event_type = 'ACTIVITY' \
         AND user_id IS NOT NULL AND created_at >= {since} GROUP BY user_id, {month}",
        w.sql
    );
    (sql, w)
}
