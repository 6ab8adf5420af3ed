//! The virtual school roll: create, read, list and change children, with caseload scoping and audit.

use crate::auth::{AuthUser, Role};
use crate::db::children_repo::{self, Caseload, ChildFilter, ChildRow};
use crate::db::{self, audit_repo, Pool};
use crate::domain::child::{ChildDraft, LacStatus, PepStatus};
use crate::domain::terms::{PepDay, PepFacts};
use crate::domain::{KeyStage, YearGroup};
use crate::error::ApiError;
use crate::services::audit::{truncate_to_micros, NewAuditEvent, Outcome};
use crate::services::policy::Policy;
use chrono::{NaiveDate, Utc};
use diesel::Connection;

/// Roles that may create and change children.
pub const WRITERS: &[Role] = &[Role::VsAdmin, Role::Vso];
/// Roles that may read children (each within its caseload).
pub const READERS: &[Role] = &[Role::VsAdmin, Role::Vso, Role::SocialWorker, Role::SenCaseworker];

/// A stored child with the fields derived from it.
#[derive(Debug, Clone)]
pub struct ChildRecord {
    /// The stored row.
    pub row: ChildRow,
    /// PEP status on the day it was read.
    pub pep_status: PepStatus,
    /// The earliest date a PEP is owed, on the day it was read.
    pub next_pep_due_on: Option<NaiveDate>,
    /// Key stage of the year group.
    pub key_stage: Option<KeyStage>,
}

impl ChildRecord {
    /// The record of `row` on `day`, by the PEP rules of `policy`.
    pub fn new(row: ChildRow, policy: &Policy, day: &PepDay) -> Self {
        let (pep_status, next_pep_due_on) = policy.pep.schedule(&pep_facts(&row), day);
        let key_stage = row.year_group.as_deref().and_then(|y| YearGroup::parse(y).ok()).map(YearGroup::key_stage);
        Self { row, pep_status, next_pep_due_on, key_stage }
    }

    /// The entity tag: the stored version and the derived status (which can change overnight without a write).
    pub fn etag(&self) -> String {
        format!("\"v{}-{}\"", self.row.version, self.pep_status.as_str())
    }
}

/// What the PEP schedule of a stored child depends on.
pub(crate) fn pep_facts(row: &ChildRow) -> PepFacts<'_> {
    PepFacts {
        lac_status: LacStatus::parse(&row.lac_status).unwrap_or(LacStatus::LookedAfter),
        date_of_birth: row.date_of_birth,
        year_group: row.year_group.as_deref(),
        looked_after_since: row.looked_after_since,
        pep_required_on: row.pep_required_on,
        last_pep_term: row.last_pep_term,
    }
}

/// The caller's caseload for reading children, or `None` when no role of theirs reads children.
pub(crate) fn caseload(user: &AuthUser) -> Option<Caseload> {
    if user.has_any(&[Role::VsAdmin, Role::Vso]) {
        return Some(Caseload::All);
    }
    let social_worker = user.has(Role::SocialWorker).then(|| user.sub.clone());
    let sen_caseworker = user.has(Role::SenCaseworker).then(|| user.sub.clone());
    (social_worker.is_some() || sen_caseworker.is_some())
        .then_some(Caseload::Allocated { social_worker, sen_caseworker })
}

pub(crate) fn row_from_draft(id: String, d: ChildDraft, version: i64, created_at: chrono::NaiveDateTime) -> ChildRow {
    let now = truncate_to_micros(Utc::now().naive_utc());
    ChildRow {
        id,
        lcs_id: d.lcs_id,
        upn: d.upn.map(|u| u.as_str().to_owned()),
        first_name: d.first_name,
        last_name: d.last_name,
        date_of_birth: d.date_of_birth,
        sex: d.sex,
        ethnicity: d.ethnicity,
        lac_status: d.lac_status.as_str().to_owned(),
        looked_after_since: d.looked_after_since,
        ceased_on: d.ceased_on,
        legal_status: d.legal_status,
        placement_type: d.placement.placement_type,
        placement_provider: d.placement.provider,
        placement_out_of_authority: d.placement.out_of_authority,
        placement_started_on: d.placement.started_on,
        school_urn: d.school.urn,
        school_name: d.school.name,
        year_group: d.year_group.map(|y| y.as_str().to_owned()),
        sen_status: d.sen_status,
        vso_id: d.vso_id,
        social_worker_id: d.social_worker_id,
        sen_caseworker_id: d.sen_caseworker_id,
        pep_required_on: d.next_pep_due_on,
        version,
        created_at,
        updated_at: now,
        pep_required_since: None,
        last_pep_term: None,
    }
}

/// Names of the API fields that differ between two rows (never their values).
pub(crate) fn changed_fields(old: &ChildRow, new: &ChildRow) -> Vec<&'static str> {
    let mut out = Vec::new();
    macro_rules! cmp {
        ($($field:ident => $name:literal),+ $(,)?) => {
            $(if old.$field != new.$field { out.push($name); })+
        };
    }
    cmp!(
        lcs_id => "lcs_id", upn => "upn", first_name => "first_name", last_name => "last_name",
        date_of_birth => "date_of_birth", sex => "sex", ethnicity => "ethnicity", lac_status => "lac_status",
        looked_after_since => "looked_after_since", ceased_on => "ceased_on", legal_status => "legal_status",
        placement_type => "placement.type", placement_provider => "placement.provider",
        placement_out_of_authority => "placement.out_of_authority",
        placement_started_on => "placement.started_on", school_urn => "school.urn",
        school_name => "school.name", year_group => "year_group", sen_status => "sen_status",
        vso_id => "vso_id", social_worker_id => "social_worker_id", sen_caseworker_id => "sen_caseworker_id",
        pep_required_on => "next_pep_due_on", last_pep_term => "pep_status",
    );
    out
}

/// Adds a child to the roll (`vso`, `vs_admin`). A duplicate `lcs_id` answers 409.
pub async fn create(
    pool: &Pool,
    user: &AuthUser,
    policy: &Policy,
    mut draft: ChildDraft,
    within: Option<InTransaction>,
) -> Result<ChildRecord, ApiError> {
    user.require_any(WRITERS, "child.create", "child").await?;
    // A looked-after child with no due date gets the initial PEP timescale from the start of care.
    if draft.lac_status == LacStatus::LookedAfter && draft.next_pep_due_on.is_none() {
        draft.next_pep_due_on = draft.looked_after_since.map(|since| policy.initial_pep_due(since));
    }
    let id = uuid::Uuid::now_v7().to_string();
    let now = truncate_to_micros(Utc::now().naive_utc());
    let mut row = row_from_draft(id.clone(), draft, 1, now);
    // The event that made the PEP due: coming into care (or, for a date set by hand, today).
    row.pep_required_since = row.pep_required_on.map(|_| row.looked_after_since.unwrap_or_else(|| policy.today()));
    let record = ChildRecord::new(row, policy, &policy.pep_day());
    let event =
        user.event("child.create", "child", Outcome::Allowed).resource(id.clone()).child(id).changed_fields(&["*"]);
    let stored = record.clone();
    db::run(pool, move |conn| {
        conn.transaction::<_, ApiError, _>(|c| {
            children_repo::insert(c, &stored.row).map_err(|e| match ApiError::from(e) {
                ApiError::Conflict(_) => ApiError::Conflict("a child with this lcs_id is already on the roll".into()),
                other => other,
            })?;
            audit_repo::insert(c, &[event])?;
            if let Some(f) = within {
                f(c, &stored)?;
            }
            Ok(())
        })
    })
    .await?;
    Ok(record)
}

/// Work a caller adds to the transaction of a create (storing the response for an Idempotency-Key).
pub type InTransaction = Box<dyn FnOnce(&mut crate::db::DbConnection, &ChildRecord) -> Result<(), ApiError> + Send>;

/// Records that `user` was refused child `id` (404 to them), then answers 404.
pub(crate) async fn refuse(pool: &Pool, user: &AuthUser, action: &str, id: &str) -> ApiError {
    let lookup = id.to_owned();
    let known = db::run(pool, move |conn| Ok(children_repo::exists(conn, &lookup)?)).await.unwrap_or(false);
    let mut event = user.event(action, "child", Outcome::Denied).resource(id.to_owned());
    if known {
        event = event.child(id.to_owned());
    }
    if let Err(e) = user.audit().record(vec![event]).await {
        return e;
    }
    ApiError::NotFound("no child with this id on your caseload".into())
}

/// One child, if it is on the caller's caseload (404 otherwise). The read is audited.
pub async fn get(pool: &Pool, user: &AuthUser, policy: &Policy, id: &str) -> Result<ChildRecord, ApiError> {
    let row = read(pool, user, id).await?;
    Ok(ChildRecord::new(row, policy, &policy.pep_day()))
}

/// The stored child, if it is on the caller's caseload (404 otherwise), for reads of the child's other data. The
/// read is audited.
pub async fn read(pool: &Pool, user: &AuthUser, id: &str) -> Result<ChildRow, ApiError> {
    user.require_any(READERS, "child.read", "child").await?;
    let Some(caseload) = caseload(user) else {
        return Err(ApiError::Forbidden("your roles do not read children".into()));
    };
    let lookup = id.to_owned();
    let row = db::run(pool, move |conn| Ok(children_repo::find(conn, &caseload, &lookup)?)).await?;
    let Some(row) = row else {
        return Err(refuse(pool, user, "child.read", id).await);
    };
    user.audit()
        .record(vec![user.event("child.read", "child", Outcome::Allowed).resource(id.to_owned()).child(id.to_owned())])
        .await?;
    Ok(row)
}

/// How a list may be answered to this caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListView {
    /// Every field.
    Full,
    /// Identity fields only (`epep` matching a child).
    Identity,
}

/// A page of children on the caller's caseload. `epep` may only look a child up by exact `lcs_id` or `upn`, and
/// sees identity fields only. Every child returned is audited as read.
pub async fn list(
    pool: &Pool,
    user: &AuthUser,
    policy: &Policy,
    filter: ChildFilter,
    after: Option<String>,
    limit: i64,
) -> Result<(Vec<ChildRecord>, bool, ListView), ApiError> {
    let mut allowed = READERS.to_vec();
    allowed.push(Role::Epep);
    user.require_any(&allowed, "child.list", "child").await?;
    let (caseload, view) = match caseload(user) {
        Some(c) => (c, ListView::Full),
        None => {
            // UN1–UN5 stand for "unknown": they identify nobody, so they cannot be a lookup key.
            let placeholder = filter.upn.as_deref().is_some_and(crate::domain::upn::is_placeholder);
            let exact = filter.lcs_id.is_some() || (filter.upn.is_some() && !placeholder);
            let only_identity =
                ChildFilter { lcs_id: filter.lcs_id.clone(), upn: filter.upn.clone(), ..Default::default() };
            let only_identity = serde_json::to_value(&only_identity).ok() == serde_json::to_value(&filter).ok();
            if !(exact && only_identity) {
                user.audit().record(vec![user.event("child.list", "child", Outcome::Denied)]).await?;
                return Err(ApiError::Forbidden(
                    "epep may only look a child up by an exact lcs_id or upn filter".into(),
                ));
            }
            (Caseload::All, ListView::Identity)
        }
    };
    let day = policy.pep_day();
    let (rows, more) = db::run(pool, move |conn| {
        Ok(crate::pagination::split(
            children_repo::list(conn, &caseload, &filter, &day, after.as_deref(), limit + 1)?,
            limit,
        ))
    })
    .await?;
    let events: Vec<NewAuditEvent> = rows
        .iter()
        .map(|r| user.event("child.read", "child", Outcome::Allowed).resource(r.id.clone()).child(r.id.clone()))
        .collect();
    user.audit().record(events).await?;
    Ok((rows.into_iter().map(|r| ChildRecord::new(r, policy, &day)).collect(), more, view))
}

/// Changes a child (`vso`, `vs_admin`) if `if_match` names its current version: 428 without it, 412 when stale.
/// `apply` turns the current child into the new draft (a merge patch, validated); the change and its audit event
/// (with the changed field names) are stored together.
pub async fn update<F>(
    pool: &Pool,
    user: &AuthUser,
    policy: &Policy,
    id: &str,
    if_match: Option<Vec<String>>,
    apply: F,
) -> Result<ChildRecord, ApiError>
where
    F: FnOnce(&ChildRecord) -> Result<ChildDraft, ApiError> + Send + 'static,
{
    user.require_any(WRITERS, "child.update", "child").await?;
    let Some(if_match) = if_match else {
        return Err(ApiError::PreconditionRequired("send If-Match with the ETag of the child you are changing".into()));
    };
    let lookup = id.to_owned();
    let (policy, day) = (policy.clone(), policy.pep_day());
    let user_event = user.event("child.update", "child", Outcome::Allowed).resource(id.to_owned()).child(id.to_owned());
    let outcome = db::run(pool, move |conn| {
        conn.transaction::<_, ApiError, _>(|c| {
            crate::db::begin_write(c)?;
            let Some(row) = children_repo::find(c, &Caseload::All, &lookup)? else {
                return Ok(None);
            };
            let current = ChildRecord::new(row, &policy, &day);
            let etag = current.etag();
            if !if_match.iter().any(|t| t == "*" || *t == etag) {
                return Err(ApiError::PreconditionFailed(
                    "the child has changed since you read it; fetch it again and reapply your change".into(),
                ));
            }
            let draft = apply(&current)?;
            let old = current.row;
            let mut new = row_from_draft(old.id.clone(), draft, old.version + 1, old.created_at);
            new.last_pep_term = old.last_pep_term;
            new.pep_required_since = match new.pep_required_on {
                None => None,
                Some(_) if new.pep_required_on == old.pep_required_on => old.pep_required_since,
                // A due date set by hand: PEPs met from today settle it.
                Some(_) => Some(day.today),
            };
            let fields = changed_fields(&old, &new);
            if fields.is_empty() {
                return Ok(Some(ChildRecord::new(old, &policy, &day)));
            }
            if !children_repo::update(c, &new, old.version)? {
                return Err(ApiError::PreconditionFailed(
                    "the child changed while your change was applied; fetch it again".into(),
                ));
            }
            audit_repo::insert(c, &[user_event.changed_fields(&fields)])?;
            Ok(Some(ChildRecord::new(new, &policy, &day)))
        })
    })
    .await;
    match outcome {
        Ok(Some(record)) => Ok(record),
        Ok(None) => Err(refuse(pool, user, "child.update", id).await),
        Err(ApiError::Conflict(_)) => Err(ApiError::Conflict("a child with this lcs_id is already on the roll".into())),
        Err(e) => Err(e),
    }
}

/// Year groups allowed by a `year_group` and a `key_stage` filter together (`None` when neither is given).
pub fn year_group_filter(year_group: Option<YearGroup>, key_stage: Option<KeyStage>) -> Option<Vec<String>> {
    match (year_group, key_stage) {
        (None, None) => None,
        (Some(y), None) => Some(vec![y.as_str().to_owned()]),
        (None, Some(k)) => Some(k.year_groups().into_iter().map(str::to_owned).collect()),
        (Some(y), Some(k)) => Some(if y.key_stage() == k { vec![y.as_str().to_owned()] } else { Vec::new() }),
    }
}
