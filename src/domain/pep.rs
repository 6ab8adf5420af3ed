//! A Personal Education Plan as the ePEP provider sends it on sign-off: the input as received (every field
//! optional, so one answer can name every missing or bad field), its checks, and the validated content that is
//! stored, hashed and served.

use super::child::check_identifier;
use super::terms::{AcademicYear, Term, TermCalendar};
use chrono::{DateTime, NaiveDate, Timelike, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most attainment rows, targets or actions in one PEP.
pub const MAX_ROWS: usize = 50;
/// Longest free text (care information, the child's views).
pub const MAX_TEXT: usize = 20_000;

/// Attendance this term, as sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendanceInput {
    /// Percentage of possible sessions attended, 0–100; must agree with the sessions (±0.5).
    #[schema(minimum = 0, maximum = 100, example = 93.5)]
    pub percentage: Option<f64>,
    /// Sessions possible (half days), 1–1000.
    #[schema(minimum = 1, maximum = 1000, example = 120)]
    pub sessions_possible: Option<i64>,
    /// Sessions attended, 0 to `sessions_possible`.
    #[schema(minimum = 0, maximum = 1000, example = 112)]
    pub sessions_attended: Option<i64>,
}

/// Exclusions this term, as sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExclusionsInput {
    /// Number of suspensions, 0–100.
    #[schema(minimum = 0, maximum = 100)]
    pub suspensions: Option<i64>,
    /// School days lost to suspensions, 0–200 in half days; 0 exactly when there were no suspensions.
    #[schema(minimum = 0, maximum = 200)]
    pub suspension_days: Option<f64>,
    /// Whether the child was permanently excluded.
    pub permanent_exclusion: Option<bool>,
}

/// One subject's attainment, as sent. Values are points on one scale per subject (for example GCSE grades 9–1,
/// or the school's own points), higher is better, 0–1000.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttainmentInput {
    /// The subject (1–100 characters, unique in the PEP, case-insensitively).
    #[schema(max_length = 100, example = "Mathematics")]
    pub subject: Option<String>,
    /// Attainment at the last key stage or review (optional).
    #[schema(minimum = 0, maximum = 1000)]
    pub past: Option<f64>,
    /// Attainment now (required).
    #[schema(minimum = 0, maximum = 1000)]
    pub current: Option<f64>,
    /// Predicted attainment at the end of the key stage (optional).
    #[schema(minimum = 0, maximum = 1000)]
    pub predicted: Option<f64>,
    /// The target (optional).
    #[schema(minimum = 0, maximum = 1000)]
    pub target: Option<f64>,
}

/// A SMART target, as sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetInput {
    /// The provider's id for the target (unique in the PEP).
    #[schema(max_length = 64, example = "T-1")]
    pub id: Option<String>,
    /// What is to be achieved (1–2,000 characters).
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// When (on or after the meeting, within three years).
    #[schema(format = Date, max_length = 10)]
    pub due_on: Option<String>,
    /// `not_started`, `in_progress`, `achieved` or `not_achieved`.
    #[schema(max_length = 12, pattern = "^(not_started|in_progress|achieved|not_achieved)$")]
    pub status: Option<String>,
}

/// An agreed action, as sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionInput {
    /// The provider's id for the action (unique in the PEP).
    #[schema(max_length = 64, example = "A-1")]
    pub id: Option<String>,
    /// What is to be done (1–2,000 characters).
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// Who does it: `social_worker`, `school`, `vso`, `carer`, `child` or `other`.
    #[schema(max_length = 13, pattern = "^(social_worker|school|vso|carer|child|other)$")]
    pub owner_role: Option<String>,
    /// When (on or after the meeting, within three years).
    #[schema(format = Date, max_length = 10)]
    pub due_on: Option<String>,
    /// `open`, `done` or `cancelled`.
    #[schema(max_length = 9, pattern = "^(open|done|cancelled)$")]
    pub status: Option<String>,
}

/// How the school asks to use Pupil Premium Plus against the targets, as sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PpRequestInput {
    /// Amount in pence, 1 to 1,000,000 (£10,000).
    #[schema(minimum = 1, maximum = 1000000, example = 60000)]
    pub amount_pence: Option<i64>,
    /// What it pays for (1–2,000 characters).
    #[schema(max_length = 2000)]
    pub purpose: Option<String>,
}

/// A signed-off PEP as the ePEP provider pushes it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PepInput {
    /// The provider's id for this PEP: the key of every revision (1–64 letters, digits, `.`, `_`, `-`).
    #[schema(max_length = 64, example = "EPEP-2026-000123")]
    pub external_id: Option<String>,
    /// Revision number, 1 upwards: a higher one replaces the PEP and keeps the earlier in its history.
    #[schema(minimum = 1, maximum = 1000000, example = 1)]
    pub revision: Option<i64>,
    /// The child, by our id. Send this or `lcs_id` (both must then name the same child).
    #[schema(max_length = 36)]
    pub child_id: Option<String>,
    /// The child, by LCS id.
    #[schema(max_length = 64)]
    pub lcs_id: Option<String>,
    /// Academic year of the meeting, like `2026-27`.
    #[schema(max_length = 7, pattern = "^[0-9]{4}-[0-9]{2}$", example = "2026-27")]
    pub academic_year: Option<String>,
    /// Term of the meeting: `autumn`, `spring` or `summer`.
    #[schema(max_length = 6, pattern = "^(autumn|spring|summer)$")]
    pub term: Option<String>,
    /// The PEP meeting (not in the future; in `academic_year` and `term`; not before the child's birth).
    #[schema(format = Date, max_length = 10)]
    pub meeting_date: Option<String>,
    /// When it was signed off (RFC 3339; not before the meeting, not in the future).
    #[schema(format = DateTime, max_length = 35)]
    pub signed_off_at: Option<String>,
    /// Who signed it off (1–200 characters).
    #[schema(max_length = 200)]
    pub signed_off_by: Option<String>,
    /// Section A, the social worker's care information (at most 20,000 characters).
    #[schema(max_length = 20000)]
    pub care_information: Option<String>,
    /// The child's own views (required; at most 20,000 characters).
    #[schema(max_length = 20000)]
    pub child_views: Option<String>,
    /// Attendance this term (optional, e.g. for a child not yet in school).
    pub attendance: Option<AttendanceInput>,
    /// Exclusions this term (optional).
    pub exclusions: Option<ExclusionsInput>,
    /// Attainment by subject (at most 50).
    #[schema(max_items = 50)]
    pub attainment: Option<Vec<AttainmentInput>>,
    /// SMART targets (at most 50).
    #[schema(max_items = 50)]
    pub targets: Option<Vec<TargetInput>>,
    /// Agreed actions with owners (at most 50).
    #[schema(max_items = 50)]
    pub actions: Option<Vec<ActionInput>>,
    /// How PP+ would be used (optional).
    pub pupil_premium_plus_request: Option<PpRequestInput>,
}

/// Attendance this term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Attendance {
    /// Percentage of possible sessions attended.
    #[schema(minimum = 0, maximum = 100)]
    pub percentage: f64,
    /// Sessions possible.
    #[schema(minimum = 1, maximum = 1000)]
    pub sessions_possible: i64,
    /// Sessions attended.
    #[schema(minimum = 0, maximum = 1000)]
    pub sessions_attended: i64,
}

/// Exclusions this term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Exclusions {
    /// Number of suspensions.
    #[schema(minimum = 0, maximum = 100)]
    pub suspensions: i64,
    /// School days lost to suspensions.
    #[schema(minimum = 0, maximum = 200)]
    pub suspension_days: f64,
    /// Permanently excluded.
    pub permanent_exclusion: bool,
}

/// One subject's attainment (points on the subject's scale, higher is better).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Attainment {
    /// The subject.
    #[schema(max_length = 100)]
    pub subject: String,
    /// At the last key stage or review.
    #[schema(minimum = 0, maximum = 1000)]
    pub past: Option<f64>,
    /// Now.
    #[schema(minimum = 0, maximum = 1000)]
    pub current: f64,
    /// Predicted.
    #[schema(minimum = 0, maximum = 1000)]
    pub predicted: Option<f64>,
    /// The target.
    #[schema(minimum = 0, maximum = 1000)]
    pub target: Option<f64>,
}

/// A SMART target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Target {
    /// The provider's id.
    #[schema(max_length = 64)]
    pub id: String,
    /// What is to be achieved.
    #[schema(max_length = 2000)]
    pub description: String,
    /// When.
    pub due_on: Option<NaiveDate>,
    /// `not_started`, `in_progress`, `achieved` or `not_achieved`.
    #[schema(max_length = 12)]
    pub status: String,
}

/// An agreed action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Action {
    /// The provider's id.
    #[schema(max_length = 64)]
    pub id: String,
    /// What is to be done.
    #[schema(max_length = 2000)]
    pub description: String,
    /// Who does it.
    #[schema(max_length = 13)]
    pub owner_role: String,
    /// When.
    pub due_on: Option<NaiveDate>,
    /// `open`, `done` or `cancelled`.
    #[schema(max_length = 9)]
    pub status: String,
}

/// How PP+ would be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PpRequest {
    /// Amount in pence.
    #[schema(minimum = 1, maximum = 1000000)]
    pub amount_pence: i64,
    /// What it pays for.
    #[schema(max_length = 2000)]
    pub purpose: String,
}

/// The content of one revision: everything the provider sent except how it named the child. Stored as JSON, hashed
/// to recognise a re-send, and served (flattened into the PEP and each of its revisions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PepContent {
    /// Like `2026-27`.
    #[schema(max_length = 7)]
    pub academic_year: String,
    /// `autumn`, `spring` or `summer`.
    #[schema(max_length = 6)]
    pub term: String,
    /// The meeting.
    pub meeting_date: NaiveDate,
    /// Signed off.
    pub signed_off_at: DateTime<Utc>,
    /// By whom.
    #[schema(max_length = 200)]
    pub signed_off_by: String,
    /// Section A, the social worker's care information.
    #[schema(max_length = 20000)]
    pub care_information: Option<String>,
    /// The child's own views.
    #[schema(max_length = 20000)]
    pub child_views: String,
    /// Attendance this term.
    pub attendance: Option<Attendance>,
    /// Exclusions this term.
    pub exclusions: Option<Exclusions>,
    /// Attainment by subject.
    #[schema(max_items = 50)]
    pub attainment: Vec<Attainment>,
    /// SMART targets.
    #[schema(max_items = 50)]
    pub targets: Vec<Target>,
    /// Agreed actions.
    #[schema(max_items = 50)]
    pub actions: Vec<Action>,
    /// How PP+ would be used.
    pub pupil_premium_plus_request: Option<PpRequest>,
}

/// How the push names the child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildRef {
    /// Our id.
    pub child_id: Option<String>,
    /// LCS id.
    pub lcs_id: Option<String>,
}

/// A push that passed every check that does not need the child.
#[derive(Debug, Clone, PartialEq)]
pub struct PepSubmission {
    /// The provider's key.
    pub external_id: String,
    /// Revision number.
    pub revision: i64,
    /// The child.
    pub child: ChildRef,
    /// The academic year and term.
    pub year: AcademicYear,
    /// The term.
    pub term: Term,
    /// The content.
    pub content: PepContent,
}

/// Collects every field error of one push.
#[derive(Default)]
struct Errors(Vec<(String, String)>);

impl Errors {
    fn fail(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push((field.into(), reason.into()));
    }

    fn text(&mut self, field: &str, value: Option<String>, max: usize, required: bool) -> Option<String> {
        match value {
            Some(v) if !v.trim().is_empty() => {
                if v.chars().count() > max {
                    self.fail(field, format!("must be at most {max} characters"));
                    None
                } else if v.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
                    self.fail(field, "must not contain control characters");
                    None
                } else {
                    Some(v.trim().to_owned())
                }
            }
            Some(_) | None if required => {
                self.fail(field, "is required");
                None
            }
            _ => None,
        }
    }

    fn date(&mut self, field: &str, value: Option<&str>) -> Option<NaiveDate> {
        let v = value?;
        match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            Ok(d) if v.len() == 10 => Some(d),
            _ => {
                self.fail(field, "must be a date written YYYY-MM-DD");
                None
            }
        }
    }

    fn points(&mut self, field: &str, value: Option<f64>, required: bool) -> Option<f64> {
        match value {
            None if required => {
                self.fail(field, "is required");
                None
            }
            None => None,
            Some(v) if v.is_finite() && (0.0..=1000.0).contains(&v) => Some(v),
            Some(_) => {
                self.fail(field, "must be a number from 0 to 1000");
                None
            }
        }
    }

    fn one_of(&mut self, field: &str, value: Option<String>, allowed: &[&str]) -> Option<String> {
        match value {
            Some(v) if allowed.contains(&v.as_str()) => Some(v),
            Some(_) => {
                self.fail(field, format!("must be one of: {}", allowed.join(", ")));
                None
            }
            None => {
                self.fail(field, "is required");
                None
            }
        }
    }
}

/// The field errors of a push, as (field, reason) pairs; empty when valid.
pub type FieldErrors = Vec<(String, String)>;

/// Checks a push against everything that does not need the child: fields present and bounded, dates sane (the
/// meeting not in the future and in the stated term, sign-off after the meeting and not in the future), attendance
/// consistent with its sessions, ids unique.
pub fn validate(input: PepInput, terms: &TermCalendar, now: DateTime<Utc>) -> Result<PepSubmission, FieldErrors> {
    let mut e = Errors::default();
    let today = super::calendar::uk_date(now);
    let external_id = match input.external_id {
        Some(v) => match check_identifier(&v) {
            Ok(()) => Some(v),
            Err(r) => {
                e.fail("external_id", r);
                None
            }
        },
        None => {
            e.fail("external_id", "is required");
            None
        }
    };
    let revision = match input.revision {
        Some(r) if (1..=1_000_000).contains(&r) => Some(r),
        Some(_) => {
            e.fail("revision", "must be from 1 to 1,000,000");
            None
        }
        None => {
            e.fail("revision", "is required");
            None
        }
    };
    let child_id = match input.child_id {
        Some(v) => match uuid::Uuid::parse_str(&v) {
            Ok(u) => Some(u.to_string()),
            Err(_) => {
                e.fail("child_id", "must be a UUID");
                None
            }
        },
        None => None,
    };
    let lcs_id = match input.lcs_id {
        Some(v) => match check_identifier(&v) {
            Ok(()) => Some(v),
            Err(r) => {
                e.fail("lcs_id", r);
                None
            }
        },
        None => None,
    };
    if child_id.is_none() && lcs_id.is_none() && !e.0.iter().any(|(f, _)| f == "child_id" || f == "lcs_id") {
        e.fail("child_id", "name the child by child_id or lcs_id");
    }
    let year = match input.academic_year.as_deref().map(AcademicYear::parse) {
        Some(Ok(y)) => Some(y),
        Some(Err(r)) => {
            e.fail("academic_year", r);
            None
        }
        None => {
            e.fail("academic_year", "is required");
            None
        }
    };
    let term = match input.term.as_deref() {
        Some(t) => Term::parse(t).or_else(|| {
            e.fail("term", "must be autumn, spring or summer");
            None
        }),
        None => {
            e.fail("term", "is required");
            None
        }
    };
    let meeting_date = match input.meeting_date.as_deref() {
        None => {
            e.fail("meeting_date", "is required");
            None
        }
        Some(v) => e.date("meeting_date", Some(v)),
    };
    if let Some(m) = meeting_date {
        if m > today {
            e.fail("meeting_date", "must not be in the future");
        }
        if let (Some(y), Some(t)) = (year, term) {
            let actual = terms.term_of(m);
            if actual.year != y || actual.term != t {
                e.fail(
                    "academic_year",
                    format!(
                        "the meeting on {m} falls in {} {}, not {y} {}",
                        actual.year,
                        actual.term.as_str(),
                        t.as_str()
                    ),
                );
            }
        }
    }
    let signed_off_at = match input.signed_off_at.as_deref() {
        None => {
            e.fail("signed_off_at", "is required");
            None
        }
        Some(v) => match DateTime::parse_from_rfc3339(v) {
            Ok(t) => {
                let t = t.with_timezone(&Utc);
                // A few minutes' allowance for the provider's clock.
                if t > now + chrono::Duration::minutes(5) {
                    e.fail("signed_off_at", "must not be in the future");
                }
                if meeting_date.is_some_and(|m| super::calendar::uk_date(t) < m) {
                    e.fail("signed_off_at", "must not be before the meeting");
                }
                Some(t)
            }
            Err(_) => {
                e.fail("signed_off_at", "must be an RFC 3339 instant, like 2026-11-20T15:04:05Z");
                None
            }
        },
    };
    let signed_off_by = e.text("signed_off_by", input.signed_off_by, 200, true);
    let care_information = e.text("care_information", input.care_information, MAX_TEXT, false);
    let child_views = e.text("child_views", input.child_views, MAX_TEXT, true);

    let attendance = input.attendance.and_then(|a| {
        let pct = match a.percentage {
            Some(p) if p.is_finite() && (0.0..=100.0).contains(&p) => Some(p),
            Some(_) => {
                e.fail("attendance.percentage", "must be from 0 to 100");
                None
            }
            None => {
                e.fail("attendance.percentage", "is required");
                None
            }
        };
        let possible = match a.sessions_possible {
            Some(p) if (1..=1000).contains(&p) => Some(p),
            Some(_) => {
                e.fail("attendance.sessions_possible", "must be from 1 to 1000");
                None
            }
            None => {
                e.fail("attendance.sessions_possible", "is required");
                None
            }
        };
        let attended = match (a.sessions_attended, possible) {
            (Some(n), Some(p)) if (0..=p).contains(&n) => Some(n),
            (Some(n), None) if (0..=1000).contains(&n) => Some(n),
            (Some(_), _) => {
                e.fail("attendance.sessions_attended", "must be from 0 to sessions_possible");
                None
            }
            (None, _) => {
                e.fail("attendance.sessions_attended", "is required");
                None
            }
        };
        let (pct, possible, attended) = (pct?, possible?, attended?);
        let exact = 100.0 * attended as f64 / possible as f64;
        if (pct - exact).abs() > 0.5 {
            e.fail("attendance.percentage", format!("{attended} of {possible} sessions is {exact:.1}%, not {pct}%"));
            return None;
        }
        Some(Attendance { percentage: pct, sessions_possible: possible, sessions_attended: attended })
    });

    let exclusions = input.exclusions.and_then(|x| {
        let suspensions = match x.suspensions {
            Some(n) if (0..=100).contains(&n) => Some(n),
            Some(_) => {
                e.fail("exclusions.suspensions", "must be from 0 to 100");
                None
            }
            None => {
                e.fail("exclusions.suspensions", "is required");
                None
            }
        };
        let days = match x.suspension_days {
            Some(d) if d.is_finite() && (0.0..=200.0).contains(&d) && (d * 2.0).fract() == 0.0 => Some(d),
            Some(_) => {
                e.fail("exclusions.suspension_days", "must be from 0 to 200, in half days");
                None
            }
            None => {
                e.fail("exclusions.suspension_days", "is required");
                None
            }
        };
        let permanent = x.permanent_exclusion.or_else(|| {
            e.fail("exclusions.permanent_exclusion", "is required");
            None
        });
        let (suspensions, days, permanent) = (suspensions?, days?, permanent?);
        if (suspensions == 0) != (days == 0.0) {
            e.fail("exclusions.suspension_days", "must be 0 exactly when there were no suspensions");
            return None;
        }
        Some(Exclusions { suspensions, suspension_days: days, permanent_exclusion: permanent })
    });

    let rows_ok = |e: &mut Errors, field: &str, n: usize| {
        if n > MAX_ROWS {
            e.fail(field, format!("at most {MAX_ROWS} entries, not {n}"));
            false
        } else {
            true
        }
    };
    let horizon = meeting_date.map(|m| (m, m + chrono::Duration::days(3 * 366)));
    let due = |e: &mut Errors, field: &str, v: Option<String>| -> Option<NaiveDate> {
        let d = e.date(field, v.as_deref())?;
        if let Some((from, to)) = horizon {
            if d < from || d > to {
                e.fail(field, "must be on or after the meeting and within three years of it");
            }
        }
        Some(d)
    };

    let mut attainment = Vec::new();
    let rows = input.attainment.unwrap_or_default();
    if rows_ok(&mut e, "attainment", rows.len()) {
        let mut seen = std::collections::HashSet::new();
        for (i, a) in rows.into_iter().enumerate() {
            let f = |name: &str| format!("attainment[{i}].{name}");
            let subject = e.text(&f("subject"), a.subject, 100, true);
            if let Some(s) = &subject {
                if !seen.insert(s.to_lowercase()) {
                    e.fail(f("subject"), "appears twice");
                }
            }
            let past = e.points(&f("past"), a.past, false);
            let current = e.points(&f("current"), a.current, true);
            let predicted = e.points(&f("predicted"), a.predicted, false);
            let target = e.points(&f("target"), a.target, false);
            if let (Some(subject), Some(current)) = (subject, current) {
                attainment.push(Attainment { subject, past, current, predicted, target });
            }
        }
    }

    let mut targets = Vec::new();
    let rows = input.targets.unwrap_or_default();
    if rows_ok(&mut e, "targets", rows.len()) {
        let mut seen = std::collections::HashSet::new();
        for (i, t) in rows.into_iter().enumerate() {
            let f = |name: &str| format!("targets[{i}].{name}");
            let id = ids(&mut e, &f("id"), t.id, &mut seen);
            let description = e.text(&f("description"), t.description, 2000, true);
            let due_on = due(&mut e, &f("due_on"), t.due_on);
            let status = e.one_of(&f("status"), t.status, &["not_started", "in_progress", "achieved", "not_achieved"]);
            if let (Some(id), Some(description), Some(status)) = (id, description, status) {
                targets.push(Target { id, description, due_on, status });
            }
        }
    }

    let mut actions = Vec::new();
    let rows = input.actions.unwrap_or_default();
    if rows_ok(&mut e, "actions", rows.len()) {
        let mut seen = std::collections::HashSet::new();
        for (i, a) in rows.into_iter().enumerate() {
            let f = |name: &str| format!("actions[{i}].{name}");
            let id = ids(&mut e, &f("id"), a.id, &mut seen);
            let description = e.text(&f("description"), a.description, 2000, true);
            let owner_role = e.one_of(
                &f("owner_role"),
                a.owner_role,
                &["social_worker", "school", "vso", "carer", "child", "other"],
            );
            let due_on = due(&mut e, &f("due_on"), a.due_on);
            let status = e.one_of(&f("status"), a.status, &["open", "done", "cancelled"]);
            if let (Some(id), Some(description), Some(owner_role), Some(status)) = (id, description, owner_role, status)
            {
                actions.push(Action { id, description, owner_role, due_on, status });
            }
        }
    }

    let pupil_premium_plus_request = input.pupil_premium_plus_request.and_then(|r| {
        let amount = match r.amount_pence {
            Some(a) if (1..=1_000_000).contains(&a) => Some(a),
            Some(_) => {
                e.fail("pupil_premium_plus_request.amount_pence", "must be from 1 to 1,000,000 pence");
                None
            }
            None => {
                e.fail("pupil_premium_plus_request.amount_pence", "is required");
                None
            }
        };
        let purpose = e.text("pupil_premium_plus_request.purpose", r.purpose, 2000, true);
        Some(PpRequest { amount_pence: amount?, purpose: purpose? })
    });

    match (external_id, revision, year, term, meeting_date, signed_off_at, signed_off_by, child_views) {
        (
            Some(external_id),
            Some(revision),
            Some(year),
            Some(term),
            Some(meeting_date),
            Some(at),
            Some(by),
            Some(views),
        ) if e.0.is_empty() => Ok(PepSubmission {
            external_id,
            revision,
            child: ChildRef { child_id, lcs_id },
            year,
            term,
            content: PepContent {
                academic_year: year.to_string(),
                term: term.as_str().to_owned(),
                meeting_date,
                signed_off_at: at.with_nanosecond(at.nanosecond() / 1000 * 1000).unwrap_or(at),
                signed_off_by: by,
                care_information,
                child_views: views,
                attendance,
                exclusions,
                attainment,
                targets,
                actions,
                pupil_premium_plus_request,
            },
        }),
        _ => Err(e.0),
    }
}

fn ids(
    e: &mut Errors,
    field: &str,
    id: Option<String>,
    seen: &mut std::collections::HashSet<String>,
) -> Option<String> {
    match id {
        None => {
            e.fail(field, "is required");
            None
        }
        Some(v) => match check_identifier(&v) {
            Err(r) => {
                e.fail(field, r);
                None
            }
            Ok(()) if !seen.insert(v.clone()) => {
                e.fail(field, "appears twice");
                None
            }
            Ok(()) => Some(v),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-04T12:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn valid() -> PepInput {
        serde_json::from_value(serde_json::json!({
            "external_id": "EPEP-1", "revision": 1, "lcs_id": "LCS-1", "academic_year": "2026-27", "term": "autumn",
            "meeting_date": "2026-11-10", "signed_off_at": "2026-11-12T10:00:00+01:00", "signed_off_by": "Officer A",
            "child_views": "Likes maths.",
            "attendance": {"percentage": 93.3, "sessions_possible": 120, "sessions_attended": 112},
            "exclusions": {"suspensions": 1, "suspension_days": 1.5, "permanent_exclusion": false},
            "attainment": [{"subject": "Maths", "past": 3, "current": 4, "predicted": 5, "target": 5}],
            "targets": [{"id": "T1", "description": "Read daily", "due_on": "2027-02-01", "status": "in_progress"}],
            "actions": [{"id": "A1", "description": "Book tutor", "owner_role": "social_worker", "status": "open"}]
        }))
        .unwrap()
    }

    #[test]
    fn a_valid_pep_passes_and_is_normalised() {
        let s = validate(valid(), &TermCalendar::default(), now()).unwrap();
        assert_eq!(s.content.signed_off_at.to_rfc3339(), "2026-11-12T09:00:00+00:00");
        assert_eq!(s.content.academic_year, "2026-27");
        assert_eq!(s.child.lcs_id.as_deref(), Some("LCS-1"));
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut p = valid();
        p.revision = Some(0);
        p.term = Some("spring".into());
        p.signed_off_at = Some("2026-11-09T10:00:00Z".into());
        p.child_views = Some("  ".into());
        p.attendance =
            Some(AttendanceInput { percentage: Some(50.0), sessions_possible: Some(100), sessions_attended: Some(90) });
        p.exclusions = Some(ExclusionsInput {
            suspensions: Some(0),
            suspension_days: Some(1.0),
            permanent_exclusion: Some(false),
        });
        p.attainment =
            Some(vec![AttainmentInput { subject: Some("Maths".into()), current: Some(4.0), ..Default::default() }; 2]);
        p.actions = Some(vec![ActionInput { id: Some("A1".into()), ..Default::default() }]);
        let errors = validate(p, &TermCalendar::default(), now()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        for f in [
            "revision",
            "academic_year",
            "signed_off_at",
            "child_views",
            "attendance.percentage",
            "exclusions.suspension_days",
            "attainment[1].subject",
            "actions[0].description",
            "actions[0].owner_role",
            "actions[0].status",
        ] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn too_many_rows_and_future_dates_are_refused() {
        let mut p = valid();
        p.meeting_date = Some("2026-12-05".into());
        p.targets = Some(vec![TargetInput::default(); 51]);
        let errors = validate(p, &TermCalendar::default(), now()).unwrap_err();
        assert!(errors.iter().any(|(f, r)| f == "meeting_date" && r.contains("future")));
        assert!(errors.iter().any(|(f, _)| f == "targets"));
        let mut p = valid();
        p.lcs_id = None;
        assert_eq!(validate(p, &TermCalendar::default(), now()).unwrap_err()[0].0, "child_id");
    }
}
