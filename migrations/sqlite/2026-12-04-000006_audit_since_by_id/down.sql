CREATE INDEX audit_events_occurred_at ON audit_events (occurred_at);
