//! Notification rows.

use super::schema::notifications;
use super::DbConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A stored notification.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = notifications, treat_none_as_default_value = false)]
pub struct NotificationRow {
    pub id: String,
    pub recipient_id: Option<String>,
    pub recipient_team: Option<String>,
    pub kind: String,
    pub child_id: Option<String>,
    pub summary: String,
    pub created_at: NaiveDateTime,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub acknowledged_by: Option<String>,
}

/// Columns per row, for the multi-row statement size.
const COLUMNS: usize = 9;

/// Stores notifications. Call inside the transaction of the event that causes them.
pub fn insert(conn: &mut DbConnection, rows: &[NotificationRow]) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in rows.chunks(super::rows_per_statement(conn, COLUMNS)) {
        n += on_backend!(&mut *conn, |c| diesel::insert_into(notifications::table).values(chunk).execute(c))?;
    }
    Ok(n)
}

/// Whose notifications a caller reads: their own, plus those of the teams they belong to.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Inbox {
    /// The person.
    pub recipient_id: String,
    /// Their teams (role names).
    pub teams: Vec<String>,
}

/// Filters for an inbox.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct NotificationFilter {
    /// Only unacknowledged.
    pub unread: bool,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only about this child.
    pub child_id: Option<String>,
}

/// An inbox, newest first, older than `before_id`.
pub fn list(
    conn: &mut DbConnection,
    inbox: &Inbox,
    filter: &NotificationFilter,
    before_id: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<NotificationRow>> {
    let mut q = notifications::table
        .filter(
            notifications::recipient_id.eq(&inbox.recipient_id).or(notifications::recipient_team.eq_any(&inbox.teams)),
        )
        .select(NotificationRow::as_select())
        .into_boxed();
    if filter.unread {
        q = q.filter(notifications::acknowledged_at.is_null());
    }
    if let Some(kind) = &filter.kind {
        q = q.filter(notifications::kind.eq(kind));
    }
    if let Some(child) = &filter.child_id {
        q = q.filter(notifications::child_id.eq(child));
    }
    if let Some(before) = before_id {
        q = q.filter(notifications::id.lt(before));
    }
    q.order(notifications::id.desc()).limit(limit).load(conn)
}

/// The notification `id` if it is in `inbox`.
pub fn find(conn: &mut DbConnection, inbox: &Inbox, id: &str) -> QueryResult<Option<NotificationRow>> {
    notifications::table
        .filter(notifications::id.eq(id))
        .filter(
            notifications::recipient_id.eq(&inbox.recipient_id).or(notifications::recipient_team.eq_any(&inbox.teams)),
        )
        .select(NotificationRow::as_select())
        .first(conn)
        .optional()
}

/// Marks `id` acknowledged unless it already is (the first acknowledgement stands).
pub fn acknowledge(conn: &mut DbConnection, id: &str, by: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        notifications::table.filter(notifications::id.eq(id)).filter(notifications::acknowledged_at.is_null()),
    )
    .set((notifications::acknowledged_at.eq(at), notifications::acknowledged_by.eq(by)))
    .execute(conn)
}
