-- The lookups by user, device fingerprint and address are led by the event's hour
-- (created_at / 3600000000: microseconds in an hour). Led by the value alone, each
-- index's inserts landed all over a range that grows with the whole store, so a full
-- store wrote thousands of scattered pages per batch; led by the hour, new events touch
-- only the current hour's part, which stays small however much the store holds. A
-- lookup names the hours it reads (see sqlite/hours.rs).
DROP INDEX events_user_id;
DROP INDEX events_fingerprint;
DROP INDEX events_ip_address;
CREATE INDEX events_user_id ON events (tenant_id, created_at / 3600000000, user_id, created_at DESC)
    WHERE user_id IS NOT NULL;
CREATE INDEX events_fingerprint ON events (tenant_id, created_at / 3600000000, fingerprint, created_at DESC)
    WHERE fingerprint IS NOT NULL;
CREATE INDEX events_ip_address ON events (tenant_id, created_at / 3600000000, ip_address, created_at DESC);
