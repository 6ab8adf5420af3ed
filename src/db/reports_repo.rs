//! Aggregates for the dashboard reports. Each query groups in the database and returns counts and sums only: no
//! row that names a child leaves this module. Grouping is by year group (key stages are merged by the service), so
//! every query is one range scan of an index that covers it (migration `000010_report_indexes`).

use super::children_repo::{self, Caseload, ChildFilter};
use super::schema::{children, peps};
use super::DbConnection;
use crate::domain::terms::PepDay;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text};

/// Children on the roll counted by the five cohort dimensions together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CohortGroup {
    pub lac_status: String,
    pub year_group: Option<String>,
    pub out_of_authority: Option<bool>,
    pub sen_status: String,
    pub legal_status: Option<String>,
    pub count: i64,
}

/// One row of the cohort grouping: status, year group, placement location, SEN status, legal status, count.
type CohortRow = (String, Option<String>, Option<bool>, String, Option<String>, i64);

/// The roll grouped by status, year group, placement location, SEN status and legal status.
pub fn cohort(conn: &mut DbConnection) -> QueryResult<Vec<CohortGroup>> {
    let rows: Vec<CohortRow> = children::table
        .group_by((
            children::lac_status,
            children::year_group,
            children::placement_out_of_authority,
            children::sen_status,
            children::legal_status,
        ))
        .select((
            children::lac_status,
            children::year_group,
            children::placement_out_of_authority,
            children::sen_status,
            children::legal_status,
            count_star(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(lac_status, year_group, out_of_authority, sen_status, legal_status, count)| CohortGroup {
            lac_status,
            year_group,
            out_of_authority,
            sen_status,
            legal_status,
            count,
        })
        .collect())
}

/// Children with the given live `pep_status` on `day`, counted by year group (the same rule as the roll's
/// `pep_status` filter).
pub fn live_pep_status_by_year_group(
    conn: &mut DbConnection,
    status: &str,
    day: &PepDay,
) -> QueryResult<Vec<(Option<String>, i64)>> {
    let filter = ChildFilter { pep_status: Some(status.to_owned()), ..Default::default() };
    // Boxed queries cannot be grouped: the year groups come back (one short column per child) and are counted here.
    let year_groups: Vec<Option<String>> =
        children_repo::filtered(&Caseload::All, &filter, day).select(children::year_group).load(conn)?;
    let mut out: std::collections::BTreeMap<Option<String>, i64> = std::collections::BTreeMap::new();
    for y in year_groups {
        *out.entry(y).or_default() += 1;
    }
    Ok(out.into_iter().collect())
}

/// Looked-after children who need no PEP on `day` (under or over the PEP ages, or past Year 13).
pub fn looked_after_not_required(conn: &mut DbConnection, day: &PepDay) -> QueryResult<i64> {
    let filter = ChildFilter {
        pep_status: Some("not_required".to_owned()),
        lac_status: Some("looked_after".to_owned()),
        ..Default::default()
    };
    children_repo::filtered(&Caseload::All, &filter, day).count().get_result(conn)
}

/// For a past term: the children who owed its PEP (looked after before `term_start` and still at `term_end`, of
/// PEP age on `term_end`), by year group, with how many had a PEP of the term signed off by the end of `term_end`.
pub fn past_term_compliance(
    conn: &mut DbConnection,
    term_ordinal: i64,
    term_start: NaiveDate,
    term_end: NaiveDate,
    youngest_born_on: NaiveDate,
    too_old_born_on: NaiveDate,
) -> QueryResult<Vec<(Option<String>, i64, i64)>> {
    // Signed off by the end of `term_end` in the UK: before UK midnight after it (a sign-off at 23:59:59.5 still
    // counts; in summer time that midnight is 23:00 UTC).
    let after_end: NaiveDateTime = crate::domain::calendar::uk_midnight(term_end.succ_opt().unwrap_or(term_end));
    let has_pep = diesel::dsl::exists(
        peps::table
            .filter(peps::child_id.eq(children::id))
            .filter(peps::term_ordinal.eq(term_ordinal))
            .filter(peps::signed_off_at.lt(after_end)),
    );
    let rows: Vec<(Option<String>, bool)> = children::table
        .filter(children::looked_after_since.lt(term_start))
        .filter(children::lac_status.eq("looked_after").or(children::ceased_on.gt(term_end)))
        .filter(children::date_of_birth.le(youngest_born_on))
        .filter(children::date_of_birth.gt(too_old_born_on))
        .filter(children::year_group.is_null().or(children::year_group.ne("14")))
        .select((children::year_group, has_pep))
        .load(conn)?;
    let mut out: std::collections::BTreeMap<Option<String>, (i64, i64)> = std::collections::BTreeMap::new();
    for (year_group, done) in rows {
        let e = out.entry(year_group).or_default();
        e.0 += 1;
        e.1 += i64::from(done);
    }
    Ok(out.into_iter().map(|(y, (owed, done))| (y, owed, done)).collect())
}

/// PEPs of a term signed off after their deadline (the latest of each child's).
pub fn signed_off_late(conn: &mut DbConnection, term_ordinal: i64) -> QueryResult<i64> {
    peps::table
        .filter(peps::term_ordinal.eq(term_ordinal))
        .filter(peps::latest_in_term.eq(true))
        .filter(peps::signed_off_late.eq(true))
        .count()
        .get_result(conn)
}

/// One year group's attendance and exclusion sums over a term's reported PEPs.
#[derive(Debug, Clone, Default, PartialEq, QueryableByName)]
pub struct AttendanceGroup {
    #[diesel(sql_type = Nullable<Text>)]
    pub year_group: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub peps: i64,
    #[diesel(sql_type = BigInt)]
    pub with_attendance: i64,
    #[diesel(sql_type = Nullable<Double>)]
    pub percentage_sum: Option<f64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub sessions_possible: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub sessions_attended: Option<i64>,
    #[diesel(sql_type = BigInt)]
    pub persistently_absent: i64,
    #[diesel(sql_type = BigInt)]
    pub severely_absent: i64,
    #[diesel(sql_type = BigInt)]
    pub with_exclusions: i64,
    #[diesel(sql_type = BigInt)]
    pub children_suspended: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub suspensions: Option<i64>,
    #[diesel(sql_type = Nullable<Double>)]
    pub suspension_days: Option<f64>,
    #[diesel(sql_type = BigInt)]
    pub permanent_exclusions: i64,
}

/// Attendance and exclusions of a term's reported PEPs (the latest of each child's), by year group. Persistently
/// absent: attendance below 90%; severely absent: below 50%.
pub fn attendance(conn: &mut DbConnection, term_ordinal: i64) -> QueryResult<Vec<AttendanceGroup>> {
    diesel::sql_query(
        "SELECT year_group, \
           COUNT(*) AS peps, \
           COUNT(attendance_percentage) AS with_attendance, \
           SUM(attendance_percentage) AS percentage_sum, \
           CAST(SUM(sessions_possible) AS BIGINT) AS sessions_possible, \
           CAST(SUM(sessions_attended) AS BIGINT) AS sessions_attended, \
           COUNT(CASE WHEN attendance_percentage < 90 THEN 1 END) AS persistently_absent, \
           COUNT(CASE WHEN attendance_percentage < 50 THEN 1 END) AS severely_absent, \
           COUNT(suspensions) AS with_exclusions, \
           COUNT(CASE WHEN suspensions > 0 THEN 1 END) AS children_suspended, \
           CAST(SUM(suspensions) AS BIGINT) AS suspensions, \
           SUM(suspension_days) AS suspension_days, \
           COUNT(CASE WHEN permanent_exclusion THEN 1 END) AS permanent_exclusions \
         FROM peps WHERE term_ordinal = $1 AND latest_in_term = TRUE \
         GROUP BY year_group",
    )
    .bind::<BigInt, _>(term_ordinal)
    .load(conn)
}

/// One year group's and subject's attainment counts over a term's reported PEPs.
#[derive(Debug, Clone, Default, PartialEq, QueryableByName)]
pub struct AttainmentGroup {
    #[diesel(sql_type = Nullable<Text>)]
    pub year_group: Option<String>,
    #[diesel(sql_type = Text)]
    pub subject: String,
    #[diesel(sql_type = BigInt)]
    pub pupils: i64,
    #[diesel(sql_type = BigInt)]
    pub with_target: i64,
    #[diesel(sql_type = BigInt)]
    pub at_or_above_target: i64,
    #[diesel(sql_type = BigInt)]
    pub below_target: i64,
    #[diesel(sql_type = BigInt)]
    pub with_past: i64,
    #[diesel(sql_type = BigInt)]
    pub below_past: i64,
}

/// Attainment of a term's reported PEPs, by year group and subject: at or above target (current ≥ target), below
/// target (current < target), below the child's own past attainment (current < past).
pub fn attainment(conn: &mut DbConnection, term_ordinal: i64) -> QueryResult<Vec<AttainmentGroup>> {
    diesel::sql_query(
        "SELECT year_group, subject, \
           COUNT(*) AS pupils, \
           COUNT(target) AS with_target, \
           COUNT(CASE WHEN current_value >= target THEN 1 END) AS at_or_above_target, \
           COUNT(CASE WHEN current_value < target THEN 1 END) AS below_target, \
           COUNT(past) AS with_past, \
           COUNT(CASE WHEN current_value < past THEN 1 END) AS below_past \
         FROM pep_attainment WHERE term_ordinal = $1 AND latest_in_term = TRUE \
         GROUP BY year_group, subject",
    )
    .bind::<BigInt, _>(term_ordinal)
    .load(conn)
}

/// One school's allocations in one status.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct AllocationGroup {
    #[diesel(sql_type = Text)]
    pub school_urn: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = BigInt)]
    pub allocations: i64,
    #[diesel(sql_type = BigInt)]
    pub amount_pence: i64,
}

/// A year's PP+ allocations by school and status.
pub fn allocations(conn: &mut DbConnection, academic_year: &str) -> QueryResult<Vec<AllocationGroup>> {
    diesel::sql_query(
        "SELECT school_urn, status, COUNT(*) AS allocations, CAST(SUM(amount_pence) AS BIGINT) AS amount_pence \
         FROM pp_allocations WHERE academic_year = $1 \
         GROUP BY school_urn, status ORDER BY school_urn, status",
    )
    .bind::<Text, _>(academic_year)
    .load(conn)
}
