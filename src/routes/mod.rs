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
pub mod pupil_premium_plus;

use utoipa_actix_web::service_config::ServiceConfig;

/// The media type of a request body, without parameters (`text/csv; charset=utf-8` is `text/csv`), lower-case.
pub(crate) fn media_type(req: &actix_web::HttpRequest) -> Option<String> {
    use actix_web::HttpMessage;
    req.mime_type().ok().flatten().map(|m| m.essence_str().to_ascii_lowercase())
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
            .service(pupil_premium_plus::put_budget)
            .service(pupil_premium_plus::get_budget)
            .service(pupil_premium_plus::list_allocations)
            .service(pupil_premium_plus::create_allocation)
            .service(pupil_premium_plus::get_allocation)
            .service(pupil_premium_plus::decide)
            .service(pupil_premium_plus::pay)
            .service(pupil_premium_plus::record_impact)
            .service(audit_events::list_audit_events),
    );
}
