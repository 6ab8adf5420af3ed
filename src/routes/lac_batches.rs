//! LCS weekly LAC status lists over HTTP: `/api/v1/lac-status-batches`, and a child's timeline.

use crate::auth::AuthUser;
use crate::db::lac_repo::{BatchRow, ChangeRow};
use crate::db::Pool;
use crate::error::{ApiError, Problem};
use crate::pagination::{self, Cursors};
use crate::services::lac_batches::{self, RawChange, RowOutcome, Submission, Submitted};
use crate::services::policy::Policy;
use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Body limits of the batch endpoint.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// Largest body in bytes (`VS_MAX_BATCH_BYTES`).
    pub max_bytes: usize,
}

/// One change in a weekly list.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeInput {
    /// The child's id in LCS; children are matched (and created) on it.
    #[schema(max_length = 64, example = "LCS-000123")]
    pub lcs_id: Option<String>,
    /// UPN (check letter) or `UN1`–`UN5`.
    #[schema(max_length = 13)]
    pub upn: Option<String>,
    /// First name.
    #[schema(max_length = 100)]
    pub first_name: Option<String>,
    /// Last name.
    #[schema(max_length = 100)]
    pub last_name: Option<String>,
    /// Date of birth.
    #[schema(format = Date, max_length = 10)]
    pub date_of_birth: Option<String>,
    /// `M`, `F`, `U`.
    #[schema(max_length = 1)]
    pub sex: Option<String>,
    /// `became_looked_after`, `ceased_looked_after`, `legal_status_changed` or `placement_changed`.
    #[schema(
        max_length = 24,
        pattern = "^(became_looked_after|ceased_looked_after|legal_status_changed|placement_changed)$"
    )]
    pub change_type: Option<String>,
    /// When it took effect: not in the future, not before birth.
    #[schema(format = Date, max_length = 10)]
    pub effective_date: Option<String>,
    /// SSDA903 legal status (required for `legal_status_changed`).
    #[schema(max_length = 2)]
    pub legal_status: Option<String>,
    /// RNE for `became_looked_after` (optional), REC for `ceased_looked_after` (required; `E2` = died).
    #[schema(max_length = 3)]
    pub reason_code: Option<String>,
    /// SSDA903 placement type (required for `placement_changed`).
    #[schema(max_length = 3)]
    pub placement_type: Option<String>,
    /// Placed outside the council's area.
    pub out_of_authority: Option<bool>,
    /// The allocated social worker (token `sub`).
    #[schema(max_length = 255)]
    pub social_worker_id: Option<String>,
}

impl From<ChangeInput> for RawChange {
    fn from(c: ChangeInput) -> Self {
        RawChange {
            lcs_id: c.lcs_id,
            upn: c.upn,
            first_name: c.first_name,
            last_name: c.last_name,
            date_of_birth: c.date_of_birth,
            sex: c.sex,
            change_type: c.change_type,
            effective_date: c.effective_date,
            legal_status: c.legal_status,
            reason_code: c.reason_code,
            placement_type: c.placement_type,
            out_of_authority: c.out_of_authority.map(|b| b.to_string()),
            social_worker_id: c.social_worker_id,
            line: None,
        }
    }
}

/// A weekly list as JSON.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchInput {
    /// LCS's reference for the list: the idempotency key.
    #[schema(max_length = 100, example = "LCS-2026-W49")]
    pub batch_ref: Option<String>,
    /// The last day the list covers.
    #[schema(format = Date, max_length = 10)]
    pub period_ending: Option<String>,
    /// The changes (at most 50,000).
    #[schema(max_items = 50000)]
    pub changes: Vec<ChangeInput>,
}

/// `batch_ref` and `period_ending` for a CSV list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CsvParams {
    /// LCS's reference for the list (CSV bodies only).
    #[param(max_length = 100)]
    pub batch_ref: Option<String>,
    /// The last day the list covers (CSV bodies only).
    #[param(format = Date, max_length = 10)]
    pub period_ending: Option<String>,
}

/// Counts for a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchCounts {
    /// Changes in the list.
    #[schema(minimum = 0, maximum = 50000)]
    pub changes: i64,
    /// Children the list added to the roll.
    #[schema(minimum = 0, maximum = 50000)]
    pub children_created: i64,
    /// Children already on the roll that it changed.
    #[schema(minimum = 0, maximum = 50000)]
    pub children_updated: i64,
    /// Notifications it sent.
    #[schema(minimum = 0, maximum = 100000)]
    pub notifications: i64,
}

/// What happened to one row.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchRowOutcome {
    /// The row (zero-based).
    #[schema(minimum = 0, maximum = 50000)]
    pub index: usize,
    /// Its LCS id.
    #[schema(max_length = 64)]
    pub lcs_id: String,
    /// The child it landed on.
    pub child_id: uuid::Uuid,
    /// The kind of change.
    #[schema(max_length = 24)]
    pub change_type: String,
    /// `child_created` or `child_updated`.
    #[schema(max_length = 13, pattern = "^(child_created|child_updated)$")]
    pub outcome: String,
}

/// A stored batch, with one outcome per row.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchSummary {
    /// The batch's id.
    pub id: uuid::Uuid,
    /// LCS's reference.
    #[schema(max_length = 100)]
    pub batch_ref: String,
    /// The last day the list covers.
    pub period_ending: NaiveDate,
    /// Who sent it (token `sub`).
    #[schema(max_length = 255)]
    pub submitted_by: String,
    /// When it was applied.
    pub created_at: DateTime<Utc>,
    /// Counts.
    pub counts: BatchCounts,
    /// One per row, in row order (omitted from lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 50000)]
    pub outcomes: Option<Vec<BatchRowOutcome>>,
}

fn summary(row: BatchRow, with_outcomes: bool) -> BatchSummary {
    let outcomes = with_outcomes.then(|| {
        serde_json::from_str::<Vec<RowOutcome>>(&row.outcomes)
            .unwrap_or_default()
            .into_iter()
            .map(|o| BatchRowOutcome {
                index: o.index,
                lcs_id: o.lcs_id,
                child_id: uuid::Uuid::parse_str(&o.child_id).unwrap_or_default(),
                change_type: o.change_type,
                outcome: o.outcome,
            })
            .collect()
    });
    BatchSummary {
        id: uuid::Uuid::parse_str(&row.id).unwrap_or_default(),
        batch_ref: row.batch_ref,
        period_ending: row.period_ending,
        submitted_by: row.submitted_by,
        created_at: row.created_at.and_utc(),
        counts: BatchCounts {
            changes: row.changes_count,
            children_created: row.children_created,
            children_updated: row.children_updated,
            notifications: row.notifications_count,
        },
        outcomes,
    }
}

/// Reads the body up to `limit` bytes, answering 413 beyond it.
async fn read_body(req: &HttpRequest, mut payload: web::Payload, limit: usize) -> Result<web::BytesMut, ApiError> {
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(0).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("the body could not be read: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The CSV columns, named as the JSON fields.
const CSV_COLUMNS: &[&str] = &[
    "lcs_id",
    "upn",
    "first_name",
    "last_name",
    "date_of_birth",
    "sex",
    "change_type",
    "effective_date",
    "legal_status",
    "reason_code",
    "placement_type",
    "out_of_authority",
    "social_worker_id",
];

/// Parses a CSV list: UTF-8 with or without BOM, CRLF or LF, quoted fields; a header row of known names.
fn parse_csv(body: &[u8]) -> Result<Vec<RawChange>, ApiError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    std::str::from_utf8(body).map_err(|_| ApiError::BadRequest("the CSV is not UTF-8".into()))?;
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(body);
    let headers =
        reader.headers().map_err(|e| ApiError::BadRequest(format!("the CSV header row cannot be read: {e}")))?.clone();
    let mut columns = Vec::with_capacity(headers.len());
    for h in headers.iter() {
        let name = h.trim();
        if !CSV_COLUMNS.contains(&name) {
            return Err(ApiError::BadRequest(format!(
                "unknown CSV column `{name}`; the columns are: {}",
                CSV_COLUMNS.join(", ")
            )));
        }
        if columns.contains(&name) {
            return Err(ApiError::BadRequest(format!("the CSV column `{name}` appears twice")));
        }
        columns.push(name);
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        if rows.len() > lac_batches::MAX_CHANGES {
            break;
        }
        let record = record.map_err(|e| ApiError::BadRequest(format!("the CSV cannot be read: {e}")))?;
        let mut raw = RawChange { line: record.position().map(|p| p.line()), ..RawChange::default() };
        for (name, value) in columns.iter().zip(record.iter()) {
            let value = (!value.trim().is_empty()).then(|| value.trim().to_owned());
            match *name {
                "lcs_id" => raw.lcs_id = value,
                "upn" => raw.upn = value,
                "first_name" => raw.first_name = value,
                "last_name" => raw.last_name = value,
                "date_of_birth" => raw.date_of_birth = value,
                "sex" => raw.sex = value,
                "change_type" => raw.change_type = value,
                "effective_date" => raw.effective_date = value,
                "legal_status" => raw.legal_status = value,
                "reason_code" => raw.reason_code = value,
                "placement_type" => raw.placement_type = value,
                "out_of_authority" => raw.out_of_authority = value,
                _ => raw.social_worker_id = value,
            }
        }
        rows.push(raw);
    }
    Ok(rows)
}

/// Takes LCS's weekly list of LAC status changes (`lcs`, `vs_admin`), as JSON or `text/csv` (then `batch_ref`
/// and `period_ending` are query parameters). All or nothing: any invalid row answers 422 listing every bad row and
/// nothing is stored. The same `batch_ref` with the same content answers 200 with the original summary; with
/// different content, 409.
#[utoipa::path(
    tag = "lac-status",
    operation_id = "submitLacStatusBatch",
    params(CsvParams),
    request_body(description = "The list, as JSON or as CSV with the same field names as a header row",
        content((BatchInput = "application/json"), (String = "text/csv"))),
    responses(
        (status = 201, description = "Applied; `Location` names the batch", body = BatchSummary,
            headers(("Location" = String, description = "/api/v1/lac-status-batches/{batch_id}"))),
        (status = 200, description = "This batch_ref was applied before with the same content; the original summary", body = BatchSummary),
        (status = 400, description = "Malformed JSON or CSV, an unknown field or column", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "This batch_ref was applied before with different content", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over VS_MAX_BATCH_BYTES or 50,000 changes", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither application/json nor text/csv", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid rows, every one listed with `index` (and `line` for CSV); nothing stored", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/lac-status-batches")]
pub async fn submit_batch(
    user: AuthUser,
    pool: web::Data<Pool>,
    policy: web::Data<Policy>,
    limits: web::Data<BatchLimits>,
    query: web::Query<CsvParams>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    user.require_any(lac_batches::SUBMITTERS, "lac_status_batch.create", "lac_status_batch").await?;
    let csv = match super::media_type(&req).as_deref() {
        Some("application/json") => false,
        Some("text/csv") => true,
        _ => return Err(ApiError::UnsupportedMediaType("send the list as application/json or text/csv".into())),
    };
    let body = read_body(&req, payload, limits.max_bytes).await?;
    let q = query.into_inner();
    let submission = if csv {
        Submission { batch_ref: q.batch_ref, period_ending: q.period_ending, changes: parse_csv(&body)? }
    } else {
        if q.batch_ref.is_some() || q.period_ending.is_some() {
            return Err(ApiError::BadRequest(
                "batch_ref and period_ending are query parameters for CSV only; put them in the JSON body".into(),
            ));
        }
        let input: BatchInput = serde_json::from_slice(&body).map_err(|e| crate::error::json_body_error(&e))?;
        Submission {
            batch_ref: input.batch_ref,
            period_ending: input.period_ending,
            changes: input.changes.into_iter().map(RawChange::from).collect(),
        }
    };
    match lac_batches::submit(&pool, &user, &policy, submission).await? {
        Submitted::Created(row) => {
            let location = format!("/api/v1/lac-status-batches/{}", row.id);
            Ok(HttpResponse::Created().insert_header((header::LOCATION, location)).json(summary(row, true)))
        }
        Submitted::Replayed(row) => Ok(HttpResponse::Ok().json(summary(row, true))),
    }
}

/// One batch with its per-row outcomes (`lcs` sees only its own).
#[utoipa::path(
    tag = "lac-status",
    operation_id = "getLacStatusBatch",
    params(("batch_id" = uuid::Uuid, Path, description = "The batch's id")),
    responses(
        (status = 200, description = "The batch", body = BatchSummary),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such batch (or not yours)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/lac-status-batches/{batch_id}")]
pub async fn get_batch(
    user: AuthUser,
    pool: web::Data<Pool>,
    path: web::Path<uuid::Uuid>,
) -> Result<web::Json<BatchSummary>, ApiError> {
    let row = lac_batches::get(&pool, &user, &path.into_inner().to_string()).await?;
    Ok(web::Json(summary(row, true)))
}

/// Paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    #[param(max_length = 512)]
    pub cursor: Option<String>,
}

/// A page of batches.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchPage {
    /// Newest first, without per-row outcomes.
    #[schema(max_items = 200)]
    pub items: Vec<BatchSummary>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(max_length = 512)]
    pub next_cursor: Option<String>,
}

/// Batches, newest first (`lcs` sees only its own).
#[utoipa::path(
    tag = "lac-status",
    operation_id = "listLacStatusBatches",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of batches", body = BatchPage),
        (status = 400, description = "`limit` or `cursor` is invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/lac-status-batches")]
pub async fn list_batches(
    user: AuthUser,
    pool: web::Data<Pool>,
    cursors: web::Data<Cursors>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<BatchPage>, ApiError> {
    let q = query.into_inner();
    let limit = pagination::limit(q.limit)?;
    let binding = &user.sub;
    let before: Option<String> = cursors.after("lac_status_batches", binding, q.cursor.as_deref())?;
    let (rows, more) = lac_batches::list(&pool, &user, before, limit).await?;
    let next_cursor = cursors.next("lac_status_batches", binding, (&rows, more), |last| last.id.clone())?;
    Ok(web::Json(BatchPage { items: rows.into_iter().map(|r| summary(r, false)).collect(), next_cursor }))
}

/// One change on a child's LAC timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusChange {
    /// The change's id.
    pub id: uuid::Uuid,
    /// The batch it came in.
    pub batch_id: uuid::Uuid,
    /// Its row in that batch.
    #[schema(minimum = 0, maximum = 50000)]
    pub row_index: i64,
    /// `became_looked_after`, `ceased_looked_after`, `legal_status_changed` or `placement_changed`.
    #[schema(max_length = 24)]
    pub change_type: String,
    /// When it took effect.
    pub effective_date: NaiveDate,
    /// RNE or REC code.
    #[schema(max_length = 3)]
    pub reason_code: Option<String>,
    /// Legal status from this change on.
    #[schema(max_length = 2)]
    pub legal_status: Option<String>,
    /// Placement type from this change on.
    #[schema(max_length = 3)]
    pub placement_type: Option<String>,
    /// Out of authority from this change on.
    pub out_of_authority: Option<bool>,
    /// Social worker from this change on.
    #[schema(max_length = 255)]
    pub social_worker_id: Option<String>,
    /// When it was received.
    pub recorded_at: DateTime<Utc>,
}

impl From<ChangeRow> for StatusChange {
    fn from(c: ChangeRow) -> Self {
        Self {
            id: uuid::Uuid::parse_str(&c.id).unwrap_or_default(),
            batch_id: uuid::Uuid::parse_str(&c.batch_id).unwrap_or_default(),
            row_index: c.row_index,
            change_type: c.change_type,
            effective_date: c.effective_date,
            reason_code: c.reason_code,
            legal_status: c.legal_status,
            placement_type: c.placement_type,
            out_of_authority: c.out_of_authority,
            social_worker_id: c.social_worker_id,
            recorded_at: c.created_at.and_utc(),
        }
    }
}

/// A page of a child's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusChangePage {
    /// In effective-date order.
    #[schema(max_items = 200)]
    pub items: Vec<StatusChange>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(max_length = 512)]
    pub next_cursor: Option<String>,
}

/// A child's LAC timeline, in effective-date order (for anyone who may read the child).
#[utoipa::path(
    tag = "lac-status",
    operation_id = "listChildStatusChanges",
    params(("child_id" = uuid::Uuid, Path, description = "The child's id"), PageQuery),
    responses(
        (status = 200, description = "The timeline", body = StatusChangePage),
        (status = 400, description = "Bad id, `limit` or `cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such child on your caseload", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/children/{child_id}/status-changes")]
pub async fn list_status_changes(
    user: AuthUser,
    pool: web::Data<Pool>,
    cursors: web::Data<Cursors>,
    path: web::Path<uuid::Uuid>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<StatusChangePage>, ApiError> {
    let child_id = path.into_inner().to_string();
    let q = query.into_inner();
    let limit = pagination::limit(q.limit)?;
    let after: Option<(NaiveDate, String)> = cursors.after("status_changes", &child_id, q.cursor.as_deref())?;
    let (rows, more) = lac_batches::timeline(&pool, &user, &child_id, after, limit).await?;
    let next_cursor =
        cursors.next("status_changes", &child_id, (&rows, more), |last| (last.effective_date, last.id.clone()))?;
    Ok(web::Json(StatusChangePage { items: rows.into_iter().map(Into::into).collect(), next_cursor }))
}
