//! Pupil Premium Plus rows: budgets (one per academic year) and allocations.

use super::children_repo::{self, Caseload};
use super::schema::{children, pp_allocations, pp_budgets};
use super::DbConnection;
use crate::domain::pupil_premium_plus::COMMITTED;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

/// A stored budget.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = pp_budgets, treat_none_as_default_value = false)]
pub struct BudgetRow {
    pub academic_year: String,
    pub grant_pence: i64,
    pub rate_pence: i64,
    pub eligible_children: i64,
    pub central_retention_pence: i64,
    pub updated_by: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A stored allocation.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = pp_allocations, treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct AllocationRow {
    pub id: String,
    pub child_id: String,
    pub academic_year: String,
    pub term: String,
    pub amount_pence: i64,
    pub school_urn: String,
    pub purpose: String,
    pub pep_id: Option<String>,
    pub status: String,
    pub requested_by: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub decision_reason: Option<String>,
    pub paid_on: Option<NaiveDate>,
    pub payment_reference: Option<String>,
    pub paid_by: Option<String>,
    pub impact_rating: Option<String>,
    pub impact_notes: Option<String>,
    pub impact_by: Option<String>,
    pub impact_at: Option<NaiveDateTime>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The budget of `year`.
pub fn find_budget(conn: &mut DbConnection, year: &str) -> QueryResult<Option<BudgetRow>> {
    pp_budgets::table.find(year).select(BudgetRow::as_select()).first(conn).optional()
}

/// The budget of `year`, locked until the transaction ends: on PostgreSQL with `FOR UPDATE`, so spending checks
/// against it take turns; on SQLite the caller holds the write lock already ([`super::begin_write`]).
pub fn lock_budget(conn: &mut DbConnection, year: &str) -> QueryResult<Option<BudgetRow>> {
    match conn {
        DbConnection::Pg(c) => {
            pp_budgets::table.find(year).select(BudgetRow::as_select()).for_update().first(c).optional()
        }
        DbConnection::Sqlite(c) => pp_budgets::table.find(year).select(BudgetRow::as_select()).first(c).optional(),
    }
}

/// Stores a new budget.
pub fn insert_budget(conn: &mut DbConnection, row: &BudgetRow) -> QueryResult<()> {
    diesel::insert_into(pp_budgets::table).values(row).execute(conn).map(|_| ())
}

/// Replaces the budget if it is still at `expected_version`; returns whether it was.
pub fn update_budget(conn: &mut DbConnection, row: &BudgetRow, expected_version: i64) -> QueryResult<bool> {
    let n = diesel::update(
        pp_budgets::table
            .filter(pp_budgets::academic_year.eq(&row.academic_year))
            .filter(pp_budgets::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)?;
    Ok(n == 1)
}

/// Spending of `year`: (approved or paid, paid), in pence.
pub fn spending(conn: &mut DbConnection, year: &str) -> QueryResult<(i64, i64)> {
    pp_allocations::table
        .filter(pp_allocations::academic_year.eq(year))
        .filter(pp_allocations::status.eq_any(COMMITTED))
        .select((
            sql::<BigInt>("CAST(COALESCE(SUM(amount_pence), 0) AS BIGINT)"),
            sql::<BigInt>("CAST(COALESCE(SUM(CASE WHEN status = 'paid' THEN amount_pence ELSE 0 END), 0) AS BIGINT)"),
        ))
        .get_result(conn)
}

/// Stores a new allocation.
pub fn insert_allocation(conn: &mut DbConnection, row: &AllocationRow) -> QueryResult<()> {
    diesel::insert_into(pp_allocations::table).values(row).execute(conn).map(|_| ())
}

/// The allocation with `id`.
pub fn find_allocation(conn: &mut DbConnection, id: &str) -> QueryResult<Option<AllocationRow>> {
    pp_allocations::table.find(id).select(AllocationRow::as_select()).first(conn).optional()
}

/// The allocation with `id`, locked until the transaction ends (PostgreSQL `FOR UPDATE`; on SQLite the caller holds
/// the write lock).
pub fn lock_allocation(conn: &mut DbConnection, id: &str) -> QueryResult<Option<AllocationRow>> {
    match conn {
        DbConnection::Pg(c) => {
            pp_allocations::table.find(id).select(AllocationRow::as_select()).for_update().first(c).optional()
        }
        DbConnection::Sqlite(c) => {
            pp_allocations::table.find(id).select(AllocationRow::as_select()).first(c).optional()
        }
    }
}

/// Replaces the allocation if it is still at `expected_version`; returns whether it was.
pub fn update_allocation(conn: &mut DbConnection, row: &AllocationRow, expected_version: i64) -> QueryResult<bool> {
    let n = diesel::update(
        pp_allocations::table
            .filter(pp_allocations::id.eq(&row.id))
            .filter(pp_allocations::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)?;
    Ok(n == 1)
}

/// Filters for the allocation list; they combine with AND.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AllocationFilter {
    pub child_id: Option<String>,
    pub academic_year: Option<String>,
    pub school_urn: Option<String>,
    pub status: Option<String>,
}

/// Allocations of children in `caseload` matching `filter`, in id (creation) order, after `after_id`.
pub fn list_allocations(
    conn: &mut DbConnection,
    caseload: &Caseload,
    filter: &AllocationFilter,
    after_id: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<AllocationRow>> {
    let mut q = pp_allocations::table.inner_join(children::table).select(AllocationRow::as_select()).into_boxed();
    q = children_repo::caseload_rule!(q, caseload);
    if let Some(v) = &filter.child_id {
        q = q.filter(pp_allocations::child_id.eq(v));
    }
    if let Some(v) = &filter.academic_year {
        q = q.filter(pp_allocations::academic_year.eq(v));
    }
    if let Some(v) = &filter.school_urn {
        q = q.filter(pp_allocations::school_urn.eq(v));
    }
    if let Some(v) = &filter.status {
        q = q.filter(pp_allocations::status.eq(v));
    }
    if let Some(after) = after_id {
        q = q.filter(pp_allocations::id.gt(after));
    }
    q.order(pp_allocations::id.asc()).limit(limit).load(conn)
}

/// Whether PEP `pep_id` exists and belongs to child `child_id`.
pub fn pep_of_child(conn: &mut DbConnection, pep_id: &str, child_id: &str) -> QueryResult<bool> {
    use super::schema::peps;
    diesel::select(diesel::dsl::exists(peps::table.filter(peps::id.eq(pep_id)).filter(peps::child_id.eq(child_id))))
        .get_result(conn)
}

/// Columns of an allocation row, for the multi-row statement size.
const ALLOCATION_COLUMNS: usize = 23;

/// Stores many allocations with multi-row statements (bulk loads: the demo cohort).
pub fn insert_allocations_many(conn: &mut DbConnection, rows: &[AllocationRow]) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in rows.chunks(super::rows_per_statement(conn, ALLOCATION_COLUMNS)) {
        n += on_backend!(&mut *conn, |c| diesel::insert_into(pp_allocations::table).values(chunk).execute(c))?;
    }
    Ok(n)
}
