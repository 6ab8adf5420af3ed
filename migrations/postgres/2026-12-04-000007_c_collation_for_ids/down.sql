ALTER TABLE children
    ALTER COLUMN id TYPE TEXT COLLATE "default",
    ALTER COLUMN lcs_id TYPE TEXT COLLATE "default",
    ALTER COLUMN social_worker_id TYPE TEXT COLLATE "default",
    ALTER COLUMN sen_caseworker_id TYPE TEXT COLLATE "default",
    ALTER COLUMN vso_id TYPE TEXT COLLATE "default";
ALTER TABLE notices ALTER COLUMN child_id TYPE TEXT COLLATE "default";
ALTER TABLE notifications ALTER COLUMN child_id TYPE TEXT COLLATE "default";
ALTER TABLE lac_status_changes ALTER COLUMN child_id TYPE TEXT COLLATE "default";
ALTER TABLE audit_events
    ALTER COLUMN id TYPE TEXT COLLATE "default",
    ALTER COLUMN actor_id TYPE TEXT COLLATE "default",
    ALTER COLUMN child_id TYPE TEXT COLLATE "default";
