-- Catches an event whose day has no partition yet, so ingest never has to make one (DDL
-- in the write path would take locks on `events` at the worst moment). Maintenance makes
-- partitions ahead of time and moves anything found here into its day's own partition.
CREATE TABLE IF NOT EXISTS events_default PARTITION OF events DEFAULT;
