//! The council's configurable rules: the working-day calendar and PEP timescales.

use crate::domain::calendar::WorkingDays;
use chrono::NaiveDate;

/// Rules that vary between councils.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Weekends, bank holidays and extra closures.
    pub calendar: WorkingDays,
    /// Working days from becoming looked after to the initial PEP (`VS_INITIAL_PEP_WORKING_DAYS`).
    pub initial_pep_working_days: u32,
}

impl Policy {
    /// When the initial PEP is due for a child who became looked after on `since`.
    pub fn initial_pep_due(&self, since: NaiveDate) -> NaiveDate {
        self.calendar.add_working_days(since, self.initial_pep_working_days)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self { calendar: WorkingDays::default(), initial_pep_working_days: 10 }
    }
}
