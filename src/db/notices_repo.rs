//! Notice rows.

use super::schema::notices;
use super::DbConnection;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

/// A stored notice.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = notices, treat_none_as_default_value = false)]
pub struct NoticeRow {
    pub id: String,
    pub child_id: String,
    pub kind: String,
    pub summary: String,
    pub details: Option<String>,
    pub effective_on: NaiveDate,
    pub new_social_worker_id: Option<String>,
    pub new_school_urn: Option<String>,
    pub new_school_name: Option<String>,
    pub sent_by: String,
    /// JSON array of the notification ids it created.
    pub notification_ids: String,
    pub created_at: NaiveDateTime,
}

/// Stores a notice.
pub fn insert(conn: &mut DbConnection, row: &NoticeRow) -> QueryResult<()> {
    diesel::insert_into(notices::table).values(row).execute(conn).map(|_| ())
}

/// One notice of a child.
pub fn find(conn: &mut DbConnection, child_id: &str, id: &str) -> QueryResult<Option<NoticeRow>> {
    notices::table
        .filter(notices::child_id.eq(child_id))
        .filter(notices::id.eq(id))
        .select(NoticeRow::as_select())
        .first(conn)
        .optional()
}

/// A child's notices, newest first, older than `before_id`.
pub fn list(
    conn: &mut DbConnection,
    child_id: &str,
    before_id: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<NoticeRow>> {
    let mut q = notices::table.filter(notices::child_id.eq(child_id)).select(NoticeRow::as_select()).into_boxed();
    if let Some(before) = before_id {
        q = q.filter(notices::id.lt(before));
    }
    q.order(notices::id.desc()).limit(limit).load(conn)
}
