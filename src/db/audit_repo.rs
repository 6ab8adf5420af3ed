//! Audit rows: insert (several per statement) and list. There is deliberately no update or delete.

use super::schema::audit_events;
use super::DbConnection;
use crate::services::audit::{AuditFilter, NewAuditEvent};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Columns per row, for the multi-row statement size.
const COLUMNS: usize = 11;

/// A stored audit event.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEventRow {
    /// UUID v7.
    pub id: String,
    /// When (UTC).
    pub occurred_at: NaiveDateTime,
    /// Who.
    pub actor_id: String,
    /// Their roles, comma-separated.
    pub actor_roles: String,
    /// What.
    pub action: String,
    /// On what kind of resource.
    pub resource_type: String,
    /// Which resource.
    pub resource_id: Option<String>,
    /// Whose data.
    pub child_id: Option<String>,
    /// `allowed` or `denied`.
    pub outcome: String,
    /// Which request.
    pub request_id: String,
    /// Changed field names, comma-separated.
    pub changed_fields: Option<String>,
}

/// Inserts `events` with multi-row statements on PostgreSQL (one statement a row on SQLite, where there is no round
/// trip to save). Call inside a transaction.
pub fn insert(conn: &mut DbConnection, events: &[NewAuditEvent]) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in events.chunks(super::rows_per_statement(conn, COLUMNS)) {
        n += on_backend!(&mut *conn, |c| diesel::insert_into(audit_events::table).values(chunk).execute(c))?;
    }
    Ok(n)
}

/// Events matching `filter`, newest first, strictly older than `before_id` (UUID v7 ids sort by time).
pub fn list(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    before_id: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<AuditEventRow>> {
    let mut q = audit_events::table.select(AuditEventRow::as_select()).into_boxed();
    if let Some(child) = &filter.child_id {
        q = q.filter(audit_events::child_id.eq(child));
    }
    if let Some(actor) = &filter.actor_id {
        q = q.filter(audit_events::actor_id.eq(actor));
    }
    if let Some(since) = filter.since {
        q = q.filter(audit_events::occurred_at.ge(since));
    }
    if let Some(before) = before_id {
        q = q.filter(audit_events::id.lt(before));
    }
    q.order(audit_events::id.desc()).limit(limit).load(conn)
}
