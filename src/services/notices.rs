//! Notices: what a social worker (or the Virtual School) tells the VSO about a child. Each notice notifies the
//! right people in the same transaction, and a case transfer or school change moves the child at once.

use crate::auth::{AuthUser, Role};
use crate::db::children_repo::{self, Caseload};
use crate::db::notices_repo::{self, NoticeRow};
use crate::db::{self, audit_repo, Pool};
use crate::error::ApiError;
use crate::services::audit::{truncate_to_micros, Outcome};
use crate::services::children::{self, changed_fields};
use crate::services::notifications::{self, Notice as Notification, Recipient};
use crate::services::policy::Policy;
use chrono::{NaiveDate, Utc};
use diesel::Connection;

/// Roles that send notices (a social worker only about their own children).
pub const SENDERS: &[Role] = &[Role::VsAdmin, Role::Vso, Role::SocialWorker];

/// The kinds of notice.
pub const KINDS: &[&str] = &[
    "placement_change",
    "placement_breakdown_risk",
    "school_change",
    "health_change",
    "behaviour_change",
    "engagement_change",
    "meeting",
    "document_shared",
    "school_communication",
    "case_transfer",
];

/// Kinds the child's SEN caseworker hears about too when the child has an EHCP.
const SEN_KINDS: &[&str] = &["placement_change", "placement_breakdown_risk", "school_change"];

/// Working days from a change of school to the new PEP (DOMAIN.md).
pub const SCHOOL_CHANGE_PEP_WORKING_DAYS: u32 = 10;

/// A valid notice, ready to send.
#[derive(Debug, Clone)]
pub struct NewNotice {
    pub kind: String,
    pub summary: String,
    pub details: Option<String>,
    pub effective_on: NaiveDate,
    /// For `case_transfer`.
    pub new_social_worker_id: Option<String>,
    /// For `school_change`: (urn, name).
    pub new_school: Option<(String, String)>,
}

/// Who may send notices about which children: all for `vso`/`vs_admin`, their own for a social worker.
fn sender_caseload(user: &AuthUser) -> Caseload {
    if user.has_any(&[Role::VsAdmin, Role::Vso]) {
        Caseload::All
    } else {
        Caseload::Allocated { social_worker: Some(user.sub.clone()), sen_caseworker: None }
    }
}

/// Sends a notice about child `child_id`: stores it, notifies, and applies a transfer or school change, all in one
/// transaction. Returns the notice.
pub async fn send(
    pool: &Pool,
    user: &AuthUser,
    policy: &Policy,
    child_id: &str,
    notice: NewNotice,
) -> Result<NoticeRow, ApiError> {
    user.require_any(SENDERS, "notice.create", "notice").await?;
    let caseload = sender_caseload(user);
    let id = child_id.to_owned();
    let actor = user.clone();
    let policy = policy.clone();
    let result = db::run(pool, move |conn| {
        conn.transaction::<_, ApiError, _>(|c| {
            db::begin_write(c)?;
            let Some(old) = children_repo::find(c, &caseload, &id)? else {
                return Ok(None);
            };
            let now = truncate_to_micros(Utc::now().naive_utc());
            let mut new = old.clone();
            let vso = Recipient::person_or_admin_team(old.vso_id.as_deref());
            let mut notifications = vec![Notification {
                recipient: vso,
                kind: notice.kind.clone(),
                child_id: Some(id.clone()),
                summary: notice.summary.clone(),
            }];
            if SEN_KINDS.contains(&notice.kind.as_str()) && old.sen_status == "ehcp" {
                if let Some(sen) = &old.sen_caseworker_id {
                    notifications.push(Notification {
                        recipient: Recipient::Person(sen.clone()),
                        kind: notice.kind.clone(),
                        child_id: Some(id.clone()),
                        summary: notice.summary.clone(),
                    });
                }
            }
            if let Some(to) = &notice.new_social_worker_id {
                new.social_worker_id = Some(to.clone());
                notifications.push(Notification {
                    recipient: Recipient::Person(to.clone()),
                    kind: notice.kind.clone(),
                    child_id: Some(id.clone()),
                    summary: format!("You are now the social worker for LCS {}: {}", old.lcs_id, notice.summary),
                });
            }
            if let Some((urn, name)) = &notice.new_school {
                new.school_urn = Some(urn.clone());
                new.school_name = Some(name.clone());
                if new.lac_status == "looked_after" {
                    new.pep_required_on =
                        Some(policy.calendar.add_working_days(notice.effective_on, SCHOOL_CHANGE_PEP_WORKING_DAYS));
                    new.pep_required_since = Some(notice.effective_on);
                }
            }
            let fields = changed_fields(&old, &new);
            let mut events = vec![actor.event("notice.create", "notice", Outcome::Allowed).child(id.clone())];
            if !fields.is_empty() {
                new.version = old.version + 1;
                new.updated_at = now;
                if !children_repo::update(c, &new, old.version)? {
                    return Err(ApiError::Conflict(
                        "the child changed while the notice was sent; send it again".into(),
                    ));
                }
                events.push(
                    actor
                        .event("child.update", "child", Outcome::Allowed)
                        .resource(id.clone())
                        .child(id.clone())
                        .changed_fields(&fields),
                );
            }
            let ids = notifications::notify(c, notifications)?;
            let row = NoticeRow {
                id: uuid::Uuid::now_v7().to_string(),
                child_id: id.clone(),
                kind: notice.kind.clone(),
                summary: notice.summary.clone(),
                details: notice.details.clone(),
                effective_on: notice.effective_on,
                new_social_worker_id: notice.new_social_worker_id.clone(),
                new_school_urn: notice.new_school.as_ref().map(|s| s.0.clone()),
                new_school_name: notice.new_school.as_ref().map(|s| s.1.clone()),
                sent_by: actor.sub.clone(),
                notification_ids: serde_json::to_string(&ids).map_err(ApiError::internal)?,
                created_at: now,
            };
            notices_repo::insert(c, &row)?;
            events[0] = events[0].clone().resource(row.id.clone());
            audit_repo::insert(c, &events)?;
            Ok(Some(row))
        })
    })
    .await?;
    match result {
        Some(row) => Ok(row),
        None => Err(children::refuse(pool, user, "notice.create", child_id).await),
    }
}

/// A child's notices, newest first, for anyone who may read the child.
pub async fn list(
    pool: &Pool,
    user: &AuthUser,
    child_id: &str,
    before: Option<String>,
    limit: i64,
) -> Result<(Vec<NoticeRow>, bool), ApiError> {
    children::read(pool, user, child_id).await?;
    let id = child_id.to_owned();
    let (rows, more) = db::run(pool, move |conn| {
        Ok(crate::pagination::split(notices_repo::list(conn, &id, before.as_deref(), limit + 1)?, limit))
    })
    .await?;
    let events = rows
        .iter()
        .map(|r| user.event("notice.read", "notice", Outcome::Allowed).resource(r.id.clone()).child(r.child_id.clone()))
        .collect();
    user.audit().record(events).await?;
    Ok((rows, more))
}

/// One notice of a child, for anyone who may read the child.
pub async fn get(pool: &Pool, user: &AuthUser, child_id: &str, notice_id: &str) -> Result<NoticeRow, ApiError> {
    children::read(pool, user, child_id).await?;
    let (c, n) = (child_id.to_owned(), notice_id.to_owned());
    let row = db::run(pool, move |conn| Ok(notices_repo::find(conn, &c, &n)?)).await?;
    let row = row.ok_or_else(|| ApiError::NotFound("no such notice for this child".into()))?;
    user.audit()
        .record(vec![user
            .event("notice.read", "notice", Outcome::Allowed)
            .resource(row.id.clone())
            .child(row.child_id.clone())])
        .await?;
    Ok(row)
}
