//! Per-request context: the request id, the access log line, `Cache-Control: no-store` on the API, and the
//! rendering of every error as problem+json carrying the request id.

use crate::error::{ApiError, Problem, PROBLEM_JSON};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use std::time::Instant;

/// The `X-Request-Id` header.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl RequestId {
    /// The id of `req`, or `-` outside the middleware (which never happens in the running service).
    pub fn of(req: &HttpRequest) -> String {
        req.extensions().get::<RequestId>().map_or_else(|| "-".to_owned(), |r| r.0.clone())
    }

    /// The client's id when it is a sane token (1–64 of `[A-Za-z0-9._-]`), else a new UUID v7.
    pub fn from_header(value: Option<&HeaderValue>) -> String {
        value
            .and_then(|v| v.to_str().ok())
            .filter(|v| is_sane(v))
            .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
    }
}

fn is_sane(v: &str) -> bool {
    (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The middleware. Wrapped outermost, so it sees every response, including the fallback's and actix's own.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = RequestId::from_header(req.headers().get(REQUEST_ID_HEADER));
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let method = req.method().clone();
    let is_api = req.path().starts_with("/api/");

    let mut res = match next.call(req).await {
        Ok(res) => problem_response(res.map_into_boxed_body(), &request_id),
        // The router and handlers turn errors into responses, so only a broken inner middleware gets here; the
        // request is gone with it, so actix renders it (the error's own status).
        Err(err) => {
            log::error!("request_id={request_id} unhandled error from the service chain: {err}");
            return Err(err);
        }
    };

    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert(REQUEST_ID_HEADER, v);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if is_api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }

    // Path templates only: raw paths and query strings may carry identifiers or names. Finding the template walks
    // the router again, so it is only done when the line will be written.
    if log::log_enabled!(target: "access", log::Level::Info) {
        let template = res.request().match_pattern().unwrap_or_else(|| "<unmatched>".into());
        log::info!(
            target: "access",
            "{method} {template} {status} {ms:.1}ms request_id={request_id}",
            status = res.status().as_u16(),
            ms = started.elapsed().as_secs_f64() * 1000.0,
        );
    }
    Ok(res)
}

/// Re-renders an error response as problem+json with the request id, logging the cause of a 5xx.
fn problem_response(res: ServiceResponse<BoxBody>, request_id: &str) -> ServiceResponse<BoxBody> {
    let Some(err) = res.response().error() else {
        return res;
    };
    let response = match err.as_error::<ApiError>() {
        Some(api) => {
            if let ApiError::Internal(cause) | ApiError::Unavailable(cause) = api {
                log::error!("request_id={request_id} status={} cause: {cause}", api.status_code_u16());
            }
            api.to_response(request_id)
        }
        None => render_foreign_error(err, request_id),
    };
    let (req, _) = res.into_parts();
    ServiceResponse::new(req, response)
}

/// An error from outside this crate (a middleware or actix itself): keep its status, speak problem+json.
fn render_foreign_error(err: &actix_web::Error, request_id: &str) -> HttpResponse {
    let status = err.as_response_error().status_code();
    if status.is_server_error() {
        log::error!("request_id={request_id} status={} cause: {err}", status.as_u16());
    }
    let detail = if status.is_server_error() {
        "an unexpected error occurred; quote the instance when reporting it".to_owned()
    } else {
        err.to_string()
    };
    let problem = Problem {
        problem_type: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail,
        instance: request_id.to_owned(),
        errors: None,
    };
    HttpResponse::build(if status.is_client_error() || status.is_server_error() {
        status
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    })
    .content_type(PROBLEM_JSON)
    .json(problem)
}

impl ApiError {
    fn status_code_u16(&self) -> u16 {
        actix_web::ResponseError::status_code(self).as_u16()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_request_ids_are_kept_and_others_replaced() {
        let keep = HeaderValue::from_static("abc.DEF_123-x");
        assert_eq!(RequestId::from_header(Some(&keep)), "abc.DEF_123-x");
        for bad in ["has space", "semi;colon", "", &"x".repeat(65)] {
            let v = HeaderValue::from_str(bad).unwrap();
            let got = RequestId::from_header(Some(&v));
            assert_ne!(got, bad);
            assert!(uuid::Uuid::parse_str(&got).is_ok());
        }
        assert!(uuid::Uuid::parse_str(&RequestId::from_header(None)).is_ok());
    }
}
