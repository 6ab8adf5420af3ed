//! Dashboard reports: `/api/v1/reports/*`, as JSON or, with `Accept: text/csv`, as CSV (UTF-8, a header row, one
//! row per group) for Power BI and Excel.

use crate::auth::AuthUser;
use crate::db::Pool;
use crate::error::{ApiError, Problem};
use crate::services::policy::Policy;
use crate::services::reports::{
    self, AttainmentReport, AttendanceReport, CohortReport, PepComplianceReport, PupilPremiumPlusReport,
};
use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

/// The representation a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

/// Reads `Accept`: `text/csv` or `text/*` give CSV (JSON is not a `text/` type); JSON, `application/*`, `*/*` or no
/// header give JSON; anything else answers 406.
/// With both, the higher `q` wins (JSON on a tie).
fn negotiate(req: &HttpRequest) -> Result<Format, ApiError> {
    let Some(accept) = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(Format::Json);
    };
    let (mut json, mut csv) = (-1.0f32, -1.0f32);
    for part in accept.split(',') {
        let mut bits = part.split(';').map(str::trim);
        let media = bits.next().unwrap_or("").to_ascii_lowercase();
        let q = bits.filter_map(|p| p.strip_prefix("q=")).find_map(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
        match media.as_str() {
            "text/csv" => csv = csv.max(q),
            "application/json" | "application/*" => json = json.max(q),
            "*/*" => json = json.max(q),
            "text/*" => csv = csv.max(q),
            _ => {}
        }
    }
    match (json > 0.0, csv > 0.0) {
        (false, false) => {
            Err(ApiError::NotAcceptable("reports are served as application/json or text/csv; ask for either".into()))
        }
        (true, true) if csv > json => Ok(Format::Csv),
        (true, _) => Ok(Format::Json),
        (false, true) => Ok(Format::Csv),
    }
}

/// The CSV header of a row type: the field names, in order (taken from serialising an empty row, so a report with
/// no groups still has its header).
fn csv_header<R: Serialize + Default>() -> Result<Vec<u8>, ApiError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.serialize(R::default()).map_err(ApiError::internal)?;
    let both = w.into_inner().map_err(ApiError::internal)?;
    let end = both.iter().position(|&b| b == b'\n').map_or(both.len(), |i| i + 1);
    Ok(both[..end].to_vec())
}

fn csv_response<'a, R: Serialize + Default + 'a>(
    rows: impl IntoIterator<Item = &'a R>,
    filename: &str,
) -> Result<HttpResponse, ApiError> {
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(csv_header::<R>()?);
    for row in rows {
        w.serialize(row).map_err(ApiError::internal)?;
    }
    let body = w.into_inner().map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("inline; filename=\"{filename}.csv\"")))
        .insert_header((header::VARY, "Accept"))
        .body(body))
}

/// Free text for a CSV cell that Excel or Power BI will not run as a formula: a leading `=`, `+`, `-`, `@`, tab or
/// carriage return gets an apostrophe before it (OWASP's advice for CSV injection).
fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

fn json_response(body: &impl Serialize) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::VARY, "Accept")).json(body)
}

/// A report as the request asked for it: JSON, or CSV of `rows` (a header row and one row per group).
fn respond<'a, R: Serialize + Default + 'a>(
    format: Format,
    report: &impl Serialize,
    rows: impl IntoIterator<Item = &'a R>,
    filename: &str,
) -> Result<HttpResponse, ApiError> {
    match format {
        Format::Json => Ok(json_response(report)),
        Format::Csv => csv_response(rows, filename),
    }
}

/// The term a report is for.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TermQuery {
    /// Like `2026-27`; with `term`, or neither for the current term.
    #[param(max_length = 7, pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub academic_year: Option<String>,
    /// `autumn`, `spring` or `summer`; with `academic_year`.
    #[param(max_length = 6, pattern = "^(autumn|spring|summer)$")]
    pub term: Option<String>,
}

/// Admits the caller, then reads the representation and the term a term report is asked for.
async fn term_request(
    report: &str,
    user: &AuthUser,
    req: &HttpRequest,
    policy: &Policy,
    query: &TermQuery,
) -> Result<(Format, crate::domain::terms::TermOf), ApiError> {
    reports::admit(user, report).await?;
    let format = negotiate(req)?;
    let term = reports::term_for(policy, query.academic_year.as_deref(), query.term.as_deref())?;
    Ok((format, term))
}

/// The academic year a report is for.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct YearQuery {
    /// Like `2026-27`; the current academic year when absent.
    #[param(max_length = 7, pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub academic_year: Option<String>,
}

/// The roll at a glance: every child by LAC status, and the looked-after cohort by key stage, placement location (in
/// or out of the authority), SEN status and legal status. CSV columns: `dimension,value,count`.
#[utoipa::path(
    tag = "reports",
    operation_id = "cohortReport",
    params(("Accept" = Option<String>, Header, max_length = 200, description = "`application/json` (default) or `text/csv`")),
    responses(
        (status = 200, description = "Counts; no names, UPNs, dates of birth or child ids",
            content((CohortReport = "application/json"), (String = "text/csv"))),
        (status = 406, description = "Neither JSON nor CSV is acceptable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/cohort")]
pub async fn cohort_report(user: AuthUser, pool: web::Data<Pool>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    reports::admit(&user, "cohort").await?;
    let format = negotiate(&req)?;
    let report = reports::cohort(&pool, &user).await?;
    respond(format, &report, &report.csv_rows(), "cohort")
}

/// PEP compliance for a term (default the current one; a future term answers 400), in total and by key stage.
/// For the current term (`basis: live`) every looked-after child of PEP age is counted by their `pep_status` today,
/// as on the roll: `in_date` (a PEP of this term signed off and nothing else owed), `due`, `overdue` (the initial or
/// change-of-school PEP, or this term's PEP, past its deadline). For a past term (`basis: term_end`) the children
/// who owed its PEP (looked after before it began and still at its end, of PEP age then) are `in_date` when a PEP
/// of the term was signed off by its last day, `overdue` otherwise. `compliance_percentage` = `in_date` / `required`.
/// CSV: one row per key stage, the first `all`, columns
/// `key_stage,required,in_date,due,overdue,compliance_percentage`.
#[utoipa::path(
    tag = "reports",
    operation_id = "pepComplianceReport",
    params(TermQuery, ("Accept" = Option<String>, Header, max_length = 200, description = "`application/json` (default) or `text/csv`")),
    responses(
        (status = 200, description = "Counts and rates", content((PepComplianceReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "A bad or future term, or only one of academic_year and term", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "Neither JSON nor CSV is acceptable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/pep-compliance")]
pub async fn pep_compliance_report(
    user: AuthUser,
    pool: web::Data<Pool>,
    policy: web::Data<Policy>,
    query: web::Query<TermQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (format, term) = term_request("pep-compliance", &user, &req, &policy, &query).await?;
    let report = reports::pep_compliance(&pool, &user, &policy, term).await?;
    let name = format!("pep-compliance-{}-{}", report.academic_year, report.term);
    respond(format, &report, std::iter::once(&report.totals).chain(&report.by_key_stage), &name)
}

/// Attendance and exclusions for a term (default the current one), from each child's signed-off PEP for that term
/// (a child's latest PEP of the term counts once), in total and by key stage of the child's year group when it was
/// signed off. Persistently absent: attendance below 90%; severely absent: below 50% (counted in both).
/// `mean_attendance_percentage` averages the children's percentages; `overall_attendance_percentage` is sessions
/// attended over sessions possible. PEPs without attendance (or exclusions) recorded count in `peps` only. CSV: one
/// row per key stage, the first `all`, with the JSON row fields as columns.
#[utoipa::path(
    tag = "reports",
    operation_id = "attendanceReport",
    params(TermQuery, ("Accept" = Option<String>, Header, max_length = 200, description = "`application/json` (default) or `text/csv`")),
    responses(
        (status = 200, description = "Figures", content((AttendanceReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "A bad term, or only one of academic_year and term", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "Neither JSON nor CSV is acceptable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/attendance")]
pub async fn attendance_report(
    user: AuthUser,
    pool: web::Data<Pool>,
    policy: web::Data<Policy>,
    query: web::Query<TermQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (format, term) = term_request("attendance", &user, &req, &policy, &query).await?;
    let report = reports::attendance(&pool, &user, term).await?;
    let name = format!("attendance-{}-{}", report.academic_year, report.term);
    respond(format, &report, std::iter::once(&report.totals).chain(&report.by_key_stage), &name)
}

/// Attainment for a term (default the current one) by key stage and subject, from each child's signed-off PEP for
/// that term. Values are points on one scale per subject, higher is better. At or above target: current ≥ target;
/// below target: current < target (children without a target count in neither); below their own past attainment:
/// current < past (children without past attainment are not counted there). CSV: one row per key stage and subject.
#[utoipa::path(
    tag = "reports",
    operation_id = "attainmentReport",
    params(TermQuery, ("Accept" = Option<String>, Header, max_length = 200, description = "`application/json` (default) or `text/csv`")),
    responses(
        (status = 200, description = "Counts and rates", content((AttainmentReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "A bad term, or only one of academic_year and term", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "Neither JSON nor CSV is acceptable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/attainment")]
pub async fn attainment_report(
    user: AuthUser,
    pool: web::Data<Pool>,
    policy: web::Data<Policy>,
    query: web::Query<TermQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (format, term) = term_request("attainment", &user, &req, &policy, &query).await?;
    let report = reports::attainment(&pool, &user, term).await?;
    // Subjects are the ePEP provider's free text: none may run as a spreadsheet formula.
    let rows: Vec<_> = report
        .rows
        .iter()
        .map(|r| reports::AttainmentRow { subject: spreadsheet_safe(&r.subject), ..r.clone() })
        .collect();
    respond(format, &report, &rows, &format!("attainment-{}-{}", report.academic_year, report.term))
}

/// PP+ for an academic year (default the current one): the budget (grant, central retention, available, approved
/// including paid, paid, remaining) and allocations by status and by school and status. CSV: one row per school and
/// status, columns `school_urn,status,allocations,amount_pence`.
#[utoipa::path(
    tag = "reports",
    operation_id = "pupilPremiumPlusReport",
    params(YearQuery, ("Accept" = Option<String>, Header, max_length = 200, description = "`application/json` (default) or `text/csv`")),
    responses(
        (status = 200, description = "Figures in pence", content((PupilPremiumPlusReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "A bad academic year", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "Neither JSON nor CSV is acceptable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/pupil-premium-plus")]
pub async fn pupil_premium_plus_report(
    user: AuthUser,
    pool: web::Data<Pool>,
    policy: web::Data<Policy>,
    query: web::Query<YearQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    reports::admit(&user, "pupil-premium-plus").await?;
    let format = negotiate(&req)?;
    let year = match query.academic_year.as_deref() {
        Some(y) => super::academic_year_param(y)?,
        None => policy.pep_day().term.year,
    };
    let report = reports::pupil_premium_plus(&pool, &user, year).await?;
    respond(format, &report, &report.by_school, &format!("pupil-premium-plus-{}", report.academic_year))
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_safe;

    #[test]
    fn formula_like_text_is_defused() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("+1"), "'+1");
        assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_safe("Mathematics"), "Mathematics");
    }
}
