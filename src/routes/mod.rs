//! HTTP: request and response bodies, `#[utoipa::path]` handlers, and the one place routes are registered (so the
//! OpenAPI document and the router cannot drift apart).

pub mod audit_events;
pub mod children;
pub mod fallback;
pub mod lac_batches;
pub mod me;
pub mod notices;
pub mod notifications;
pub mod operations;
pub mod peps;
pub mod pupil_premium_plus;
pub mod reports;

use utoipa_actix_web::service_config::ServiceConfig;

/// The media type of a request body, without parameters (`text/csv; charset=utf-8` is `text/csv`), lower-case.
pub(crate) fn media_type(req: &actix_web::HttpRequest) -> Option<String> {
    use actix_web::HttpMessage;
    req.mime_type().ok().flatten().map(|m| m.essence_str().to_ascii_lowercase())
}

/// The entity tags of an `If-Match` or `If-None-Match` header (all of its values, comma-separated), or `None`
/// when it is absent.
pub(crate) fn entity_tags(
    headers: &actix_web::http::header::HeaderMap,
    name: actix_web::http::header::HeaderName,
) -> Option<Vec<String>> {
    let values: Vec<String> = headers
        .get_all(name)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    (!values.is_empty()).then_some(values)
}

/// Whether an `If-None-Match` header names `etag` (weak comparison, RFC 9110 §13.1.2: `W/"v1"` matches `"v1"`).
pub(crate) fn none_match(headers: &actix_web::http::header::HeaderMap, etag: &str) -> bool {
    let weak = |t: &str| t.strip_prefix("W/").unwrap_or(t).to_owned();
    entity_tags(headers, actix_web::http::header::IF_NONE_MATCH)
        .is_some_and(|tags| tags.iter().any(|t| t == "*" || weak(t) == etag))
}

/// An `academic_year` path or query parameter (`2026-27`); 400 otherwise.
pub(crate) fn academic_year_param(raw: &str) -> Result<crate::domain::terms::AcademicYear, crate::error::ApiError> {
    crate::domain::terms::AcademicYear::parse(raw)
        .map_err(|r| crate::error::ApiError::BadRequest(format!("academic_year {r}")))
}

/// Registers every documented route. Both the server and the OpenAPI document are built from this.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(operations::healthz).service(operations::readyz).service(
        utoipa_actix_web::scope("/api/v1")
            .service(me::get_me)
            .service(children::list_children)
            .service(children::create_child)
            .service(children::get_child)
            .service(children::update_child)
            .service(lac_batches::list_status_changes)
            .service(notices::list_notices)
            .service(notices::send_notice)
            .service(notices::get_notice)
            .service(lac_batches::list_batches)
            .service(lac_batches::submit_batch)
            .service(lac_batches::get_batch)
            .service(notifications::list_notifications)
            .service(notifications::acknowledge_notification)
            .service(peps::list_peps)
            .service(peps::push_pep)
            .service(peps::get_pep)
            .service(peps::list_pep_revisions)
            .service(peps::review_pep_quality)
            .service(peps::confirm_pep_lcs_upload)
            .service(pupil_premium_plus::put_budget)
            .service(pupil_premium_plus::get_budget)
            .service(pupil_premium_plus::list_allocations)
            .service(pupil_premium_plus::create_allocation)
            .service(pupil_premium_plus::get_allocation)
            .service(pupil_premium_plus::decide)
            .service(pupil_premium_plus::pay)
            .service(pupil_premium_plus::record_impact)
            .service(reports::cohort_report)
            .service(reports::pep_compliance_report)
            .service(reports::attendance_report)
            .service(reports::attainment_report)
            .service(reports::pupil_premium_plus_report)
            .service(audit_events::list_audit_events),
    );
}
