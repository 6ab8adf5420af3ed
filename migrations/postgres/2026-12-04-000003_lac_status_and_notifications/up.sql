-- LCS weekly lists. A batch is stored once per batch_ref with a hash of its content, so a re-send answers with
-- the original summary and a different list under the same ref is refused.
CREATE TABLE lac_status_batches (
    id TEXT PRIMARY KEY NOT NULL,
    batch_ref TEXT NOT NULL UNIQUE,
    period_ending DATE NOT NULL,
    content_hash TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    changes_count BIGINT NOT NULL,
    children_created BIGINT NOT NULL,
    children_updated BIGINT NOT NULL,
    notifications_count BIGINT NOT NULL,
    outcomes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX lac_status_batches_submitted_by ON lac_status_batches (submitted_by, id);

-- Each child's LAC timeline; the current status is derived from it in effective-date order.
CREATE TABLE lac_status_changes (
    id TEXT PRIMARY KEY NOT NULL,
    batch_id TEXT NOT NULL REFERENCES lac_status_batches (id),
    row_index BIGINT NOT NULL,
    child_id TEXT NOT NULL REFERENCES children (id),
    change_type TEXT NOT NULL CHECK (change_type IN
        ('became_looked_after', 'ceased_looked_after', 'legal_status_changed', 'placement_changed')),
    effective_date DATE NOT NULL,
    reason_code TEXT,
    legal_status TEXT,
    placement_type TEXT,
    out_of_authority BOOLEAN,
    social_worker_id TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX lac_status_changes_child ON lac_status_changes (child_id, effective_date, id);
CREATE INDEX lac_status_changes_batch ON lac_status_changes (batch_id, row_index);

-- Notifications to people (recipient_id is a token sub) or to a team (recipient_team, e.g. vs_admin: seen by every
-- member, acknowledged once for all).
CREATE TABLE notifications (
    id TEXT PRIMARY KEY NOT NULL,
    recipient_id TEXT,
    recipient_team TEXT,
    kind TEXT NOT NULL,
    child_id TEXT REFERENCES children (id),
    summary TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    acknowledged_at TIMESTAMP,
    acknowledged_by TEXT,
    CHECK ((recipient_id IS NULL) <> (recipient_team IS NULL))
);
CREATE INDEX notifications_recipient ON notifications (recipient_id, id);
CREATE INDEX notifications_team ON notifications (recipient_team, id);
CREATE INDEX notifications_child ON notifications (child_id);
