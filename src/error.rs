//! One error type for the whole API, rendered as RFC 9457 `application/problem+json`.
//!
//! Handlers return `ApiError`; the request-context middleware renders it with the request id as `instance`, so
//! every error, including actix's own (bad JSON, unknown route, wrong method), has the same shape.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field, or one invalid row of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct FieldError {
    /// Zero-based position of the row in a batch; absent for single resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 100000)]
    pub index: Option<u32>,
    /// For a CSV batch: the line of the file the row starts on (the header is line 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 10000000)]
    pub line: Option<u64>,
    /// The field, as a JSON path below the body (`school.urn`).
    #[schema(max_length = 200)]
    pub field: String,
    /// Why the value was refused.
    #[schema(max_length = 500)]
    pub reason: String,
}

impl FieldError {
    /// An error about one field of a single resource.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { index: None, line: None, field: field.into(), reason: reason.into() }
    }

    /// An error about one field of one row of a batch.
    pub fn row(index: usize, line: Option<u64>, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { index: Some(index as u32), line, field: field.into(), reason: reason.into() }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[schema(max_length = 200, example = "https://virtual-school.example/problems/validation")]
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem.
    #[schema(max_length = 200, example = "Validation failed")]
    pub title: String,
    /// The HTTP status code.
    #[schema(minimum = 400, maximum = 599, example = 422)]
    pub status: u16,
    /// What went wrong with this request, in words for a developer.
    #[schema(max_length = 2000)]
    pub detail: String,
    /// The request id (also in `X-Request-Id`), to quote when reporting the problem.
    #[schema(max_length = 64, pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub instance: String,
    /// Every invalid field or row, when the problem is a validation failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 100000)]
    pub errors: Option<Vec<FieldError>>,
}

/// Everything that can go wrong in a request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request cannot be read (bad JSON, unknown field, bad parameter).
    #[error("{0}")]
    BadRequest(String),
    /// 401: a bearer token was sent and is not acceptable.
    #[error("{0}")]
    Unauthorized(String),
    /// 401: no bearer token was sent (the challenge then carries no error code, RFC 6750 §3.1).
    #[error("{0}")]
    Unauthenticated(String),
    /// 403: the caller's roles do not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such resource (or not in the caller's caseload).
    #[error("{0}")]
    NotFound(String),
    /// 405: the path exists, the method does not.
    #[error("{method} is not allowed here")]
    MethodNotAllowed {
        /// The method that was used.
        method: String,
        /// The methods the path accepts, for the `Allow` header.
        allow: Vec<String>,
    },
    /// 406: no representation the `Accept` header allows.
    #[error("{0}")]
    NotAcceptable(String),
    /// 409: conflicts with the stored state.
    #[error("{0}")]
    Conflict(String),
    /// 412: `If-Match` does not match the current version.
    #[error("{0}")]
    PreconditionFailed(String),
    /// 413: the body is larger than the limit.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 413 with a particular explanation (a batch with too many rows).
    #[error("{0}")]
    TooLarge(String),
    /// 415: the body is not in a media type this endpoint reads.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: the body was read but its values break the rules.
    #[error("{detail}")]
    Validation {
        /// A summary.
        detail: String,
        /// Every bad field or row.
        errors: Vec<FieldError>,
    },
    /// 428: a write needs `If-Match`.
    #[error("{0}")]
    PreconditionRequired(String),
    /// 503: a dependency (the database) is not available.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 500: a fault. The cause is logged with the request id and never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 500 whose cause is logged, never shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// A 422 with one or more field errors.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let rows = {
            let mut r: Vec<u32> = errors.iter().filter_map(|e| e.index).collect();
            r.dedup();
            r.len()
        };
        let detail = match (errors.len(), rows) {
            (1, _) => "1 field is invalid".to_owned(),
            (n, 0) => format!("{n} fields are invalid"),
            (n, 1) => format!("{n} fields in 1 row are invalid; nothing was stored"),
            (n, r) => format!("{n} fields in {r} rows are invalid; nothing was stored"),
        };
        Self::Validation { detail, errors }
    }

    /// The slug and title of each kind of problem.
    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            Self::BadRequest(_) => ("bad-request", "Bad request"),
            Self::Unauthorized(_) | Self::Unauthenticated(_) => ("unauthorized", "Authentication required"),
            Self::Forbidden(_) => ("forbidden", "Forbidden"),
            Self::NotFound(_) => ("not-found", "Not found"),
            Self::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
            Self::NotAcceptable(_) => ("not-acceptable", "Not acceptable"),
            Self::Conflict(_) => ("conflict", "Conflict"),
            Self::PreconditionFailed(_) => ("precondition-failed", "Precondition failed"),
            Self::PayloadTooLarge { .. } | Self::TooLarge(_) => ("payload-too-large", "Payload too large"),
            Self::UnsupportedMediaType(_) => ("unsupported-media-type", "Unsupported media type"),
            Self::Validation { .. } => ("validation", "Validation failed"),
            Self::PreconditionRequired(_) => ("precondition-required", "Precondition required"),
            Self::Unavailable(_) => ("unavailable", "Service unavailable"),
            Self::Internal(_) => ("internal", "Internal server error"),
        }
    }

    /// The problem document for this error, naming `request_id` as its instance.
    pub fn to_problem(&self, request_id: &str) -> Problem {
        let (slug, title) = self.kind();
        let detail = match self {
            // Causes of faults and outages stay in the log.
            Self::Internal(_) => "an unexpected error occurred; quote the instance when reporting it".to_owned(),
            Self::Unavailable(_) => "the database is not reachable; try again shortly".to_owned(),
            other => other.to_string(),
        };
        Problem {
            problem_type: format!("https://virtual-school.example/problems/{slug}"),
            title: title.to_owned(),
            status: self.status_code().as_u16(),
            detail,
            instance: request_id.to_owned(),
            errors: match self {
                Self::Validation { errors, .. } => Some(errors.clone()),
                _ => None,
            },
        }
    }

    /// The full response: status, problem body and the headers the status calls for.
    pub fn to_response(&self, request_id: &str) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.content_type(PROBLEM_JSON);
        match self {
            Self::Unauthorized(_) => {
                res.insert_header((
                    header::WWW_AUTHENTICATE,
                    r#"Bearer realm="virtual-school", error="invalid_token""#,
                ));
            }
            Self::Unauthenticated(_) => {
                res.insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="virtual-school""#));
            }
            Self::MethodNotAllowed { allow, .. } => {
                res.insert_header((header::ALLOW, allow.join(", ")));
            }
            Self::Unavailable(_) => {
                res.insert_header((header::RETRY_AFTER, "5"));
            }
            _ => {}
        }
        res.json(self.to_problem(request_id))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) | Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge { .. } | Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Rendered without a request id; the request-context middleware re-renders it with one.
    fn error_response(&self) -> HttpResponse {
        self.to_response("unknown")
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => Self::NotFound("no such resource".into()),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                Self::Conflict("a resource with the same unique key already exists".into())
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                Self::Unavailable(info.message().to_owned())
            }
            other => Self::internal(other),
        }
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::internal(e)
    }
}

/// Maps actix's JSON body errors onto precise problems.
pub fn json_error(err: actix_web::error::JsonPayloadError, limit: usize) -> ApiError {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::OverflowKnownLength { .. } | E::Overflow { .. } => ApiError::PayloadTooLarge { limit },
        E::ContentType => {
            ApiError::UnsupportedMediaType("the body must be JSON, sent with Content-Type: application/json".into())
        }
        E::Deserialize(e) => json_body_error(&e),
        E::Serialize(e) => ApiError::internal(e),
        E::Payload(actix_web::error::PayloadError::Overflow) => ApiError::PayloadTooLarge { limit },
        other => ApiError::BadRequest(format!("the body could not be read: {other}")),
    }
}

/// A body that is not JSON, or JSON of the wrong shape (an unknown field, a wrong type), as a 400.
pub fn json_body_error(e: &serde_json::Error) -> ApiError {
    if e.is_data() {
        ApiError::BadRequest(format!("the JSON body does not match the expected shape: {e}"))
    } else {
        ApiError::BadRequest(format!("the body is not valid JSON: {e}"))
    }
}

/// Maps a bad path segment onto a 400.
pub fn path_error(err: actix_web::error::PathError) -> ApiError {
    ApiError::BadRequest(format!("a path parameter is invalid: {err}"))
}

/// Maps a bad query string onto a 400.
pub fn query_error(err: actix_web::error::QueryPayloadError) -> ApiError {
    ApiError::BadRequest(format!("a query parameter is invalid: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_never_show_their_cause() {
        let p = ApiError::internal("relation \"children\" does not exist").to_problem("req-1");
        assert_eq!(p.status, 500);
        assert!(!p.detail.contains("relation"));
        assert_eq!(p.instance, "req-1");
    }

    #[test]
    fn validation_lists_every_field() {
        let e = ApiError::validation(vec![
            FieldError::new("upn", "bad check letter"),
            FieldError::new("sex", "unknown code"),
        ]);
        let p = e.to_problem("r");
        assert_eq!(p.status, 422);
        assert_eq!(p.errors.as_ref().map(Vec::len), Some(2));
        assert_eq!(p.detail, "2 fields are invalid");
    }
}
