//! LAC status batches and timelines.

use super::children_repo::ChildRow;
use super::schema::{children, lac_status_batches, lac_status_changes};
use super::DbConnection;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

/// A stored batch.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = lac_status_batches)]
pub struct BatchRow {
    pub id: String,
    pub batch_ref: String,
    pub period_ending: NaiveDate,
    pub content_hash: String,
    pub submitted_by: String,
    pub changes_count: i64,
    pub children_created: i64,
    pub children_updated: i64,
    pub notifications_count: i64,
    /// JSON array of per-row outcomes.
    pub outcomes: String,
    pub created_at: NaiveDateTime,
}

/// A stored change on a child's timeline.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = lac_status_changes, treat_none_as_default_value = false)]
pub struct ChangeRow {
    pub id: String,
    pub batch_id: String,
    pub row_index: i64,
    pub child_id: String,
    pub change_type: String,
    pub effective_date: NaiveDate,
    pub reason_code: Option<String>,
    pub legal_status: Option<String>,
    pub placement_type: Option<String>,
    pub out_of_authority: Option<bool>,
    pub social_worker_id: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Ids per `IN (…)` list.
const IN_CHUNK: usize = 500;
/// Columns of a change row, for the multi-row statement size.
const CHANGE_COLUMNS: usize = 12;
/// Columns of a child row, for the multi-row statement size.
const CHILD_COLUMNS: usize = 29;

/// The batch with `batch_ref`.
pub fn find_by_ref(conn: &mut DbConnection, batch_ref: &str) -> QueryResult<Option<BatchRow>> {
    lac_status_batches::table
        .filter(lac_status_batches::batch_ref.eq(batch_ref))
        .select(BatchRow::as_select())
        .first(conn)
        .optional()
}

/// The batch with `id`, if `submitted_by` (when given) sent it.
pub fn find(conn: &mut DbConnection, id: &str, submitted_by: Option<&str>) -> QueryResult<Option<BatchRow>> {
    let mut q = lac_status_batches::table.filter(lac_status_batches::id.eq(id)).into_boxed();
    if let Some(by) = submitted_by {
        q = q.filter(lac_status_batches::submitted_by.eq(by));
    }
    q.select(BatchRow::as_select()).first(conn).optional()
}

/// Batches, newest first, before `before_id`, only `submitted_by`'s when given.
pub fn list(
    conn: &mut DbConnection,
    submitted_by: Option<&str>,
    before_id: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<BatchRow>> {
    let mut q = lac_status_batches::table.select(BatchRow::as_select()).into_boxed();
    if let Some(by) = submitted_by {
        q = q.filter(lac_status_batches::submitted_by.eq(by));
    }
    if let Some(before) = before_id {
        q = q.filter(lac_status_batches::id.lt(before));
    }
    q.order(lac_status_batches::id.desc()).limit(limit).load(conn)
}

/// Stores the batch row (first, so a concurrent identical post waits on its unique `batch_ref`).
pub fn insert_batch(conn: &mut DbConnection, row: &BatchRow) -> QueryResult<()> {
    diesel::insert_into(lac_status_batches::table).values(row).execute(conn).map(|_| ())
}

/// Fills in the batch's figures once it is applied.
pub fn finish_batch(conn: &mut DbConnection, row: &BatchRow) -> QueryResult<()> {
    diesel::update(lac_status_batches::table.filter(lac_status_batches::id.eq(&row.id)))
        .set((
            lac_status_batches::changes_count.eq(row.changes_count),
            lac_status_batches::children_created.eq(row.children_created),
            lac_status_batches::children_updated.eq(row.children_updated),
            lac_status_batches::notifications_count.eq(row.notifications_count),
            lac_status_batches::outcomes.eq(&row.outcomes),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Children with these LCS ids, locked for update on PostgreSQL (the batch rewrites them).
pub fn children_by_lcs_id(conn: &mut DbConnection, lcs_ids: &[String]) -> QueryResult<Vec<ChildRow>> {
    if let DbConnection::Pg(c) = conn {
        // `lcs_id = ANY($1)` is a cached statement; after five runs PostgreSQL may switch to a generic plan that
        // does not know the array holds 500 ids, and picks a sequential scan comparing every row with every id
        // (measured: 47 ms a chunk, a second for 10,000 ids, against 2 ms with the index). Plan each with its array.
        diesel::sql_query("SET LOCAL plan_cache_mode = force_custom_plan").execute(c)?;
    }
    let mut out = Vec::with_capacity(lcs_ids.len());
    for chunk in lcs_ids.chunks(IN_CHUNK) {
        // `as_select()` is typed by its backend, so each arm builds its own query.
        macro_rules! query {
            () => {
                children::table.filter(children::lcs_id.eq_any(chunk)).select(ChildRow::as_select())
            };
        }
        let rows = match conn {
            DbConnection::Pg(c) => query!().for_update().load(c)?,
            DbConnection::Sqlite(c) => query!().load(c)?,
        };
        out.extend(rows);
    }
    Ok(out)
}

/// The stored timelines of these children, in effective-date order.
pub fn changes_for_children(conn: &mut DbConnection, child_ids: &[String]) -> QueryResult<Vec<ChangeRow>> {
    let mut out = Vec::new();
    for chunk in child_ids.chunks(IN_CHUNK) {
        out.extend(
            lac_status_changes::table
                .filter(lac_status_changes::child_id.eq_any(chunk))
                .order((lac_status_changes::effective_date.asc(), lac_status_changes::id.asc()))
                .select(ChangeRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// One child's timeline page, in effective-date order, after `(effective_date, id)`.
pub fn timeline(
    conn: &mut DbConnection,
    child_id: &str,
    after: Option<(NaiveDate, String)>,
    limit: i64,
) -> QueryResult<Vec<ChangeRow>> {
    let mut q = lac_status_changes::table
        .filter(lac_status_changes::child_id.eq(child_id))
        .select(ChangeRow::as_select())
        .into_boxed();
    if let Some((date, id)) = after {
        q = q.filter(
            lac_status_changes::effective_date
                .gt(date)
                .or(lac_status_changes::effective_date.eq(date).and(lac_status_changes::id.gt(id))),
        );
    }
    q.order((lac_status_changes::effective_date.asc(), lac_status_changes::id.asc())).limit(limit).load(conn)
}

/// Appends changes with multi-row statements.
pub fn insert_changes(conn: &mut DbConnection, rows: &[ChangeRow]) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in rows.chunks(super::rows_per_statement(conn, CHANGE_COLUMNS)) {
        n += on_backend!(&mut *conn, |c| diesel::insert_into(lac_status_changes::table).values(chunk).execute(c))?;
    }
    Ok(n)
}

/// Inserts new children and rewrites existing ones, many per statement.
pub fn upsert_children(conn: &mut DbConnection, rows: &[ChildRow]) -> QueryResult<usize> {
    use diesel::upsert::excluded;
    let mut n = 0;
    for chunk in rows.chunks(super::rows_per_statement(conn, CHILD_COLUMNS)) {
        n += on_backend!(&mut *conn, |c| diesel::insert_into(children::table)
            .values(chunk)
            .on_conflict(children::id)
            .do_update()
            .set((
                children::upn.eq(excluded(children::upn)),
                children::first_name.eq(excluded(children::first_name)),
                children::last_name.eq(excluded(children::last_name)),
                children::date_of_birth.eq(excluded(children::date_of_birth)),
                children::sex.eq(excluded(children::sex)),
                children::lac_status.eq(excluded(children::lac_status)),
                children::looked_after_since.eq(excluded(children::looked_after_since)),
                children::ceased_on.eq(excluded(children::ceased_on)),
                children::legal_status.eq(excluded(children::legal_status)),
                children::placement_type.eq(excluded(children::placement_type)),
                children::placement_out_of_authority.eq(excluded(children::placement_out_of_authority)),
                children::placement_started_on.eq(excluded(children::placement_started_on)),
                children::social_worker_id.eq(excluded(children::social_worker_id)),
                children::pep_required_on.eq(excluded(children::pep_required_on)),
                children::pep_required_since.eq(excluded(children::pep_required_since)),
                children::version.eq(excluded(children::version)),
                children::updated_at.eq(excluded(children::updated_at)),
            ))
            .execute(c))?;
    }
    Ok(n)
}

/// Stores many new children with multi-row statements (bulk loads: the demo cohort).
pub fn insert_children(conn: &mut DbConnection, rows: &[ChildRow]) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in rows.chunks(super::rows_per_statement(conn, CHILD_COLUMNS)) {
        n += on_backend!(&mut *conn, |c| diesel::insert_into(children::table).values(chunk).execute(c))?;
    }
    Ok(n)
}
