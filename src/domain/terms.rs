//! School terms and PEP compliance: the academic year and term of any date, each term's PEP deadline, and whether a
//! child's PEP is in date. Term boundaries and deadlines are configuration (`VS_TERM_STARTS`,
//! `VS_PEP_TERM_DEADLINES`); the defaults follow DOMAIN.md (autumn Sep–Dec, spring Jan–Easter, summer Easter–Aug).

use super::calendar::easter_sunday;
use super::child::{LacStatus, PepStatus};
use super::YearGroup;
use chrono::{Datelike, Duration, Months, NaiveDate};
use std::fmt;

/// A school term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Term {
    /// September to December.
    Autumn,
    /// January to Easter.
    Spring,
    /// Easter to the end of August.
    Summer,
}

impl Term {
    /// Every term, in academic-year order.
    pub const ALL: [Term; 3] = [Term::Autumn, Term::Spring, Term::Summer];

    /// As written in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Term::Autumn => "autumn",
            Term::Spring => "spring",
            Term::Summer => "summer",
        }
    }

    /// Parses `autumn`, `spring` or `summer`.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }

    fn index(self) -> i64 {
        match self {
            Term::Autumn => 0,
            Term::Spring => 1,
            Term::Summer => 2,
        }
    }
}

/// An academic year, named by the calendar year it starts in and written `2026-27`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AcademicYear(i32);

impl AcademicYear {
    /// The academic year starting in September of `year`.
    pub fn starting(year: i32) -> Self {
        Self(year)
    }

    /// The calendar year it starts in.
    pub fn start_year(self) -> i32 {
        self.0
    }

    /// Parses `2026-27` (the second part is the next year's last two digits).
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        const MSG: &str = "must be an academic year written like 2026-27";
        let b = raw.as_bytes();
        if b.len() != 7 || b[4] != b'-' || !raw[..4].bytes().chain(raw[5..].bytes()).all(|c| c.is_ascii_digit()) {
            return Err(MSG);
        }
        let start: i32 = raw[..4].parse().map_err(|_| MSG)?;
        let end: i32 = raw[5..].parse().map_err(|_| MSG)?;
        if (start + 1) % 100 != end {
            return Err("must name two consecutive years, like 2026-27");
        }
        if !(1990..=2200).contains(&start) {
            return Err("must be between 1990-91 and 2200-01");
        }
        Ok(Self(start))
    }
}

impl fmt::Display for AcademicYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:02}", self.0, (self.0 + 1) % 100)
    }
}

/// One term of one academic year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TermOf {
    /// The academic year.
    pub year: AcademicYear,
    /// The term.
    pub term: Term,
}

impl TermOf {
    /// The term as one comparable number (stored as `term_ordinal` and `last_pep_term`).
    pub fn ordinal(self) -> i64 {
        i64::from(self.year.0) * 3 + self.term.index()
    }

    /// The term after this one.
    pub fn next(self) -> Self {
        match self.term {
            Term::Autumn => Self { year: self.year, term: Term::Spring },
            Term::Spring => Self { year: self.year, term: Term::Summer },
            Term::Summer => Self { year: AcademicYear(self.year.0 + 1), term: Term::Autumn },
        }
    }
}

/// Where a term starts (or where its PEP deadline falls): a fixed day, or Easter Monday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Day {
    /// Month and day.
    Fixed(u32, u32),
    /// Easter Monday of the year.
    EasterMonday,
}

impl Day {
    fn parse(raw: &str) -> Result<Self, String> {
        if raw == "easter-monday" {
            return Ok(Day::EasterMonday);
        }
        let bad = || format!("{raw:?} is not MM-DD or easter-monday");
        let (m, d) = raw.split_once('-').ok_or_else(bad)?;
        let (m, d): (u32, u32) = (m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
        // 2024 is a leap year, so 02-29 passes here; `in_year` clamps it to 02-28 in other years.
        NaiveDate::from_ymd_opt(2024, m, d).ok_or_else(bad)?;
        Ok(Day::Fixed(m, d))
    }

    fn in_year(self, year: i32) -> NaiveDate {
        match self {
            Day::Fixed(m, d) => NaiveDate::from_ymd_opt(year, m, d)
                .or_else(|| NaiveDate::from_ymd_opt(year, m, d - 1))
                .unwrap_or(NaiveDate::MIN),
            Day::EasterMonday => easter_sunday(year).map_or(NaiveDate::MIN, |e| e + Duration::days(1)),
        }
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Day::Fixed(m, d) => write!(f, "{m:02}-{d:02}"),
            Day::EasterMonday => f.write_str("easter-monday"),
        }
    }
}

/// Term boundaries and each term's PEP deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermCalendar {
    /// First day of autumn, spring and summer.
    starts: [Day; 3],
    /// PEP deadline of autumn, spring and summer.
    deadlines: [Day; 3],
}

/// Default `VS_TERM_STARTS`.
pub const DEFAULT_TERM_STARTS: &str = "autumn=09-01,spring=01-01,summer=easter-monday";
/// Default `VS_PEP_TERM_DEADLINES`.
pub const DEFAULT_PEP_TERM_DEADLINES: &str = "autumn=11-30,spring=03-15,summer=06-30";

impl Default for TermCalendar {
    fn default() -> Self {
        Self {
            starts: [Day::Fixed(9, 1), Day::Fixed(1, 1), Day::EasterMonday],
            deadlines: [Day::Fixed(11, 30), Day::Fixed(3, 15), Day::Fixed(6, 30)],
        }
    }
}

fn parse_terms(raw: &str) -> Result<[Day; 3], String> {
    let mut out: [Option<Day>; 3] = [None; 3];
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, day) = part.split_once('=').ok_or_else(|| format!("{part:?} is not term=MM-DD"))?;
        let term = Term::parse(name.trim()).ok_or_else(|| format!("{name:?} is not autumn, spring or summer"))?;
        let slot = &mut out[term.index() as usize];
        if slot.is_some() {
            return Err(format!("{name} is given twice"));
        }
        *slot = Some(Day::parse(day.trim())?);
    }
    match out {
        [Some(a), Some(b), Some(c)] => Ok([a, b, c]),
        _ => Err("name all three terms: autumn=…,spring=…,summer=…".into()),
    }
}

impl TermCalendar {
    /// Builds a calendar from `VS_TERM_STARTS` and `VS_PEP_TERM_DEADLINES` values (`None` for the default), and
    /// checks for every year from 1990 to 2200 that the terms follow each other (spring, summer, autumn within a
    /// calendar year; autumn starting in August or September) and each deadline falls inside its term.
    pub fn from_config(starts: Option<&str>, deadlines: Option<&str>) -> Result<Self, String> {
        let cal = Self {
            starts: parse_terms(starts.unwrap_or(DEFAULT_TERM_STARTS))?,
            deadlines: parse_terms(deadlines.unwrap_or(DEFAULT_PEP_TERM_DEADLINES))?,
        };
        if !matches!(cal.starts[0], Day::Fixed(8 | 9, _)) {
            return Err("autumn must start in August or September".into());
        }
        if !matches!(cal.starts[1], Day::Fixed(1, _)) {
            return Err("spring must start in January".into());
        }
        for y in 1990..=2200 {
            for term in Term::ALL {
                let t = TermOf { year: AcademicYear(y), term };
                let (start, end, deadline) = (cal.start(t), cal.end(t), cal.deadline(t));
                if start > end {
                    return Err(format!("{} {y} would end before it starts", term.as_str()));
                }
                if !(start..=end).contains(&deadline) {
                    return Err(format!(
                        "the {} deadline {} falls outside the term in {} ({start} to {end})",
                        term.as_str(),
                        cal.deadlines[term.index() as usize],
                        AcademicYear(y)
                    ));
                }
            }
        }
        Ok(cal)
    }

    /// The first day of `t`.
    pub fn start(&self, t: TermOf) -> NaiveDate {
        let year = match t.term {
            Term::Autumn => t.year.0,
            Term::Spring | Term::Summer => t.year.0 + 1,
        };
        self.starts[t.term.index() as usize].in_year(year)
    }

    /// The last day of `t`.
    pub fn end(&self, t: TermOf) -> NaiveDate {
        self.start(t.next()) - Duration::days(1)
    }

    /// The day by which `t`'s PEP must be signed off: the first occurrence of the configured day in the term.
    pub fn deadline(&self, t: TermOf) -> NaiveDate {
        let start = self.start(t);
        let day = self.deadlines[t.term.index() as usize];
        let same_year = day.in_year(start.year());
        if same_year >= start {
            same_year
        } else {
            day.in_year(start.year() + 1)
        }
    }

    /// The academic year and term `date` falls in.
    pub fn term_of(&self, date: NaiveDate) -> TermOf {
        let y = date.year();
        let autumn = TermOf { year: AcademicYear(y), term: Term::Autumn };
        let summer = TermOf { year: AcademicYear(y - 1), term: Term::Summer };
        let spring = TermOf { year: AcademicYear(y - 1), term: Term::Spring };
        if date >= self.start(autumn) {
            autumn
        } else if date >= self.start(summer) {
            summer
        } else if date >= self.start(spring) {
            spring
        } else {
            TermOf { year: AcademicYear(y - 1), term: Term::Autumn }
        }
    }
}

/// `today` less `years` whole years: someone born on or before it is at least `years` old (born 29 February, one
/// comes of age on 1 March in other years).
pub fn years_before(today: NaiveDate, years: u32) -> NaiveDate {
    today.checked_sub_months(Months::new(years * 12)).unwrap_or(NaiveDate::MIN)
}

/// Who needs a PEP, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PepRules {
    /// Term boundaries and deadlines.
    pub terms: TermCalendar,
    /// Younger children need no PEP yet (`VS_PEP_MIN_AGE`, default 3: funded early education).
    pub min_age: u32,
    /// From this age no PEP is needed (`VS_PEP_MAX_AGE`, default 18); nor past Year 13 (year group 14).
    pub max_age: u32,
}

impl Default for PepRules {
    fn default() -> Self {
        Self { terms: TermCalendar::default(), min_age: 3, max_age: 18 }
    }
}

/// What the PEP schedule of one child depends on.
#[derive(Debug, Clone, Copy)]
pub struct PepFacts<'a> {
    /// Looked after or ceased.
    pub lac_status: LacStatus,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// National curriculum year, as stored.
    pub year_group: Option<&'a str>,
    /// Start of the current care period.
    pub looked_after_since: Option<NaiveDate>,
    /// Due date of an event-driven PEP still owed (initial, or after a change of school).
    pub pep_required_on: Option<NaiveDate>,
    /// Term ordinal of the latest signed-off PEP.
    pub last_pep_term: Option<i64>,
}

/// The dates the compliance rules turn on for one day: shared by [`PepRules::schedule`] and the list filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PepDay {
    /// The day.
    pub today: NaiveDate,
    /// The current term.
    pub term: TermOf,
    /// Its first day.
    pub term_start: NaiveDate,
    /// Its PEP deadline.
    pub term_deadline: NaiveDate,
    /// The next term's PEP deadline.
    pub next_deadline: NaiveDate,
    /// Born after this: too young for a PEP.
    pub youngest_born_on: NaiveDate,
    /// Born on or before this: too old for a PEP.
    pub too_old_born_on: NaiveDate,
}

impl PepRules {
    /// The dates of `today`.
    pub fn day(&self, today: NaiveDate) -> PepDay {
        let term = self.terms.term_of(today);
        PepDay {
            today,
            term,
            term_start: self.terms.start(term),
            term_deadline: self.terms.deadline(term),
            next_deadline: self.terms.deadline(term.next()),
            youngest_born_on: years_before(today, self.min_age),
            too_old_born_on: years_before(today, self.max_age),
        }
    }

    /// Whether a PEP is required at all on `day`.
    pub fn required(&self, f: &PepFacts<'_>, day: &PepDay) -> bool {
        f.lac_status == LacStatus::LookedAfter
            && f.date_of_birth <= day.youngest_born_on
            && f.date_of_birth > day.too_old_born_on
            && f.year_group.and_then(|y| YearGroup::parse(y).ok()).is_none_or(|y| y.as_str() != "14")
    }

    /// The child's PEP status and the earliest date a PEP is owed on `day`:
    /// - `not_required`: ceased, younger than `min_age`, `max_age` or older, or past Year 13 (no date);
    /// - `overdue`: an event-driven PEP (initial, change of school) or this term's PEP is past its deadline; this
    ///   term's PEP is owed when the child was looked after before the term began and no PEP of this term (or later)
    ///   is signed off;
    /// - `in_date`: no event-driven PEP owed and a PEP of this term is signed off (the next date is next term's
    ///   deadline);
    /// - `due`: otherwise.
    pub fn schedule(&self, f: &PepFacts<'_>, day: &PepDay) -> (PepStatus, Option<NaiveDate>) {
        if !self.required(f, day) {
            return (PepStatus::NotRequired, None);
        }
        let this_term_done = f.last_pep_term.is_some_and(|t| t >= day.term.ordinal());
        let term_owed = !this_term_done && f.looked_after_since.is_none_or(|s| s < day.term_start);
        let owed = [f.pep_required_on, term_owed.then_some(day.term_deadline)];
        let earliest = owed.iter().flatten().min().copied();
        match earliest {
            Some(d) if d < day.today => (PepStatus::Overdue, Some(d)),
            Some(d) => (PepStatus::Due, Some(d)),
            None if this_term_done => (PepStatus::InDate, Some(day.next_deadline)),
            // Looked after since this term began, with no event-driven PEP recorded: this term's PEP is the one owed.
            None => (PepStatus::Due, Some(day.term_deadline.max(day.today))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn academic_years_parse_and_print() {
        assert_eq!(AcademicYear::parse("2026-27").unwrap().to_string(), "2026-27");
        assert_eq!(AcademicYear::parse("1999-00").unwrap().start_year(), 1999);
        for bad in ["2026-28", "2026/27", "26-27", "2026-2027", "abcd-ef", ""] {
            assert!(AcademicYear::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn terms_of_dates_follow_the_default_calendar() {
        let cal = TermCalendar::default();
        let t = |s: &str| {
            let t = cal.term_of(d(s));
            format!("{} {}", t.year, t.term.as_str())
        };
        assert_eq!(t("2026-09-01"), "2026-27 autumn");
        assert_eq!(t("2026-12-31"), "2026-27 autumn");
        assert_eq!(t("2027-01-01"), "2026-27 spring");
        // Easter Sunday 2027 is 28 March: summer starts on Easter Monday.
        assert_eq!(t("2027-03-28"), "2026-27 spring");
        assert_eq!(t("2027-03-29"), "2026-27 summer");
        assert_eq!(t("2027-08-31"), "2026-27 summer");
        assert_eq!(t("2026-08-31"), "2025-26 summer");
        let autumn = cal.term_of(d("2026-12-04"));
        assert_eq!(cal.start(autumn), d("2026-09-01"));
        assert_eq!(cal.end(autumn), d("2026-12-31"));
        assert_eq!(cal.deadline(autumn), d("2026-11-30"));
        assert_eq!(cal.deadline(autumn.next()), d("2027-03-15"));
        assert_eq!(cal.deadline(autumn.next().next()), d("2027-06-30"));
        assert_eq!(autumn.next().next().next().ordinal(), autumn.ordinal() + 3);
    }

    #[test]
    fn calendars_are_configurable_and_checked() {
        let cal = TermCalendar::from_config(
            Some("autumn=09-03, spring=01-05, summer=04-20"),
            Some(DEFAULT_PEP_TERM_DEADLINES),
        )
        .unwrap();
        let t = cal.term_of(d("2027-01-04"));
        assert_eq!((t.year.to_string(), t.term), ("2026-27".to_owned(), Term::Autumn));
        assert!(
            TermCalendar::from_config(None, Some("autumn=11-30,spring=03-25,summer=06-30")).is_err(),
            "spring deadline after an early Easter"
        );
        assert!(TermCalendar::from_config(None, Some("autumn=11-30,spring=03-15")).is_err());
        assert!(TermCalendar::from_config(Some("autumn=13-01,spring=01-01,summer=easter-monday"), None).is_err());
        assert!(TermCalendar::from_config(Some("autumn=10-01,spring=01-01,summer=easter-monday"), None).is_err());
        assert_eq!(TermCalendar::from_config(None, None).unwrap(), TermCalendar::default());
    }

    fn facts(since: Option<&str>, required_on: Option<&str>, last: Option<i64>) -> PepFacts<'static> {
        PepFacts {
            lac_status: LacStatus::LookedAfter,
            date_of_birth: d("2015-05-05"),
            year_group: Some("6"),
            looked_after_since: since.map(d),
            pep_required_on: required_on.map(d),
            last_pep_term: last,
        }
    }

    #[test]
    fn compliance_follows_the_rules() {
        let rules = PepRules::default();
        let before_deadline = rules.day(d("2026-11-20"));
        let after_deadline = rules.day(d("2026-12-04"));
        let autumn = before_deadline.term.ordinal();
        let long_ago = Some("2024-01-10");
        // Looked after before the term, no PEP this term: due by the deadline, overdue after it.
        assert_eq!(
            rules.schedule(&facts(long_ago, None, Some(autumn - 1)), &before_deadline),
            (PepStatus::Due, Some(d("2026-11-30")))
        );
        assert_eq!(
            rules.schedule(&facts(long_ago, None, Some(autumn - 1)), &after_deadline),
            (PepStatus::Overdue, Some(d("2026-11-30")))
        );
        // This term's PEP signed off: in date, next owed next term.
        assert_eq!(
            rules.schedule(&facts(long_ago, None, Some(autumn)), &after_deadline),
            (PepStatus::InDate, Some(d("2027-03-15")))
        );
        // New to care this term: the initial PEP is what is owed.
        assert_eq!(
            rules.schedule(&facts(Some("2026-11-25"), Some("2026-12-09"), None), &after_deadline),
            (PepStatus::Due, Some(d("2026-12-09")))
        );
        assert_eq!(
            rules.schedule(&facts(Some("2026-11-05"), Some("2026-11-19"), None), &after_deadline),
            (PepStatus::Overdue, Some(d("2026-11-19")))
        );
        // A change of school after this term's PEP: due again, by the event's date.
        assert_eq!(
            rules.schedule(&facts(long_ago, Some("2026-12-10"), Some(autumn)), &after_deadline),
            (PepStatus::Due, Some(d("2026-12-10")))
        );
        // The earliest owed date wins.
        assert_eq!(
            rules.schedule(&facts(long_ago, Some("2026-12-10"), None), &before_deadline),
            (PepStatus::Due, Some(d("2026-11-30")))
        );
    }

    #[test]
    fn who_needs_no_pep() {
        let rules = PepRules::default();
        let day = rules.day(d("2026-12-04"));
        let mut f = facts(Some("2024-01-10"), None, None);
        f.lac_status = LacStatus::Ceased;
        assert_eq!(rules.schedule(&f, &day), (PepStatus::NotRequired, None));
        let mut f = facts(Some("2024-01-10"), None, None);
        f.date_of_birth = d("2023-12-05");
        assert_eq!(rules.schedule(&f, &day).0, PepStatus::NotRequired, "just under 3");
        f.date_of_birth = d("2023-12-04");
        assert_eq!(rules.schedule(&f, &day).0, PepStatus::Overdue, "3 today");
        f.date_of_birth = d("2008-12-04");
        assert_eq!(rules.schedule(&f, &day).0, PepStatus::NotRequired, "18 today");
        f.date_of_birth = d("2008-12-05");
        f.year_group = Some("14");
        assert_eq!(rules.schedule(&f, &day).0, PepStatus::NotRequired, "past Year 13");
        f.year_group = Some("13");
        assert_eq!(rules.schedule(&f, &day).0, PepStatus::Overdue);
        assert_eq!(years_before(d("2026-02-28"), 18), d("2008-02-28"));
        assert_eq!(years_before(d("2026-03-01"), 18), d("2008-03-01"));
    }
}
