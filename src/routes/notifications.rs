//! The caller's notifications: `/api/v1/notifications`.

use crate::auth::AuthUser;
use crate::db::notifications_repo::{NotificationFilter, NotificationRow};
use crate::db::Pool;
use crate::error::{ApiError, Problem};
use crate::pagination::{self, Cursors};
use crate::services::notifications;
use actix_web::{get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A notification.
#[derive(Debug, Serialize, ToSchema)]
pub struct Notification {
    /// Its id.
    pub id: uuid::Uuid,
    /// The person it is for (token `sub`), or `null` for a team notification.
    #[schema(max_length = 255)]
    pub recipient_id: Option<String>,
    /// The team it is for (`vs_admin`), or `null` for a person's.
    #[schema(max_length = 32)]
    pub recipient_team: Option<String>,
    /// What happened: `became_looked_after`, `ceased_looked_after`, or a notice kind.
    #[schema(max_length = 40)]
    pub kind: String,
    /// The child it concerns.
    pub child_id: Option<uuid::Uuid>,
    /// One line, with ids rather than names.
    #[schema(max_length = 1000)]
    pub summary: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was first acknowledged, or `null`.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Who acknowledged it.
    #[schema(max_length = 255)]
    pub acknowledged_by: Option<String>,
}

impl From<NotificationRow> for Notification {
    fn from(r: NotificationRow) -> Self {
        Self {
            id: uuid::Uuid::parse_str(&r.id).unwrap_or_default(),
            recipient_id: r.recipient_id,
            recipient_team: r.recipient_team,
            kind: r.kind,
            child_id: r.child_id.and_then(|c| uuid::Uuid::parse_str(&c).ok()),
            summary: r.summary,
            created_at: r.created_at.and_utc(),
            acknowledged_at: r.acknowledged_at.map(|t| t.and_utc()),
            acknowledged_by: r.acknowledged_by,
        }
    }
}

/// Filters and paging for an inbox.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// Only unacknowledged ones.
    pub unread: Option<bool>,
    /// Only this kind.
    #[param(max_length = 40)]
    pub kind: Option<String>,
    /// Only about this child.
    pub child_id: Option<uuid::Uuid>,
    /// `vs_admin` only: read this person's inbox.
    #[param(max_length = 255)]
    pub recipient_id: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    #[param(max_length = 512)]
    pub cursor: Option<String>,
}

/// A page of notifications.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    /// Newest first.
    #[schema(max_items = 200)]
    pub items: Vec<Notification>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(max_length = 512)]
    pub next_cursor: Option<String>,
}

/// The caller's notifications, newest first, with their team's (`vs_admin`).
#[utoipa::path(
    tag = "notifications",
    operation_id = "listNotifications",
    params(NotificationQuery),
    responses(
        (status = 200, description = "A page of notifications", body = NotificationPage),
        (status = 400, description = "A filter, `limit` or `cursor` is invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/notifications")]
pub async fn list_notifications(
    user: AuthUser,
    pool: web::Data<Pool>,
    cursors: web::Data<Cursors>,
    query: web::Query<NotificationQuery>,
) -> Result<web::Json<NotificationPage>, ApiError> {
    let q = query.into_inner();
    let limit = pagination::limit(q.limit)?;
    if q.kind.as_ref().is_some_and(|k| k.len() > 40) || q.recipient_id.as_ref().is_some_and(|r| r.len() > 255) {
        return Err(ApiError::BadRequest("kind or recipient_id is too long".into()));
    }
    let filter = NotificationFilter {
        unread: q.unread.unwrap_or(false),
        kind: q.kind,
        child_id: q.child_id.map(|c| c.to_string()),
    };
    let binding = (&filter, &user.sub, &q.recipient_id);
    let before: Option<String> = cursors.after("notifications", &binding, q.cursor.as_deref())?;
    let (rows, more) = notifications::list(&pool, &user, q.recipient_id.clone(), filter.clone(), before, limit).await?;
    let next_cursor = cursors.next("notifications", &binding, (&rows, more), |last| last.id.clone())?;
    Ok(web::Json(NotificationPage { items: rows.into_iter().map(Into::into).collect(), next_cursor }))
}

/// Acknowledges a notification of the caller's (or their team's). Idempotent: a second call answers 200 with the
/// first `acknowledged_at`.
#[utoipa::path(
    tag = "notifications",
    operation_id = "acknowledgeNotification",
    params(("notification_id" = uuid::Uuid, Path, description = "The notification's id")),
    responses(
        (status = 200, description = "Acknowledged", body = Notification),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not in your inbox", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/notifications/{notification_id}/acknowledge")]
pub async fn acknowledge_notification(
    user: AuthUser,
    pool: web::Data<Pool>,
    path: web::Path<uuid::Uuid>,
) -> Result<web::Json<Notification>, ApiError> {
    let row = notifications::acknowledge(&pool, &user, &path.into_inner().to_string()).await?;
    Ok(web::Json(row.into()))
}
