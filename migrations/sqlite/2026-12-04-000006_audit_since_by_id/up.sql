-- Audit ids are UUID v7, which begin with their millisecond timestamp, so `since` is served by the primary key
-- (id >= the smallest id of that instant). The index on occurred_at cost every audit write and served nothing else.
DROP INDEX audit_events_occurred_at;
