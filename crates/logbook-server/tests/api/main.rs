//! The HTTP API through the real router, on real SQLite and PostgreSQL storage.

mod access;
mod activity;
mod alerts;
mod audit_trail;
mod auth;
mod dashboards;
mod errors;
mod ingest;
mod isolation;
mod monitors;
mod otlp;
mod privacy;
mod queries;
mod seed_apis;
mod slow_clients;
mod support;
mod tail;

/// Generates one test per backend for each behaviour.
macro_rules! api_tests {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$module::$name(super::support::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$module::$name(super::support::Backend::Postgres).await })*
        }
    };
}

api_tests!(
    errors::a_late_occurrence_neither_reopens_nor_renames_a_group,
    alerts::webhooks_are_retried_until_taken_and_not_after_a_refusal,
    errors::unresolved_errors_are_summed_by_severity,
    activity::user_activity_answers_seed_001_queries,
    monitors::monitors_check_keep_results_and_sum_up_health,
    tail::the_tail_sends_what_commits_as_logs_filters_it,
    tail::a_tail_that_does_not_read_is_told_what_it_missed,
    tail::a_tail_sees_other_servers_commits,
    alerts::failed_logins_per_ip_fire_escalate_and_resolve,
    alerts::rules_are_checked_and_defaults_start_disabled,
    auth::routes_need_a_key_with_the_right_scope,
    auth::keys_are_managed_with_an_admin_key,
    auth::a_console_session_ends_at_sign_out_on_the_server,
    auth::the_console_sends_a_stranger_to_sign_in_and_back,
    dashboards::dashboards_are_kept_per_key_and_tenant,
    auth::key_routes_honour_the_tenant_they_name,
    auth::revocation_reaches_every_server_within_a_second,
    auth::events_cannot_be_changed_or_deleted,
    ingest::a_bad_event_in_a_thousand_is_named_and_the_rest_stored,
    ingest::nothing_accepted_is_a_400,
    ingest::limits_are_enforced,
    ingest::every_framing_and_naming_is_accepted,
    ingest::a_retried_request_is_stored_once,
    ingest::idempotency_keys_are_remembered_for_a_day,
    ingest::racing_retries_with_one_key_are_stored_once,
    ingest::a_full_queue_answers_429,
    ingest::dead_writers_fail_ready_and_ingest_at_once,
    ingest::a_refused_batch_is_stored_request_by_request,
    ingest::every_gzip_member_is_read,
    ingest::old_events_are_refused_beyond_the_backfill_window,
    ingest::numbers_read_back_exactly,
    ingest::a_key_over_its_rate_limit_gets_429,
    ingest::hostile_input_is_refused_alone,
    queries::bad_parameters_name_the_parameter,
    queries::lookups_by_id_and_user,
    queries::summaries_answer_with_seed_fields,
    queries::endpoint_performance_over_http,
    queries::cursor_paging_over_http,
    queries::filters_fold_unicode_refuse_nul_and_stay_bounded,
    queries::csv_exports_defuse_formulas,
    queries::route_windows_count_from_now,
    queries::a_burst_of_failed_logins_is_an_anomaly,
    isolation::a_tenant_never_sees_another_tenants_events,
    isolation::every_read_route_keeps_to_its_tenant,
    auth::health_and_ready,
    slow_clients::slow_clients_are_cut_off,
    privacy::the_job_anonymizes_old_activity,
    privacy::a_tenant_sets_how_long_its_events_are_kept,
    privacy::hostile_retention_bodies_get_a_clear_answer,
    access::reads_leave_access_records,
    access::access_records_keep_only_parsed_bounded_filters,
    access::a_read_that_cannot_be_recorded_is_refused,
    access::old_access_records_are_archived_then_removed,
    audit_trail::audit_events_chain_and_verify,
    audit_trail::signed_checkpoints_catch_rewrites_and_truncation,
    audit_trail::truncation_and_forged_checkpoints_are_caught,
    audit_trail::exports_stream_and_verify_offline,
    audit_trail::retention_cuts_the_chain_at_a_signed_checkpoint,
    audit_trail::a_tenants_audit_period_replaces_the_servers,
    audit_trail::cuts_never_launder_a_break_or_hide_the_witness,
    audit_trail::verify_is_a_snapshot_while_appends_go_on,
    audit_trail::audit_appends_are_idempotent_and_queued,
    audit_trail::downloads_and_administration_leave_their_trace,
    audit_trail::signing_keys_rotate_and_retire,
    seed_apis::seed_004_clients_work_unchanged,
    seed_apis::seed_004_examples_replayed_field_for_field,
    seed_apis::action_lists_open_encrypted_fields,
    seed_apis::seed_001_audit_queries,
    seed_apis::seed_001_integration_health,
    otlp::otlp_logs_are_stored_with_mapped_fields,
    otlp::hostile_otlp_requests_are_bounded,
    privacy::encrypted_fields_are_ciphertext_at_rest,
    errors::errors_are_grouped_counted_and_reopened,
    errors::bad_error_reports_and_changes_are_named,
    errors::sentry_envelopes_become_error_groups,
    errors::old_occurrences_go_with_their_events,
    errors::exception_logs_count_into_error_groups,
    errors::concurrent_reports_count_exactly,
);
