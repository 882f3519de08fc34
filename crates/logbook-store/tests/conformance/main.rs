//! The store conformance suite: every behaviour of the `Store` trait, asserted against
//! hand-computed answers, run on SQLite and on PostgreSQL.

mod anonymize;
mod audit;
mod events;
mod idempotency;
mod keys;
mod limits;
mod partitions;
mod plans;
mod retention;
mod rollups;
mod row_security;
mod summaries;
mod support;

/// Generates one test per backend for each behaviour.
macro_rules! conformance {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$module::$name(super::support::sqlite().await).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$module::$name(super::support::postgres().await).await })*
        }
        mod timescaledb {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$module::$name(super::support::timescaledb().await).await })*
        }
    };
}

conformance!(
    events::round_trips_every_field,
    events::get_is_scoped_to_the_tenant,
    events::filters_select_the_right_events,
    events::cursor_pages_cover_everything_once,
    events::skip_offsets_the_page,
    events::lookups_page_across_day_edges,
    events::lookups_find_events_decades_apart,
    events::access_pages_cover_every_record_once,
    events::lookups_page_truly_while_writers_run,
    summaries::summary_counts_seed_fields,
    summaries::hourly_buckets_from_the_first_whole_hour,
    summaries::daily_buckets_with_p95,
    summaries::by_country_counts_and_failures,
    summaries::failed_auth_combines_identifiers,
    summaries::every_answer_is_scoped_to_the_tenant,
    idempotency::a_key_is_stored_once,
    idempotency::a_key_repeated_in_one_batch_is_stored_once,
    idempotency::an_expired_key_is_forgotten,
    idempotency::a_retried_audit_append_answers_with_its_first_seqs,
    keys::tenants_and_keys,
    anonymize::old_events_of_a_type_are_anonymized,
    audit::appends_make_one_gapless_chain_per_tenant,
    audit::audit_numbers_survive_storage,
    audit::audit_search_applies_every_condition,
    audit::the_keyring_remembers_trust_and_retirement,
    audit::audit_heads_name_every_chain,
    audit::checkpoints_are_kept_and_held_against_the_chain,
    audit::a_cut_removes_the_chain_before_it_and_verification_starts_after_it,
    audit::actor_summary_counts_one_actor,
    retention::old_events_are_grouped_and_removed,
    retention::tenants_keep_their_own_retention_rules,
    retention::a_large_group_is_removed_whole,
    retention::a_day_goes_whole_only_with_exactly_its_archived_rows,
    retention::storage_counts_rows_by_stream_and_day,
    retention::access_records_go_only_as_counted,
    rollups::a_late_event_corrects_its_bucket_and_compaction_changes_no_answer,
    rollups::rollups_outlive_their_events_until_their_own_age,
    rollups::answers_stay_true_while_writers_and_compaction_run,
    rollups::endpoint_performance_by_route_template,
);
