-- Hypertable layout: chunks older than 7 days are compressed, segmented by tenant and
-- event type (the columns every read filters on) and ordered as reads page.
ALTER TABLE events SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'tenant_id, event_type',
    timescaledb.compress_orderby = 'created_at DESC, id'
);
SELECT add_compression_policy('events', INTERVAL '7 days');

-- Seed 000's continuous aggregates, per tenant, for SQL and dashboard tools reading the
-- database directly. Logbook's own routes read its rollups, which ingest keeps in the
-- events' transaction, so a late event counts at once. No retention policy: retention
-- archives each day before it drops the day's chunks (see postgres/retention.rs).
CREATE MATERIALIZED VIEW events_hourly WITH (timescaledb.continuous) AS
SELECT tenant_id,
       time_bucket(INTERVAL '1 hour', created_at) AS bucket,
       event_type,
       COUNT(*) AS total_count,
       COUNT(*) FILTER (WHERE success) AS success_count,
       COUNT(*) FILTER (WHERE NOT success) AS failure_count,
       COUNT(DISTINCT user_id) AS unique_users,
       COUNT(DISTINCT ip_address) AS unique_ips,
       AVG(response_time_ms) AS avg_response_time_ms,
       MAX(response_time_ms) AS max_response_time_ms
  FROM events
 GROUP BY tenant_id, bucket, event_type
  WITH NO DATA;
SELECT add_continuous_aggregate_policy('events_hourly',
    start_offset => INTERVAL '3 hours', end_offset => INTERVAL '1 hour',
    schedule_interval => INTERVAL '1 hour');

CREATE MATERIALIZED VIEW events_daily WITH (timescaledb.continuous) AS
SELECT tenant_id,
       time_bucket(INTERVAL '1 day', created_at) AS bucket,
       event_type,
       geo_country,
       COUNT(*) AS total_count,
       COUNT(*) FILTER (WHERE success) AS success_count,
       COUNT(*) FILTER (WHERE NOT success) AS failure_count,
       COUNT(DISTINCT user_id) AS unique_users,
       COUNT(DISTINCT ip_address) AS unique_ips,
       COUNT(DISTINCT fingerprint) AS unique_fingerprints,
       AVG(response_time_ms) AS avg_response_time_ms,
       PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY response_time_ms) AS p95_response_time_ms
  FROM events
 GROUP BY tenant_id, bucket, event_type, geo_country
  WITH NO DATA;
SELECT add_continuous_aggregate_policy('events_daily',
    start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 day',
    schedule_interval => INTERVAL '1 day');
