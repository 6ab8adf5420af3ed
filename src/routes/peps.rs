//! PEPs: `/api/v1/peps`, pushed by the ePEP provider on sign-off and read within the child's caseload.

use crate::auth::AuthUser;
use crate::db::peps_repo::{PepFilter, RevisionRow};
use crate::db::Pool;
use crate::domain::pep::{self, PepContent, PepInput};
use crate::domain::terms::{AcademicYear, Term};
use crate::error::{ApiError, FieldError, Problem};
use crate::pagination::{self, Cursors};
use crate::routes::lac_batches::PageQuery;
use crate::services::idempotency::{self, IdempotencyKey};
use crate::services::peps::{self, NewReview, PepRecord, Pushed};
use crate::services::policy::Policy;
use actix_web::http::{header, StatusCode};
use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The latest quality review.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QualityReviewView {
    /// `red`, `amber` or `green`.
    #[schema(max_length = 5, pattern = "^(red|amber|green)$")]
    pub rating: String,
    /// The reviewer's comments.
    #[schema(max_length = 5000)]
    pub comments: Option<String>,
    /// The reviewer (token `sub`).
    #[schema(max_length = 255)]
    pub reviewed_by: String,
    /// When.
    pub reviewed_at: DateTime<Utc>,
    /// The revision reviewed.
    #[schema(minimum = 1, maximum = 1000000)]
    pub revision: i64,
}

/// A PEP: its latest revision, with what the service knows about it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Pep {
    /// Our id.
    pub id: uuid::Uuid,
    /// The provider's id.
    #[schema(max_length = 64)]
    pub external_id: String,
    /// The latest revision.
    #[schema(minimum = 1, maximum = 1000000)]
    pub revision: i64,
    /// The child.
    pub child_id: uuid::Uuid,
    /// The latest revision's content.
    #[serde(flatten)]
    pub content: PepContent,
    /// The date this PEP was owed by when first signed off (the event-driven PEP it settled, or its term's
    /// deadline), if any was owed.
    pub deadline: Option<NaiveDate>,
    /// Whether it was first signed off after `deadline`.
    pub signed_off_late: bool,
    /// The latest quality rating: `red`, `amber` or `green`.
    #[schema(max_length = 5)]
    pub quality_rating: Option<String>,
    /// The latest quality review.
    pub quality_review: Option<QualityReviewView>,
    /// When the social worker confirmed the signed copy of this revision is on LCS.
    pub lcs_upload_confirmed_at: Option<DateTime<Utc>>,
    /// Who confirmed it.
    #[schema(max_length = 255)]
    pub lcs_upload_confirmed_by: Option<String>,
    /// First received.
    pub created_at: DateTime<Utc>,
    /// Last changed (a revision, review or upload confirmation).
    pub updated_at: DateTime<Utc>,
}

impl From<&PepRecord> for Pep {
    fn from(r: &PepRecord) -> Self {
        let row = &r.row;
        Self {
            id: uuid::Uuid::parse_str(&row.id).unwrap_or_default(),
            external_id: row.external_id.clone(),
            revision: row.revision,
            child_id: uuid::Uuid::parse_str(&row.child_id).unwrap_or_default(),
            content: r.content.clone(),
            deadline: row.deadline,
            signed_off_late: row.signed_off_late,
            quality_rating: row.quality_rating.clone(),
            quality_review: r.review.as_ref().map(|v| QualityReviewView {
                rating: v.rating.clone(),
                comments: v.comments.clone(),
                reviewed_by: v.reviewed_by.clone(),
                reviewed_at: v.reviewed_at.and_utc(),
                revision: v.revision,
            }),
            lcs_upload_confirmed_at: row.lcs_upload_confirmed_at.map(|t| t.and_utc()),
            lcs_upload_confirmed_by: row.lcs_upload_confirmed_by.clone(),
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        }
    }
}

fn location_of(r: &PepRecord) -> String {
    format!("/api/v1/peps/{}", r.row.id)
}

fn pep_response(status: StatusCode, r: &PepRecord) -> HttpResponse {
    HttpResponse::build(status).insert_header((header::ETAG, r.etag())).json(Pep::from(r))
}

/// Receives a signed-off PEP (`epep`, `vs_admin`), keyed by `external_id`. New: 201. The same revision and content
/// again: 200, unchanged. A higher revision: 200, replacing it and keeping the earlier revision in its history. A
/// lower revision, or the same revision with different content: 409. An unknown child: 422, nothing stored.
///
/// A sign-off moves the child's `pep_status` and `next_pep_due_on` on (settling an initial or change-of-school PEP
/// met on or after its event, and the term's PEP), notifies the social worker of the PEP and of every open action
/// owned by `social_worker`, and notifies the VSO when it was signed off after its deadline.
#[utoipa::path(
    tag = "peps",
    operation_id = "pushPep",
    params(("Idempotency-Key" = Option<String>, Header, max_length = 255,
        description = "Makes a retry safe: the same key and body answer exactly as the first time")),
    request_body = PepInput,
    responses(
        (status = 201, description = "A new PEP", body = Pep,
            headers(("Location" = String, description = "/api/v1/peps/{pep_id}"), ("ETag" = String, description = "Version tag"))),
        (status = 200, description = "A higher revision applied, or the same content again (nothing changed)", body = Pep,
            headers(("Location" = String, description = "/api/v1/peps/{pep_id}"), ("ETag" = String, description = "Version tag"))),
        (status = 400, description = "Malformed JSON, an unknown field, or a bad Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An older revision, the same revision with different content, or an external_id of another child", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or an unknown child, every one listed; nothing stored", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/peps")]
pub async fn push_pep(
    user: AuthUser,
    pool: web::Data<Pool>,
    policy: web::Data<Policy>,
    req: HttpRequest,
    body: web::Json<PepInput>,
) -> Result<HttpResponse, ApiError> {
    user.require_any(peps::PUSHERS, "pep.push", "pep").await?;
    let input = body.into_inner();
    let key = IdempotencyKey::from_request(&user, req.headers().get("idempotency-key"), "POST", req.path(), &input)?;
    if let Some(key) = &key {
        if let Some(stored) = key.replay(&pool).await? {
            return Ok(idempotency::respond(stored));
        }
    }
    let submission = pep::validate(input, &policy.pep.terms, policy.now())
        .map_err(|errors| ApiError::validation(errors.into_iter().map(|(f, r)| FieldError::new(f, r)).collect()))?;
    let store: Option<peps::InTransaction> = key.map(|key| {
        Box::new(move |conn: &mut crate::db::DbConnection, pushed: &Pushed| {
            let (status, r) = match pushed {
                Pushed::Created(r) => (201, r),
                Pushed::Revised(r) | Pushed::Unchanged(r) => (200, r),
            };
            key.store(conn, status, &Pep::from(r), Some(location_of(r)), Some(r.etag()))
        }) as peps::InTransaction
    });
    let (status, record) = match peps::push(&pool, &user, &policy, submission, store).await? {
        Pushed::Created(r) => (StatusCode::CREATED, r),
        Pushed::Revised(r) | Pushed::Unchanged(r) => (StatusCode::OK, r),
    };
    let mut res = pep_response(status, &record);
    res.headers_mut()
        .insert(header::LOCATION, header::HeaderValue::from_str(&location_of(&record)).map_err(ApiError::internal)?);
    Ok(res)
}

/// PEP list filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PepQuery {
    /// Only this child's PEPs.
    pub child_id: Option<uuid::Uuid>,
    /// Like `2026-27`.
    #[param(max_length = 7, pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub academic_year: Option<String>,
    /// `autumn`, `spring` or `summer`.
    #[param(max_length = 6, pattern = "^(autumn|spring|summer)$")]
    pub term: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    #[param(max_length = 512)]
    pub cursor: Option<String>,
}

/// A page of PEPs.
#[derive(Debug, Serialize, ToSchema)]
pub struct PepPage {
    /// In the order they were first received.
    #[schema(max_items = 200)]
    pub items: Vec<Pep>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(max_length = 512)]
    pub next_cursor: Option<String>,
}

/// The PEPs the caller may read: people within their caseload (`vso` and `vs_admin` all), `epep` those it pushed.
/// Filters combine.
#[utoipa::path(
    tag = "peps",
    operation_id = "listPeps",
    params(PepQuery),
    responses(
        (status = 200, description = "A page of PEPs", body = PepPage),
        (status = 400, description = "A filter, `limit` or `cursor` is invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/peps")]
pub async fn list_peps(
    user: AuthUser,
    pool: web::Data<Pool>,
    cursors: web::Data<Cursors>,
    query: web::Query<PepQuery>,
) -> Result<web::Json<PepPage>, ApiError> {
    user.require_any(peps::READERS, "pep.list", "pep").await?;
    let q = query.into_inner();
    let mut errors = Vec::new();
    if let Some(y) = q.academic_year.as_deref() {
        if let Err(r) = AcademicYear::parse(y) {
            errors.push(FieldError::new("academic_year", r));
        }
    }
    if q.term.as_deref().is_some_and(|t| Term::parse(t).is_none()) {
        errors.push(FieldError::new("term", "must be autumn, spring or summer"));
    }
    if !errors.is_empty() {
        return Err(ApiError::BadRequest(
            errors.iter().map(|e| format!("{} {}", e.field, e.reason)).collect::<Vec<_>>().join("; "),
        ));
    }
    let limit = pagination::limit(q.limit)?;
    let filter =
        PepFilter { child_id: q.child_id.map(|c| c.to_string()), academic_year: q.academic_year, term: q.term };
    let binding = (&filter, &user.sub);
    let after: Option<String> = cursors.after("peps", &binding, q.cursor.as_deref())?;
    let (records, more) = peps::list(&pool, &user, filter.clone(), after, limit).await?;
    let next_cursor = cursors.next("peps", &binding, (&records, more), |last| last.row.id.clone())?;
    Ok(web::Json(PepPage { items: records.iter().map(Pep::from).collect(), next_cursor }))
}

/// One PEP the caller may read. Answers 304 to a matching `If-None-Match`.
#[utoipa::path(
    tag = "peps",
    operation_id = "getPep",
    params(("pep_id" = uuid::Uuid, Path, description = "The PEP's id"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier read", max_length = 200)),
    responses(
        (status = 200, description = "The PEP", body = Pep, headers(("ETag" = String, description = "Version tag"))),
        (status = 304, description = "Unchanged since the given ETag"),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such PEP that you may read", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/peps/{pep_id}")]
pub async fn get_pep(
    user: AuthUser,
    pool: web::Data<Pool>,
    path: web::Path<uuid::Uuid>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let record = peps::get(&pool, &user, &path.into_inner().to_string()).await?;
    let etag = record.etag();
    if super::none_match(req.headers(), &etag) {
        return Ok(HttpResponse::NotModified().insert_header((header::ETAG, etag)).finish());
    }
    Ok(pep_response(StatusCode::OK, &record))
}

/// One revision of a PEP, as received.
#[derive(Debug, Serialize, ToSchema)]
pub struct PepRevision {
    /// The revision number.
    #[schema(minimum = 1, maximum = 1000000)]
    pub revision: i64,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// Who pushed it (token `sub`).
    #[schema(max_length = 255)]
    pub pushed_by: String,
    /// The revision's content.
    #[serde(flatten)]
    pub content: PepContent,
}

impl TryFrom<RevisionRow> for PepRevision {
    type Error = ApiError;

    fn try_from(r: RevisionRow) -> Result<Self, ApiError> {
        let content: PepContent = serde_json::from_str(&r.content).map_err(ApiError::internal)?;
        Ok(Self { revision: r.revision, received_at: r.received_at.and_utc(), pushed_by: r.pushed_by, content })
    }
}

/// A page of revisions.
#[derive(Debug, Serialize, ToSchema)]
pub struct PepRevisionPage {
    /// Oldest first; the last is the PEP as it stands.
    #[schema(max_items = 200)]
    pub items: Vec<PepRevision>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(max_length = 512)]
    pub next_cursor: Option<String>,
}

/// Every revision of a PEP as received, oldest first (whoever may read the PEP).
#[utoipa::path(
    tag = "peps",
    operation_id = "listPepRevisions",
    params(("pep_id" = uuid::Uuid, Path, description = "The PEP's id"), PageQuery),
    responses(
        (status = 200, description = "A page of revisions", body = PepRevisionPage),
        (status = 400, description = "Bad id, `limit` or `cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such PEP that you may read", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/peps/{pep_id}/revisions")]
pub async fn list_pep_revisions(
    user: AuthUser,
    pool: web::Data<Pool>,
    cursors: web::Data<Cursors>,
    path: web::Path<uuid::Uuid>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<PepRevisionPage>, ApiError> {
    let id = path.into_inner().to_string();
    let q = query.into_inner();
    let limit = pagination::limit(q.limit)?;
    let after: Option<i64> = cursors.after("pep_revisions", &id, q.cursor.as_deref())?;
    let (rows, more) = peps::revisions(&pool, &user, &id, after, limit).await?;
    let next_cursor = cursors.next("pep_revisions", &id, (&rows, more), |last| last.revision)?;
    let items = rows.into_iter().map(PepRevision::try_from).collect::<Result<Vec<_>, _>>()?;
    Ok(web::Json(PepRevisionPage { items, next_cursor }))
}

/// A quality review as sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QualityReviewInput {
    /// `red`, `amber` or `green`.
    #[schema(max_length = 5, pattern = "^(red|amber|green)$")]
    pub rating: Option<String>,
    /// Comments (at most 5,000 characters).
    #[schema(max_length = 5000)]
    pub comments: Option<String>,
}

/// Rates the quality of a PEP (`vso`, `vs_admin`). Every review is kept; the latest shows on the PEP as
/// `quality_rating` and `quality_review`. Replacing an earlier review needs `If-Match` with the PEP's `ETag`. A
/// `red` rating notifies the VSO and the social worker.
#[utoipa::path(
    tag = "peps",
    operation_id = "reviewPepQuality",
    params(("pep_id" = uuid::Uuid, Path, description = "The PEP's id"),
        ("If-Match" = Option<String>, Header, max_length = 200,
            description = "The PEP's ETag: required when it already has a review, checked whenever sent")),
    request_body = QualityReviewInput,
    responses(
        (status = 201, description = "The first review of this PEP; the PEP with it", body = Pep, headers(("ETag" = String, description = "The PEP's new version tag"))),
        (status = 200, description = "A new review replacing the latest; the PEP with it", body = Pep, headers(("ETag" = String, description = "The PEP's new version tag"))),
        (status = 400, description = "Malformed JSON, an unknown field, or a bad id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such PEP", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match does not name the PEP's current version", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, every one listed", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "The PEP has a review and If-Match is missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/peps/{pep_id}/quality-review")]
pub async fn review_pep_quality(
    user: AuthUser,
    pool: web::Data<Pool>,
    path: web::Path<uuid::Uuid>,
    req: HttpRequest,
    body: web::Json<QualityReviewInput>,
) -> Result<HttpResponse, ApiError> {
    user.require_any(peps::REVIEWERS, "pep.quality_review", "pep").await?;
    let input = body.into_inner();
    let mut errors = Vec::new();
    let rating = match input.rating.as_deref() {
        Some(r @ ("red" | "amber" | "green")) => Some(r.to_owned()),
        Some(_) => {
            errors.push(FieldError::new("rating", "must be red, amber or green"));
            None
        }
        None => {
            errors.push(FieldError::new("rating", "is required"));
            None
        }
    };
    let comments = input.comments.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    if comments.as_ref().is_some_and(|c| c.chars().count() > 5000) {
        errors.push(FieldError::new("comments", "must be at most 5,000 characters"));
    }
    let (Some(rating), true) = (rating, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let if_match = super::entity_tags(req.headers(), header::IF_MATCH);
    let (record, first) =
        peps::review(&pool, &user, &path.into_inner().to_string(), if_match, NewReview { rating, comments }).await?;
    Ok(pep_response(if first { StatusCode::CREATED } else { StatusCode::OK }, &record))
}

/// Confirms the signed copy of the PEP's latest revision is on the child's LCS record (the child's social worker,
/// `vs_admin`). Idempotent: confirming again changes nothing. A new revision needs a new confirmation.
#[utoipa::path(
    tag = "peps",
    operation_id = "confirmPepLcsUpload",
    params(("pep_id" = uuid::Uuid, Path, description = "The PEP's id")),
    responses(
        (status = 200, description = "Confirmed (now or before); the PEP", body = Pep, headers(("ETag" = String, description = "Version tag"))),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such PEP of a child on your caseload", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/peps/{pep_id}/lcs-upload")]
pub async fn confirm_pep_lcs_upload(
    user: AuthUser,
    pool: web::Data<Pool>,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    let record = peps::confirm_lcs_upload(&pool, &user, &path.into_inner().to_string()).await?;
    Ok(pep_response(StatusCode::OK, &record))
}
