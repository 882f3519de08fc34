//! The `events` columns in the order both backends read and write them, and their sort key.

/// Every column of `events`, in [`logbook_model::Event`]'s field order.
pub const EVENT_COLUMNS: &str = "id, tenant_id, created_at, event_type, event_subtype, user_id, \
    fingerprint, device_id, ip_address, user_agent, http_method, request_path, request_params, \
    request_body_summary, response_status_code, response_time_ms, geo_country, geo_region, \
    geo_city, geo_timezone, session_id, referrer, origin, success, message, error_code, metadata, \
    service, severity, request_id, provider, status";

/// For a page in `order`: the comparison that finds rows after the cursor, and the SQL
/// direction, both over the sort key `(created_at, id)`.
pub fn keyset(order: logbook_model::Order) -> (&'static str, &'static str) {
    match order {
        logbook_model::Order::Desc => ("<", "DESC"),
        logbook_model::Order::Asc => (">", "ASC"),
    }
}

/// Every column of `audit_events`, in [`logbook_model::audit::AuditEvent`]'s field order.
pub const AUDIT_COLUMNS: &str = "tenant_id, seq, id, occurred_at, received_at, actor_id, \
    actor_email, actor_role, action, resource_type, resource_id, resource_name, description, \
    before, after, changes, outcome, failure_reason, ip_address, user_agent, session_id, \
    request_id, module, severity, data_classification, metadata, prev_hash, hash";
