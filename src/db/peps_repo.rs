//! PEP rows: the latest revision of each PEP, every revision as received, its attainment rows and quality reviews.

use super::children_repo::{self, Caseload};
use super::schema::{children, pep_attainment, pep_quality_reviews, pep_revisions, peps};
use super::{DbConnection, MultiBackend};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

/// A stored PEP (its latest revision).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = peps, treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct PepRow {
    pub id: String,
    pub external_id: String,
    pub child_id: String,
    pub revision: i64,
    pub academic_year: String,
    pub term: String,
    pub term_ordinal: i64,
    pub meeting_date: NaiveDate,
    pub signed_off_at: NaiveDateTime,
    pub signed_off_by: String,
    pub deadline: Option<NaiveDate>,
    pub signed_off_late: bool,
    pub latest_in_term: bool,
    pub year_group: Option<String>,
    pub attendance_percentage: Option<f64>,
    pub sessions_possible: Option<i64>,
    pub sessions_attended: Option<i64>,
    pub suspensions: Option<i64>,
    pub suspension_days: Option<f64>,
    pub permanent_exclusion: Option<bool>,
    pub content_hash: String,
    /// The revision's content as canonical JSON.
    pub content: String,
    pub quality_rating: Option<String>,
    pub lcs_upload_confirmed_at: Option<NaiveDateTime>,
    pub lcs_upload_confirmed_by: Option<String>,
    /// Who pushed the current revision.
    pub pushed_by: String,
    /// Who first pushed the PEP: the `epep` client that reads it and may revise it.
    pub created_by: String,
    /// When the current revision arrived.
    pub received_at: NaiveDateTime,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A revision that a later one replaced, as received.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = pep_revisions)]
pub struct RevisionRow {
    pub pep_id: String,
    pub revision: i64,
    pub content_hash: String,
    pub content: String,
    pub pushed_by: String,
    pub received_at: NaiveDateTime,
}

/// One attainment row of the latest revision.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = pep_attainment, treat_none_as_default_value = false)]
pub struct AttainmentRow {
    pub pep_id: String,
    pub position: i64,
    pub subject: String,
    pub past: Option<f64>,
    pub current_value: f64,
    pub predicted: Option<f64>,
    pub target: Option<f64>,
    pub term_ordinal: i64,
    pub year_group: Option<String>,
    pub latest_in_term: bool,
}

/// A quality review.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = pep_quality_reviews, treat_none_as_default_value = false)]
pub struct ReviewRow {
    pub id: String,
    pub pep_id: String,
    pub revision: i64,
    pub rating: String,
    pub comments: Option<String>,
    pub reviewed_by: String,
    pub reviewed_at: NaiveDateTime,
}

/// Who may see which PEPs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PepScope {
    /// PEPs of children in the caseload.
    Caseload(Caseload),
    /// PEPs this caller pushed (`epep`).
    PushedBy(String),
}

type Boxed<'a> = diesel::internal::table_macro::BoxedSelectStatement<
    'a,
    peps::SqlType,
    diesel::internal::table_macro::FromClause<diesel::dsl::InnerJoinQuerySource<peps::table, children::table>>,
    MultiBackend,
>;

/// PEPs joined to their children, narrowed to what `scope` may see (the children's caseload rule).
fn scoped(scope: &PepScope) -> Boxed<'_> {
    let q = peps::table.inner_join(children::table).select(peps::all_columns).into_boxed();
    match scope {
        PepScope::Caseload(c) => children_repo::caseload_rule!(q, c),
        PepScope::PushedBy(sub) => q.filter(peps::created_by.eq(sub)),
    }
}

/// The PEP with `external_id`, whoever may see it (for a push).
pub fn find_by_external_id(conn: &mut DbConnection, external_id: &str) -> QueryResult<Option<PepRow>> {
    peps::table.filter(peps::external_id.eq(external_id)).select(PepRow::as_select()).first(conn).optional()
}

/// The PEP with `id`, if `scope` may see it.
pub fn find(conn: &mut DbConnection, scope: &PepScope, id: &str) -> QueryResult<Option<PepRow>> {
    scoped(scope).filter(peps::id.eq(id)).select(PepRow::as_select()).first(conn).optional()
}

/// Whether a PEP with `id` exists at all, and its child (for audit of refused reads).
pub fn child_of(conn: &mut DbConnection, id: &str) -> QueryResult<Option<String>> {
    peps::table.filter(peps::id.eq(id)).select(peps::child_id).first(conn).optional()
}

/// Filters for the PEP list.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PepFilter {
    pub child_id: Option<String>,
    pub academic_year: Option<String>,
    pub term: Option<String>,
}

/// PEPs `scope` may see matching `filter`, in id order, after `after_id`.
pub fn list(
    conn: &mut DbConnection,
    scope: &PepScope,
    filter: &PepFilter,
    after_id: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<PepRow>> {
    let mut q = scoped(scope);
    if let Some(v) = &filter.child_id {
        q = q.filter(peps::child_id.eq(v));
    }
    if let Some(v) = &filter.academic_year {
        q = q.filter(peps::academic_year.eq(v));
    }
    if let Some(v) = &filter.term {
        q = q.filter(peps::term.eq(v));
    }
    if let Some(after) = after_id {
        q = q.filter(peps::id.gt(after));
    }
    q.select(PepRow::as_select()).order(peps::id.asc()).limit(limit).load(conn)
}

/// Stores a new PEP.
pub fn insert(conn: &mut DbConnection, row: &PepRow) -> QueryResult<()> {
    diesel::insert_into(peps::table).values(row).execute(conn).map(|_| ())
}

/// Replaces a stored PEP if it is still at `expected_version`; returns whether it was.
pub fn update(conn: &mut DbConnection, row: &PepRow, expected_version: i64) -> QueryResult<bool> {
    let n = diesel::update(peps::table.filter(peps::id.eq(&row.id)).filter(peps::version.eq(expected_version)))
        .set(row)
        .execute(conn)?;
    Ok(n == 1)
}

/// Stores a revision as received.
pub fn insert_revision(conn: &mut DbConnection, row: &RevisionRow) -> QueryResult<()> {
    diesel::insert_into(pep_revisions::table).values(row).execute(conn).map(|_| ())
}

/// One revision of a PEP.
pub fn revision(conn: &mut DbConnection, pep_id: &str, revision: i64) -> QueryResult<Option<RevisionRow>> {
    pep_revisions::table
        .filter(pep_revisions::pep_id.eq(pep_id))
        .filter(pep_revisions::revision.eq(revision))
        .select(RevisionRow::as_select())
        .first(conn)
        .optional()
}

/// A PEP's replaced revisions, oldest first, after revision `after`.
pub fn revisions(
    conn: &mut DbConnection,
    pep_id: &str,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<RevisionRow>> {
    let mut q = pep_revisions::table.filter(pep_revisions::pep_id.eq(pep_id)).into_boxed();
    if let Some(after) = after {
        q = q.filter(pep_revisions::revision.gt(after));
    }
    q.select(RevisionRow::as_select()).order(pep_revisions::revision.asc()).limit(limit).load(conn)
}

/// Replaces a PEP's attainment rows with `rows`.
pub fn replace_attainment(conn: &mut DbConnection, pep_id: &str, rows: &[AttainmentRow]) -> QueryResult<()> {
    diesel::delete(pep_attainment::table.filter(pep_attainment::pep_id.eq(pep_id))).execute(conn)?;
    // At most 50 rows of 7 columns: one statement on either backend.
    if !rows.is_empty() {
        on_backend!(conn, |c| diesel::insert_into(pep_attainment::table).values(rows).execute(c))?;
    }
    Ok(())
}

/// The latest term (`term_ordinal`) of any of the child's PEPs, as they now stand.
pub fn latest_term_of_child(conn: &mut DbConnection, child_id: &str) -> QueryResult<Option<i64>> {
    peps::table.filter(peps::child_id.eq(child_id)).select(diesel::dsl::max(peps::term_ordinal)).first(conn)
}

/// The child's PEPs of the term `term_ordinal`: (id, meeting date, signed off at, latest_in_term).
pub fn of_child_in_term(
    conn: &mut DbConnection,
    child_id: &str,
    term_ordinal: i64,
) -> QueryResult<Vec<(String, NaiveDate, NaiveDateTime, bool)>> {
    peps::table
        .filter(peps::child_id.eq(child_id))
        .filter(peps::term_ordinal.eq(term_ordinal))
        .select((peps::id, peps::meeting_date, peps::signed_off_at, peps::latest_in_term))
        .load(conn)
}

/// Sets `latest_in_term` on one PEP and its attainment rows.
pub fn set_latest_in_term(conn: &mut DbConnection, id: &str, latest: bool) -> QueryResult<()> {
    diesel::update(peps::table.filter(peps::id.eq(id))).set(peps::latest_in_term.eq(latest)).execute(conn)?;
    diesel::update(pep_attainment::table.filter(pep_attainment::pep_id.eq(id)))
        .set(pep_attainment::latest_in_term.eq(latest))
        .execute(conn)
        .map(|_| ())
}

/// Stores a quality review.
pub fn insert_review(conn: &mut DbConnection, row: &ReviewRow) -> QueryResult<()> {
    diesel::insert_into(pep_quality_reviews::table).values(row).execute(conn).map(|_| ())
}

/// The latest quality review of a PEP.
pub fn latest_review(conn: &mut DbConnection, pep_id: &str) -> QueryResult<Option<ReviewRow>> {
    pep_quality_reviews::table
        .filter(pep_quality_reviews::pep_id.eq(pep_id))
        .order(pep_quality_reviews::id.desc())
        .select(ReviewRow::as_select())
        .first(conn)
        .optional()
}

/// The latest quality review of each PEP in `pep_ids`.
pub fn latest_reviews(conn: &mut DbConnection, pep_ids: &[String]) -> QueryResult<Vec<ReviewRow>> {
    let mut all: Vec<ReviewRow> = pep_quality_reviews::table
        .filter(pep_quality_reviews::pep_id.eq_any(pep_ids))
        .order((pep_quality_reviews::pep_id.asc(), pep_quality_reviews::id.desc()))
        .select(ReviewRow::as_select())
        .load(conn)?;
    all.dedup_by(|later, first| later.pep_id == first.pep_id);
    Ok(all)
}

/// The id of the child with `lcs_id`.
pub fn child_id_by_lcs_id(conn: &mut DbConnection, lcs_id: &str) -> QueryResult<Option<String>> {
    children::table.filter(children::lcs_id.eq(lcs_id)).select(children::id).first(conn).optional()
}

/// The child `id`, locked for the rest of the transaction on PostgreSQL (SQLite's write lock is taken by
/// [`super::begin_write`]), so pushes for one child apply one after another.
pub fn lock_child(conn: &mut DbConnection, id: &str) -> QueryResult<Option<children_repo::ChildRow>> {
    use children_repo::ChildRow;
    macro_rules! query {
        () => {
            children::table.filter(children::id.eq(id)).select(ChildRow::as_select())
        };
    }
    match conn {
        DbConnection::Pg(c) => query!().for_update().first(c).optional(),
        DbConnection::Sqlite(c) => query!().first(c).optional(),
    }
}

/// Columns of a PEP row, for the multi-row statement size.
const PEP_COLUMNS: usize = 31;
/// Columns of an attainment row.
const ATTAINMENT_COLUMNS: usize = 10;
/// Columns of a revision row.
const REVISION_COLUMNS: usize = 6;
/// Columns of a quality review row.
const REVIEW_COLUMNS: usize = 7;

/// Stores many new PEPs (bulk loads: the demo cohort): one binary `COPY` on PostgreSQL, multi-row statements on
/// SQLite.
pub fn insert_many(conn: &mut DbConnection, rows: &[PepRow]) -> QueryResult<usize> {
    if let DbConnection::Pg(c) = conn {
        // One stream of rows, instead of a statement of 65,535 parameters to parse and plan every 2,184 rows.
        return diesel::copy_from(peps::table).from_insertable(rows).execute(c);
    }
    let mut n = 0;
    for chunk in rows.chunks(super::rows_per_statement(conn, PEP_COLUMNS)) {
        n += on_backend!(&mut *conn, |c| diesel::insert_into(peps::table).values(chunk).execute(c))?;
    }
    Ok(n)
}

/// Stores many attainment rows: one binary `COPY` on PostgreSQL, multi-row statements on SQLite.
pub fn insert_attainment_many(conn: &mut DbConnection, rows: &[AttainmentRow]) -> QueryResult<usize> {
    if let DbConnection::Pg(c) = conn {
        return diesel::copy_from(pep_attainment::table).from_insertable(rows).execute(c);
    }
    let mut n = 0;
    for chunk in rows.chunks(super::rows_per_statement(conn, ATTAINMENT_COLUMNS)) {
        n += on_backend!(&mut *conn, |c| diesel::insert_into(pep_attainment::table).values(chunk).execute(c))?;
    }
    Ok(n)
}

/// Stores many replaced revisions with multi-row statements.
pub fn insert_revisions_many(conn: &mut DbConnection, rows: &[RevisionRow]) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in rows.chunks(super::rows_per_statement(conn, REVISION_COLUMNS)) {
        n += on_backend!(&mut *conn, |c| diesel::insert_into(pep_revisions::table).values(chunk).execute(c))?;
    }
    Ok(n)
}

/// Stores many quality reviews with multi-row statements.
pub fn insert_reviews_many(conn: &mut DbConnection, rows: &[ReviewRow]) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in rows.chunks(super::rows_per_statement(conn, REVIEW_COLUMNS)) {
        n += on_backend!(&mut *conn, |c| diesel::insert_into(pep_quality_reviews::table).values(chunk).execute(c))?;
    }
    Ok(n)
}
