//! Children rows, and the caseload rule as a query filter: a list and a get use the same filter, so they cannot
//! disagree about who may see which child.

use super::schema::children;
use super::{DbConnection, MultiBackend};
use crate::domain::terms::PepDay;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

/// A stored child.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = children, treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct ChildRow {
    pub id: String,
    pub lcs_id: String,
    pub upn: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: NaiveDate,
    pub sex: String,
    pub ethnicity: Option<String>,
    pub lac_status: String,
    pub looked_after_since: Option<NaiveDate>,
    pub ceased_on: Option<NaiveDate>,
    pub legal_status: Option<String>,
    pub placement_type: Option<String>,
    pub placement_provider: Option<String>,
    pub placement_out_of_authority: Option<bool>,
    pub placement_started_on: Option<NaiveDate>,
    pub school_urn: Option<String>,
    pub school_name: Option<String>,
    pub year_group: Option<String>,
    pub sen_status: String,
    pub vso_id: Option<String>,
    pub social_worker_id: Option<String>,
    pub sen_caseworker_id: Option<String>,
    /// Due date of an event-driven PEP still owed (initial, or after a change of school).
    pub pep_required_on: Option<NaiveDate>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The date of the event that made that PEP due: a PEP met on or after it settles it.
    pub pep_required_since: Option<NaiveDate>,
    /// Term ordinal ([`crate::domain::terms::TermOf::ordinal`]) of the latest signed-off PEP.
    pub last_pep_term: Option<i64>,
}

/// Which children a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caseload {
    /// Every child (`vs_admin`, `vso`; `epep` identity lookups, which the service narrows further).
    All,
    /// Children allocated to the caller: as social worker, and/or as SEN caseworker of a child with an EHCP.
    Allocated {
        /// The caller's `sub` when they hold `social_worker`.
        social_worker: Option<String>,
        /// The caller's `sub` when they hold `sen_caseworker`.
        sen_caseworker: Option<String>,
    },
}

type Boxed<'a> = children::BoxedQuery<'a, MultiBackend>;

/// Narrows a boxed query that includes `children` to the children in a caseload. One rule for the roll and for
/// every resource read through its child (a join on `children`).
macro_rules! caseload_rule {
    ($q:expr, $caseload:expr) => {{
        use $crate::db::children_repo::Caseload;
        use $crate::db::schema::children;
        match $caseload {
            Caseload::All => $q,
            Caseload::Allocated { social_worker: Some(sw), sen_caseworker: None } => {
                $q.filter(children::social_worker_id.eq(sw))
            }
            Caseload::Allocated { social_worker: None, sen_caseworker: Some(sen) } => {
                $q.filter(children::sen_caseworker_id.eq(sen)).filter(children::sen_status.eq("ehcp"))
            }
            Caseload::Allocated { social_worker: Some(sw), sen_caseworker: Some(sen) } => $q.filter(
                children::social_worker_id
                    .eq(sw)
                    .or(children::sen_caseworker_id.eq(sen).and(children::sen_status.eq("ehcp"))),
            ),
            // Nobody: a filter no row passes.
            Caseload::Allocated { social_worker: None, sen_caseworker: None } => {
                $q.filter(children::id.ne(children::id))
            }
        }
    }};
}
pub(crate) use caseload_rule;

fn scoped(caseload: &Caseload) -> Boxed<'_> {
    caseload_rule!(children::table.into_boxed(), caseload)
}

/// Filters for the roll. Every field narrows the list; they combine with AND.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ChildFilter {
    pub lac_status: Option<String>,
    pub school_urn: Option<String>,
    pub vso_id: Option<String>,
    pub social_worker_id: Option<String>,
    /// Year groups allowed by `year_group` and `key_stage` together.
    pub year_groups: Option<Vec<String>>,
    pub out_of_authority: Option<bool>,
    pub sen_status: Option<String>,
    /// `in_date`, `due`, `overdue` or `not_required`, evaluated on a [`PepDay`] by the rules of
    /// [`crate::domain::terms::PepRules::schedule`].
    pub pep_status: Option<String>,
    /// Case-insensitive substring of first or last name.
    pub q: Option<String>,
    pub lcs_id: Option<String>,
    pub upn: Option<String>,
}

diesel::define_sql_function! {
    /// SQL `lower()`, in both backends. SQLite's own folds ASCII only, so each SQLite connection replaces it with
    /// Rust's Unicode lower-casing ([`register_unicode_lower`]); PostgreSQL's follows the database's locale.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Makes `lower()` Unicode-aware on an SQLite connection, so a name search finds "Élodie" for "élodie".
pub fn register_unicode_lower(conn: &mut diesel::SqliteConnection) -> QueryResult<()> {
    lower_utils::register_impl(conn, |x: String| x.to_lowercase())
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `\` as the escape character.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The SQL form of [`crate::domain::terms::PepRules::schedule`]: the same rule, as a filter on stored columns.
fn pep_status_filter<'a>(q: Boxed<'a>, status: &str, day: &PepDay) -> Boxed<'a> {
    use children::{date_of_birth, lac_status, last_pep_term, looked_after_since, pep_required_on, year_group};
    let term = day.term.ordinal();
    let required = lac_status
        .eq("looked_after")
        .and(date_of_birth.le(day.youngest_born_on))
        .and(date_of_birth.gt(day.too_old_born_on))
        .and(year_group.is_null().or(year_group.ne("14")));
    // This term's PEP is owed (and past its deadline) for a child looked after before the term with no PEP of it.
    let term_deadline_passed = day.term_deadline < day.today;
    match status {
        "not_required" => q.filter(
            lac_status
                .eq("ceased")
                .or(date_of_birth.gt(day.youngest_born_on))
                .or(date_of_birth.le(day.too_old_born_on))
                .or(year_group.eq("14")),
        ),
        "in_date" => q.filter(required).filter(pep_required_on.is_null()).filter(last_pep_term.ge(term)),
        "overdue" => {
            let term_overdue = last_pep_term
                .is_null()
                .or(last_pep_term.lt(term))
                .and(looked_after_since.is_null().or(looked_after_since.lt(day.term_start)));
            let q = q.filter(required);
            if term_deadline_passed {
                q.filter(pep_required_on.lt(day.today).or(term_overdue))
            } else {
                q.filter(pep_required_on.lt(day.today))
            }
        }
        "due" => {
            let q = q
                .filter(required)
                .filter(pep_required_on.is_null().or(pep_required_on.ge(day.today)))
                // not in date
                .filter(pep_required_on.is_not_null().or(last_pep_term.is_null()).or(last_pep_term.lt(term)));
            if term_deadline_passed {
                // and this term's PEP not overdue
                q.filter(
                    last_pep_term
                        .is_not_null()
                        .and(last_pep_term.ge(term))
                        .or(looked_after_since.is_not_null().and(looked_after_since.ge(day.term_start))),
                )
            } else {
                q
            }
        }
        _ => q.filter(children::id.ne(children::id)),
    }
}

fn filtered<'a>(caseload: &'a Caseload, f: &'a ChildFilter, day: &PepDay) -> Boxed<'a> {
    let mut q = scoped(caseload);
    if let Some(v) = &f.lac_status {
        q = q.filter(children::lac_status.eq(v));
    }
    if let Some(v) = &f.school_urn {
        q = q.filter(children::school_urn.eq(v));
    }
    if let Some(v) = &f.vso_id {
        q = q.filter(children::vso_id.eq(v));
    }
    if let Some(v) = &f.social_worker_id {
        q = q.filter(children::social_worker_id.eq(v));
    }
    if let Some(v) = &f.year_groups {
        q = q.filter(children::year_group.eq_any(v));
    }
    if let Some(v) = f.out_of_authority {
        q = q.filter(children::placement_out_of_authority.eq(v));
    }
    if let Some(v) = &f.sen_status {
        q = q.filter(children::sen_status.eq(v));
    }
    if let Some(status) = f.pep_status.as_deref() {
        q = pep_status_filter(q, status, day);
    }
    if let Some(v) = &f.q {
        let pattern = format!("%{}%", like_escape(&v.to_lowercase()));
        q = q.filter(
            lower(children::first_name)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(children::last_name).like(pattern).escape('\\')),
        );
    }
    if let Some(v) = &f.lcs_id {
        q = q.filter(children::lcs_id.eq(v));
    }
    if let Some(v) = &f.upn {
        q = q.filter(children::upn.eq(v));
    }
    q
}

/// Stores a new child.
pub fn insert(conn: &mut DbConnection, row: &ChildRow) -> QueryResult<()> {
    diesel::insert_into(children::table).values(row).execute(conn).map(|_| ())
}

/// The child with `id`, if it is in `caseload`.
pub fn find(conn: &mut DbConnection, caseload: &Caseload, id: &str) -> QueryResult<Option<ChildRow>> {
    // The two commonest reads run on the backend's own connection with unboxed queries, so each backend keeps them
    // as prepared statements (a boxed or multi-backend query is built, and on PostgreSQL parsed, on every call).
    // They apply the same rule as `scoped`, which the rest use.
    macro_rules! by_id {
        () => {
            children::table.filter(children::id.eq(id)).select(ChildRow::as_select())
        };
    }
    match caseload {
        Caseload::All => on_backend!(conn, |c| by_id!().first(c).optional()),
        Caseload::Allocated { social_worker: Some(sw), sen_caseworker: None } => {
            on_backend!(conn, |c| by_id!().filter(children::social_worker_id.eq(sw)).first(c).optional())
        }
        other => scoped(other).filter(children::id.eq(id)).select(ChildRow::as_select()).first(conn).optional(),
    }
}

/// Whether a child with `id` exists at all (for audit of refused lookups).
pub fn exists(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(children::table.filter(children::id.eq(id)))).get_result(conn)
}

/// Children in `caseload` matching `filter`, in id (creation) order, after `after_id`.
pub fn list(
    conn: &mut DbConnection,
    caseload: &Caseload,
    filter: &ChildFilter,
    day: &PepDay,
    after_id: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ChildRow>> {
    let mut q = filtered(caseload, filter, day);
    if let Some(after) = after_id {
        q = q.filter(children::id.gt(after));
    }
    q.select(ChildRow::as_select()).order(children::id.asc()).limit(limit).load(conn)
}

/// Replaces the stored child if it is still at `expected_version`; returns whether it was.
pub fn update(conn: &mut DbConnection, row: &ChildRow, expected_version: i64) -> QueryResult<bool> {
    let n =
        diesel::update(children::table.filter(children::id.eq(&row.id)).filter(children::version.eq(expected_version)))
            .set(row)
            .execute(conn)?;
    Ok(n == 1)
}
