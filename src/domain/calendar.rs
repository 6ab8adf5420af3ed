//! Working days in England and Wales: weekends and bank holidays (computed for any year, Easter by the computus,
//! substitute days for holidays on a weekend), plus extra closure dates from configuration.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use std::collections::BTreeSet;

/// Easter Sunday of `year` (Gregorian; the anonymous computus).
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n)
}

fn last_weekday(year: i32, month: u32, weekday: Weekday) -> Option<NaiveDate> {
    nth_weekday(year, month, weekday, 5).or_else(|| nth_weekday(year, month, weekday, 4))
}

/// The England and Wales bank holidays of `year`, as observed (substitute days included), in date order.
pub fn bank_holidays(year: i32) -> Vec<NaiveDate> {
    let mut observed: BTreeSet<NaiveDate> = BTreeSet::new();
    if let Some(easter) = easter_sunday(year) {
        observed.insert(easter - Duration::days(2));
        observed.insert(easter + Duration::days(1));
    }
    observed.extend(nth_weekday(year, 5, Weekday::Mon, 1));
    observed.extend(last_weekday(year, 5, Weekday::Mon));
    observed.extend(last_weekday(year, 8, Weekday::Mon));
    let fixed: Vec<NaiveDate> =
        [(1, 1), (12, 25), (12, 26)].iter().filter_map(|&(m, d)| NaiveDate::from_ymd_opt(year, m, d)).collect();
    // Fixed dates on a weekday stand; one on a weekend moves to the next weekday not already a holiday, taken in
    // date order (so Christmas on a Sunday moves past a Monday Boxing Day to the Tuesday).
    observed.extend(fixed.iter().copied().filter(|d| !is_weekend(*d)));
    for day in fixed.into_iter().filter(|d| is_weekend(*d)) {
        let mut sub = day;
        while is_weekend(sub) || observed.contains(&sub) {
            sub += Duration::days(1);
        }
        observed.insert(sub);
    }
    observed.into_iter().collect()
}

/// The working-day calendar.
#[derive(Debug, Clone, Default)]
pub struct WorkingDays {
    extra: BTreeSet<NaiveDate>,
}

impl WorkingDays {
    /// A calendar with these extra closure dates on top of weekends and bank holidays.
    pub fn new(extra: impl IntoIterator<Item = NaiveDate>) -> Self {
        Self { extra: extra.into_iter().collect() }
    }

    /// Parses `VS_EXTRA_HOLIDAYS`: dates `YYYY-MM-DD` separated by commas or spaces.
    pub fn parse_extra(raw: &str) -> Result<Vec<NaiveDate>, String> {
        raw.split([',', ' ', ';'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("'{s}' is not a YYYY-MM-DD date")))
            .collect()
    }

    /// Whether `d` is a working day.
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        !is_weekend(d) && !self.extra.contains(&d) && !bank_holidays(d.year()).contains(&d)
    }

    /// The `n`th working day after `from` (`from` itself does not count).
    pub fn add_working_days(&self, from: NaiveDate, n: u32) -> NaiveDate {
        let mut d = from;
        let mut left = n;
        while left > 0 {
            d += Duration::days(1);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }
}

/// The date in the UK (Europe/London) at instant `t`: GMT in winter; BST (UTC+1) from 01:00 UTC on the last Sunday
/// of March to 01:00 UTC on the last Sunday of October (the rule since 1996). Due dates, "today" and sign-off days
/// are UK dates, so a PEP signed off at 00:30 BST counts on the day it was signed.
pub fn uk_date(t: DateTime<Utc>) -> NaiveDate {
    let year = t.year();
    let switch =
        |month: u32| last_weekday(year, month, Weekday::Sun).and_then(|d| d.and_hms_opt(1, 0, 0)).map(|d| d.and_utc());
    let summer = match (switch(3), switch(10)) {
        (Some(start), Some(end)) => t >= start && t < end,
        _ => false,
    };
    if summer {
        (t + Duration::hours(1)).date_naive()
    } else {
        t.date_naive()
    }
}

/// The instant (UTC) at which UK date `day` begins: midnight GMT, or 23:00 UTC the day before in summer time.
pub fn uk_midnight(day: NaiveDate) -> chrono::NaiveDateTime {
    let midnight_utc = day.and_time(chrono::NaiveTime::MIN);
    let bst = midnight_utc - Duration::hours(1);
    // 23:00 UTC the day before is UK midnight when it already falls in summer time.
    if uk_date(bst.and_utc()) == day {
        bst
    } else {
        midnight_utc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn easter_by_computus() {
        assert_eq!(easter_sunday(2024), Some(d("2024-03-31")));
        assert_eq!(easter_sunday(2025), Some(d("2025-04-20")));
        assert_eq!(easter_sunday(2026), Some(d("2026-04-05")));
        assert_eq!(easter_sunday(2027), Some(d("2027-03-28")));
        assert_eq!(easter_sunday(2038), Some(d("2038-04-25")));
    }

    #[test]
    fn bank_holidays_2026_with_a_substitute_boxing_day() {
        let expected = [
            "2026-01-01",
            "2026-04-03",
            "2026-04-06",
            "2026-05-04",
            "2026-05-25",
            "2026-08-31",
            "2026-12-25",
            "2026-12-28",
        ];
        assert_eq!(bank_holidays(2026), expected.map(d).to_vec());
    }

    #[test]
    fn christmas_on_a_weekend_and_sunday_christmas() {
        // 2027: Christmas Saturday, Boxing Day Sunday → Monday 27th and Tuesday 28th.
        let h = bank_holidays(2027);
        assert!(h.contains(&d("2027-12-27")) && h.contains(&d("2027-12-28")));
        // 2022: Christmas Sunday, Boxing Day Monday → Boxing Day stands, Christmas moves to Tuesday 27th.
        let h = bank_holidays(2022);
        assert!(h.contains(&d("2022-12-26")) && h.contains(&d("2022-12-27")));
        // New Year's Day 2028 is a Saturday → Monday 3 January.
        assert!(bank_holidays(2028).contains(&d("2028-01-03")));
    }

    #[test]
    fn working_days_across_christmas_2026() {
        let cal = WorkingDays::default();
        // From Monday 21 Dec 2026: 22, 23, 24 (3), 25 and 28 are holidays, 29, 30, 31 (6), 1 Jan holiday,
        // 4, 5, 6, 7 Jan (10).
        assert_eq!(cal.add_working_days(d("2026-12-21"), 10), d("2027-01-07"));
        assert!(!cal.is_working_day(d("2026-12-28")));
        assert!(cal.is_working_day(d("2026-12-29")));
    }

    #[test]
    fn working_days_across_easter_2027() {
        let cal = WorkingDays::default();
        // Good Friday 26 March, Easter Monday 29 March 2027.
        assert!(!cal.is_working_day(d("2027-03-26")) && !cal.is_working_day(d("2027-03-29")));
        // From Wednesday 24 March: 25 (1), 30, 31 (3), 1, 2 (5), 5, 6, 7, 8, 9 April (10).
        assert_eq!(cal.add_working_days(d("2027-03-24"), 10), d("2027-04-09"));
    }

    #[test]
    fn extra_closures_count_as_holidays() {
        let extra = WorkingDays::parse_extra("2027-01-04, 2027-01-05").unwrap();
        let cal = WorkingDays::new(extra);
        assert_eq!(cal.add_working_days(d("2026-12-21"), 10), d("2027-01-11"));
        assert!(WorkingDays::parse_extra("2027-13-01").is_err());
    }

    #[test]
    fn uk_dates_follow_british_summer_time() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        // 2026: BST from 29 March 01:00 UTC to 25 October 01:00 UTC.
        assert_eq!(uk_date(at("2026-06-10T23:30:00Z")), d("2026-06-11"));
        assert_eq!(uk_date(at("2026-06-10T22:59:59Z")), d("2026-06-10"));
        assert_eq!(uk_date(at("2026-12-10T23:30:00Z")), d("2026-12-10"));
        assert_eq!(uk_date(at("2026-03-29T00:59:59Z")), d("2026-03-29"));
        assert_eq!(uk_date(at("2026-03-28T23:30:00Z")), d("2026-03-28"));
        assert_eq!(uk_date(at("2026-10-24T23:30:00Z")), d("2026-10-25"));
        assert_eq!(uk_date(at("2026-10-25T23:30:00Z")), d("2026-10-25"));
        assert_eq!(uk_midnight(d("2026-09-01")).to_string(), "2026-08-31 23:00:00");
        assert_eq!(uk_midnight(d("2027-01-01")).to_string(), "2027-01-01 00:00:00");
    }
}
