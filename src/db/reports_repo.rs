//! Aggregates for the dashboard reports. Each query groups in the database and returns counts and sums only: no
//! row that names a child leaves this module. Grouping is by year group (key stages are merged by the service), so
//! every query is one range scan of an index that covers it (migration `000010_report_indexes`).

use super::schema::{children, peps};
use super::DbConnection;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Double, Nullable, Text, Timestamp};

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

/// What the PEP schedule of each looked-after child depends on (never who the child is): the live compliance report
/// applies [`crate::domain::terms::PepRules::schedule`], the rule the roll shows, to each.
pub type PepFactsRow = (NaiveDate, Option<String>, Option<NaiveDate>, Option<NaiveDate>, Option<i64>);

/// [`PepFactsRow`]s of every looked-after child: date of birth, year group, looked after since, event-driven PEP due,
/// latest PEP term.
pub fn looked_after_pep_facts(conn: &mut DbConnection) -> QueryResult<Vec<PepFactsRow>> {
    macro_rules! query {
        () => {
            children::table.filter(children::lac_status.eq("looked_after")).select((
                children::date_of_birth,
                children::year_group,
                children::looked_after_since,
                children::pep_required_on,
                children::last_pep_term,
            ))
        };
    }
    // On the backend's own connection, so PostgreSQL keeps it prepared.
    on_backend!(conn, |c| query!().load(c))
}

/// One year group's children who owed a past term's PEP, and how many had one signed off by its end.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct PastTermGroup {
    #[diesel(sql_type = Nullable<Text>)]
    pub year_group: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub owed: i64,
    #[diesel(sql_type = BigInt)]
    pub done: i64,
}

/// For a past term: the children who owed its PEP (looked after before `term_start` and still at `term_end`, of
/// PEP age on `term_end`), by year group, with how many had a PEP of the term signed off by the end of `term_end`
/// (UK time). Counted in the database: the term's children with a PEP come from one range of `peps_term_child`,
/// joined to one pass over the roll.
pub fn past_term_compliance(
    conn: &mut DbConnection,
    term_ordinal: i64,
    term_start: NaiveDate,
    term_end: NaiveDate,
    youngest_born_on: NaiveDate,
    too_old_born_on: NaiveDate,
) -> QueryResult<Vec<PastTermGroup>> {
    // Signed off by the end of `term_end` in the UK: before UK midnight after it (a sign-off at 23:59:59.5 still
    // counts; in summer time that midnight is 23:00 UTC).
    let after_end: NaiveDateTime = crate::domain::calendar::uk_midnight(term_end.succ_opt().unwrap_or(term_end));
    // Parameters are numbered in the order they first appear (SQLite numbers `$n` that way).
    diesel::sql_query(
        "SELECT c.year_group, COUNT(*) AS owed, COUNT(d.child_id) AS done \
         FROM children c LEFT JOIN (SELECT DISTINCT child_id FROM peps \
           WHERE term_ordinal = $1 AND signed_off_at < $2) d ON d.child_id = c.id \
         WHERE c.looked_after_since < $3 AND (c.lac_status = 'looked_after' OR c.ceased_on > $4) \
           AND c.date_of_birth <= $5 AND c.date_of_birth > $6 AND (c.year_group IS NULL OR c.year_group <> '14') \
         GROUP BY c.year_group",
    )
    .bind::<BigInt, _>(term_ordinal)
    .bind::<Timestamp, _>(after_end)
    .bind::<Date, _>(term_start)
    .bind::<Date, _>(term_end)
    .bind::<Date, _>(youngest_born_on)
    .bind::<Date, _>(too_old_born_on)
    .load(conn)
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
