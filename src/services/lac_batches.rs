//! LCS weekly LAC status lists: validate every row, then apply the whole batch in one transaction, once per
//! `batch_ref`.

use crate::auth::{AuthUser, Role};
use crate::db::children_repo::ChildRow;
use crate::db::lac_repo::{self, BatchRow, ChangeRow};
use crate::db::{self, audit_repo, DbConnection, Pool};
use crate::domain::child::{self as rules, LacStatus};
use crate::domain::codes;
use crate::domain::lac::{self, ChangeType, TimelineEntry};
use crate::domain::Upn;
use crate::error::{ApiError, FieldError};
use crate::services::audit::{truncate_to_micros, Outcome};
use crate::services::children::changed_fields;
use crate::services::notifications::{self, Notice, Recipient};
use crate::services::policy::Policy;
use chrono::{NaiveDate, Utc};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::collections::HashMap;

/// Most changes one batch may carry.
pub const MAX_CHANGES: usize = 50_000;
/// Roles that submit batches.
pub const SUBMITTERS: &[Role] = &[Role::Lcs, Role::VsAdmin];

/// One change as received (JSON or CSV), before validation.
#[derive(Debug, Clone, Default)]
pub struct RawChange {
    pub lcs_id: Option<String>,
    pub upn: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub date_of_birth: Option<String>,
    pub sex: Option<String>,
    pub change_type: Option<String>,
    pub effective_date: Option<String>,
    pub legal_status: Option<String>,
    pub reason_code: Option<String>,
    pub placement_type: Option<String>,
    /// `true`/`false` (CSV also `1`/`0`, `Y`/`N`).
    pub out_of_authority: Option<String>,
    pub social_worker_id: Option<String>,
    /// For CSV: the line the row starts on.
    pub line: Option<u64>,
}

/// A batch as received.
#[derive(Debug, Clone)]
pub struct Submission {
    pub batch_ref: Option<String>,
    pub period_ending: Option<String>,
    pub changes: Vec<RawChange>,
}

/// One valid change.
#[derive(Debug, Clone, Serialize)]
struct Change {
    lcs_id: String,
    upn: Option<String>,
    first_name: String,
    last_name: String,
    date_of_birth: NaiveDate,
    sex: String,
    change_type: &'static str,
    effective_date: NaiveDate,
    legal_status: Option<String>,
    reason_code: Option<String>,
    placement_type: Option<String>,
    out_of_authority: Option<bool>,
    social_worker_id: Option<String>,
    #[serde(skip)]
    kind: Option<ChangeType>,
    #[serde(skip)]
    line: Option<u64>,
    #[serde(skip)]
    index: usize,
}

/// What happened to one row.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RowOutcome {
    /// The row.
    pub index: usize,
    /// Its LCS id.
    pub lcs_id: String,
    /// The child it landed on.
    pub child_id: String,
    /// The kind of change.
    pub change_type: String,
    /// `child_created` (the batch added the child) or `child_updated`.
    pub outcome: String,
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "y" | "yes" => Some(true),
        "false" | "0" | "n" | "no" => Some(false),
        _ => None,
    }
}

fn validate_row(i: usize, raw: RawChange, today: NaiveDate, errors: &mut Vec<FieldError>) -> Option<Change> {
    let line = raw.line;
    let before = errors.len();
    let mut fail = |field: &str, reason: &str| errors.push(FieldError::row(i, line, field, reason));
    let mut required = |field: &str, v: &Option<String>| {
        if v.as_deref().is_none_or(|s| s.trim().is_empty()) {
            fail(field, "is required");
            None
        } else {
            v.clone()
        }
    };
    let lcs_id = required("lcs_id", &raw.lcs_id);
    let first_name = required("first_name", &raw.first_name);
    let last_name = required("last_name", &raw.last_name);
    let dob_raw = required("date_of_birth", &raw.date_of_birth);
    let sex = required("sex", &raw.sex);
    let change_raw = required("change_type", &raw.change_type);
    let eff_raw = required("effective_date", &raw.effective_date);
    let mut fail = |field: &str, reason: &str| errors.push(FieldError::row(i, line, field, reason));
    let date = |v: &str| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok().filter(|_| v.len() == 10);

    if let Some(Err(r)) = lcs_id.as_deref().map(rules::check_identifier) {
        fail("lcs_id", r);
    }
    let upn = match raw.upn.as_deref().filter(|u| !u.trim().is_empty()).map(Upn::parse) {
        Some(Ok(u)) => Some(u.as_str().to_owned()),
        Some(Err(r)) => {
            fail("upn", r);
            None
        }
        None => None,
    };
    for (field, v) in [("first_name", &first_name), ("last_name", &last_name)] {
        if let Some(Err(r)) = v.as_deref().map(rules::check_name) {
            fail(field, r);
        }
    }
    let dob = dob_raw.as_deref().and_then(|v| {
        let d = date(v);
        if d.is_none() {
            fail("date_of_birth", "must be a date written YYYY-MM-DD");
        }
        d
    });
    if let Some(Err(r)) = sex.as_deref().map(|s| codes::SEX.check(s)) {
        fail("sex", &r);
    }
    let kind = change_raw.as_deref().and_then(|c| {
        let k = ChangeType::parse(c);
        if k.is_none() {
            fail("change_type", &format!("must be one of: {}", ChangeType::NAMES.join(", ")));
        }
        k
    });
    let effective = eff_raw.as_deref().and_then(|v| {
        let d = date(v);
        if d.is_none() {
            fail("effective_date", "must be a date written YYYY-MM-DD");
        }
        d
    });
    if let Some(e) = effective {
        if e > today {
            fail("effective_date", "must not be in the future");
        }
        if dob.is_some_and(|b| e < b) {
            fail("effective_date", "must not be before the date of birth");
        }
    }
    if let Some(b) = dob {
        if b > today {
            fail("date_of_birth", "must not be in the future");
        }
    }
    let opt = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let legal_status = opt(&raw.legal_status);
    if let Some(Err(r)) = legal_status.as_deref().map(|s| codes::LEGAL_STATUS.check(s)) {
        fail("legal_status", &r);
    }
    let placement_type = opt(&raw.placement_type);
    if let Some(Err(r)) = placement_type.as_deref().map(|s| codes::PLACEMENT_TYPE.check(s)) {
        fail("placement_type", &r);
    }
    let reason_code = opt(&raw.reason_code);
    match (kind, reason_code.as_deref()) {
        (Some(ChangeType::BecameLookedAfter), Some(r)) if !lac::REASON_NEW_EPISODE.contains(r) => {
            fail("reason_code", &format!("a new episode's reason (RNE) {}", lac::REASON_NEW_EPISODE.reason()));
        }
        (Some(ChangeType::CeasedLookedAfter), None) => fail("reason_code", "is required (REC) when ceasing"),
        (Some(ChangeType::CeasedLookedAfter), Some(r)) if !lac::REASON_CEASED.contains(r) => {
            fail("reason_code", &format!("a ceased episode's reason (REC) {}", lac::REASON_CEASED.reason()));
        }
        (Some(ChangeType::LegalStatusChanged | ChangeType::PlacementChanged), Some(_)) => {
            fail("reason_code", "is only given for became_looked_after (RNE) or ceased_looked_after (REC)");
        }
        _ => {}
    }
    if kind == Some(ChangeType::LegalStatusChanged) && legal_status.is_none() {
        fail("legal_status", "is required for legal_status_changed");
    }
    if kind == Some(ChangeType::PlacementChanged) && placement_type.is_none() {
        fail("placement_type", "is required for placement_changed");
    }
    let out_of_authority = match opt(&raw.out_of_authority) {
        None => None,
        Some(v) => {
            let b = parse_bool(&v);
            if b.is_none() {
                fail("out_of_authority", "must be true or false");
            }
            b
        }
    };
    let social_worker_id = opt(&raw.social_worker_id);
    if let Some(Err(r)) = social_worker_id.as_deref().map(rules::check_staff_id) {
        fail("social_worker_id", r);
    }
    if errors.len() > before {
        return None;
    }
    Some(Change {
        lcs_id: lcs_id?,
        upn,
        first_name: first_name?,
        last_name: last_name?,
        date_of_birth: dob?,
        sex: sex?,
        change_type: kind?.as_str(),
        effective_date: effective?,
        legal_status,
        reason_code,
        placement_type,
        out_of_authority,
        social_worker_id,
        kind,
        line,
        index: i,
    })
}

/// A batch checked row by row: the valid changes and the errors of the others.
struct Checked {
    batch_ref: String,
    period_ending: NaiveDate,
    changes: Vec<Change>,
    row_errors: Vec<FieldError>,
    /// LCS ids with a bad row: their timelines are not checked (a missing row would make false errors).
    tainted: std::collections::HashSet<String>,
}

/// Checks the batch on its own (fields, repeats). Rows that pass go on to the timeline rules, so one 422 can name
/// every bad row; a bad `batch_ref` or `period_ending` answers 422 at once.
fn validate(sub: Submission, today: NaiveDate) -> Result<Checked, ApiError> {
    if sub.changes.len() > MAX_CHANGES {
        return Err(ApiError::TooLarge(format!(
            "a batch may carry at most {MAX_CHANGES} changes; this one has {}",
            sub.changes.len()
        )));
    }
    let mut errors = Vec::new();
    let batch_ref = match sub.batch_ref.as_deref().map(str::trim) {
        Some(r) if (1..=100).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_graphic()) => Some(r.to_owned()),
        Some(_) => {
            errors.push(FieldError::new("batch_ref", "must be 1 to 100 printable characters without spaces"));
            None
        }
        None => {
            errors.push(FieldError::new("batch_ref", "is required"));
            None
        }
    };
    let period_ending = match sub.period_ending.as_deref() {
        Some(p) => match NaiveDate::parse_from_str(p, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(FieldError::new("period_ending", "must be a date written YYYY-MM-DD"));
                None
            }
        },
        None => {
            errors.push(FieldError::new("period_ending", "is required"));
            None
        }
    };
    let mut changes: Vec<Change> = Vec::with_capacity(sub.changes.len());
    let mut seen: HashMap<(String, &'static str, NaiveDate), usize> = HashMap::new();
    let mut tainted = std::collections::HashSet::new();
    for (i, raw) in sub.changes.into_iter().enumerate() {
        let lcs_id = raw.lcs_id.clone();
        let Some(c) = validate_row(i, raw, today, &mut errors) else {
            tainted.extend(lcs_id);
            continue;
        };
        match seen.get(&(c.lcs_id.clone(), c.change_type, c.effective_date)) {
            Some(first) => errors.push(FieldError::row(
                i,
                c.line,
                "effective_date",
                format!("repeats row {first} (same lcs_id, change_type and effective_date)"),
            )),
            None => {
                seen.insert((c.lcs_id.clone(), c.change_type, c.effective_date), i);
                changes.push(c);
            }
        }
    }
    match (batch_ref, period_ending) {
        (Some(batch_ref), Some(period_ending)) => {
            Ok(Checked { batch_ref, period_ending, changes, row_errors: errors, tainted })
        }
        _ => Err(ApiError::validation(errors)),
    }
}

fn content_hash(period_ending: NaiveDate, changes: &[Change]) -> Result<String, ApiError> {
    let bytes = serde_json::to_vec(&(period_ending, changes)).map_err(ApiError::internal)?;
    Ok(format!("{:x}", sha2::Sha256::digest(bytes)))
}

/// How a submission ended.
pub enum Submitted {
    /// Applied now (201).
    Created(BatchRow),
    /// The same batch was applied before (200).
    Replayed(BatchRow),
}

struct Context {
    batch_ref: String,
    period_ending: NaiveDate,
    hash: String,
    changes: Vec<Change>,
    row_errors: Vec<FieldError>,
    tainted: std::collections::HashSet<String>,
    policy: Policy,
    actor: AuthUser,
}

/// Validates and applies a batch (`lcs`, `vs_admin`).
pub async fn submit(pool: &Pool, user: &AuthUser, policy: &Policy, sub: Submission) -> Result<Submitted, ApiError> {
    user.require_any(SUBMITTERS, "lac_status_batch.create", "lac_status_batch").await?;
    let today = policy.today();
    let Checked { batch_ref, period_ending, changes, row_errors, tainted } = validate(sub, today)?;
    let hash = content_hash(period_ending, &changes)?;
    let ctx = Context {
        batch_ref,
        period_ending,
        hash,
        changes,
        row_errors,
        tainted,
        policy: policy.clone(),
        actor: user.clone(),
    };
    db::run(pool, move |conn| {
        // A concurrent identical post loses the race on the unique batch_ref; its second try finds the winner's.
        for _ in 0..2 {
            match conn.transaction(|c| apply(c, &ctx)) {
                Err(ApiError::Conflict(m)) if m == RACE => continue,
                other => return other,
            }
        }
        Err(ApiError::Conflict("the batch is being applied by another request; retry".into()))
    })
    .await
}

const RACE: &str = "batch_ref race";

fn existing(found: BatchRow, hash: &str) -> Result<Submitted, ApiError> {
    if found.content_hash == hash {
        Ok(Submitted::Replayed(found))
    } else {
        Err(ApiError::Conflict(format!(
            "batch_ref {} was already applied with different content; send corrections under a new batch_ref",
            found.batch_ref
        )))
    }
}

fn apply(conn: &mut DbConnection, ctx: &Context) -> Result<Submitted, ApiError> {
    let started = std::time::Instant::now();
    let mut phases: Vec<(&str, std::time::Duration)> = Vec::new();
    let mut mark = |name: &'static str| phases.push((name, started.elapsed()));
    db::begin_write(conn)?;
    // A batch with bad rows is refused whatever its ref; a clean one may be a re-send.
    if ctx.row_errors.is_empty() {
        if let Some(found) = lac_repo::find_by_ref(conn, &ctx.batch_ref)? {
            return existing(found, &ctx.hash);
        }
    }
    let now = truncate_to_micros(Utc::now().naive_utc());
    let mut batch = BatchRow {
        id: uuid::Uuid::now_v7().to_string(),
        batch_ref: ctx.batch_ref.clone(),
        period_ending: ctx.period_ending,
        content_hash: ctx.hash.clone(),
        submitted_by: ctx.actor.sub.clone(),
        changes_count: ctx.changes.len() as i64,
        children_created: 0,
        children_updated: 0,
        notifications_count: 0,
        outcomes: "[]".into(),
        created_at: now,
    };
    if ctx.row_errors.is_empty() {
        match lac_repo::insert_batch(conn, &batch) {
            Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                return Err(ApiError::Conflict(RACE.into()));
            }
            other => other?,
        }
    }

    // Group rows by child, keeping batch order.
    let mut by_child: Vec<(String, Vec<usize>)> = Vec::new();
    let mut slot: HashMap<&str, usize> = HashMap::new();
    for (i, c) in ctx.changes.iter().enumerate() {
        match slot.get(c.lcs_id.as_str()) {
            Some(&s) => by_child[s].1.push(i),
            None => {
                slot.insert(&c.lcs_id, by_child.len());
                by_child.push((c.lcs_id.clone(), vec![i]));
            }
        }
    }
    let lcs_ids: Vec<String> = by_child.iter().map(|(l, _)| l.clone()).collect();
    let stored_children: HashMap<String, ChildRow> =
        lac_repo::children_by_lcs_id(conn, &lcs_ids)?.into_iter().map(|r| (r.lcs_id.clone(), r)).collect();
    mark("load children");
    let stored_ids: Vec<String> = stored_children.values().map(|r| r.id.clone()).collect();
    let mut stored_changes: HashMap<String, Vec<ChangeRow>> = HashMap::new();
    for ch in lac_repo::changes_for_children(conn, &stored_ids)? {
        stored_changes.entry(ch.child_id.clone()).or_default().push(ch);
    }

    mark("load timelines");
    let mut errors = ctx.row_errors.clone();
    let mut timelines = Vec::with_capacity(by_child.len());
    for (lcs_id, rows) in &by_child {
        let mut timeline: Vec<TimelineEntry> = Vec::new();
        if let Some(child) = stored_children.get(lcs_id) {
            for (seq, ch) in stored_changes.get(&child.id).into_iter().flatten().enumerate() {
                timeline.push(TimelineEntry {
                    effective_date: ch.effective_date,
                    change_type: ChangeType::parse(&ch.change_type).unwrap_or(ChangeType::PlacementChanged),
                    reason_code: ch.reason_code.clone(),
                    legal_status: ch.legal_status.clone(),
                    placement_type: ch.placement_type.clone(),
                    out_of_authority: ch.out_of_authority,
                    social_worker_id: ch.social_worker_id.clone(),
                    batch_index: None,
                    sequence: seq as u64,
                });
            }
            if timeline.is_empty() {
                // A child added by hand (POST /children) has no LCS history: its own dates stand in for one, so
                // LCS can go on from where the roll says the child is.
                timeline.extend(recorded_periods(child));
            }
        }
        for &i in rows {
            let c = &ctx.changes[i];
            timeline.push(TimelineEntry {
                effective_date: c.effective_date,
                change_type: c.kind.unwrap_or(ChangeType::PlacementChanged),
                reason_code: c.reason_code.clone(),
                legal_status: c.legal_status.clone(),
                placement_type: c.placement_type.clone(),
                out_of_authority: c.out_of_authority,
                social_worker_id: c.social_worker_id.clone(),
                batch_index: Some(i),
                sequence: 1_000_000 + c.index as u64,
            });
        }
        lac::sort(&mut timeline);
        let checked = if ctx.tainted.contains(lcs_id) { Vec::new() } else { lac::check(&timeline) };
        for v in checked {
            let c = &ctx.changes[v.index];
            errors.push(FieldError::row(c.index, c.line, v.field, v.reason));
        }
        timelines.push(timeline);
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.index);
        // The batch row was not stored (or is rolled back with everything else).
        return Err(ApiError::validation(errors));
    }

    let mut child_rows = Vec::with_capacity(by_child.len());
    let mut change_rows = Vec::with_capacity(ctx.changes.len());
    let mut notices = Vec::new();
    let mut events = Vec::with_capacity(by_child.len() + 1);
    let mut outcomes = Vec::with_capacity(ctx.changes.len());
    let (mut created, mut updated) = (0i64, 0i64);
    for ((lcs_id, rows), timeline) in by_child.iter().zip(&timelines) {
        let derived = lac::derive(timeline);
        let newest = rows
            .iter()
            .copied()
            .max_by_key(|&i| (ctx.changes[i].effective_date, ctx.changes[i].index))
            .map(|i| &ctx.changes[i]);
        let Some(newest) = newest else { continue };
        let old = stored_children.get(lcs_id);
        let lac_status = derived.lac_status.unwrap_or(LacStatus::LookedAfter);
        // Ceasing stops PEP scheduling; a new care period owes an initial PEP; otherwise what was owed stands.
        let (pep_required_on, pep_required_since) = match (lac_status, old) {
            (LacStatus::Ceased, _) => (None, None),
            (LacStatus::LookedAfter, Some(o))
                if o.lac_status == "looked_after" && o.looked_after_since == derived.looked_after_since =>
            {
                (o.pep_required_on, o.pep_required_since)
            }
            (LacStatus::LookedAfter, _) => {
                (derived.looked_after_since.map(|d| ctx.policy.initial_pep_due(d)), derived.looked_after_since)
            }
        };
        let row = ChildRow {
            id: old.map_or_else(|| uuid::Uuid::now_v7().to_string(), |o| o.id.clone()),
            lcs_id: lcs_id.clone(),
            upn: newest.upn.clone().or_else(|| old.and_then(|o| o.upn.clone())),
            first_name: newest.first_name.clone(),
            last_name: newest.last_name.clone(),
            date_of_birth: newest.date_of_birth,
            sex: newest.sex.clone(),
            ethnicity: old.and_then(|o| o.ethnicity.clone()),
            lac_status: lac_status.as_str().to_owned(),
            looked_after_since: derived.looked_after_since,
            ceased_on: derived.ceased_on,
            legal_status: derived.legal_status.clone().or_else(|| old.and_then(|o| o.legal_status.clone())),
            placement_type: derived.placement_type.clone().or_else(|| old.and_then(|o| o.placement_type.clone())),
            placement_provider: old.and_then(|o| o.placement_provider.clone()),
            placement_out_of_authority: derived
                .out_of_authority
                .or_else(|| old.and_then(|o| o.placement_out_of_authority)),
            placement_started_on: derived.placement_started_on.or_else(|| old.and_then(|o| o.placement_started_on)),
            school_urn: old.and_then(|o| o.school_urn.clone()),
            school_name: old.and_then(|o| o.school_name.clone()),
            year_group: old.and_then(|o| o.year_group.clone()),
            sen_status: old.map_or_else(|| "none".to_owned(), |o| o.sen_status.clone()),
            vso_id: old.and_then(|o| o.vso_id.clone()),
            social_worker_id: derived.social_worker_id.clone().or_else(|| old.and_then(|o| o.social_worker_id.clone())),
            sen_caseworker_id: old.and_then(|o| o.sen_caseworker_id.clone()),
            pep_required_on,
            version: old.map_or(1, |o| o.version + 1),
            created_at: old.map_or(now, |o| o.created_at),
            updated_at: now,
            pep_required_since,
            last_pep_term: old.and_then(|o| o.last_pep_term),
        };
        let event = ctx
            .actor
            .event(if old.is_some() { "child.update" } else { "child.create" }, "child", Outcome::Allowed)
            .resource(row.id.clone())
            .child(row.id.clone());
        events.push(match old {
            Some(o) => event.changed_fields(&changed_fields(o, &row)),
            None => event.changed_fields(&["*"]),
        });
        if old.is_some() {
            updated += 1;
        } else {
            created += 1;
        }
        for &i in rows {
            let c = &ctx.changes[i];
            change_rows.push(ChangeRow {
                id: uuid::Uuid::now_v7().to_string(),
                batch_id: batch.id.clone(),
                row_index: c.index as i64,
                child_id: row.id.clone(),
                change_type: c.change_type.to_owned(),
                effective_date: c.effective_date,
                reason_code: c.reason_code.clone(),
                legal_status: c.legal_status.clone(),
                placement_type: c.placement_type.clone(),
                out_of_authority: c.out_of_authority,
                social_worker_id: c.social_worker_id.clone(),
                created_at: now,
            });
            outcomes.push(RowOutcome {
                index: c.index,
                lcs_id: lcs_id.clone(),
                child_id: row.id.clone(),
                change_type: c.change_type.to_owned(),
                outcome: if old.is_some() { "child_updated" } else { "child_created" }.to_owned(),
            });
            let recipient = Recipient::person_or_admin_team(row.vso_id.as_deref());
            match c.kind {
                Some(ChangeType::BecameLookedAfter) => notices.push(Notice {
                    recipient,
                    kind: "became_looked_after".into(),
                    child_id: Some(row.id.clone()),
                    summary: match row.pep_required_on {
                        Some(due) if row.lac_status == "looked_after" => format!(
                            "LCS {lcs_id} became looked after on {}; initial PEP due by {due}",
                            c.effective_date
                        ),
                        _ => format!("LCS {lcs_id} became looked after on {}", c.effective_date),
                    },
                }),
                Some(ChangeType::CeasedLookedAfter) => notices.push(Notice {
                    recipient,
                    kind: "ceased_looked_after".into(),
                    child_id: Some(row.id.clone()),
                    summary: format!(
                        "LCS {lcs_id} ceased to be looked after on {} (REC {}); PEPs stop",
                        c.effective_date,
                        c.reason_code.as_deref().unwrap_or("-")
                    ),
                }),
                _ => {}
            }
        }
        child_rows.push(row);
    }
    outcomes.sort_by_key(|o| o.index);
    mark("derive");
    lac_repo::upsert_children(conn, &child_rows)?;
    mark("children");
    lac_repo::insert_changes(conn, &change_rows)?;
    mark("timeline");
    let notified = notifications::notify(conn, notices)?;
    mark("notifications");
    events.push(
        ctx.actor.event("lac_status_batch.create", "lac_status_batch", Outcome::Allowed).resource(batch.id.clone()),
    );
    audit_repo::insert(conn, &events)?;
    mark("audit");
    batch.children_created = created;
    batch.children_updated = updated;
    batch.notifications_count = notified.len() as i64;
    batch.outcomes = serde_json::to_string(&outcomes).map_err(ApiError::internal)?;
    lac_repo::finish_batch(conn, &batch)?;
    mark("summary");
    log::info!(
        "lac batch {} applied: {} changes, {} children created, {} updated, {} notifications; {}",
        batch.id,
        batch.changes_count,
        created,
        updated,
        batch.notifications_count,
        phases.iter().map(|(n, t)| format!("{n} {:.0}ms", t.as_secs_f64() * 1000.0)).collect::<Vec<_>>().join(", ")
    );
    Ok(Submitted::Created(batch))
}

/// One batch (`lcs` sees only its own; `vs_admin` all).
pub async fn get(pool: &Pool, user: &AuthUser, id: &str) -> Result<BatchRow, ApiError> {
    user.require_any(SUBMITTERS, "lac_status_batch.read", "lac_status_batch").await?;
    let only = (!user.has(Role::VsAdmin)).then(|| user.sub.clone());
    let lookup = id.to_owned();
    let row = db::run(pool, move |conn| Ok(lac_repo::find(conn, &lookup, only.as_deref())?)).await?;
    let outcome = if row.is_some() { Outcome::Allowed } else { Outcome::Denied };
    user.audit()
        .record(vec![user.event("lac_status_batch.read", "lac_status_batch", outcome).resource(id.to_owned())])
        .await?;
    row.ok_or_else(|| ApiError::NotFound("no such batch".into()))
}

/// Batches, newest first (`lcs` sees only its own).
pub async fn list(
    pool: &Pool,
    user: &AuthUser,
    before: Option<String>,
    limit: i64,
) -> Result<(Vec<BatchRow>, bool), ApiError> {
    user.require_any(SUBMITTERS, "lac_status_batch.list", "lac_status_batch").await?;
    let only = (!user.has(Role::VsAdmin)).then(|| user.sub.clone());
    let (rows, more) = db::run(pool, move |conn| {
        Ok(crate::pagination::split(lac_repo::list(conn, only.as_deref(), before.as_deref(), limit + 1)?, limit))
    })
    .await?;
    user.audit().record(vec![user.event("lac_status_batch.list", "lac_status_batch", Outcome::Allowed)]).await?;
    Ok((rows, more))
}

/// A child's LAC timeline page (for anyone who may read the child).
pub async fn timeline(
    pool: &Pool,
    user: &AuthUser,
    child_id: &str,
    after: Option<(NaiveDate, String)>,
    limit: i64,
) -> Result<(Vec<ChangeRow>, bool), ApiError> {
    // Reading the child applies the caseload rule and audits the read.
    crate::services::children::read(pool, user, child_id).await?;
    let id = child_id.to_owned();
    db::run(pool, move |conn| Ok(crate::pagination::split(lac_repo::timeline(conn, &id, after, limit + 1)?, limit)))
        .await
}

/// The care period a child's own record states, as timeline entries (for a child with no LCS history).
fn recorded_periods(child: &ChildRow) -> Vec<TimelineEntry> {
    let entry = |effective_date, change_type, sequence| TimelineEntry {
        effective_date,
        change_type,
        reason_code: None,
        legal_status: None,
        placement_type: None,
        out_of_authority: None,
        social_worker_id: None,
        batch_index: None,
        sequence,
    };
    let mut out = Vec::new();
    if let Some(since) = child.looked_after_since {
        out.push(entry(since, ChangeType::BecameLookedAfter, 0));
        if child.lac_status == LacStatus::Ceased.as_str() {
            if let Some(ceased) = child.ceased_on {
                out.push(entry(ceased, ChangeType::CeasedLookedAfter, 1));
            }
        }
    }
    out
}
