//! Personal Education Plans: pushes from the ePEP provider (new, unchanged, revised or conflicting), the sign-off's
//! effects on the child's PEP schedule and notifications, reads within the child's caseload, quality reviews and
//! confirmation that the signed copy is on LCS.

use crate::auth::{AuthUser, Role};
use crate::db::children_repo::{self, Caseload};
use crate::db::peps_repo::{self, AttainmentRow, PepFilter, PepRow, PepScope, ReviewRow, RevisionRow};
use crate::db::{self, audit_repo, DbConnection, Pool};
use crate::domain::calendar::uk_date;
use crate::domain::pep::{PepContent, PepSubmission};
use crate::domain::terms::TermOf;
use crate::domain::YearGroup;
use crate::error::{ApiError, FieldError};
use crate::services::audit::{truncate_to_micros, NewAuditEvent, Outcome};
use crate::services::children::changed_fields;
use crate::services::notifications::{notify, Notice, Recipient};
use crate::services::policy::Policy;
use chrono::Utc;
use diesel::Connection;
use sha2::Digest;

/// Roles that push PEPs.
pub const PUSHERS: &[Role] = &[Role::Epep, Role::VsAdmin];
/// Roles that read PEPs (people within their caseload; `epep` only what it pushed).
pub const READERS: &[Role] = &[Role::VsAdmin, Role::Vso, Role::SocialWorker, Role::SenCaseworker, Role::Epep];
/// Roles that rate a PEP's quality.
pub const REVIEWERS: &[Role] = &[Role::Vso, Role::VsAdmin];
/// Roles that confirm the signed copy is on LCS (a social worker for their own children).
pub const UPLOADERS: &[Role] = &[Role::SocialWorker, Role::VsAdmin];

/// A stored PEP with its content and latest quality review.
#[derive(Debug, Clone)]
pub struct PepRecord {
    /// The stored row.
    pub row: PepRow,
    /// The latest revision's content.
    pub content: PepContent,
    /// The latest quality review.
    pub review: Option<ReviewRow>,
}

impl PepRecord {
    fn new(row: PepRow, review: Option<ReviewRow>) -> Result<Self, ApiError> {
        let content = serde_json::from_str(&row.content).map_err(ApiError::internal)?;
        Ok(Self { row, content, review })
    }

    /// The entity tag: the stored version.
    pub fn etag(&self) -> String {
        format!("\"v{}\"", self.row.version)
    }
}

/// How a push ended.
#[derive(Debug)]
pub enum Pushed {
    /// A new PEP (201).
    Created(PepRecord),
    /// A higher revision replaced the PEP (200).
    Revised(PepRecord),
    /// The same content again: nothing changed (200).
    Unchanged(PepRecord),
}

/// Work a caller adds to the transaction of a push (storing the response for an Idempotency-Key).
pub type InTransaction = Box<dyn FnOnce(&mut DbConnection, &Pushed) -> Result<(), ApiError> + Send>;

/// The hash that recognises a re-send: SHA-256 of the child's id and the content, as JSON.
pub(crate) fn content_hash(child_id: &str, content: &PepContent) -> Result<String, ApiError> {
    let bytes = serde_json::to_vec(&(child_id, content)).map_err(ApiError::internal)?;
    Ok(format!("{:x}", sha2::Sha256::digest(bytes)))
}

fn invalid(field: &str, reason: impl Into<String>) -> ApiError {
    ApiError::validation(vec![FieldError::new(field, reason)])
}

/// Shortens free text for a notification's one line.
fn clip(s: &str, max: usize) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        format!("{}…", one_line.chars().take(max - 1).collect::<String>())
    }
}

/// Applies a push from the ePEP provider (`epep`, `vs_admin`), keyed by `external_id`:
/// - new: stored (201); the same revision with the same content: unchanged (200);
/// - a higher revision: replaces it, the earlier kept in its history (200);
/// - a lower revision, or the same with different content: 409.
///
/// On a sign-off (new or revised) the child's PEP schedule moves on, the social worker is notified of the PEP and
/// of each open action owned by `social_worker` (on a revision, only new or changed ones), and the VSO is notified
/// when the PEP was signed off after its deadline. All in one transaction with the audit events.
pub async fn push(
    pool: &Pool,
    user: &AuthUser,
    policy: &Policy,
    sub: PepSubmission,
    within: Option<InTransaction>,
) -> Result<Pushed, ApiError> {
    user.require_any(PUSHERS, "pep.push", "pep").await?;
    let policy = policy.clone();
    let actor = user.clone();
    db::run(pool, move |conn| {
        conn.transaction::<_, ApiError, _>(|c| {
            db::begin_write(c)?;
            let pushed = apply(c, &actor, &policy, sub)?;
            if let Some(f) = within {
                f(c, &pushed)?;
            }
            Ok(pushed)
        })
    })
    .await
}

fn apply(c: &mut DbConnection, actor: &AuthUser, policy: &Policy, sub: PepSubmission) -> Result<Pushed, ApiError> {
    // The child: by id, by LCS id, or both naming the same child.
    let by_lcs = match &sub.child.lcs_id {
        Some(lcs) => Some(
            peps_repo::child_id_by_lcs_id(c, lcs)?
                .ok_or_else(|| invalid("lcs_id", "no child with this lcs_id is on the roll"))?,
        ),
        None => None,
    };
    let child_id = match (&sub.child.child_id, by_lcs) {
        (Some(id), Some(other)) if *id != other => {
            return Err(invalid("child_id", "names a different child from lcs_id"));
        }
        (Some(id), _) => id.clone(),
        (None, Some(id)) => id,
        (None, None) => return Err(invalid("child_id", "name the child by child_id or lcs_id")),
    };
    let child = peps_repo::lock_child(c, &child_id)?
        .ok_or_else(|| invalid("child_id", "no child with this id is on the roll"))?;
    if sub.content.meeting_date < child.date_of_birth {
        return Err(invalid("meeting_date", "must not be before the child's date of birth"));
    }
    let hash = content_hash(&child.id, &sub.content)?;
    let existing = peps_repo::find_by_external_id(c, &sub.external_id)?;
    let now = truncate_to_micros(Utc::now().naive_utc());
    let term = TermOf { year: sub.year, term: sub.term };

    let previous = match existing {
        None => None,
        // An ePEP client keeps its own PEPs: another client may not re-send or revise them (the admin team may).
        Some(e) if !actor.has(Role::VsAdmin) && e.created_by != actor.sub => {
            return Err(ApiError::Conflict(format!(
                "external_id {} is a PEP another ePEP client pushed; use your own external ids",
                sub.external_id
            )));
        }
        Some(e) if e.child_id != child.id => {
            return Err(ApiError::Conflict(format!(
                "external_id {} is a PEP of another child; a PEP cannot move between children",
                sub.external_id
            )));
        }
        Some(e) if sub.revision == e.revision && hash == e.content_hash => {
            return unchanged(c, actor, e);
        }
        Some(e) if sub.revision == e.revision => {
            return Err(ApiError::Conflict(format!(
                "revision {} of {} is already stored with different content; send a higher revision",
                e.revision, sub.external_id
            )));
        }
        Some(e) if sub.revision < e.revision => {
            // A late re-send of an earlier revision, unchanged, is answered with the PEP as it now stands.
            if peps_repo::revision(c, &e.id, sub.revision)?.is_some_and(|r| r.content_hash == hash) {
                return unchanged(c, actor, e);
            }
            return Err(ApiError::Conflict(format!(
                "{} is at revision {}; revision {} is older and differs from what was stored",
                sub.external_id, e.revision, sub.revision
            )));
        }
        Some(e) => Some(e),
    };

    // The deadline this PEP answers (kept from its first sign-off): the event-driven PEP it settles, and this term's
    // PEP if the child owed one (looked after before the term began, with no PEP of it yet).
    let settles = child.pep_required_on.is_some()
        && child.pep_required_since.is_none_or(|since| sub.content.meeting_date >= since);
    // A child who needed no PEP when it was met (too young or old, or ceased) owed nothing, so nothing is late.
    let needed =
        policy.pep.required(&crate::services::children::pep_facts(&child), &policy.pep.day(sub.content.meeting_date));
    let (deadline, late) = match &previous {
        Some(p) => (p.deadline, p.signed_off_late),
        None if !needed => (None, false),
        None => {
            let terms = &policy.pep.terms;
            let term_owed = child.last_pep_term.is_none_or(|t| t < term.ordinal())
                && child.looked_after_since.is_none_or(|s| s < terms.start(term));
            let deadline =
                [settles.then_some(child.pep_required_on).flatten(), term_owed.then(|| terms.deadline(term))]
                    .into_iter()
                    .flatten()
                    .min();
            (deadline, deadline.is_some_and(|d| uk_date(sub.content.signed_off_at) > d))
        }
    };

    let content_json = serde_json::to_string(&sub.content).map_err(ApiError::internal)?;
    let (attendance, exclusions) = (&sub.content.attendance, &sub.content.exclusions);
    let row = PepRow {
        id: previous.as_ref().map_or_else(|| uuid::Uuid::now_v7().to_string(), |p| p.id.clone()),
        external_id: sub.external_id.clone(),
        child_id: child.id.clone(),
        revision: sub.revision,
        academic_year: sub.content.academic_year.clone(),
        term: sub.content.term.clone(),
        term_ordinal: term.ordinal(),
        meeting_date: sub.content.meeting_date,
        signed_off_at: sub.content.signed_off_at.naive_utc(),
        signed_off_by: sub.content.signed_off_by.clone(),
        deadline,
        signed_off_late: late,
        latest_in_term: false,
        // The child's year group in the PEP's academic year (the roll holds this year's), so a late push or a revision
        // after the child moved up is still counted in the key stage the child was in.
        year_group: child
            .year_group
            .as_deref()
            .and_then(|y| YearGroup::parse(y).ok())
            .and_then(|y| y.shifted(sub.year.start_year() - policy.pep_day().term.year.start_year()))
            .map(|y| y.as_str().to_owned()),
        attendance_percentage: attendance.as_ref().map(|a| a.percentage),
        sessions_possible: attendance.as_ref().map(|a| a.sessions_possible),
        sessions_attended: attendance.as_ref().map(|a| a.sessions_attended),
        suspensions: exclusions.as_ref().map(|x| x.suspensions),
        suspension_days: exclusions.as_ref().map(|x| x.suspension_days),
        permanent_exclusion: exclusions.as_ref().map(|x| x.permanent_exclusion),
        content_hash: hash,
        content: content_json,
        quality_rating: previous.as_ref().and_then(|p| p.quality_rating.clone()),
        // A new revision is a new document: its signed copy has yet to reach LCS.
        lcs_upload_confirmed_at: None,
        lcs_upload_confirmed_by: None,
        pushed_by: actor.sub.clone(),
        created_by: previous.as_ref().map_or_else(|| actor.sub.clone(), |p| p.created_by.clone()),
        received_at: now,
        version: previous.as_ref().map_or(1, |p| p.version + 1),
        created_at: previous.as_ref().map_or(now, |p| p.created_at),
        updated_at: now,
    };
    match &previous {
        None => peps_repo::insert(c, &row)?,
        Some(p) => {
            if !peps_repo::update(c, &row, p.version)? {
                return Err(ApiError::Conflict(
                    "the PEP changed while this revision was applied; send it again".into(),
                ));
            }
        }
    }
    // The replaced revision joins the history as it was received.
    if let Some(p) = &previous {
        peps_repo::insert_revision(
            c,
            &RevisionRow {
                pep_id: p.id.clone(),
                revision: p.revision,
                content_hash: p.content_hash.clone(),
                content: p.content.clone(),
                pushed_by: p.pushed_by.clone(),
                received_at: p.received_at,
            },
        )?;
    }
    let attainment: Vec<AttainmentRow> = sub
        .content
        .attainment
        .iter()
        .enumerate()
        .map(|(i, a)| AttainmentRow {
            pep_id: row.id.clone(),
            position: i as i64,
            subject: a.subject.clone(),
            past: a.past,
            current_value: a.current,
            predicted: a.predicted,
            target: a.target,
            term_ordinal: row.term_ordinal,
            year_group: row.year_group.clone(),
            // Set with the PEP's own flag below.
            latest_in_term: false,
        })
        .collect();
    peps_repo::replace_attainment(c, &row.id, &attainment)?;
    let mut terms_touched = vec![row.term_ordinal];
    if let Some(p) = previous.as_ref().filter(|p| p.term_ordinal != row.term_ordinal) {
        terms_touched.push(p.term_ordinal);
    }
    for t in terms_touched {
        mark_latest_in_term(c, &child.id, t)?;
    }

    // The child's schedule moves on.
    let mut moved = child.clone();
    if settles {
        moved.pep_required_on = None;
        moved.pep_required_since = None;
    }
    // From the PEPs as they now stand: a revision may move a PEP to another term (a corrected meeting date), and the
    // term it left may then have no PEP.
    moved.last_pep_term = peps_repo::latest_term_of_child(c, &child.id)?;
    let child_fields = changed_fields(&child, &moved);
    let mut events: Vec<NewAuditEvent> = Vec::new();
    if !child_fields.is_empty() {
        moved.version = child.version + 1;
        moved.updated_at = now;
        if !children_repo::update(c, &moved, child.version)? {
            return Err(ApiError::Conflict("the child changed while the PEP was applied; send it again".into()));
        }
        events.push(
            actor
                .event("child.update", "child", Outcome::Allowed)
                .resource(child.id.clone())
                .child(child.id.clone())
                .changed_fields(&child_fields),
        );
    }

    // Notifications.
    let lcs = &child.lcs_id;
    let when = format!("{} {}", row.academic_year, row.term);
    let social_worker = Recipient::person_or_admin_team(child.social_worker_id.as_deref());
    let mut notices = vec![Notice {
        recipient: social_worker.clone(),
        kind: if previous.is_some() { "pep_revised" } else { "pep_signed_off" }.into(),
        child_id: Some(child.id.clone()),
        summary: match &previous {
            None => format!(
                "PEP for LCS {lcs} ({when}) signed off on {}: read its targets and actions, and upload the signed copy to LCS",
                uk_date(sub.content.signed_off_at)
            ),
            Some(_) => format!(
                "PEP for LCS {lcs} ({when}) revised to revision {}: read the changes, and upload the new signed copy to LCS",
                row.revision
            ),
        },
    }];
    let before: Vec<crate::domain::pep::Action> = match &previous {
        Some(p) => serde_json::from_str::<PepContent>(&p.content).map(|c| c.actions).unwrap_or_default(),
        None => Vec::new(),
    };
    for a in sub.content.actions.iter().filter(|a| a.owner_role == "social_worker" && a.status == "open") {
        if before.contains(a) {
            continue;
        }
        let due = a.due_on.map_or_else(|| "no date set".to_owned(), |d| format!("due {d}"));
        notices.push(Notice {
            recipient: social_worker.clone(),
            kind: "pep_action".into(),
            child_id: Some(child.id.clone()),
            summary: format!("PEP action {} for you (LCS {lcs}, {when}), {due}: {}", a.id, clip(&a.description, 300)),
        });
    }
    if previous.is_none() && late {
        if let Some(d) = deadline {
            notices.push(Notice {
                recipient: Recipient::person_or_admin_team(child.vso_id.as_deref()),
                kind: "pep_signed_off_late".into(),
                child_id: Some(child.id.clone()),
                summary: format!(
                    "PEP for LCS {lcs} ({when}) was signed off on {}, after its deadline of {d}",
                    uk_date(sub.content.signed_off_at)
                ),
            });
        }
    }
    notify(c, notices)?;

    let fields: Vec<String> = match &previous {
        None => vec!["*".into()],
        Some(p) => content_fields_changed(&p.content, &row.content),
    };
    events.push(
        actor
            .event(if previous.is_some() { "pep.revise" } else { "pep.create" }, "pep", Outcome::Allowed)
            .resource(row.id.clone())
            .child(child.id.clone())
            .changed_fields(&fields),
    );
    audit_repo::insert(c, &events)?;
    let review = match &previous {
        Some(_) => peps_repo::latest_review(c, &row.id)?,
        None => None,
    };
    let stored = peps_repo::find(c, &PepScope::Caseload(Caseload::All), &row.id)?.unwrap_or(row);
    let record = PepRecord::new(stored, review)?;
    Ok(if previous.is_some() { Pushed::Revised(record) } else { Pushed::Created(record) })
}

/// The top-level fields whose value differs between two revisions' content (names only, never values).
fn content_fields_changed(old: &str, new: &str) -> Vec<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::from_str::<serde_json::Value>(old), serde_json::from_str::<serde_json::Value>(new))
    else {
        return vec!["*".into()];
    };
    let mut out: Vec<String> = b.iter().filter(|(k, v)| a.get(*k) != Some(v)).map(|(k, _)| k.clone()).collect();
    out.insert(0, "revision".into());
    out
}

fn unchanged(c: &mut DbConnection, actor: &AuthUser, row: PepRow) -> Result<Pushed, ApiError> {
    let event =
        actor.event("pep.push_unchanged", "pep", Outcome::Allowed).resource(row.id.clone()).child(row.child_id.clone());
    audit_repo::insert(c, &[event])?;
    let review = peps_repo::latest_review(c, &row.id)?;
    Ok(Pushed::Unchanged(PepRecord::new(row, review)?))
}

/// Marks the child's latest-signed PEP of a term (latest meeting, then latest sign-off) as the one reports count.
fn mark_latest_in_term(c: &mut DbConnection, child_id: &str, term_ordinal: i64) -> Result<(), ApiError> {
    let peps = peps_repo::of_child_in_term(c, child_id, term_ordinal)?;
    let latest =
        peps.iter().max_by_key(|(id, meeting, signed, _)| (*meeting, *signed, id.clone())).map(|p| p.0.clone());
    for (id, _, _, flagged) in &peps {
        let should = Some(id) == latest.as_ref();
        if *flagged != should {
            peps_repo::set_latest_in_term(c, id, should)?;
        }
    }
    Ok(())
}

/// What the caller may see, or `None` when no role of theirs reads PEPs.
fn scope(user: &AuthUser) -> Option<PepScope> {
    match crate::services::children::caseload(user) {
        Some(c) => Some(PepScope::Caseload(c)),
        None if user.has(Role::Epep) => Some(PepScope::PushedBy(user.sub.clone())),
        None => None,
    }
}

/// Records that `user` was refused PEP `id`, then answers 404.
async fn refuse(pool: &Pool, user: &AuthUser, action: &str, id: &str) -> ApiError {
    let lookup = id.to_owned();
    let child = db::run(pool, move |conn| Ok(peps_repo::child_of(conn, &lookup)?)).await.unwrap_or(None);
    let mut event = user.event(action, "pep", Outcome::Denied).resource(id.to_owned());
    if let Some(child) = child {
        event = event.child(child);
    }
    if let Err(e) = user.audit().record(vec![event]).await {
        return e;
    }
    ApiError::NotFound("no PEP with this id that you may read".into())
}

/// One PEP the caller may read (404 otherwise). The read is audited.
pub async fn get(pool: &Pool, user: &AuthUser, id: &str) -> Result<PepRecord, ApiError> {
    user.require_any(READERS, "pep.read", "pep").await?;
    let scope = scope(user).ok_or_else(|| ApiError::Forbidden("your roles do not read PEPs".into()))?;
    let lookup = id.to_owned();
    let found = db::run(pool, move |conn| {
        let Some(row) = peps_repo::find(conn, &scope, &lookup)? else { return Ok(None) };
        let review = peps_repo::latest_review(conn, &lookup)?;
        Ok(Some((row, review)))
    })
    .await?;
    let Some((row, review)) = found else {
        return Err(refuse(pool, user, "pep.read", id).await);
    };
    user.audit()
        .record(vec![user
            .event("pep.read", "pep", Outcome::Allowed)
            .resource(row.id.clone())
            .child(row.child_id.clone())])
        .await?;
    PepRecord::new(row, review)
}

/// A page of the PEPs the caller may read. Each PEP returned is audited as read.
pub async fn list(
    pool: &Pool,
    user: &AuthUser,
    filter: PepFilter,
    after: Option<String>,
    limit: i64,
) -> Result<(Vec<PepRecord>, bool), ApiError> {
    user.require_any(READERS, "pep.list", "pep").await?;
    let scope = scope(user).ok_or_else(|| ApiError::Forbidden("your roles do not read PEPs".into()))?;
    let (rows, more, reviews) = db::run(pool, move |conn| {
        let (rows, more) =
            crate::pagination::split(peps_repo::list(conn, &scope, &filter, after.as_deref(), limit + 1)?, limit);
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let reviews = peps_repo::latest_reviews(conn, &ids)?;
        Ok((rows, more, reviews))
    })
    .await?;
    let events = rows
        .iter()
        .map(|r| user.event("pep.read", "pep", Outcome::Allowed).resource(r.id.clone()).child(r.child_id.clone()))
        .collect();
    user.audit().record(events).await?;
    let mut reviews: std::collections::HashMap<String, ReviewRow> =
        reviews.into_iter().map(|r| (r.pep_id.clone(), r)).collect();
    let records = rows
        .into_iter()
        .map(|r| {
            let review = reviews.remove(&r.id);
            PepRecord::new(r, review)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((records, more))
}

/// A page of a PEP's revisions, oldest first (whoever may read the PEP; the read is audited).
pub async fn revisions(
    pool: &Pool,
    user: &AuthUser,
    id: &str,
    after: Option<i64>,
    limit: i64,
) -> Result<(Vec<RevisionRow>, bool), ApiError> {
    let current = get(pool, user, id).await?;
    let id = id.to_owned();
    let mut rows = db::run(pool, move |conn| Ok(peps_repo::revisions(conn, &id, after, limit + 1)?)).await?;
    // The replaced revisions are stored apart; the current one closes the list.
    if rows.len() <= limit as usize && after.is_none_or(|a| current.row.revision > a) {
        let r = current.row;
        rows.push(RevisionRow {
            pep_id: r.id,
            revision: r.revision,
            content_hash: r.content_hash,
            content: r.content,
            pushed_by: r.pushed_by,
            received_at: r.received_at,
        });
    }
    Ok(crate::pagination::split(rows, limit))
}

/// A quality review as sent.
#[derive(Debug, Clone)]
pub struct NewReview {
    /// `red`, `amber` or `green`.
    pub rating: String,
    /// Comments.
    pub comments: Option<String>,
}

/// Rates a PEP's quality (`vso`, `vs_admin`). Every review is kept; the latest shows on the PEP. Replacing a review
/// needs `If-Match` with the PEP's ETag (428 without it, 412 when stale); a first review checks it when sent. A
/// `red` rating notifies the VSO and the social worker.
pub async fn review(
    pool: &Pool,
    user: &AuthUser,
    id: &str,
    if_match: Option<Vec<String>>,
    new: NewReview,
) -> Result<(PepRecord, bool), ApiError> {
    user.require_any(REVIEWERS, "pep.quality_review", "pep").await?;
    let (lookup, actor) = (id.to_owned(), user.clone());
    let outcome = db::run(pool, move |conn| {
        conn.transaction::<_, ApiError, _>(|c| {
            db::begin_write(c)?;
            let Some(row) = peps_repo::find(c, &PepScope::Caseload(Caseload::All), &lookup)? else {
                return Ok(None);
            };
            let etag = format!("\"v{}\"", row.version);
            match &if_match {
                None if row.quality_rating.is_some() => {
                    return Err(ApiError::PreconditionRequired(
                        "this PEP has a review already: send If-Match with the PEP's ETag to replace it".into(),
                    ));
                }
                Some(tags) if !tags.iter().any(|t| t == "*" || *t == etag) => {
                    return Err(ApiError::PreconditionFailed(
                        "the PEP has changed since you read it; read it again before rating it".into(),
                    ));
                }
                _ => {}
            }
            let first = row.quality_rating.is_none();
            let now = truncate_to_micros(Utc::now().naive_utc());
            let review = ReviewRow {
                id: uuid::Uuid::now_v7().to_string(),
                pep_id: row.id.clone(),
                revision: row.revision,
                rating: new.rating.clone(),
                comments: new.comments.clone(),
                reviewed_by: actor.sub.clone(),
                reviewed_at: now,
            };
            peps_repo::insert_review(c, &review)?;
            let mut updated = row.clone();
            updated.quality_rating = Some(new.rating.clone());
            updated.version = row.version + 1;
            updated.updated_at = now;
            if !peps_repo::update(c, &updated, row.version)? {
                return Err(ApiError::PreconditionFailed("the PEP changed while it was rated; read it again".into()));
            }
            if new.rating == "red" {
                let child = children_repo::find(c, &Caseload::All, &row.child_id)?;
                if let Some(child) = child {
                    let summary = format!(
                        "PEP for LCS {} ({} {}) was rated red in quality review: it needs work before it meets the child's needs",
                        child.lcs_id, row.academic_year, row.term
                    );
                    let mut notices = vec![Notice {
                        recipient: Recipient::person_or_admin_team(child.vso_id.as_deref()),
                        kind: "pep_quality_red".into(),
                        child_id: Some(child.id.clone()),
                        summary: summary.clone(),
                    }];
                    if let Some(sw) = child.social_worker_id {
                        notices.push(Notice {
                            recipient: Recipient::Person(sw),
                            kind: "pep_quality_red".into(),
                            child_id: Some(child.id.clone()),
                            summary,
                        });
                    }
                    notify(c, notices)?;
                }
            }
            audit_repo::insert(
                c,
                &[actor
                    .event("pep.quality_review", "pep", Outcome::Allowed)
                    .resource(row.id.clone())
                    .child(row.child_id.clone())
                    .changed_fields(&["quality_rating", "quality_review"])],
            )?;
            Ok(Some((PepRecord::new(updated, Some(review))?, first)))
        })
    })
    .await?;
    match outcome {
        Some(r) => Ok(r),
        None => Err(refuse(pool, user, "pep.quality_review", id).await),
    }
}

/// Confirms the signed copy is on the child's LCS record (the child's social worker, `vs_admin`). Idempotent: a
/// second confirmation changes nothing and answers with the first one's time and person.
pub async fn confirm_lcs_upload(pool: &Pool, user: &AuthUser, id: &str) -> Result<PepRecord, ApiError> {
    user.require_any(UPLOADERS, "pep.lcs_upload", "pep").await?;
    let scope = if user.has(Role::VsAdmin) {
        PepScope::Caseload(Caseload::All)
    } else {
        PepScope::Caseload(Caseload::Allocated { social_worker: Some(user.sub.clone()), sen_caseworker: None })
    };
    let (lookup, actor) = (id.to_owned(), user.clone());
    let outcome = db::run(pool, move |conn| {
        conn.transaction::<_, ApiError, _>(|c| {
            db::begin_write(c)?;
            let Some(row) = peps_repo::find(c, &scope, &lookup)? else { return Ok(None) };
            let review = peps_repo::latest_review(c, &row.id)?;
            let event = actor
                .event("pep.lcs_upload", "pep", Outcome::Allowed)
                .resource(row.id.clone())
                .child(row.child_id.clone());
            if row.lcs_upload_confirmed_at.is_some() {
                audit_repo::insert(c, &[event])?;
                return Ok(Some(PepRecord::new(row, review)?));
            }
            let now = truncate_to_micros(Utc::now().naive_utc());
            let mut updated = row.clone();
            updated.lcs_upload_confirmed_at = Some(now);
            updated.lcs_upload_confirmed_by = Some(actor.sub.clone());
            updated.version = row.version + 1;
            updated.updated_at = now;
            if !peps_repo::update(c, &updated, row.version)? {
                return Err(ApiError::Conflict("the PEP changed while the upload was confirmed; try again".into()));
            }
            audit_repo::insert(c, &[event.changed_fields(&["lcs_upload_confirmed_at", "lcs_upload_confirmed_by"])])?;
            Ok(Some(PepRecord::new(updated, review)?))
        })
    })
    .await?;
    match outcome {
        Some(r) => Ok(r),
        None => Err(refuse(pool, user, "pep.lcs_upload", id).await),
    }
}
