//! Pupil Premium Plus: each academic year's budget, and allocations against it (requested, approved or rejected,
//! paid, impact). An approval checks the year's remaining money under a lock on the budget, so two approvals racing
//! for the last of it cannot both succeed.

use crate::auth::{AuthUser, Role};
use crate::db::children_repo::{self, Caseload};
use crate::db::pp_repo::{self, AllocationFilter, AllocationRow, BudgetRow};
use crate::db::{self, audit_repo, DbConnection, Pool};
use crate::domain::pupil_premium_plus::{pounds, remaining, Status};
use crate::error::{ApiError, FieldError};
use crate::services::audit::{truncate_to_micros, NewAuditEvent, Outcome};
use crate::services::children;
use crate::services::notifications::{self, Notice as Notification, Recipient};
use chrono::{NaiveDate, Utc};
use diesel::Connection;

/// Roles that set budgets, decide requests and record payments.
pub const ADMINS: &[Role] = &[Role::VsAdmin];
/// Roles that read budgets.
pub const BUDGET_READERS: &[Role] = &[Role::VsAdmin, Role::Vso];
/// Roles that request allocations and record their impact.
pub const REQUESTERS: &[Role] = &[Role::VsAdmin, Role::Vso];
/// Roles that read allocations (social workers and SEN caseworkers within their caseload).
pub const READERS: &[Role] = children::READERS;

/// A valid budget, ready to store.
#[derive(Debug, Clone)]
pub struct BudgetDraft {
    /// `2026-27`.
    pub academic_year: String,
    pub grant_pence: i64,
    pub rate_pence: i64,
    pub eligible_children: i64,
    pub central_retention_pence: i64,
}

/// A stored budget with its spending.
#[derive(Debug, Clone)]
pub struct BudgetRecord {
    /// The stored row.
    pub row: BudgetRow,
    /// Approved or paid.
    pub approved_pence: i64,
    /// Paid.
    pub paid_pence: i64,
}

impl BudgetRecord {
    /// Grant less central retention less approved spending.
    pub fn remaining_pence(&self) -> i64 {
        remaining(self.row.grant_pence, self.row.central_retention_pence, self.approved_pence)
    }

    /// The entity tag: the version of the budget's settings (spending moves without changing it).
    pub fn etag(&self) -> String {
        format!("\"v{}\"", self.row.version)
    }
}

fn record(c: &mut DbConnection, row: BudgetRow) -> Result<BudgetRecord, ApiError> {
    let (approved_pence, paid_pence) = pp_repo::spending(c, &row.academic_year)?;
    Ok(BudgetRecord { row, approved_pence, paid_pence })
}

/// Sets the budget of a year (`vs_admin`). The first PUT creates it (no `If-Match`); later ones need `If-Match`
/// with its current `ETag` (428 without, 412 when stale). A budget below what is already approved answers 409.
/// Returns the budget and whether it was created.
pub async fn put_budget(
    pool: &Pool,
    user: &AuthUser,
    draft: BudgetDraft,
    if_match: Option<Vec<String>>,
) -> Result<(BudgetRecord, bool), ApiError> {
    user.require_any(ADMINS, "pp_budget.put", "pp_budget").await?;
    let actor = user.clone();
    let result = db::run(pool, move |conn| {
        conn.transaction::<_, ApiError, _>(|c| {
            db::begin_write(c)?;
            let year = draft.academic_year.clone();
            let now = truncate_to_micros(Utc::now().naive_utc());
            let old = pp_repo::lock_budget(c, &year)?;
            let mut new = BudgetRow {
                academic_year: year.clone(),
                grant_pence: draft.grant_pence,
                rate_pence: draft.rate_pence,
                eligible_children: draft.eligible_children,
                central_retention_pence: draft.central_retention_pence,
                updated_by: actor.sub.clone(),
                version: 1,
                created_at: now,
                updated_at: now,
            };
            let event = actor.event("pp_budget.put", "pp_budget", Outcome::Allowed).resource(year.clone());
            let Some(old) = old else {
                if if_match.is_some() {
                    return Err(ApiError::PreconditionFailed(format!(
                        "there is no budget for {year} yet; send the first PUT without If-Match"
                    )));
                }
                pp_repo::insert_budget(c, &new).map_err(|e| match ApiError::from(e) {
                    ApiError::Conflict(_) => ApiError::Conflict(format!(
                        "the {year} budget was set at the same time by someone else; GET it and send If-Match"
                    )),
                    other => other,
                })?;
                audit_repo::insert(c, &[event.changed_fields(&["*"])])?;
                return Ok((record(c, new)?, true));
            };
            let Some(if_match) = if_match else {
                return Err(ApiError::PreconditionRequired(format!(
                    "the {year} budget exists: send If-Match with the ETag of the budget you are changing"
                )));
            };
            let current = format!("\"v{}\"", old.version);
            if !if_match.iter().any(|t| t == "*" || *t == current) {
                return Err(ApiError::PreconditionFailed(format!(
                    "the {year} budget has changed since you read it; fetch it again and reapply your change"
                )));
            }
            let (approved, _) = pp_repo::spending(c, &year)?;
            let available = new.grant_pence - new.central_retention_pence;
            if available < approved {
                return Err(ApiError::Conflict(format!(
                    "{approved} pence ({}) of the {year} budget is already approved; grant_pence less \
                     central_retention_pence ({available} pence) cannot be less than that",
                    pounds(approved)
                )));
            }
            let mut fields = Vec::new();
            for (name, changed) in [
                ("grant_pence", old.grant_pence != new.grant_pence),
                ("rate_pence", old.rate_pence != new.rate_pence),
                ("eligible_children", old.eligible_children != new.eligible_children),
                ("central_retention_pence", old.central_retention_pence != new.central_retention_pence),
            ] {
                if changed {
                    fields.push(name);
                }
            }
            if fields.is_empty() {
                return Ok((record(c, old)?, false));
            }
            new.version = old.version + 1;
            new.created_at = old.created_at;
            if !pp_repo::update_budget(c, &new, old.version)? {
                return Err(ApiError::PreconditionFailed(format!(
                    "the {year} budget changed while your change was applied; fetch it again"
                )));
            }
            audit_repo::insert(c, &[event.changed_fields(&fields)])?;
            Ok((record(c, new)?, false))
        })
    })
    .await?;
    Ok(result)
}

/// The budget of `year` with its spending (`vs_admin`, `vso`); 404 when none is set. The read is audited.
pub async fn get_budget(pool: &Pool, user: &AuthUser, year: &str) -> Result<BudgetRecord, ApiError> {
    user.require_any(BUDGET_READERS, "pp_budget.read", "pp_budget").await?;
    let lookup = year.to_owned();
    let found = db::run(pool, move |conn| match pp_repo::find_budget(conn, &lookup)? {
        Some(row) => Ok(Some(record(conn, row)?)),
        None => Ok(None),
    })
    .await?;
    let Some(found) = found else {
        return Err(ApiError::NotFound(format!("no budget set for {year}")));
    };
    user.audit()
        .record(vec![user.event("pp_budget.read", "pp_budget", Outcome::Allowed).resource(year.to_owned())])
        .await?;
    Ok(found)
}

/// A valid request, ready to check against the child and store.
#[derive(Debug, Clone)]
pub struct AllocationDraft {
    pub child_id: String,
    pub academic_year: String,
    pub term: String,
    pub amount_pence: i64,
    /// `None`: the child's current school.
    pub school_urn: Option<String>,
    pub purpose: String,
    pub pep_id: Option<String>,
}

/// Work a caller adds to the transaction of a create (storing the response for an Idempotency-Key).
pub type InTransaction = Box<dyn FnOnce(&mut DbConnection, &AllocationRow) -> Result<(), ApiError> + Send>;

/// The entity tag of an allocation.
pub fn etag(row: &AllocationRow) -> String {
    format!("\"v{}\"", row.version)
}

/// Requests an allocation (`vso`, `vs_admin`). The child must exist and be looked after, and a `pep_id` must be one
/// of the child's PEPs (422 naming the field otherwise). Starts `requested`.
pub async fn create_allocation(
    pool: &Pool,
    user: &AuthUser,
    draft: AllocationDraft,
    within: Option<InTransaction>,
) -> Result<AllocationRow, ApiError> {
    user.require_any(REQUESTERS, "pp_allocation.create", "pp_allocation").await?;
    let actor = user.clone();
    db::run(pool, move |conn| {
        conn.transaction::<_, ApiError, _>(|c| {
            db::begin_write(c)?;
            let mut errors = Vec::new();
            let child = children_repo::find(c, &Caseload::All, &draft.child_id)?;
            match &child {
                None => errors.push(FieldError::new("child_id", "no child with this id is on the roll")),
                Some(ch) if ch.lac_status != "looked_after" => errors.push(FieldError::new(
                    "child_id",
                    format!("the child is {}, not looked after; PP+ is for looked-after children", ch.lac_status),
                )),
                Some(_) => {}
            }
            if let Some(pep) = &draft.pep_id {
                if child.is_some() && !pp_repo::pep_of_child(c, pep, &draft.child_id)? {
                    errors.push(FieldError::new("pep_id", "no PEP with this id belongs to this child"));
                }
            }
            let school_urn = draft.school_urn.clone().or_else(|| child.as_ref().and_then(|ch| ch.school_urn.clone()));
            if school_urn.is_none() && child.is_some() {
                errors.push(FieldError::new("school_urn", "is required: the child has no school on record"));
            }
            let (Some(_), Some(school_urn), true) = (child, school_urn, errors.is_empty()) else {
                return Err(ApiError::validation(errors));
            };
            let now = truncate_to_micros(Utc::now().naive_utc());
            let row = AllocationRow {
                id: uuid::Uuid::now_v7().to_string(),
                child_id: draft.child_id.clone(),
                academic_year: draft.academic_year.clone(),
                term: draft.term.clone(),
                amount_pence: draft.amount_pence,
                school_urn,
                purpose: draft.purpose.clone(),
                pep_id: draft.pep_id.clone(),
                status: Status::Requested.as_str().to_owned(),
                requested_by: actor.sub.clone(),
                decided_by: None,
                decided_at: None,
                decision_reason: None,
                paid_on: None,
                payment_reference: None,
                paid_by: None,
                impact_rating: None,
                impact_notes: None,
                impact_by: None,
                impact_at: None,
                version: 1,
                created_at: now,
                updated_at: now,
            };
            pp_repo::insert_allocation(c, &row)?;
            let event = actor
                .event("pp_allocation.create", "pp_allocation", Outcome::Allowed)
                .resource(row.id.clone())
                .child(row.child_id.clone())
                .changed_fields(&["*"]);
            audit_repo::insert(c, &[event])?;
            if let Some(f) = within {
                f(c, &row)?;
            }
            Ok(row)
        })
    })
    .await
}

/// A decision on a request.
#[derive(Debug, Clone)]
pub struct Decision {
    /// Approve (`true`) or reject.
    pub approve: bool,
    /// Why (required to reject).
    pub reason: Option<String>,
}

/// A payment to the school.
#[derive(Debug, Clone)]
pub struct Payment {
    pub paid_on: NaiveDate,
    pub reference: String,
}

/// The impact of a paid allocation.
#[derive(Debug, Clone)]
pub struct Impact {
    pub rating: String,
    pub notes: String,
}

/// What a step of the lifecycle changed and whom it tells.
type Change = (Vec<&'static str>, Vec<Notification>);

/// Applies one step of the lifecycle to allocation `id` in a write transaction: `step` checks the current state
/// (409 naming it) and changes the row; the change, its audit event and its notifications land together.
async fn transition<F>(
    pool: &Pool,
    user: &AuthUser,
    action: &'static str,
    id: &str,
    step: F,
) -> Result<AllocationRow, ApiError>
where
    F: FnOnce(&mut DbConnection, &mut AllocationRow) -> Result<Change, ApiError> + Send + 'static,
{
    let actor = user.clone();
    let lookup = id.to_owned();
    let found = db::run(pool, move |conn| {
        conn.transaction::<_, ApiError, _>(|c| {
            db::begin_write(c)?;
            let Some(old) = pp_repo::lock_allocation(c, &lookup)? else {
                return Ok(None);
            };
            let mut new = old.clone();
            let (fields, notices) = step(c, &mut new)?;
            new.version = old.version + 1;
            new.updated_at = truncate_to_micros(Utc::now().naive_utc());
            if !pp_repo::update_allocation(c, &new, old.version)? {
                return Err(ApiError::Conflict("the allocation changed while this was applied; try again".into()));
            }
            notifications::notify(c, notices)?;
            let event = actor
                .event(action, "pp_allocation", Outcome::Allowed)
                .resource(new.id.clone())
                .child(new.child_id.clone())
                .changed_fields(&fields);
            audit_repo::insert(c, &[event])?;
            Ok(Some(new))
        })
    })
    .await?;
    match found {
        Some(row) => Ok(row),
        None => {
            user.audit()
                .record(vec![user.event(action, "pp_allocation", Outcome::Denied).resource(id.to_owned())])
                .await?;
            Err(ApiError::NotFound("no PP+ allocation with this id".into()))
        }
    }
}

fn not_in(row: &AllocationRow, only: &str) -> ApiError {
    ApiError::Conflict(format!("the allocation is {}; {only}", row.status))
}

/// The child's LCS id, for notification summaries (never names or UPNs).
fn lcs_id(c: &mut DbConnection, child_id: &str) -> Result<String, ApiError> {
    Ok(children_repo::find(c, &Caseload::All, child_id)?.map_or_else(|| child_id.to_owned(), |ch| ch.lcs_id))
}

/// Longest reason quoted in a notification summary, in characters.
const SUMMARY_REASON_CHARS: usize = 500;

/// Approves or rejects a requested allocation (`vs_admin`) and notifies the requester. An approval that would take
/// the year's approved spending past its grant less central retention answers 409 with what remains; so does an
/// approval in a year without a budget.
pub async fn decide(pool: &Pool, user: &AuthUser, id: &str, decision: Decision) -> Result<AllocationRow, ApiError> {
    user.require_any(ADMINS, "pp_allocation.decide", "pp_allocation").await?;
    let by = user.sub.clone();
    transition(pool, user, "pp_allocation.decide", id, move |c, row| {
        if row.status != Status::Requested.as_str() {
            return Err(not_in(row, "only a requested allocation can be decided"));
        }
        let year = row.academic_year.clone();
        if decision.approve {
            // The budget row's lock makes approvals for one year take turns from here to commit.
            let Some(budget) = pp_repo::lock_budget(c, &year)? else {
                return Err(ApiError::Conflict(format!("no budget set for {year}; set it before approving")));
            };
            let (approved, _) = pp_repo::spending(c, &year)?;
            let left = remaining(budget.grant_pence, budget.central_retention_pence, approved);
            if row.amount_pence > left {
                return Err(ApiError::Conflict(format!(
                    "approving {} pence ({}) would overspend the {year} budget: {left} pence ({}) remains",
                    row.amount_pence,
                    pounds(row.amount_pence),
                    pounds(left)
                )));
            }
        }
        let status = if decision.approve { Status::Approved } else { Status::Rejected };
        row.status = status.as_str().to_owned();
        row.decided_by = Some(by);
        row.decided_at = Some(truncate_to_micros(Utc::now().naive_utc()));
        row.decision_reason = decision.reason.clone();
        let lcs = lcs_id(c, &row.child_id)?;
        let what =
            format!("PP+ request for LCS {lcs} ({}, {} {})", pounds(row.amount_pence), row.term, row.academic_year);
        let summary = match (&decision.reason, decision.approve) {
            (_, true) => format!("{what} approved"),
            (Some(reason), false) => {
                let short: String = reason.chars().take(SUMMARY_REASON_CHARS).collect();
                format!("{what} rejected: {short}")
            }
            (None, false) => format!("{what} rejected"),
        };
        let notice = Notification {
            recipient: Recipient::Person(row.requested_by.clone()),
            kind: format!("pupil_premium_plus_{}", status.as_str()),
            child_id: Some(row.child_id.clone()),
            summary,
        };
        Ok((vec!["status", "decided_by", "decided_at", "decision_reason"], vec![notice]))
    })
    .await
}

/// Records the payment of an approved allocation (`vs_admin`).
pub async fn pay(pool: &Pool, user: &AuthUser, id: &str, payment: Payment) -> Result<AllocationRow, ApiError> {
    user.require_any(ADMINS, "pp_allocation.pay", "pp_allocation").await?;
    let by = user.sub.clone();
    transition(pool, user, "pp_allocation.pay", id, move |_, row| {
        if row.status != Status::Approved.as_str() {
            return Err(not_in(row, "only an approved allocation can be paid"));
        }
        row.status = Status::Paid.as_str().to_owned();
        row.paid_on = Some(payment.paid_on);
        row.payment_reference = Some(payment.reference);
        row.paid_by = Some(by);
        Ok((vec!["status", "paid_on", "payment_reference", "paid_by"], Vec::new()))
    })
    .await
}

/// Records (or corrects) the impact of a paid allocation (`vso`, `vs_admin`).
pub async fn record_impact(pool: &Pool, user: &AuthUser, id: &str, impact: Impact) -> Result<AllocationRow, ApiError> {
    user.require_any(REQUESTERS, "pp_allocation.impact", "pp_allocation").await?;
    let by = user.sub.clone();
    transition(pool, user, "pp_allocation.impact", id, move |_, row| {
        if row.status != Status::Paid.as_str() {
            return Err(not_in(row, "impact is recorded only on a paid allocation"));
        }
        row.impact_rating = Some(impact.rating);
        row.impact_notes = Some(impact.notes);
        row.impact_by = Some(by);
        row.impact_at = Some(truncate_to_micros(Utc::now().naive_utc()));
        Ok((vec!["impact_rating", "impact_notes", "impact_by", "impact_at"], Vec::new()))
    })
    .await
}

fn reader_caseload(user: &AuthUser) -> Result<Caseload, ApiError> {
    children::caseload(user).ok_or_else(|| ApiError::Forbidden("your roles do not read PP+ allocations".into()))
}

/// One allocation, if its child is on the caller's caseload (404 otherwise). The read is audited.
pub async fn get_allocation(pool: &Pool, user: &AuthUser, id: &str) -> Result<AllocationRow, ApiError> {
    user.require_any(READERS, "pp_allocation.read", "pp_allocation").await?;
    let caseload = reader_caseload(user)?;
    let lookup = id.to_owned();
    let (row, visible) = db::run(pool, move |conn| {
        let Some(row) = pp_repo::find_allocation(conn, &lookup)? else {
            return Ok((None, false));
        };
        let visible = children_repo::find(conn, &caseload, &row.child_id)?.is_some();
        Ok((Some(row), visible))
    })
    .await?;
    let event = |outcome| user.event("pp_allocation.read", "pp_allocation", outcome).resource(id.to_owned());
    match row {
        Some(row) if visible => {
            user.audit().record(vec![event(Outcome::Allowed).child(row.child_id.clone())]).await?;
            Ok(row)
        }
        other => {
            let mut denied: NewAuditEvent = event(Outcome::Denied);
            if let Some(r) = other {
                denied = denied.child(r.child_id);
            }
            user.audit().record(vec![denied]).await?;
            Err(ApiError::NotFound("no PP+ allocation with this id for a child on your caseload".into()))
        }
    }
}

/// A page of allocations of children on the caller's caseload, in creation order. Each one returned is audited.
pub async fn list_allocations(
    pool: &Pool,
    user: &AuthUser,
    filter: AllocationFilter,
    after: Option<String>,
    limit: i64,
) -> Result<(Vec<AllocationRow>, bool), ApiError> {
    user.require_any(READERS, "pp_allocation.list", "pp_allocation").await?;
    let caseload = reader_caseload(user)?;
    let (rows, more) = db::run(pool, move |conn| {
        Ok(crate::pagination::split(
            pp_repo::list_allocations(conn, &caseload, &filter, after.as_deref(), limit + 1)?,
            limit,
        ))
    })
    .await?;
    let events = rows
        .iter()
        .map(|r| {
            user.event("pp_allocation.read", "pp_allocation", Outcome::Allowed)
                .resource(r.id.clone())
                .child(r.child_id.clone())
        })
        .collect();
    user.audit().record(events).await?;
    Ok((rows, more))
}
