//! The audit trail, read-only, for the Virtual School Head and admin team.

use crate::auth::AuthUser;
use crate::db::audit_repo::AuditEventRow;
use crate::db::Pool;
use crate::error::{ApiError, Problem};
use crate::pagination::{self, Cursors};
use crate::services::audit::{self, AuditFilter};
use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Filters and paging for the audit trail.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only events about this child.
    pub child_id: Option<uuid::Uuid>,
    /// Only events by this actor (a token `sub`).
    #[param(max_length = 255)]
    pub actor_id: Option<String>,
    /// Only events at or after this instant (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    #[param(max_length = 512)]
    pub cursor: Option<String>,
}

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEvent {
    /// Event id (UUID v7).
    pub id: uuid::Uuid,
    /// When it happened (UTC).
    pub occurred_at: DateTime<Utc>,
    /// Who: the token's `sub`.
    #[schema(max_length = 255)]
    pub actor_id: String,
    /// The actor's recognised roles at the time.
    #[schema(max_items = 7)]
    pub actor_roles: Vec<crate::auth::Role>,
    /// What was attempted, e.g. `child.read`.
    #[schema(max_length = 200)]
    pub action: String,
    /// The kind of resource.
    #[schema(max_length = 64)]
    pub resource_type: String,
    /// The resource, when there is one.
    #[schema(max_length = 64)]
    pub resource_id: Option<String>,
    /// The child whose data it was, when there is one.
    pub child_id: Option<uuid::Uuid>,
    /// `allowed` or `denied`.
    #[schema(max_length = 7, pattern = "^(allowed|denied)$")]
    pub outcome: String,
    /// The request that caused it.
    #[schema(max_length = 64)]
    pub request_id: String,
    /// Names (never values) of the fields a change touched.
    #[schema(schema_with = field_names)]
    pub changed_fields: Option<Vec<String>>,
}

/// Up to 100 field names of up to 64 characters, or null.
fn field_names() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(ObjectBuilder::new().schema_type(Type::String).max_length(Some(64)))
        .max_items(Some(100))
        .description(Some("Names (never values) of the fields a change touched."))
        .build()
}

impl From<AuditEventRow> for AuditEvent {
    fn from(r: AuditEventRow) -> Self {
        Self {
            id: uuid::Uuid::parse_str(&r.id).unwrap_or_default(),
            occurred_at: r.occurred_at.and_utc(),
            actor_id: r.actor_id,
            actor_roles: r.actor_roles.split(',').filter_map(crate::auth::Role::parse).collect(),
            action: r.action,
            resource_type: r.resource_type,
            resource_id: r.resource_id,
            child_id: r.child_id.and_then(|c| uuid::Uuid::parse_str(&c).ok()),
            outcome: r.outcome,
            request_id: r.request_id,
            changed_fields: r
                .changed_fields
                .map(|f| f.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()),
        }
    }
}

/// A page of audit events.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventPage {
    /// Newest first.
    #[schema(max_items = 200)]
    pub items: Vec<AuditEvent>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(max_length = 512)]
    pub next_cursor: Option<String>,
}

/// Lists audit events, newest first (`vs_admin` only). Reading the trail is itself audited.
#[utoipa::path(
    tag = "audit",
    operation_id = "listAuditEvents",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of audit events", body = AuditEventPage),
        (status = 400, description = "A filter, `limit` or `cursor` is invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audit-events")]
pub async fn list_audit_events(
    user: AuthUser,
    pool: web::Data<Pool>,
    cursors: web::Data<Cursors>,
    query: web::Query<AuditQuery>,
) -> Result<web::Json<AuditEventPage>, ApiError> {
    let q = query.into_inner();
    if q.actor_id.as_ref().is_some_and(|a| a.len() > 255) {
        return Err(ApiError::BadRequest("actor_id is longer than 255 characters".into()));
    }
    let limit = pagination::limit(q.limit)?;
    let filter = AuditFilter {
        child_id: q.child_id.map(|c| c.to_string()),
        actor_id: q.actor_id,
        since: q.since.map(|s| s.naive_utc()),
    };
    let after: Option<String> = cursors.after("audit_events", &filter, q.cursor.as_deref())?;
    let (rows, more) = audit::list(&pool, &user, filter.clone(), after, limit).await?;
    let next_cursor = cursors.next("audit_events", &filter, (&rows, more), |last| last.id.clone())?;
    Ok(web::Json(AuditEventPage { items: rows.into_iter().map(Into::into).collect(), next_cursor }))
}
