-- The audit trail (UK GDPR accountability): who touched which child's data, when, and whether it was allowed.
-- Append-only: the trigger refuses updates and deletes, whatever the caller.
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    actor_id TEXT NOT NULL,
    actor_roles TEXT NOT NULL,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT,
    child_id TEXT,
    outcome TEXT NOT NULL CHECK (outcome IN ('allowed', 'denied')),
    request_id TEXT NOT NULL,
    changed_fields TEXT
);
CREATE INDEX audit_events_child_id ON audit_events (child_id, id);
CREATE INDEX audit_events_actor_id ON audit_events (actor_id, id);
CREATE INDEX audit_events_occurred_at ON audit_events (occurred_at);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
