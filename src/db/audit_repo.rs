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
    match conn {
        DbConnection::Pg(c) => insert_pg(c, events),
        DbConnection::Sqlite(_) => {
            let mut n = 0;
            for chunk in events.chunks(super::rows_per_statement(conn, COLUMNS)) {
                n += on_backend!(&mut *conn, |c| diesel::insert_into(audit_events::table).values(chunk).execute(c))?;
            }
            Ok(n)
        }
    }
}

/// PostgreSQL: one statement of 11 array parameters, whatever the number of rows, instead of a VALUES list of
/// 11 parameters a row. The server parses and plans a short statement rather than a long one for every group
/// commit; measured here, that is most of what an audited read costs the database beyond the read itself.
fn insert_pg(conn: &mut diesel::PgConnection, events: &[NewAuditEvent]) -> QueryResult<usize> {
    use diesel::sql_types::{Array, Nullable, Text, Timestamp};
    fn column<T: Clone>(events: &[NewAuditEvent], f: impl Fn(&NewAuditEvent) -> &T) -> Vec<T> {
        events.iter().map(|e| f(e).clone()).collect()
    }
    if events.is_empty() {
        return Ok(0);
    }
    diesel::sql_query(
        "INSERT INTO audit_events (id, occurred_at, actor_id, actor_roles, action, resource_type, resource_id, \
         child_id, outcome, request_id, changed_fields) \
         SELECT * FROM unnest($1::text[], $2::timestamp[], $3::text[], $4::text[], $5::text[], $6::text[], \
         $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])",
    )
    .bind::<Array<Text>, _>(column(events, |e| &e.id))
    .bind::<Array<Timestamp>, _>(column(events, |e| &e.occurred_at))
    .bind::<Array<Text>, _>(column(events, |e| &e.actor_id))
    .bind::<Array<Text>, _>(column(events, |e| &e.actor_roles))
    .bind::<Array<Text>, _>(column(events, |e| &e.action))
    .bind::<Array<Text>, _>(column(events, |e| &e.resource_type))
    .bind::<Array<Nullable<Text>>, _>(column(events, |e| &e.resource_id))
    .bind::<Array<Nullable<Text>>, _>(column(events, |e| &e.child_id))
    .bind::<Array<Text>, _>(column(events, |e| &e.outcome))
    .bind::<Array<Text>, _>(column(events, |e| &e.request_id))
    .bind::<Array<Nullable<Text>>, _>(column(events, |e| &e.changed_fields))
    .execute(conn)
}

/// Inserts `events` all or none: one multi-row statement when they fit in one (a statement is atomic on its own,
/// which saves the BEGIN and COMMIT round trips of the group commit), else in a transaction.
pub fn insert_atomic(conn: &mut DbConnection, events: &[NewAuditEvent]) -> QueryResult<usize> {
    if matches!(conn, DbConnection::Pg(_)) || events.len() <= super::rows_per_statement(conn, COLUMNS) {
        insert(conn, events)
    } else {
        conn.transaction(|c| insert(c, events))
    }
}

/// The smallest UUID v7 (as stored, lower-case text) of the millisecond `at`: ids sort as text by creation time.
fn uuid_v7_floor(at: NaiveDateTime) -> String {
    let ms = u64::try_from(at.and_utc().timestamp_millis()).unwrap_or(0) & 0xFFFF_FFFF_FFFF;
    format!("{:08x}-{:04x}-7000-8000-000000000000", ms >> 16, ms & 0xFFFF)
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
        q = q.filter(audit_events::id.ge(uuid_v7_floor(since))).filter(audit_events::occurred_at.ge(since));
    }
    if let Some(before) = before_id {
        q = q.filter(audit_events::id.lt(before));
    }
    q.order(audit_events::id.desc()).limit(limit).load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_v7_floor_sorts_before_every_id_of_its_millisecond_and_after_earlier_ones() {
        let now = chrono::Utc::now().naive_utc();
        let id = uuid::Uuid::now_v7().to_string();
        let floor = uuid_v7_floor(now - chrono::Duration::milliseconds(5));
        assert!(floor <= id, "{floor} <= {id}");
        let later = uuid_v7_floor(now + chrono::Duration::seconds(5));
        assert!(later > id, "{later} > {id}");
    }
}
