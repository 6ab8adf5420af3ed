//! The council's configurable rules: the working-day calendar, PEP timescales and terms, and the service's date.

use crate::domain::calendar::WorkingDays;
use crate::domain::terms::{PepDay, PepRules};
use chrono::{NaiveDate, Utc};

/// Rules that vary between councils.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Weekends, bank holidays and extra closures.
    pub calendar: WorkingDays,
    /// Working days from becoming looked after to the initial PEP (`VS_INITIAL_PEP_WORKING_DAYS`).
    pub initial_pep_working_days: u32,
    /// Terms, PEP deadlines and the ages that need a PEP.
    pub pep: PepRules,
    /// A pinned date (tests and demos set it in code; never read from the environment). `None`: the real date.
    pub pinned_today: Option<NaiveDate>,
}

impl Policy {
    /// When the initial PEP is due for a child who became looked after on `since`.
    pub fn initial_pep_due(&self, since: NaiveDate) -> NaiveDate {
        self.calendar.add_working_days(since, self.initial_pep_working_days)
    }

    /// The PEP compliance dates of today.
    pub fn pep_day(&self) -> PepDay {
        self.pep.day(self.today())
    }

    /// Now: the real instant, or the last second of the pinned day.
    pub fn now(&self) -> chrono::DateTime<Utc> {
        match self.pinned_today {
            Some(d) => d.and_hms_opt(23, 59, 59).unwrap_or_default().and_utc(),
            None => Utc::now(),
        }
    }

    /// Today, for derived statuses and date checks: the UK date unless pinned.
    pub fn today(&self) -> NaiveDate {
        self.pinned_today.unwrap_or_else(|| crate::domain::calendar::uk_date(Utc::now()))
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            calendar: WorkingDays::default(),
            initial_pep_working_days: 10,
            pep: PepRules::default(),
            pinned_today: None,
        }
    }
}
