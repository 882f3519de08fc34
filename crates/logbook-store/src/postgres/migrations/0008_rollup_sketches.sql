-- A rollup row's sketches apart from its counts: a daily window reads the counts (with
-- the distinct counts and p95 the sketches gave when the row was written) and fetches
-- sketches only where a bucket and key hold rows to merge. Rows of the old shape are
-- rolled up again from the events.
DELETE FROM rollups;
ALTER TABLE rollups ADD COLUMN sketches bytea;
-- Compaction finds pending buckets by scanning the (small) table every round; an index of
-- them cost every ingest batch more than the scan costs a round.
DROP INDEX rollups_pending;
