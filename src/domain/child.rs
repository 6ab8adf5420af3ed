//! A child on the virtual school roll: the validated fields and the rules between them.

use super::{Upn, YearGroup};
use chrono::NaiveDate;

/// One broken rule: the field (a JSON path) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field, e.g. `placement.type`.
    pub field: String,
    /// Why it was refused.
    pub reason: String,
}

impl Violation {
    /// A violation of `field`.
    pub fn new(field: &str, reason: impl Into<String>) -> Self {
        Self { field: field.to_owned(), reason: reason.into() }
    }
}

/// Oldest a child on the roll may be, in years.
pub const MAX_AGE_YEARS: u32 = 25;

/// Whether the child is looked after now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LacStatus {
    /// Looked after by the council.
    LookedAfter,
    /// No longer looked after.
    Ceased,
}

impl LacStatus {
    /// As stored and written.
    pub fn as_str(self) -> &'static str {
        match self {
            LacStatus::LookedAfter => "looked_after",
            LacStatus::Ceased => "ceased",
        }
    }

    /// Parses the API name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "looked_after" => Some(Self::LookedAfter),
            "ceased" => Some(Self::Ceased),
            _ => None,
        }
    }
}

/// Whether the child's Personal Education Plan is in date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PepStatus {
    /// A PEP for the current term is signed off.
    InDate,
    /// A PEP is due and its date has not passed.
    Due,
    /// The due date has passed.
    Overdue,
    /// Not looked after: no PEP.
    NotRequired,
}

impl PepStatus {
    /// As written.
    pub fn as_str(self) -> &'static str {
        match self {
            PepStatus::InDate => "in_date",
            PepStatus::Due => "due",
            PepStatus::Overdue => "overdue",
            PepStatus::NotRequired => "not_required",
        }
    }

    /// Parses the API name.
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::InDate, Self::Due, Self::Overdue, Self::NotRequired].into_iter().find(|s| s.as_str() == raw)
    }
}

/// Where the child lives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Placement {
    /// SSDA903 PLACE code.
    pub placement_type: Option<String>,
    /// SSDA903 provider code.
    pub provider: Option<String>,
    /// Placed outside the council's area.
    pub out_of_authority: Option<bool>,
    /// When the placement began.
    pub started_on: Option<NaiveDate>,
}

/// The child's school.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct School {
    /// URN: 6 or 7 digits.
    pub urn: Option<String>,
    /// The school's name.
    pub name: Option<String>,
}

/// Every writable field of a child, each valid on its own and together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildDraft {
    /// The child's id in LCS.
    pub lcs_id: String,
    /// Unique Pupil Number.
    pub upn: Option<Upn>,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// SSDA903 sex code.
    pub sex: String,
    /// SSDA903 ethnicity code.
    pub ethnicity: Option<String>,
    /// Looked after or ceased.
    pub lac_status: LacStatus,
    /// Start of the current care period.
    pub looked_after_since: Option<NaiveDate>,
    /// End of the last care period.
    pub ceased_on: Option<NaiveDate>,
    /// SSDA903 legal status.
    pub legal_status: Option<String>,
    /// Placement.
    pub placement: Placement,
    /// School.
    pub school: School,
    /// National curriculum year.
    pub year_group: Option<YearGroup>,
    /// `none`, `sen_support` or `ehcp`.
    pub sen_status: String,
    /// Allocated Virtual School Officer.
    pub vso_id: Option<String>,
    /// Allocated social worker.
    pub social_worker_id: Option<String>,
    /// Allocated SEN caseworker.
    pub sen_caseworker_id: Option<String>,
    /// When the next PEP is due.
    pub next_pep_due_on: Option<NaiveDate>,
}

/// Checks a school URN: 6 digits, or 7 for some newer establishments.
pub fn check_urn(raw: &str) -> Result<(), &'static str> {
    if (6..=7).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("must be 6 or 7 digits")
    }
}

/// Checks an identifier (LCS id, staff ids): 1–64 of `[A-Za-z0-9._-]`.
pub fn check_identifier(raw: &str) -> Result<(), &'static str> {
    if (1..=64).contains(&raw.len())
        && raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        Ok(())
    } else {
        Err("must be 1 to 64 letters, digits, '.', '_' or '-'")
    }
}

/// Checks a staff id (a person's token `sub`): 1–255 printable characters without spaces.
pub fn check_staff_id(v: &str) -> Result<(), &'static str> {
    if (1..=255).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err("must be 1 to 255 printable characters without spaces (the person's token sub)")
    }
}

/// Checks a name: 1–100 characters, not blank, no control characters.
pub fn check_name(raw: &str) -> Result<(), &'static str> {
    let n = raw.chars().count();
    if raw.trim().is_empty() {
        Err("must not be blank")
    } else if n > 100 {
        Err("must be at most 100 characters")
    } else if raw.chars().any(char::is_control) {
        Err("must not contain control characters")
    } else {
        Ok(())
    }
}

/// The dates of a child that the rules relate to one another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CareDates {
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// Looked after or ceased.
    pub lac_status: LacStatus,
    /// Start of the current care period.
    pub looked_after_since: Option<NaiveDate>,
    /// End of the last care period.
    pub ceased_on: Option<NaiveDate>,
    /// Start of the placement.
    pub placement_started_on: Option<NaiveDate>,
}

impl ChildDraft {
    /// The dates the rules relate.
    pub fn care_dates(&self) -> CareDates {
        CareDates {
            date_of_birth: self.date_of_birth,
            lac_status: self.lac_status,
            looked_after_since: self.looked_after_since,
            ceased_on: self.ceased_on,
            placement_started_on: self.placement.started_on,
        }
    }
}

/// The rules between dates, as of `today`.
pub fn date_rules(dates: &CareDates, today: NaiveDate) -> Vec<Violation> {
    let mut out = Vec::new();
    let dob = dates.date_of_birth;
    if dob > today {
        out.push(Violation::new("date_of_birth", "must not be in the future"));
    } else if dob.checked_add_months(chrono::Months::new(12 * MAX_AGE_YEARS)).is_some_and(|d| d <= today) {
        out.push(Violation::new("date_of_birth", format!("the child would be {MAX_AGE_YEARS} or older")));
    }
    for (field, date) in [
        ("looked_after_since", dates.looked_after_since),
        ("ceased_on", dates.ceased_on),
        ("placement.started_on", dates.placement_started_on),
    ] {
        if let Some(d) = date {
            if d > today {
                out.push(Violation::new(field, "must not be in the future"));
            } else if d < dob {
                out.push(Violation::new(field, "must not be before the date of birth"));
            }
        }
    }
    match dates.lac_status {
        LacStatus::LookedAfter => {
            if dates.looked_after_since.is_none() {
                out.push(Violation::new("looked_after_since", "is required while the child is looked after"));
            }
            if let (Some(since), Some(ceased)) = (dates.looked_after_since, dates.ceased_on) {
                if ceased >= since {
                    out.push(Violation::new(
                        "ceased_on",
                        "a looked-after child cannot have ceased since the care period began",
                    ));
                }
            }
        }
        LacStatus::Ceased => match (dates.looked_after_since, dates.ceased_on) {
            (_, None) => out.push(Violation::new("ceased_on", "is required when lac_status is ceased")),
            (Some(since), Some(ceased)) if ceased < since => {
                out.push(Violation::new("ceased_on", "must not be before looked_after_since"));
            }
            _ => {}
        },
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn draft() -> ChildDraft {
        ChildDraft {
            lcs_id: "LCS-1".into(),
            upn: None,
            first_name: "Alex".into(),
            last_name: "Example".into(),
            date_of_birth: d("2015-03-01"),
            sex: "U".into(),
            ethnicity: None,
            lac_status: LacStatus::LookedAfter,
            looked_after_since: Some(d("2026-01-05")),
            ceased_on: None,
            legal_status: None,
            placement: Placement::default(),
            school: School::default(),
            year_group: None,
            sen_status: "none".into(),
            vso_id: None,
            social_worker_id: None,
            sen_caseworker_id: None,
            next_pep_due_on: None,
        }
    }

    #[test]
    fn a_sane_child_breaks_no_rule() {
        assert!(date_rules(&draft().care_dates(), d("2026-12-04")).is_empty());
    }

    #[test]
    fn future_birth_and_over_25_are_refused() {
        let mut c = draft();
        c.date_of_birth = d("2026-12-05");
        c.looked_after_since = None;
        let v = date_rules(&c.care_dates(), d("2026-12-04"));
        assert!(v.iter().any(|v| v.field == "date_of_birth" && v.reason.contains("future")));
        c.date_of_birth = d("2001-12-04");
        assert!(date_rules(&c.care_dates(), d("2026-12-04")).iter().any(|v| v.field == "date_of_birth"));
        c.date_of_birth = d("2001-12-05");
        assert!(!date_rules(&c.care_dates(), d("2026-12-04")).iter().any(|v| v.field == "date_of_birth"));
    }

    #[test]
    fn care_dates_must_follow_birth_and_each_other() {
        let mut c = draft();
        c.looked_after_since = Some(d("2014-01-01"));
        assert!(date_rules(&c.care_dates(), d("2026-12-04")).iter().any(|v| v.field == "looked_after_since"));
        let mut c = draft();
        c.lac_status = LacStatus::Ceased;
        assert!(date_rules(&c.care_dates(), d("2026-12-04")).iter().any(|v| v.field == "ceased_on"));
        c.ceased_on = Some(d("2025-12-01"));
        assert!(date_rules(&c.care_dates(), d("2026-12-04"))
            .iter()
            .any(|v| v.reason.contains("before looked_after_since")));
        c.ceased_on = Some(d("2026-06-01"));
        assert!(date_rules(&c.care_dates(), d("2026-12-04")).is_empty());
    }

    #[test]
    fn urns_and_identifiers() {
        assert!(check_urn("123456").is_ok() && check_urn("1234567").is_ok());
        assert!(check_urn("12345").is_err() && check_urn("12345a").is_err());
        assert!(check_identifier("sw-0001").is_ok());
        assert!(check_identifier("a b").is_err() && check_identifier("").is_err());
    }
}
