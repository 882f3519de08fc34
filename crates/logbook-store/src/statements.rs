//! The statements built from a query's conditions, written once for both backends (see
//! [`crate::dialect`]); each backend runs them with its own driver and reads the rows.

use logbook_model::{
    EventQuery, FailedAuthQuery, TenantId, access::AccessQuery, audit::AuditQuery,
};

use crate::{
    columns::{EVENT_COLUMNS, keyset},
    conditions::{self, FAILED_AUTH, Param},
    dialect::{Buckets, Dialect, Where},
};

/// A `/logs` page: the filter's events in keyset order, one more than the page holds.
/// Read bucket by bucket when `buckets` are named, the bucket first in the order (the
/// same order: a later time never falls in an earlier bucket).
pub fn list_events<D: Dialect>(
    tenant: TenantId,
    query: &EventQuery,
    buckets: Option<Buckets>,
) -> (String, Where<D>) {
    let mut clause = Where::<D>::new(tenant);
    clause.conditions(conditions::for_filter(&query.filter));
    let (cmp, dir) = keyset(query.order);
    if let Some(cursor) = query.cursor {
        clause.after("created_at", cmp, cursor);
    }
    let bucket_first = match buckets {
        Some(buckets) => {
            clause.in_buckets(buckets);
            format!("{} {dir}, ", buckets.of_row)
        }
        None => String::new(),
    };
    let limit = clause.bind(Param::Int(i64::from(query.limit) + 1));
    let skip = clause.bind(Param::Int(query.skip.min(i64::MAX as u64) as i64));
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE {} \
         ORDER BY {bucket_first}created_at {dir}, id {dir} LIMIT {limit} OFFSET {skip}",
        clause.sql
    );
    (sql, clause)
}

/// Seed 000's failed-login count, which rate limiting asks on every login.
pub fn failed_auth<D: Dialect>(
    tenant: TenantId,
    q: &FailedAuthQuery,
    buckets: Option<Buckets>,
) -> (String, Where<D>) {
    let mut clause = Where::<D>::new(tenant);
    clause.and_sql(FAILED_AUTH);
    clause.and_sql(D::FAILED);
    clause.conditions(conditions::for_failed_auth(q));
    if let Some(buckets) = buckets {
        clause.in_buckets(buckets);
    }
    let sql = format!("SELECT COUNT(*) FROM events WHERE {}", clause.sql);
    (sql, clause)
}

/// Audit events matching a search, newest first; `columns` as the backend reads them.
pub fn search_audit<D: Dialect>(
    tenant: TenantId,
    q: &AuditQuery,
    columns: &str,
) -> (String, Where<D>) {
    let mut clause = Where::<D>::new(tenant);
    clause.conditions(conditions::for_audit(q));
    let limit = clause.bind(Param::Int(i64::from(q.limit)));
    let skip = clause.bind(Param::Int(q.skip.min(i64::MAX as u64) as i64));
    let sql = format!(
        "SELECT {columns} FROM audit_events WHERE {} ORDER BY seq DESC LIMIT {limit} OFFSET {skip}",
        clause.sql
    );
    (sql, clause)
}

/// A page of the tenant's access records, one more than the page holds.
pub fn list_access<D: Dialect>(
    tenant: TenantId,
    q: &AccessQuery,
    columns: &str,
) -> (String, Where<D>) {
    use conditions::{Condition, Test};
    let mut clause = Where::<D>::new(tenant);
    let mut equals = |column, param| {
        clause.condition(Condition {
            column,
            test: Test::Equals,
            param,
        })
    };
    if let Some(key) = q.key_id {
        equals("key_id", Param::Uuid(key));
    }
    if let Some(route) = &q.route {
        equals("route", Param::Text(route.clone()));
    }
    if let Some(method) = &q.method {
        equals("method", Param::Text(method.clone()));
    }
    if let Some(status) = q.status {
        equals("status", Param::SmallInt(status));
    }
    for (column, test, at) in [("at", Test::AtLeast, q.from), ("at", Test::Before, q.to)] {
        if let Some(at) = at {
            clause.condition(Condition {
                column,
                test,
                param: Param::Time(at),
            });
        }
    }
    let (cmp, dir) = keyset(q.order);
    if let Some(cursor) = q.cursor {
        clause.after("at", cmp, cursor);
    }
    let limit = clause.bind(Param::Int(i64::from(q.limit) + 1));
    let sql = format!(
        "SELECT {columns} FROM access_log WHERE {} ORDER BY at {dir}, id {dir} LIMIT {limit}",
        clause.sql
    );
    (sql, clause)
}
