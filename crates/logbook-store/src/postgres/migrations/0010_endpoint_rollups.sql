-- Rollups per endpoint (five-minute and hourly), and the fastest response time in every
-- row: rows of the old shape are rolled up again from the events.
DELETE FROM rollups;
