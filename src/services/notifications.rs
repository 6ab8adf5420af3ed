//! Notifications: the one function every resource uses to notify (inside the transaction of the event that causes
//! it, so the event and its notifications land together), and the inbox use cases.

use crate::auth::{AuthUser, Role};
use crate::db::notifications_repo::{self, Inbox, NotificationFilter, NotificationRow};
use crate::db::{self, DbConnection, Pool};
use crate::error::ApiError;
use crate::services::audit::{truncate_to_micros, Outcome};
use chrono::Utc;

/// Who a notification is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// One person, by token `sub`.
    Person(String),
    /// Everyone holding a role (the `vs_admin` team); acknowledged once for all.
    Team(Role),
}

impl Recipient {
    /// The allocated person, or the `vs_admin` team when nobody is allocated.
    pub fn person_or_admin_team(person: Option<&str>) -> Self {
        match person {
            Some(p) => Self::Person(p.to_owned()),
            None => Self::Team(Role::VsAdmin),
        }
    }
}

/// A notification to create.
#[derive(Debug, Clone)]
pub struct Notice {
    /// Who.
    pub recipient: Recipient,
    /// What kind of event (`became_looked_after`, `placement_change`, …).
    pub kind: String,
    /// About which child.
    pub child_id: Option<String>,
    /// One line, with ids rather than names.
    pub summary: String,
}

/// Stores `notices` and returns their ids. Call inside the transaction of the event that causes them.
pub fn notify(conn: &mut DbConnection, notices: Vec<Notice>) -> Result<Vec<String>, diesel::result::Error> {
    let now = truncate_to_micros(Utc::now().naive_utc());
    let rows: Vec<NotificationRow> = notices
        .into_iter()
        .map(|n| {
            let (recipient_id, recipient_team) = match n.recipient {
                Recipient::Person(p) => (Some(p), None),
                Recipient::Team(r) => (None, Some(r.as_str().to_owned())),
            };
            NotificationRow {
                id: uuid::Uuid::now_v7().to_string(),
                recipient_id,
                recipient_team,
                kind: n.kind,
                child_id: n.child_id,
                summary: n.summary,
                created_at: now,
                acknowledged_at: None,
                acknowledged_by: None,
            }
        })
        .collect();
    notifications_repo::insert(conn, &rows)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// The caller's inbox: their own notifications and their teams'. `vs_admin` may read another person's with
/// `recipient_id`.
fn inbox(user: &AuthUser, recipient_id: Option<String>) -> Result<Inbox, ApiError> {
    match recipient_id {
        Some(other) if other != user.sub => {
            if !user.has(Role::VsAdmin) {
                return Err(ApiError::Forbidden("only vs_admin may read another person's notifications".into()));
            }
            Ok(Inbox { recipient_id: other, teams: Vec::new() })
        }
        _ => Ok(Inbox {
            recipient_id: user.sub.clone(),
            teams: user.roles.iter().filter(|r| **r == Role::VsAdmin).map(|r| r.as_str().to_owned()).collect(),
        }),
    }
}

/// Roles that have notifications.
pub const READERS: &[Role] = &[Role::VsAdmin, Role::Vso, Role::SocialWorker, Role::SenCaseworker];

/// A page of the caller's notifications, newest first.
pub async fn list(
    pool: &Pool,
    user: &AuthUser,
    recipient_id: Option<String>,
    filter: NotificationFilter,
    before: Option<String>,
    limit: i64,
) -> Result<(Vec<NotificationRow>, bool), ApiError> {
    user.require_any(READERS, "notification.list", "notification").await?;
    let inbox = match inbox(user, recipient_id) {
        Ok(i) => i,
        Err(e) => {
            user.audit().record(vec![user.event("notification.list", "notification", Outcome::Denied)]).await?;
            return Err(e);
        }
    };
    let (rows, more) = db::run(pool, move |conn| {
        Ok(crate::pagination::split(
            notifications_repo::list(conn, &inbox, &filter, before.as_deref(), limit + 1)?,
            limit,
        ))
    })
    .await?;
    let events = rows
        .iter()
        .filter_map(|r| r.child_id.as_ref().map(|c| (r, c)))
        .map(|(r, c)| {
            user.event("notification.read", "notification", Outcome::Allowed).resource(r.id.clone()).child(c.clone())
        })
        .collect();
    user.audit().record(events).await?;
    Ok((rows, more))
}

/// Acknowledges one of the caller's notifications (or their team's). Idempotent: the first time stands.
pub async fn acknowledge(pool: &Pool, user: &AuthUser, id: &str) -> Result<NotificationRow, ApiError> {
    user.require_any(READERS, "notification.acknowledge", "notification").await?;
    let inbox = inbox(user, None)?;
    let by = user.sub.clone();
    let lookup = id.to_owned();
    let mut event = user.event("notification.acknowledge", "notification", Outcome::Allowed).resource(id.to_owned());
    let row = db::run(pool, move |conn| {
        use diesel::Connection;
        conn.transaction::<_, ApiError, _>(|c| {
            crate::db::begin_write(c)?;
            let Some(_) = notifications_repo::find(c, &inbox, &lookup)? else {
                return Ok(None);
            };
            let now = truncate_to_micros(Utc::now().naive_utc());
            if notifications_repo::acknowledge(c, &lookup, &by, now)? == 1 {
                if let Some(Some(child)) = notifications_repo::find(c, &inbox, &lookup)?.map(|r| r.child_id) {
                    event = event.child(child);
                }
                crate::db::audit_repo::insert(c, &[event])?;
            }
            Ok(notifications_repo::find(c, &inbox, &lookup)?)
        })
    })
    .await?;
    match row {
        Some(r) => Ok(r),
        None => {
            user.audit()
                .record(vec![user
                    .event("notification.acknowledge", "notification", Outcome::Denied)
                    .resource(id.to_owned())])
                .await?;
            Err(ApiError::NotFound("no such notification in your inbox".into()))
        }
    }
}
