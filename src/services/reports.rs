//! Dashboard reports: aggregates of the roll, PEP compliance, attendance, attainment and PP+ spending. Counts only,
//! never a name, UPN, date of birth or child id. Each read is audited (no child: a report names none).

use crate::auth::{AuthUser, Role};
use crate::db::reports_repo::{self, AttainmentGroup, AttendanceGroup, CohortGroup};
use crate::db::{self, pp_repo, Pool};
use crate::domain::child::{LacStatus, PepStatus};
use crate::domain::terms::{AcademicYear, PepFacts, Term, TermOf};
use crate::domain::YearGroup;
use crate::error::ApiError;
use crate::services::audit::Outcome;
use crate::services::policy::Policy;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Roles that read reports.
pub const READERS: &[Role] = &[Role::Dashboard, Role::Vso, Role::VsAdmin];

/// Key-stage rows in this order; children with no year group recorded come last as `unknown`.
const KEY_STAGES: [&str; 7] = ["EYFS", "KS1", "KS2", "KS3", "KS4", "post16", "unknown"];

fn key_stage_of(year_group: Option<&str>) -> &'static str {
    year_group.and_then(|y| YearGroup::parse(y).ok()).map_or("unknown", |y| y.key_stage().as_str())
}

fn key_stage_rank(ks: &str) -> usize {
    KEY_STAGES.iter().position(|k| *k == ks).unwrap_or(KEY_STAGES.len())
}

/// `part` of `whole` as a percentage with one decimal, or `None` when `whole` is 0.
fn percentage(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (1000.0 * part as f64 / whole as f64).round() / 10.0)
}

fn one_decimal(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Admits a reader of `report`; a refusal's audit event names the report.
pub async fn admit(user: &AuthUser, report: &str) -> Result<(), ApiError> {
    user.require_any_on(READERS, "report.read", "report", Some(report)).await
}

async fn audit(user: &AuthUser, name: &str) -> Result<(), ApiError> {
    user.audit().record(vec![user.event("report.read", "report", Outcome::Allowed).resource(name.to_owned())]).await
}

/// The academic year and term a report is for: both given, or neither (the current term).
pub fn term_for(policy: &Policy, academic_year: Option<&str>, term: Option<&str>) -> Result<TermOf, ApiError> {
    match (academic_year, term) {
        (None, None) => Ok(policy.pep_day().term),
        (Some(y), Some(t)) => {
            let year = AcademicYear::parse(y).map_err(|r| ApiError::BadRequest(format!("academic_year {r}")))?;
            let term =
                Term::parse(t).ok_or_else(|| ApiError::BadRequest("term must be autumn, spring or summer".into()))?;
            Ok(TermOf { year, term })
        }
        _ => Err(ApiError::BadRequest("give academic_year and term together, or neither for the current term".into())),
    }
}

/// A count of children with one value of a dimension.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Count {
    /// The value (`looked_after`, `KS2`, `out_of_authority`, `ehcp`, `C2`, `unknown` when not recorded).
    #[schema(max_length = 20)]
    pub value: String,
    /// Children.
    #[schema(minimum = 0, maximum = 10000000)]
    pub count: i64,
}

/// The cohort at a glance.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CohortReport {
    /// When the figures were read.
    pub generated_at: DateTime<Utc>,
    /// Every child on the roll.
    #[schema(minimum = 0, maximum = 10000000)]
    pub total: i64,
    /// Children looked after now: the cohort the other breakdowns count.
    #[schema(minimum = 0, maximum = 10000000)]
    pub looked_after: i64,
    /// Every child on the roll by LAC status: `looked_after`, `ceased`.
    #[schema(max_items = 2)]
    pub by_lac_status: Vec<Count>,
    /// Looked-after children by key stage of their year group (`unknown` when none is recorded).
    #[schema(max_items = 7)]
    pub by_key_stage: Vec<Count>,
    /// Looked-after children placed `in_authority`, `out_of_authority`, or `unknown`.
    #[schema(max_items = 3)]
    pub by_placement_location: Vec<Count>,
    /// Looked-after children by SEN status: `none`, `sen_support`, `ehcp`.
    #[schema(max_items = 3)]
    pub by_sen_status: Vec<Count>,
    /// Looked-after children by SSDA903 legal status (`unknown` when none is recorded).
    #[schema(max_items = 20)]
    pub by_legal_status: Vec<Count>,
}

/// One row of the cohort report as CSV.
#[derive(Debug, Default, Serialize)]
pub struct CohortCsvRow<'a> {
    pub dimension: &'a str,
    pub value: &'a str,
    pub count: i64,
}

impl CohortReport {
    /// One row per group: `dimension,value,count`.
    pub fn csv_rows(&self) -> Vec<CohortCsvRow<'_>> {
        [
            ("lac_status", &self.by_lac_status),
            ("key_stage", &self.by_key_stage),
            ("placement_location", &self.by_placement_location),
            ("sen_status", &self.by_sen_status),
            ("legal_status", &self.by_legal_status),
        ]
        .into_iter()
        .flat_map(|(d, counts)| {
            counts.iter().map(move |c| CohortCsvRow { dimension: d, value: &c.value, count: c.count })
        })
        .collect()
    }
}

fn counts(map: BTreeMap<String, i64>, order: &[&str]) -> Vec<Count> {
    let mut v: Vec<Count> = map.into_iter().map(|(value, count)| Count { value, count }).collect();
    v.sort_by_key(|c| (order.iter().position(|o| *o == c.value).unwrap_or(order.len()), c.value.clone()));
    v
}

/// Counts of the roll (`dashboard`, `vso`, `vs_admin`).
pub async fn cohort(pool: &Pool, user: &AuthUser) -> Result<CohortReport, ApiError> {
    admit(user, "cohort").await?;
    let groups = db::run(pool, |conn| Ok(reports_repo::cohort(conn)?)).await?;
    audit(user, "cohort").await?;
    let (mut status, mut ks, mut place, mut sen, mut legal) =
        (BTreeMap::new(), BTreeMap::new(), BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let (mut total, mut looked_after) = (0, 0);
    for CohortGroup { lac_status, year_group, out_of_authority, sen_status, legal_status, count } in groups {
        total += count;
        *status.entry(lac_status.clone()).or_insert(0) += count;
        if lac_status != "looked_after" {
            continue;
        }
        looked_after += count;
        *ks.entry(key_stage_of(year_group.as_deref()).to_owned()).or_insert(0) += count;
        let location = match out_of_authority {
            Some(true) => "out_of_authority",
            Some(false) => "in_authority",
            None => "unknown",
        };
        *place.entry(location.to_owned()).or_insert(0) += count;
        *sen.entry(sen_status).or_insert(0) += count;
        *legal.entry(legal_status.unwrap_or_else(|| "unknown".into())).or_insert(0) += count;
    }
    Ok(CohortReport {
        generated_at: Utc::now(),
        total,
        looked_after,
        by_lac_status: counts(status, &["looked_after", "ceased"]),
        by_key_stage: counts(ks, &KEY_STAGES),
        by_placement_location: counts(place, &["in_authority", "out_of_authority", "unknown"]),
        by_sen_status: counts(sen, &["none", "sen_support", "ehcp"]),
        by_legal_status: counts(legal, &[]),
    })
}

/// PEP compliance of one group of children.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ComplianceRow {
    /// `all`, or a key stage (`EYFS` … `post16`, `unknown`).
    #[schema(max_length = 7)]
    pub key_stage: String,
    /// Children who need a PEP: `in_date` + `due` + `overdue`.
    #[schema(minimum = 0, maximum = 10000000)]
    pub required: i64,
    /// With a signed-off PEP for the term (and nothing else owed).
    #[schema(minimum = 0, maximum = 10000000)]
    pub in_date: i64,
    /// Owing a PEP whose deadline has not passed.
    #[schema(minimum = 0, maximum = 10000000)]
    pub due: i64,
    /// Owing a PEP past its deadline.
    #[schema(minimum = 0, maximum = 10000000)]
    pub overdue: i64,
    /// `in_date` as a percentage of `required` (one decimal); `null` when nobody is required.
    #[schema(minimum = 0, maximum = 100)]
    pub compliance_percentage: Option<f64>,
}

/// PEP compliance for a term.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PepComplianceReport {
    /// Like `2026-27`.
    #[schema(max_length = 7)]
    pub academic_year: String,
    /// `autumn`, `spring` or `summer`.
    #[schema(max_length = 6)]
    pub term: String,
    /// The day the statuses are for: today for the current term, the term's last day for a past one.
    pub as_of: NaiveDate,
    /// `live` (the current term: every child's `pep_status` today, as on the roll) or `term_end` (a past term: the
    /// children who owed its PEP — looked after before it began and still at its end, of PEP age — are `in_date`
    /// when a PEP of the term was signed off by its last day and `overdue` otherwise).
    #[schema(max_length = 8)]
    pub basis: String,
    /// Everyone.
    pub totals: ComplianceRow,
    /// By key stage of the child's year group now.
    #[schema(max_items = 7)]
    pub by_key_stage: Vec<ComplianceRow>,
    /// Looked-after children who need no PEP (under or over the PEP ages, or past Year 13); live only.
    #[schema(minimum = 0, maximum = 10000000)]
    pub looked_after_not_required: Option<i64>,
    /// PEPs of the term (each child's latest) signed off after their deadline.
    #[schema(minimum = 0, maximum = 10000000)]
    pub signed_off_late: i64,
}

/// PEP compliance for a term (`dashboard`, `vso`, `vs_admin`); a future term answers 400.
pub async fn pep_compliance(
    pool: &Pool,
    user: &AuthUser,
    policy: &Policy,
    term: TermOf,
) -> Result<PepComplianceReport, ApiError> {
    admit(user, "pep-compliance").await?;
    let day = policy.pep_day();
    if term > day.term {
        return Err(ApiError::BadRequest(format!(
            "{} {} has not begun: compliance is reported for the current or a past term",
            term.year,
            term.term.as_str()
        )));
    }
    let live = term == day.term;
    let terms = policy.pep.terms.clone();
    let rules = policy.pep.clone();
    let ordinal = term.ordinal();
    let (groups, not_required, late, as_of) = db::run(pool, move |conn| {
        let mut out: Vec<(&'static str, ComplianceRow)> = Vec::new();
        let as_of;
        let mut not_required = None;
        if live {
            as_of = day.today;
            let mut by: BTreeMap<&'static str, ComplianceRow> = BTreeMap::new();
            let mut outside_ages = 0;
            for (date_of_birth, year_group, looked_after_since, pep_required_on, last_pep_term) in
                reports_repo::looked_after_pep_facts(conn)?
            {
                let facts = PepFacts {
                    lac_status: LacStatus::LookedAfter,
                    date_of_birth,
                    year_group: year_group.as_deref(),
                    looked_after_since,
                    pep_required_on,
                    last_pep_term,
                };
                let r = by.entry(key_stage_of(year_group.as_deref())).or_default();
                match rules.schedule(&facts, &day).0 {
                    PepStatus::InDate => r.in_date += 1,
                    PepStatus::Due => r.due += 1,
                    PepStatus::Overdue => r.overdue += 1,
                    PepStatus::NotRequired => outside_ages += 1,
                }
            }
            not_required = Some(outside_ages);
            out.extend(by.into_iter().filter(|(_, r)| r.in_date + r.due + r.overdue > 0));
        } else {
            let (start, end) = (terms.start(term), terms.end(term));
            as_of = end;
            let end_day = rules.day(end);
            let mut by: BTreeMap<&'static str, ComplianceRow> = BTreeMap::new();
            for g in reports_repo::past_term_compliance(
                conn,
                ordinal,
                start,
                end,
                end_day.youngest_born_on,
                end_day.too_old_born_on,
            )? {
                let r = by.entry(key_stage_of(g.year_group.as_deref())).or_default();
                r.in_date += g.done;
                r.overdue += g.owed - g.done;
            }
            out.extend(by);
        }
        let late = reports_repo::signed_off_late(conn, ordinal)?;
        Ok((out, not_required, late, as_of))
    })
    .await?;
    audit(user, "pep-compliance").await?;
    let mut totals = ComplianceRow { key_stage: "all".into(), ..Default::default() };
    let mut by_key_stage: Vec<ComplianceRow> = groups
        .into_iter()
        .map(|(ks, mut r)| {
            r.key_stage = ks.to_owned();
            r.required = r.in_date + r.due + r.overdue;
            r.compliance_percentage = percentage(r.in_date, r.required);
            totals.in_date += r.in_date;
            totals.due += r.due;
            totals.overdue += r.overdue;
            r
        })
        .collect();
    by_key_stage.sort_by_key(|r| key_stage_rank(&r.key_stage));
    totals.required = totals.in_date + totals.due + totals.overdue;
    totals.compliance_percentage = percentage(totals.in_date, totals.required);
    Ok(PepComplianceReport {
        academic_year: term.year.to_string(),
        term: term.term.as_str().to_owned(),
        as_of,
        basis: if live { "live" } else { "term_end" }.into(),
        totals,
        by_key_stage,
        looked_after_not_required: not_required,
        signed_off_late: late,
    })
}

/// Attendance and exclusions of one group.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct AttendanceRow {
    /// `all`, or a key stage of the child's year group when the PEP was signed off.
    #[schema(max_length = 7)]
    pub key_stage: String,
    /// Children with a signed-off PEP for the term (each child's latest PEP of the term counts once).
    #[schema(minimum = 0, maximum = 10000000)]
    pub peps: i64,
    /// Of those, with attendance recorded.
    #[schema(minimum = 0, maximum = 10000000)]
    pub with_attendance: i64,
    /// Mean of the children's attendance percentages (one decimal).
    #[schema(minimum = 0, maximum = 100)]
    pub mean_attendance_percentage: Option<f64>,
    /// Sessions attended as a percentage of sessions possible, over all the children (one decimal).
    #[schema(minimum = 0, maximum = 100)]
    pub overall_attendance_percentage: Option<f64>,
    /// Attendance below 90%.
    #[schema(minimum = 0, maximum = 10000000)]
    pub persistently_absent: i64,
    /// `persistently_absent` as a percentage of `with_attendance`.
    #[schema(minimum = 0, maximum = 100)]
    pub persistently_absent_percentage: Option<f64>,
    /// Attendance below 50% (also counted as persistently absent).
    #[schema(minimum = 0, maximum = 10000000)]
    pub severely_absent: i64,
    /// `severely_absent` as a percentage of `with_attendance`.
    #[schema(minimum = 0, maximum = 100)]
    pub severely_absent_percentage: Option<f64>,
    /// With exclusions recorded.
    #[schema(minimum = 0, maximum = 10000000)]
    pub with_exclusions: i64,
    /// Children with at least one suspension.
    #[schema(minimum = 0, maximum = 10000000)]
    pub children_suspended: i64,
    /// Suspensions.
    #[schema(minimum = 0, maximum = 100000000)]
    pub suspensions: i64,
    /// School days lost to suspensions.
    #[schema(minimum = 0, maximum = 100000000)]
    pub suspension_days: f64,
    /// Permanent exclusions.
    #[schema(minimum = 0, maximum = 10000000)]
    pub permanent_exclusions: i64,
}

/// Attendance and exclusions for a term.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttendanceReport {
    /// Like `2026-27`.
    #[schema(max_length = 7)]
    pub academic_year: String,
    /// The term.
    #[schema(max_length = 6)]
    pub term: String,
    /// Everyone.
    pub totals: AttendanceRow,
    /// By key stage.
    #[schema(max_items = 7)]
    pub by_key_stage: Vec<AttendanceRow>,
}

#[derive(Default)]
struct AttendanceSums {
    g: AttendanceGroup,
}

impl AttendanceSums {
    fn add(&mut self, o: &AttendanceGroup) {
        let g = &mut self.g;
        g.peps += o.peps;
        g.with_attendance += o.with_attendance;
        g.percentage_sum = Some(g.percentage_sum.unwrap_or(0.0) + o.percentage_sum.unwrap_or(0.0));
        g.sessions_possible = Some(g.sessions_possible.unwrap_or(0) + o.sessions_possible.unwrap_or(0));
        g.sessions_attended = Some(g.sessions_attended.unwrap_or(0) + o.sessions_attended.unwrap_or(0));
        g.persistently_absent += o.persistently_absent;
        g.severely_absent += o.severely_absent;
        g.with_exclusions += o.with_exclusions;
        g.children_suspended += o.children_suspended;
        g.suspensions = Some(g.suspensions.unwrap_or(0) + o.suspensions.unwrap_or(0));
        g.suspension_days = Some(g.suspension_days.unwrap_or(0.0) + o.suspension_days.unwrap_or(0.0));
        g.permanent_exclusions += o.permanent_exclusions;
    }

    fn row(&self, key_stage: &str) -> AttendanceRow {
        let g = &self.g;
        let possible = g.sessions_possible.unwrap_or(0);
        AttendanceRow {
            key_stage: key_stage.to_owned(),
            peps: g.peps,
            with_attendance: g.with_attendance,
            mean_attendance_percentage: (g.with_attendance > 0)
                .then(|| one_decimal(g.percentage_sum.unwrap_or(0.0) / g.with_attendance as f64)),
            overall_attendance_percentage: percentage(g.sessions_attended.unwrap_or(0), possible),
            persistently_absent: g.persistently_absent,
            persistently_absent_percentage: percentage(g.persistently_absent, g.with_attendance),
            severely_absent: g.severely_absent,
            severely_absent_percentage: percentage(g.severely_absent, g.with_attendance),
            with_exclusions: g.with_exclusions,
            children_suspended: g.children_suspended,
            suspensions: g.suspensions.unwrap_or(0),
            suspension_days: one_decimal(g.suspension_days.unwrap_or(0.0)),
            permanent_exclusions: g.permanent_exclusions,
        }
    }
}

/// Attendance and exclusions from each child's signed-off PEP for the term (`dashboard`, `vso`, `vs_admin`).
pub async fn attendance(pool: &Pool, user: &AuthUser, term: TermOf) -> Result<AttendanceReport, ApiError> {
    admit(user, "attendance").await?;
    let ordinal = term.ordinal();
    let groups = db::run(pool, move |conn| Ok(reports_repo::attendance(conn, ordinal)?)).await?;
    audit(user, "attendance").await?;
    let mut all = AttendanceSums::default();
    let mut by: BTreeMap<usize, (&'static str, AttendanceSums)> = BTreeMap::new();
    for g in &groups {
        all.add(g);
        let ks = key_stage_of(g.year_group.as_deref());
        by.entry(key_stage_rank(ks)).or_insert_with(|| (ks, AttendanceSums::default())).1.add(g);
    }
    Ok(AttendanceReport {
        academic_year: term.year.to_string(),
        term: term.term.as_str().to_owned(),
        totals: all.row("all"),
        by_key_stage: by.values().map(|(ks, s)| s.row(ks)).collect(),
    })
}

/// Attainment in one subject in one key stage.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct AttainmentRow {
    /// Key stage of the child's year group when the PEP was signed off.
    #[schema(max_length = 7)]
    pub key_stage: String,
    /// The subject, as the PEPs name it.
    #[schema(max_length = 100)]
    pub subject: String,
    /// Children with this subject in their PEP for the term.
    #[schema(minimum = 0, maximum = 10000000)]
    pub pupils: i64,
    /// Of those, with a target recorded.
    #[schema(minimum = 0, maximum = 10000000)]
    pub with_target: i64,
    /// Current attainment at or above the target.
    #[schema(minimum = 0, maximum = 10000000)]
    pub at_or_above_target: i64,
    /// Current attainment below the target.
    #[schema(minimum = 0, maximum = 10000000)]
    pub below_target: i64,
    /// `at_or_above_target` as a percentage of `with_target`.
    #[schema(minimum = 0, maximum = 100)]
    pub at_or_above_target_percentage: Option<f64>,
    /// With past attainment recorded.
    #[schema(minimum = 0, maximum = 10000000)]
    pub with_past: i64,
    /// Current attainment below the child's own past attainment.
    #[schema(minimum = 0, maximum = 10000000)]
    pub below_past_attainment: i64,
    /// `below_past_attainment` as a percentage of `with_past`.
    #[schema(minimum = 0, maximum = 100)]
    pub below_past_attainment_percentage: Option<f64>,
}

/// Attainment for a term.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttainmentReport {
    /// Like `2026-27`.
    #[schema(max_length = 7)]
    pub academic_year: String,
    /// The term.
    #[schema(max_length = 6)]
    pub term: String,
    /// By key stage, then subject.
    #[schema(max_items = 10000)]
    pub rows: Vec<AttainmentRow>,
}

/// Attainment by key stage and subject from each child's signed-off PEP for the term (`dashboard`, `vso`,
/// `vs_admin`).
pub async fn attainment(pool: &Pool, user: &AuthUser, term: TermOf) -> Result<AttainmentReport, ApiError> {
    admit(user, "attainment").await?;
    let ordinal = term.ordinal();
    let groups = db::run(pool, move |conn| Ok(reports_repo::attainment(conn, ordinal)?)).await?;
    audit(user, "attainment").await?;
    let mut by: BTreeMap<(usize, String), AttainmentRow> = BTreeMap::new();
    for AttainmentGroup {
        year_group,
        subject,
        pupils,
        with_target,
        at_or_above_target,
        below_target,
        with_past,
        below_past,
    } in groups
    {
        let ks = key_stage_of(year_group.as_deref());
        let r = by.entry((key_stage_rank(ks), subject.clone())).or_insert_with(|| AttainmentRow {
            key_stage: ks.to_owned(),
            subject,
            ..Default::default()
        });
        r.pupils += pupils;
        r.with_target += with_target;
        r.at_or_above_target += at_or_above_target;
        r.below_target += below_target;
        r.with_past += with_past;
        r.below_past_attainment += below_past;
    }
    let rows = by
        .into_values()
        .map(|mut r| {
            r.at_or_above_target_percentage = percentage(r.at_or_above_target, r.with_target);
            r.below_past_attainment_percentage = percentage(r.below_past_attainment, r.with_past);
            r
        })
        .collect();
    Ok(AttainmentReport { academic_year: term.year.to_string(), term: term.term.as_str().to_owned(), rows })
}

/// A year's PP+ budget figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BudgetFigures {
    /// The grant.
    #[schema(minimum = 0, maximum = 100000000000_i64)]
    pub grant_pence: i64,
    /// Kept centrally by the Virtual School Head.
    #[schema(minimum = 0, maximum = 100000000000_i64)]
    pub central_retention_pence: i64,
    /// What allocations may spend: grant less central retention.
    #[schema(minimum = 0, maximum = 100000000000_i64)]
    pub available_pence: i64,
    /// Approved or paid.
    #[schema(minimum = 0, maximum = 100000000000_i64)]
    pub approved_pence: i64,
    /// Paid.
    #[schema(minimum = 0, maximum = 100000000000_i64)]
    pub paid_pence: i64,
    /// Still available to approve.
    #[schema(minimum = 0, maximum = 100000000000_i64)]
    pub remaining_pence: i64,
}

/// PP+ allocations of one school in one status (or, in `by_status`, of every school).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct AllocationSum {
    /// The school's URN (`all` in `by_status`).
    #[schema(max_length = 7)]
    pub school_urn: String,
    /// `requested`, `approved`, `rejected` or `paid`.
    #[schema(max_length = 9)]
    pub status: String,
    /// Allocations.
    #[schema(minimum = 0, maximum = 10000000)]
    pub allocations: i64,
    /// Their total in pence.
    #[schema(minimum = 0, maximum = 100000000000_i64)]
    pub amount_pence: i64,
}

/// PP+ spending for an academic year.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PupilPremiumPlusReport {
    /// Like `2026-27`.
    #[schema(max_length = 7)]
    pub academic_year: String,
    /// The year's budget, or `null` when none is set.
    pub budget: Option<BudgetFigures>,
    /// Every school together, by status.
    #[schema(max_items = 4)]
    pub by_status: Vec<AllocationSum>,
    /// By school and status.
    #[schema(max_items = 100000)]
    pub by_school: Vec<AllocationSum>,
}

/// PP+ allocations by school and status against the year's budget (`dashboard`, `vso`, `vs_admin`).
pub async fn pupil_premium_plus(
    pool: &Pool,
    user: &AuthUser,
    year: AcademicYear,
) -> Result<PupilPremiumPlusReport, ApiError> {
    admit(user, "pupil-premium-plus").await?;
    let label = year.to_string();
    let key = label.clone();
    let (budget, groups) =
        db::run(pool, move |conn| Ok((pp_repo::find_budget(conn, &key)?, reports_repo::allocations(conn, &key)?)))
            .await?;
    audit(user, "pupil-premium-plus").await?;
    let sum = |status: &[&str]| -> i64 {
        groups.iter().filter(|g| status.contains(&g.status.as_str())).map(|g| g.amount_pence).sum()
    };
    let (approved, paid) = (sum(&["approved", "paid"]), sum(&["paid"]));
    let mut by_status: BTreeMap<usize, AllocationSum> = BTreeMap::new();
    let order = ["requested", "approved", "rejected", "paid"];
    for g in &groups {
        let rank = order.iter().position(|s| *s == g.status).unwrap_or(order.len());
        let e = by_status.entry(rank).or_insert_with(|| AllocationSum {
            school_urn: "all".into(),
            status: g.status.clone(),
            allocations: 0,
            amount_pence: 0,
        });
        e.allocations += g.allocations;
        e.amount_pence += g.amount_pence;
    }
    Ok(PupilPremiumPlusReport {
        academic_year: label,
        budget: budget.map(|b| {
            let available = b.grant_pence - b.central_retention_pence;
            BudgetFigures {
                grant_pence: b.grant_pence,
                central_retention_pence: b.central_retention_pence,
                available_pence: available,
                approved_pence: approved,
                paid_pence: paid,
                remaining_pence: available - approved,
            }
        }),
        by_status: by_status.into_values().collect(),
        by_school: groups
            .into_iter()
            .map(|g| AllocationSum {
                school_urn: g.school_urn,
                status: g.status,
                allocations: g.allocations,
                amount_pence: g.amount_pence,
            })
            .collect(),
    })
}
