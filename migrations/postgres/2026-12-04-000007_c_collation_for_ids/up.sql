-- Ids are ASCII (UUIDs, LCS ids, token subs): compare them byte by byte. Under a libc locale such as C.UTF-8,
-- PostgreSQL compares text through strcoll on every B-tree step; the audit trail's three indexes and the children's
-- lookups are most of what a read costs the database. Byte order is also the order the cursors already assume.
ALTER TABLE audit_events
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN actor_id TYPE TEXT COLLATE "C",
    ALTER COLUMN child_id TYPE TEXT COLLATE "C";
ALTER TABLE lac_status_changes ALTER COLUMN child_id TYPE TEXT COLLATE "C";
ALTER TABLE notifications ALTER COLUMN child_id TYPE TEXT COLLATE "C";
ALTER TABLE notices ALTER COLUMN child_id TYPE TEXT COLLATE "C";
ALTER TABLE children
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN lcs_id TYPE TEXT COLLATE "C",
    ALTER COLUMN social_worker_id TYPE TEXT COLLATE "C",
    ALTER COLUMN sen_caseworker_id TYPE TEXT COLLATE "C",
    ALTER COLUMN vso_id TYPE TEXT COLLATE "C";
