-- What social workers (and the Virtual School) tell the VSO about a child: each notice creates notifications in
-- the same transaction.
CREATE TABLE notices (
    id TEXT PRIMARY KEY NOT NULL,
    child_id TEXT NOT NULL REFERENCES children (id),
    kind TEXT NOT NULL CHECK (kind IN ('placement_change', 'placement_breakdown_risk', 'school_change',
        'health_change', 'behaviour_change', 'engagement_change', 'meeting', 'document_shared',
        'school_communication', 'case_transfer')),
    summary TEXT NOT NULL,
    details TEXT,
    effective_on DATE NOT NULL,
    new_social_worker_id TEXT,
    new_school_urn TEXT,
    new_school_name TEXT,
    sent_by TEXT NOT NULL,
    notification_ids TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX notices_child ON notices (child_id, id);
