//! Notices about a child: `/api/v1/children/{child_id}/notices`.

use crate::auth::AuthUser;
use crate::db::notices_repo::NoticeRow;
use crate::db::Pool;
use crate::domain::child as rules;
use crate::error::{ApiError, FieldError, Problem};
use crate::pagination::{self, Cursors};
use crate::routes::lac_batches::PageQuery;
use crate::services::notices::{self, NewNotice, KINDS};
use crate::services::policy::Policy;
use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The new school, for `school_change`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSchool {
    /// URN: 6 or 7 digits.
    #[schema(max_length = 7, pattern = "^[0-9]{6,7}$", example = "100002")]
    pub urn: Option<String>,
    /// The school's name.
    #[schema(max_length = 200, example = "Example Academy")]
    pub name: Option<String>,
}

/// A notice as sent.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeInput {
    /// What it is about.
    #[schema(
        max_length = 30,
        pattern = "^(placement_change|placement_breakdown_risk|school_change|health_change|behaviour_change|engagement_change|meeting|document_shared|school_communication|case_transfer)$"
    )]
    pub kind: Option<String>,
    /// One line (required, at most 500 characters). Notifications carry it, so keep names out of it.
    #[schema(max_length = 500, example = "Placement ends on Friday; new carer found in the same area")]
    pub summary: Option<String>,
    /// More detail (at most 5,000 characters).
    #[schema(max_length = 5000)]
    pub details: Option<String>,
    /// When it happens or happened (`YYYY-MM-DD`).
    #[schema(format = Date, max_length = 10)]
    pub effective_on: Option<String>,
    /// For `case_transfer` (required there, refused elsewhere): the new social worker's token `sub`.
    #[schema(max_length = 255)]
    pub new_social_worker_id: Option<String>,
    /// For `school_change` (required there, refused elsewhere).
    pub new_school: Option<NewSchool>,
}

fn to_notice(input: NoticeInput, today: NaiveDate) -> Result<NewNotice, ApiError> {
    let mut errors = Vec::new();
    let mut fail = |f: &str, r: &str| errors.push(FieldError::new(f, r));
    let kind = match input.kind {
        None => {
            fail("kind", "is required");
            None
        }
        Some(k) if KINDS.contains(&k.as_str()) => Some(k),
        Some(_) => {
            fail("kind", &format!("must be one of: {}", KINDS.join(", ")));
            None
        }
    };
    let summary = match input.summary.as_deref().map(str::trim) {
        None | Some("") => {
            fail("summary", "is required");
            None
        }
        Some(s) if s.chars().count() > 500 => {
            fail("summary", "must be at most 500 characters");
            None
        }
        Some(s) if s.chars().any(char::is_control) => {
            fail("summary", "must be one line without control characters");
            None
        }
        Some(s) => Some(s.to_owned()),
    };
    let details = input.details.filter(|d| !d.trim().is_empty());
    if details.as_ref().is_some_and(|d| d.chars().count() > 5000) {
        fail("details", "must be at most 5,000 characters");
    }
    let effective_on = match input.effective_on.as_deref() {
        None => {
            fail("effective_on", "is required");
            None
        }
        Some(v) => match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            Ok(d) if v.len() == 10 => {
                let horizon = today + chrono::Duration::days(366);
                if d > horizon {
                    fail("effective_on", "must be within a year from today");
                }
                Some(d)
            }
            _ => {
                fail("effective_on", "must be a date written YYYY-MM-DD");
                None
            }
        },
    };
    let transfer = kind.as_deref() == Some("case_transfer");
    let school_change = kind.as_deref() == Some("school_change");
    let new_social_worker_id = match (input.new_social_worker_id, transfer) {
        (None, true) => {
            fail("new_social_worker_id", "is required for case_transfer");
            None
        }
        (Some(_), false) => {
            fail("new_social_worker_id", "is only for case_transfer");
            None
        }
        (Some(s), true) => match rules::check_staff_id(&s) {
            Ok(()) => Some(s),
            Err(r) => {
                fail("new_social_worker_id", r);
                None
            }
        },
        (None, false) => None,
    };
    let new_school = match (input.new_school, school_change) {
        (None, true) => {
            fail("new_school", "is required for school_change");
            None
        }
        (Some(_), false) => {
            fail("new_school", "is only for school_change");
            None
        }
        (Some(s), true) => {
            let urn = match s.urn.as_deref().map(rules::check_urn) {
                None => {
                    fail("new_school.urn", "is required");
                    None
                }
                Some(Err(r)) => {
                    fail("new_school.urn", r);
                    None
                }
                Some(Ok(())) => s.urn.clone(),
            };
            let name = match s.name.as_deref().map(str::trim) {
                Some(n) if !n.is_empty() && n.chars().count() <= 200 && !n.chars().any(char::is_control) => {
                    Some(n.to_owned())
                }
                _ => {
                    fail("new_school.name", "is required: 1 to 200 characters");
                    None
                }
            };
            urn.zip(name)
        }
        (None, false) => None,
    };
    match (kind, summary, effective_on, errors.is_empty()) {
        (Some(kind), Some(summary), Some(effective_on), true) => {
            Ok(NewNotice { kind, summary, details, effective_on, new_social_worker_id, new_school })
        }
        _ => Err(ApiError::validation(errors)),
    }
}

/// A stored notice.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeView {
    /// Its id.
    pub id: uuid::Uuid,
    /// The child.
    pub child_id: uuid::Uuid,
    /// What it is about.
    #[schema(max_length = 30)]
    pub kind: String,
    /// One line.
    #[schema(max_length = 500)]
    pub summary: String,
    /// More detail.
    #[schema(max_length = 5000)]
    pub details: Option<String>,
    /// When it happens or happened.
    pub effective_on: NaiveDate,
    /// For `case_transfer`.
    #[schema(max_length = 255)]
    pub new_social_worker_id: Option<String>,
    /// For `school_change`.
    pub new_school: Option<NewSchool>,
    /// Who sent it (token `sub`).
    #[schema(max_length = 255)]
    pub sent_by: String,
    /// The notifications it created.
    #[schema(max_items = 10)]
    pub notification_ids: Vec<uuid::Uuid>,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
}

impl From<NoticeRow> for NoticeView {
    fn from(r: NoticeRow) -> Self {
        let ids: Vec<String> = serde_json::from_str(&r.notification_ids).unwrap_or_default();
        Self {
            id: uuid::Uuid::parse_str(&r.id).unwrap_or_default(),
            child_id: uuid::Uuid::parse_str(&r.child_id).unwrap_or_default(),
            kind: r.kind,
            summary: r.summary,
            details: r.details,
            effective_on: r.effective_on,
            new_social_worker_id: r.new_social_worker_id,
            new_school: match (r.new_school_urn, r.new_school_name) {
                (None, None) => None,
                (urn, name) => Some(NewSchool { urn, name }),
            },
            sent_by: r.sent_by,
            notification_ids: ids.iter().filter_map(|i| uuid::Uuid::parse_str(i).ok()).collect(),
            created_at: r.created_at.and_utc(),
        }
    }
}

/// Tells the Virtual School about a change that affects the child's education (the child's social worker,
/// `vso`, `vs_admin`). Notifies the VSO (or the `vs_admin` team); placement and school kinds also the SEN
/// caseworker of a child with an EHCP; `case_transfer` moves the child to the new social worker; `school_change`
/// moves the child's school and sets a new PEP due date 10 working days after `effective_on`.
#[utoipa::path(
    tag = "notices",
    operation_id = "sendNotice",
    params(("child_id" = uuid::Uuid, Path, description = "The child's id")),
    request_body = NoticeInput,
    responses(
        (status = 201, description = "Sent; `notification_ids` lists who was told", body = NoticeView,
            headers(("Location" = String, description = "/api/v1/children/{child_id}/notices/{notice_id}"))),
        (status = 400, description = "Malformed JSON, an unknown field, or a bad id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such child on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The child changed while the notice was applied", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, every one listed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/children/{child_id}/notices")]
pub async fn send_notice(
    user: AuthUser,
    pool: web::Data<Pool>,
    policy: web::Data<Policy>,
    path: web::Path<uuid::Uuid>,
    body: web::Json<NoticeInput>,
) -> Result<HttpResponse, ApiError> {
    user.require_any(notices::SENDERS, "notice.create", "notice").await?;
    let child_id = path.into_inner().to_string();
    let notice = to_notice(body.into_inner(), policy.today())?;
    let row = notices::send(&pool, &user, &policy, &child_id, notice).await?;
    let location = format!("/api/v1/children/{child_id}/notices/{}", row.id);
    Ok(HttpResponse::Created().insert_header((header::LOCATION, location)).json(NoticeView::from(row)))
}

/// A page of notices.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticePage {
    /// Newest first.
    #[schema(max_items = 200)]
    pub items: Vec<NoticeView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(max_length = 512)]
    pub next_cursor: Option<String>,
}

/// A child's notices, newest first (anyone who may read the child).
#[utoipa::path(
    tag = "notices",
    operation_id = "listNotices",
    params(("child_id" = uuid::Uuid, Path, description = "The child's id"), PageQuery),
    responses(
        (status = 200, description = "A page of notices", body = NoticePage),
        (status = 400, description = "Bad id, `limit` or `cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such child on your caseload", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/children/{child_id}/notices")]
pub async fn list_notices(
    user: AuthUser,
    pool: web::Data<Pool>,
    cursors: web::Data<Cursors>,
    path: web::Path<uuid::Uuid>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<NoticePage>, ApiError> {
    let child_id = path.into_inner().to_string();
    let q = query.into_inner();
    let limit = pagination::limit(q.limit)?;
    let before: Option<String> = cursors.after("notices", &child_id, q.cursor.as_deref())?;
    let (rows, more) = notices::list(&pool, &user, &child_id, before, limit).await?;
    let next_cursor = cursors.next("notices", &child_id, (&rows, more), |last| last.id.clone())?;
    Ok(web::Json(NoticePage { items: rows.into_iter().map(Into::into).collect(), next_cursor }))
}

/// One notice of a child (anyone who may read the child).
#[utoipa::path(
    tag = "notices",
    operation_id = "getNotice",
    params(("child_id" = uuid::Uuid, Path, description = "The child's id"),
        ("notice_id" = uuid::Uuid, Path, description = "The notice's id")),
    responses(
        (status = 200, description = "The notice", body = NoticeView),
        (status = 400, description = "A bad id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such child on your caseload, or no such notice", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/children/{child_id}/notices/{notice_id}")]
pub async fn get_notice(
    user: AuthUser,
    pool: web::Data<Pool>,
    path: web::Path<(uuid::Uuid, uuid::Uuid)>,
) -> Result<web::Json<NoticeView>, ApiError> {
    let (child_id, notice_id) = path.into_inner();
    let row = notices::get(&pool, &user, &child_id.to_string(), &notice_id.to_string()).await?;
    Ok(web::Json(row.into()))
}
