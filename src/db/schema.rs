//! Table definitions, in the column types both SQLite and PostgreSQL share.

diesel::table! {
    /// The append-only audit trail.
    audit_events (id) {
        id -> Text,
        occurred_at -> Timestamp,
        actor_id -> Text,
        actor_roles -> Text,
        action -> Text,
        resource_type -> Text,
        resource_id -> Nullable<Text>,
        child_id -> Nullable<Text>,
        outcome -> Text,
        request_id -> Text,
        changed_fields -> Nullable<Text>,
    }
}
