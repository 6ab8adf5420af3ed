//! Pupil Premium Plus over HTTP: `/api/v1/pupil-premium-plus/budgets/{academic_year}` and
//! `/api/v1/pupil-premium-plus/allocations`. Money is integer pence in every body.

use crate::auth::AuthUser;
use crate::db::pp_repo::{AllocationFilter, AllocationRow};
use crate::db::Pool;
use crate::domain::child as rules;
use crate::domain::pupil_premium_plus::{self as pp, Status, RATINGS};
use crate::domain::terms::{AcademicYear, Term};
use crate::error::{ApiError, FieldError, Problem};
use crate::pagination::{self, Cursors};
use crate::services::audit::Outcome;
use crate::services::idempotency::{self, IdempotencyKey};
use crate::services::policy::Policy;
use crate::services::pupil_premium_plus::{
    self as service, AllocationDraft, BudgetDraft, BudgetRecord, Decision, Impact, Payment,
};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A year's budget, as sent. Every field is required.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetInput {
    /// The year's PP+ grant in pence, 0 to 100,000,000,000 (£1bn).
    #[schema(minimum = 0, maximum = 100_000_000_000_i64, example = 26_300_000)]
    pub grant_pence: Option<i64>,
    /// The per-child rate in pence, 1 to 1,000,000 (£10,000); e.g. 263,000 (£2,630) in 2025-26.
    #[schema(minimum = 1, maximum = 1_000_000, example = 263_000)]
    pub rate_pence: Option<i64>,
    /// Eligible looked-after children counted for the grant, 0 to 100,000.
    #[schema(minimum = 0, maximum = 100_000, example = 100)]
    pub eligible_children: Option<i64>,
    /// What the Virtual School Head keeps centrally, in pence: 0 to `grant_pence`.
    #[schema(minimum = 0, maximum = 100_000_000_000_i64, example = 2_630_000)]
    pub central_retention_pence: Option<i64>,
}

/// A year's budget and its spending.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BudgetView {
    /// The academic year, `2026-27`.
    #[schema(max_length = 7, pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub academic_year: String,
    /// The grant, in pence.
    #[schema(minimum = 0, maximum = 100_000_000_000_i64)]
    pub grant_pence: i64,
    /// The per-child rate, in pence.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub rate_pence: i64,
    /// Eligible children counted for the grant.
    #[schema(minimum = 0, maximum = 100_000)]
    pub eligible_children: i64,
    /// Kept centrally, in pence.
    #[schema(minimum = 0, maximum = 100_000_000_000_i64)]
    pub central_retention_pence: i64,
    /// Approved and paid allocations of the year, in pence.
    #[schema(minimum = 0, maximum = 100_000_000_000_i64)]
    pub approved_pence: i64,
    /// Paid allocations of the year, in pence.
    #[schema(minimum = 0, maximum = 100_000_000_000_i64)]
    pub paid_pence: i64,
    /// `grant_pence` less `central_retention_pence` less `approved_pence`: what approvals may still take.
    #[schema(minimum = 0, maximum = 100_000_000_000_i64)]
    pub remaining_pence: i64,
    /// Who last set it (token `sub`).
    #[schema(max_length = 255)]
    pub updated_by: String,
    /// When it was first set.
    pub created_at: DateTime<Utc>,
    /// When it was last set.
    pub updated_at: DateTime<Utc>,
}

impl From<&BudgetRecord> for BudgetView {
    fn from(r: &BudgetRecord) -> Self {
        Self {
            academic_year: r.row.academic_year.clone(),
            grant_pence: r.row.grant_pence,
            rate_pence: r.row.rate_pence,
            eligible_children: r.row.eligible_children,
            central_retention_pence: r.row.central_retention_pence,
            approved_pence: r.approved_pence,
            paid_pence: r.paid_pence,
            remaining_pence: r.remaining_pence(),
            updated_by: r.row.updated_by.clone(),
            created_at: r.row.created_at.and_utc(),
            updated_at: r.row.updated_at.and_utc(),
        }
    }
}

/// The academic year of a path: 400 when malformed.
fn year_of(raw: &str) -> Result<String, ApiError> {
    super::academic_year_param(raw).map(|y| y.to_string())
}

/// Collects every field error of a body.
#[derive(Default)]
struct Check {
    errors: Vec<FieldError>,
}

impl Check {
    fn fail(&mut self, field: &str, reason: impl Into<String>) {
        self.errors.push(FieldError::new(field, reason));
    }

    fn int(&mut self, field: &str, v: Option<i64>, min: i64, max: i64) -> Option<i64> {
        match v {
            None => {
                self.fail(field, "is required");
                None
            }
            Some(n) if !(min..=max).contains(&n) => {
                self.fail(field, format!("must be from {min} to {max}"));
                None
            }
            Some(n) => Some(n),
        }
    }

    /// Text of 1 to `max` characters (trimmed); `one_line` also refuses line breaks.
    fn text(&mut self, field: &str, v: Option<String>, max: usize, one_line: bool) -> Option<String> {
        let v = v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        match v {
            None => {
                self.fail(field, "is required");
                None
            }
            Some(s) if s.chars().count() > max => {
                self.fail(field, format!("must be at most {max} characters"));
                None
            }
            Some(s) if s.chars().any(|c| c.is_control() && (one_line || !matches!(c, '\n' | '\r' | '\t'))) => {
                self.fail(field, "must not contain control characters");
                None
            }
            Some(s) => Some(s),
        }
    }

    fn done<T>(self, value: Option<T>) -> Result<T, ApiError> {
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            _ => Err(ApiError::validation(self.errors)),
        }
    }
}

fn to_budget(year: String, input: BudgetInput) -> Result<BudgetDraft, ApiError> {
    let mut c = Check::default();
    let grant = c.int("grant_pence", input.grant_pence, 0, pp::MAX_GRANT_PENCE);
    let rate = c.int("rate_pence", input.rate_pence, 1, pp::MAX_RATE_PENCE);
    let eligible = c.int("eligible_children", input.eligible_children, 0, pp::MAX_ELIGIBLE_CHILDREN);
    let retention = c.int("central_retention_pence", input.central_retention_pence, 0, pp::MAX_GRANT_PENCE);
    if let (Some(g), Some(r)) = (grant, retention) {
        if r > g {
            c.fail("central_retention_pence", "must not be more than grant_pence");
        }
    }
    let draft = match (grant, rate, eligible, retention) {
        (Some(grant_pence), Some(rate_pence), Some(eligible_children), Some(central_retention_pence)) => {
            Some(BudgetDraft {
                academic_year: year,
                grant_pence,
                rate_pence,
                eligible_children,
                central_retention_pence,
            })
        }
        _ => None,
    };
    c.done(draft)
}

/// Sets an academic year's PP+ budget (`vs_admin`). The first PUT creates it (201); changing it needs `If-Match`
/// with its `ETag`. A budget that would leave less than is already approved answers 409.
#[utoipa::path(
    tag = "pupil-premium-plus",
    operation_id = "putPupilPremiumPlusBudget",
    params(("academic_year" = String, Path, max_length = 7, pattern = "^[0-9]{4}-[0-9]{2}$", description = "Academic year, e.g. `2026-27`"),
        ("If-Match" = Option<String>, Header, max_length = 200, description = "Required when the budget exists: its current ETag")),
    request_body = BudgetInput,
    responses(
        (status = 200, description = "Changed", body = BudgetView, headers(("ETag" = String, description = "The new version tag"))),
        (status = 201, description = "Created", body = BudgetView,
            headers(("Location" = String, description = "/api/v1/pupil-premium-plus/budgets/{academic_year}"), ("ETag" = String, description = "Version tag for If-Match"))),
        (status = 400, description = "A malformed academic year, malformed JSON or an unknown field", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Less than is already approved would remain, or a concurrent first PUT won", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match does not name the current version (or the budget does not exist yet)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, every one listed", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "The budget exists and If-Match is missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/pupil-premium-plus/budgets/{academic_year}")]
pub async fn put_budget(
    user: AuthUser,
    pool: web::Data<Pool>,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Json<BudgetInput>,
) -> Result<HttpResponse, ApiError> {
    user.require_any(service::ADMINS, "pp_budget.put", "pp_budget").await?;
    let year = year_of(&path.into_inner())?;
    let draft = to_budget(year.clone(), body.into_inner())?;
    let (record, created) =
        service::put_budget(&pool, &user, draft, super::entity_tags(req.headers(), header::IF_MATCH)).await?;
    let mut res = HttpResponse::build(if created { StatusCode::CREATED } else { StatusCode::OK });
    res.insert_header((header::ETAG, record.etag()));
    if created {
        res.insert_header((header::LOCATION, format!("/api/v1/pupil-premium-plus/budgets/{year}")));
    }
    Ok(res.json(BudgetView::from(&record)))
}

/// An academic year's PP+ budget with what is approved, paid and remaining (`vs_admin`, `vso`).
#[utoipa::path(
    tag = "pupil-premium-plus",
    operation_id = "getPupilPremiumPlusBudget",
    params(("academic_year" = String, Path, max_length = 7, pattern = "^[0-9]{4}-[0-9]{2}$", description = "Academic year, e.g. `2026-27`")),
    responses(
        (status = 200, description = "The budget", body = BudgetView, headers(("ETag" = String, description = "Version tag of its settings"))),
        (status = 400, description = "A malformed academic year", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No budget set for the year", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/pupil-premium-plus/budgets/{academic_year}")]
pub async fn get_budget(
    user: AuthUser,
    pool: web::Data<Pool>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    user.require_any(service::BUDGET_READERS, "pp_budget.read", "pp_budget").await?;
    let year = year_of(&path.into_inner())?;
    let record = service::get_budget(&pool, &user, &year).await?;
    Ok(HttpResponse::Ok().insert_header((header::ETAG, record.etag())).json(BudgetView::from(&record)))
}

/// A PP+ request, as sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocationInput {
    /// The child: on the roll and looked after.
    pub child_id: Option<uuid::Uuid>,
    /// `2026-27`.
    #[schema(max_length = 7, pattern = "^[0-9]{4}-[0-9]{2}$", example = "2026-27")]
    pub academic_year: Option<String>,
    /// `autumn`, `spring` or `summer`.
    #[schema(max_length = 6, pattern = "^(autumn|spring|summer)$")]
    pub term: Option<String>,
    /// Pence, 1 to 1,000,000 (£10,000).
    #[schema(minimum = 1, maximum = 1_000_000, example = 60_000)]
    pub amount_pence: Option<i64>,
    /// The school to be paid (6 or 7 digits). When omitted, the child's current school.
    #[schema(max_length = 7, pattern = "^[0-9]{6,7}$", example = "100001")]
    pub school_urn: Option<String>,
    /// The need in the PEP it meets (1 to 2,000 characters; keep names out).
    #[schema(max_length = 2000, example = "Weekly maths tutoring for the spring term")]
    pub purpose: Option<String>,
    /// The PEP that asks for it: one of the child's.
    pub pep_id: Option<uuid::Uuid>,
}

fn to_allocation(input: AllocationInput) -> Result<AllocationDraft, ApiError> {
    let mut c = Check::default();
    if input.child_id.is_none() {
        c.fail("child_id", "is required");
    }
    let year = match input.academic_year.as_deref().map(AcademicYear::parse) {
        None => {
            c.fail("academic_year", "is required");
            None
        }
        Some(Err(r)) => {
            c.fail("academic_year", r);
            None
        }
        Some(Ok(y)) => Some(y.to_string()),
    };
    let term = match input.term.as_deref() {
        None => {
            c.fail("term", "is required");
            None
        }
        Some(t) => match Term::parse(t) {
            Some(t) => Some(t.as_str().to_owned()),
            None => {
                c.fail("term", "must be one of: autumn, spring, summer");
                None
            }
        },
    };
    let amount = c.int("amount_pence", input.amount_pence, 1, pp::MAX_ALLOCATION_PENCE);
    if let Some(Err(r)) = input.school_urn.as_deref().map(rules::check_urn) {
        c.fail("school_urn", r);
    }
    let purpose = c.text("purpose", input.purpose, pp::MAX_PURPOSE_CHARS, false);
    let draft = match (input.child_id, year, term, amount, purpose) {
        (Some(child_id), Some(academic_year), Some(term), Some(amount_pence), Some(purpose)) => Some(AllocationDraft {
            child_id: child_id.to_string(),
            academic_year,
            term,
            amount_pence,
            school_urn: input.school_urn,
            purpose,
            pep_id: input.pep_id.map(|p| p.to_string()),
        }),
        _ => None,
    };
    c.done(draft)
}

/// A PP+ allocation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AllocationView {
    /// Its id.
    pub id: uuid::Uuid,
    /// The child.
    pub child_id: uuid::Uuid,
    /// `2026-27`.
    #[schema(max_length = 7, pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub academic_year: String,
    /// `autumn`, `spring` or `summer`.
    #[schema(max_length = 6, pattern = "^(autumn|spring|summer)$")]
    pub term: String,
    /// Pence.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub amount_pence: i64,
    /// The school paid.
    #[schema(max_length = 7, pattern = "^[0-9]{6,7}$")]
    pub school_urn: String,
    /// The need it meets.
    #[schema(max_length = 2000)]
    pub purpose: String,
    /// The PEP that asks for it.
    pub pep_id: Option<uuid::Uuid>,
    /// `requested`, `approved`, `rejected` or `paid`.
    #[schema(max_length = 9, pattern = "^(requested|approved|rejected|paid)$")]
    pub status: String,
    /// Who asked (token `sub`); decisions notify them.
    #[schema(max_length = 255)]
    pub requested_by: String,
    /// Who decided.
    #[schema(max_length = 255)]
    pub decided_by: Option<String>,
    /// When it was decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// Why (always for a rejection).
    #[schema(max_length = 2000)]
    pub decision_reason: Option<String>,
    /// When the school was paid.
    pub paid_on: Option<NaiveDate>,
    /// The payment's reference.
    #[schema(max_length = 100)]
    pub payment_reference: Option<String>,
    /// Who recorded the payment.
    #[schema(max_length = 255)]
    pub paid_by: Option<String>,
    /// `exceeded`, `met`, `partly_met` or `not_met`.
    #[schema(max_length = 10, pattern = "^(exceeded|met|partly_met|not_met)$")]
    pub impact_rating: Option<String>,
    /// What the money achieved.
    #[schema(max_length = 5000)]
    pub impact_notes: Option<String>,
    /// Who recorded the impact.
    #[schema(max_length = 255)]
    pub impact_by: Option<String>,
    /// When the impact was recorded.
    pub impact_at: Option<DateTime<Utc>>,
    /// When it was requested.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&AllocationRow> for AllocationView {
    fn from(r: &AllocationRow) -> Self {
        let id = |s: &str| uuid::Uuid::parse_str(s).unwrap_or_default();
        Self {
            id: id(&r.id),
            child_id: id(&r.child_id),
            academic_year: r.academic_year.clone(),
            term: r.term.clone(),
            amount_pence: r.amount_pence,
            school_urn: r.school_urn.clone(),
            purpose: r.purpose.clone(),
            pep_id: r.pep_id.as_deref().map(id),
            status: r.status.clone(),
            requested_by: r.requested_by.clone(),
            decided_by: r.decided_by.clone(),
            decided_at: r.decided_at.map(|t| t.and_utc()),
            decision_reason: r.decision_reason.clone(),
            paid_on: r.paid_on,
            payment_reference: r.payment_reference.clone(),
            paid_by: r.paid_by.clone(),
            impact_rating: r.impact_rating.clone(),
            impact_notes: r.impact_notes.clone(),
            impact_by: r.impact_by.clone(),
            impact_at: r.impact_at.map(|t| t.and_utc()),
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        }
    }
}

fn location_of(row: &AllocationRow) -> String {
    format!("/api/v1/pupil-premium-plus/allocations/{}", row.id)
}

fn allocation_response(status: StatusCode, row: &AllocationRow) -> HttpResponse {
    HttpResponse::build(status).insert_header((header::ETAG, service::etag(row))).json(AllocationView::from(row))
}

/// Requests PP+ for a looked-after child (`vso`, `vs_admin`). Starts `requested`. `school_urn` defaults to the
/// child's current school.
#[utoipa::path(
    tag = "pupil-premium-plus",
    operation_id = "requestPupilPremiumPlus",
    params(("Idempotency-Key" = Option<String>, Header, max_length = 255,
        description = "Makes a retry safe: the same key and body answer exactly as the first time")),
    request_body = AllocationInput,
    responses(
        (status = 201, description = "Requested", body = AllocationView,
            headers(("Location" = String, description = "/api/v1/pupil-premium-plus/allocations/{allocation_id}"), ("ETag" = String, description = "Version tag"))),
        (status = 400, description = "Malformed JSON, an unknown field, or a bad Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (an unknown or ceased child, a PEP of another child), every one listed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/pupil-premium-plus/allocations")]
pub async fn create_allocation(
    user: AuthUser,
    pool: web::Data<Pool>,
    req: HttpRequest,
    body: web::Json<AllocationInput>,
) -> Result<HttpResponse, ApiError> {
    user.require_any(service::REQUESTERS, "pp_allocation.create", "pp_allocation").await?;
    let input = body.into_inner();
    let key = IdempotencyKey::from_request(&user, req.headers().get("idempotency-key"), "POST", req.path(), &input)?;
    if let Some(key) = &key {
        if let Some(stored) = key.replay(&pool).await? {
            return replay(&user, stored).await;
        }
    }
    let draft = to_allocation(input)?;
    let store: Option<service::InTransaction> = key.clone().map(|key| {
        Box::new(move |conn: &mut crate::db::DbConnection, row: &AllocationRow| {
            key.store(conn, 201, &AllocationView::from(row), Some(location_of(row)), Some(service::etag(row)))
        }) as service::InTransaction
    });
    let row = match service::create_allocation(&pool, &user, draft, store).await {
        Ok(row) => row,
        // A concurrent retry with the same key lost the race: answer with the winner's response.
        Err(ApiError::Conflict(message)) => match &key {
            Some(key) => match key.replay(&pool).await? {
                Some(stored) => return replay(&user, stored).await,
                None => return Err(ApiError::Conflict(message)),
            },
            None => return Err(ApiError::Conflict(message)),
        },
        Err(e) => return Err(e),
    };
    let mut res = allocation_response(StatusCode::CREATED, &row);
    res.headers_mut()
        .insert(header::LOCATION, header::HeaderValue::from_str(&location_of(&row)).map_err(ApiError::internal)?);
    Ok(res)
}

/// Answers a replayed request as the first time, recording that the allocation went out again.
async fn replay(
    user: &AuthUser,
    stored: crate::db::idempotency_repo::StoredResponse,
) -> Result<HttpResponse, ApiError> {
    let body: serde_json::Value = serde_json::from_str(&stored.body).unwrap_or_default();
    let mut event = user.event("pp_allocation.read", "pp_allocation", Outcome::Allowed);
    if let Some(id) = body["id"].as_str() {
        event = event.resource(id.to_owned());
    }
    if let Some(child) = body["child_id"].as_str() {
        event = event.child(child.to_owned());
    }
    user.audit().record(vec![event]).await?;
    Ok(idempotency::respond(stored))
}

/// Filters and paging for the allocation list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AllocationQuery {
    /// Only this child's.
    pub child_id: Option<uuid::Uuid>,
    /// Only this academic year's (`2026-27`).
    #[param(max_length = 7, pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub academic_year: Option<String>,
    /// Only this school's.
    #[param(max_length = 7, pattern = "^[0-9]{6,7}$")]
    pub school_urn: Option<String>,
    /// `requested`, `approved`, `rejected` or `paid`.
    #[param(max_length = 9, pattern = "^(requested|approved|rejected|paid)$")]
    pub status: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    #[param(max_length = 512)]
    pub cursor: Option<String>,
}

impl AllocationQuery {
    fn filter(&self) -> Result<AllocationFilter, ApiError> {
        let bad = |name: &str, reason: &str| ApiError::BadRequest(format!("{name} {reason}"));
        let academic_year = self
            .academic_year
            .as_deref()
            .map(AcademicYear::parse)
            .transpose()
            .map_err(|r| bad("academic_year", r))?
            .map(|y| y.to_string());
        if let Some(urn) = &self.school_urn {
            rules::check_urn(urn).map_err(|r| bad("school_urn", r))?;
        }
        if let Some(s) = &self.status {
            Status::parse(s).ok_or_else(|| bad("status", "must be one of: requested, approved, rejected, paid"))?;
        }
        Ok(AllocationFilter {
            child_id: self.child_id.map(|c| c.to_string()),
            academic_year,
            school_urn: self.school_urn.clone(),
            status: self.status.clone(),
        })
    }
}

/// A page of allocations.
#[derive(Debug, Serialize, ToSchema)]
pub struct AllocationPage {
    /// In request order.
    #[schema(max_items = 200)]
    pub items: Vec<AllocationView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(max_length = 512)]
    pub next_cursor: Option<String>,
}

/// PP+ allocations, filtered and paged (`vs_admin`, `vso`; social workers and SEN caseworkers see those of the
/// children on their caseload).
#[utoipa::path(
    tag = "pupil-premium-plus",
    operation_id = "listPupilPremiumPlusAllocations",
    params(AllocationQuery),
    responses(
        (status = 200, description = "A page of allocations", body = AllocationPage),
        (status = 400, description = "A filter, `limit` or `cursor` is invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/pupil-premium-plus/allocations")]
pub async fn list_allocations(
    user: AuthUser,
    pool: web::Data<Pool>,
    cursors: web::Data<Cursors>,
    query: web::Query<AllocationQuery>,
) -> Result<web::Json<AllocationPage>, ApiError> {
    user.require_any(service::READERS, "pp_allocation.list", "pp_allocation").await?;
    let q = query.into_inner();
    let filter = q.filter()?;
    let limit = pagination::limit(q.limit)?;
    // Bound to the caller too, so a page token cannot cross caseloads.
    let binding = (&filter, &user.sub);
    let after: Option<String> = cursors.after("pp_allocations", &binding, q.cursor.as_deref())?;
    let (rows, more) = service::list_allocations(&pool, &user, filter.clone(), after, limit).await?;
    let next_cursor = cursors.next("pp_allocations", &binding, (&rows, more), |last| last.id.clone())?;
    Ok(web::Json(AllocationPage { items: rows.iter().map(Into::into).collect(), next_cursor }))
}

/// One PP+ allocation (`vs_admin`, `vso`; social workers and SEN caseworkers for children on their caseload).
#[utoipa::path(
    tag = "pupil-premium-plus",
    operation_id = "getPupilPremiumPlusAllocation",
    params(("allocation_id" = uuid::Uuid, Path, description = "The allocation's id")),
    responses(
        (status = 200, description = "The allocation", body = AllocationView, headers(("ETag" = String, description = "Version tag"))),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such allocation for a child on your caseload", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/pupil-premium-plus/allocations/{allocation_id}")]
pub async fn get_allocation(
    user: AuthUser,
    pool: web::Data<Pool>,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    let row = service::get_allocation(&pool, &user, &path.into_inner().to_string()).await?;
    Ok(allocation_response(StatusCode::OK, &row))
}

/// A decision, as sent.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// `approve` or `reject`.
    #[schema(max_length = 7, pattern = "^(approve|reject)$")]
    pub decision: Option<String>,
    /// Why: required to reject (1 to 2,000 characters), optional to approve. A rejection's reason goes to the
    /// requester in their notification, so keep names out.
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

/// Approves or rejects a requested allocation (`vs_admin`) and notifies the requester. An approval past the year's
/// budget (grant less central retention less what is approved) answers 409 with what remains.
#[utoipa::path(
    tag = "pupil-premium-plus",
    operation_id = "decidePupilPremiumPlus",
    params(("allocation_id" = uuid::Uuid, Path, description = "The allocation's id")),
    request_body = DecisionInput,
    responses(
        (status = 200, description = "Decided", body = AllocationView, headers(("ETag" = String, description = "The new version tag"))),
        (status = 400, description = "Malformed JSON, an unknown field, or a bad id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such allocation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not `requested` (the detail names its status), no budget for the year, or the approval would overspend it", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, every one listed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/pupil-premium-plus/allocations/{allocation_id}/decision")]
pub async fn decide(
    user: AuthUser,
    pool: web::Data<Pool>,
    path: web::Path<uuid::Uuid>,
    body: web::Json<DecisionInput>,
) -> Result<HttpResponse, ApiError> {
    user.require_any(service::ADMINS, "pp_allocation.decide", "pp_allocation").await?;
    let input = body.into_inner();
    let mut c = Check::default();
    let approve = match input.decision.as_deref() {
        None => {
            c.fail("decision", "is required");
            None
        }
        Some("approve") => Some(true),
        Some("reject") => Some(false),
        Some(_) => {
            c.fail("decision", "must be approve or reject");
            None
        }
    };
    let given = input.reason.as_deref().is_some_and(|r| !r.trim().is_empty());
    let reason = if approve == Some(false) || given {
        let r = c.text("reason", input.reason, pp::MAX_REASON_CHARS, false);
        if r.is_none() && !given {
            // `text` reported it missing; say why it is needed.
            if let Some(last) = c.errors.last_mut() {
                last.reason = "is required to reject".into();
            }
        }
        r
    } else {
        None
    };
    let decision = c.done(approve.map(|approve| Decision { approve, reason }))?;
    let row = service::decide(&pool, &user, &path.into_inner().to_string(), decision).await?;
    Ok(allocation_response(StatusCode::OK, &row))
}

/// A payment, as sent.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentInput {
    /// When the school was paid (`YYYY-MM-DD`), not in the future.
    #[schema(format = Date, max_length = 10)]
    pub paid_on: Option<String>,
    /// The finance system's reference (1 to 100 characters).
    #[schema(max_length = 100, example = "PO-2026-000123")]
    pub reference: Option<String>,
}

/// Records that an approved allocation was paid to the school (`vs_admin`).
#[utoipa::path(
    tag = "pupil-premium-plus",
    operation_id = "payPupilPremiumPlus",
    params(("allocation_id" = uuid::Uuid, Path, description = "The allocation's id")),
    request_body = PaymentInput,
    responses(
        (status = 200, description = "Paid", body = AllocationView, headers(("ETag" = String, description = "The new version tag"))),
        (status = 400, description = "Malformed JSON, an unknown field, or a bad id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such allocation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not `approved`; the detail names its status", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, every one listed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/pupil-premium-plus/allocations/{allocation_id}/payment")]
pub async fn pay(
    user: AuthUser,
    pool: web::Data<Pool>,
    policy: web::Data<Policy>,
    path: web::Path<uuid::Uuid>,
    body: web::Json<PaymentInput>,
) -> Result<HttpResponse, ApiError> {
    user.require_any(service::ADMINS, "pp_allocation.pay", "pp_allocation").await?;
    let input = body.into_inner();
    let mut c = Check::default();
    let paid_on = match input.paid_on.as_deref() {
        None => {
            c.fail("paid_on", "is required");
            None
        }
        Some(v) => match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            Ok(d) if v.len() == 10 && d > policy.today() => {
                c.fail("paid_on", "must not be in the future");
                None
            }
            Ok(d) if v.len() == 10 => Some(d),
            _ => {
                c.fail("paid_on", "must be a date written YYYY-MM-DD");
                None
            }
        },
    };
    let reference = c.text("reference", input.reference, pp::MAX_REFERENCE_CHARS, true);
    let payment = c.done(paid_on.zip(reference).map(|(paid_on, reference)| Payment { paid_on, reference }))?;
    let row = service::pay(&pool, &user, &path.into_inner().to_string(), payment).await?;
    Ok(allocation_response(StatusCode::OK, &row))
}

/// The impact of a paid allocation, as sent.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImpactInput {
    /// `exceeded`, `met`, `partly_met` or `not_met`.
    #[schema(max_length = 10, pattern = "^(exceeded|met|partly_met|not_met)$")]
    pub rating: Option<String>,
    /// What the money achieved (1 to 5,000 characters).
    #[schema(max_length = 5000)]
    pub notes: Option<String>,
}

/// Records the impact of a paid allocation (`vso`, `vs_admin`); a later call corrects it.
#[utoipa::path(
    tag = "pupil-premium-plus",
    operation_id = "recordPupilPremiumPlusImpact",
    params(("allocation_id" = uuid::Uuid, Path, description = "The allocation's id")),
    request_body = ImpactInput,
    responses(
        (status = 200, description = "Recorded", body = AllocationView, headers(("ETag" = String, description = "The new version tag"))),
        (status = 400, description = "Malformed JSON, an unknown field, or a bad id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such allocation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not `paid`; the detail names its status", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, every one listed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/pupil-premium-plus/allocations/{allocation_id}/impact")]
pub async fn record_impact(
    user: AuthUser,
    pool: web::Data<Pool>,
    path: web::Path<uuid::Uuid>,
    body: web::Json<ImpactInput>,
) -> Result<HttpResponse, ApiError> {
    user.require_any(service::REQUESTERS, "pp_allocation.impact", "pp_allocation").await?;
    let input = body.into_inner();
    let mut c = Check::default();
    let rating = match input.rating {
        None => {
            c.fail("rating", "is required");
            None
        }
        Some(r) if RATINGS.contains(&r.as_str()) => Some(r),
        Some(_) => {
            c.fail("rating", format!("must be one of: {}", RATINGS.join(", ")));
            None
        }
    };
    let notes = c.text("notes", input.notes, pp::MAX_NOTES_CHARS, false);
    let impact = c.done(rating.zip(notes).map(|(rating, notes)| Impact { rating, notes }))?;
    let row = service::record_impact(&pool, &user, &path.into_inner().to_string(), impact).await?;
    Ok(allocation_response(StatusCode::OK, &row))
}
