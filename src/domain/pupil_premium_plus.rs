//! Pupil Premium Plus: the allocation lifecycle, the bounds on money, and the budget arithmetic. Money is integer
//! pence everywhere; pounds appear only in messages.

/// Largest grant for one academic year: £1bn.
pub const MAX_GRANT_PENCE: i64 = 100_000_000_000;
/// Largest per-child rate: £10,000.
pub const MAX_RATE_PENCE: i64 = 1_000_000;
/// Most eligible children in one year's budget.
pub const MAX_ELIGIBLE_CHILDREN: i64 = 100_000;
/// Largest single allocation: £10,000.
pub const MAX_ALLOCATION_PENCE: i64 = 1_000_000;
/// Longest purpose, in characters.
pub const MAX_PURPOSE_CHARS: usize = 2_000;
/// Longest decision reason, in characters.
pub const MAX_REASON_CHARS: usize = 2_000;
/// Longest payment reference, in characters.
pub const MAX_REFERENCE_CHARS: usize = 100;
/// Longest impact notes, in characters.
pub const MAX_NOTES_CHARS: usize = 5_000;

/// Where an allocation is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Asked for; awaiting a decision.
    Requested,
    /// Approved: counts against the budget.
    Approved,
    /// Rejected (final).
    Rejected,
    /// Paid to the school (final; still counts against the budget).
    Paid,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 4] = [Status::Requested, Status::Approved, Status::Rejected, Status::Paid];

    /// As stored and written.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Requested => "requested",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Paid => "paid",
        }
    }

    /// Parses the API name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Whether the amount counts against the year's budget.
    pub fn commits_budget(self) -> bool {
        matches!(self, Status::Approved | Status::Paid)
    }
}

/// The statuses whose amounts count against the budget.
pub const COMMITTED: [&str; 2] = ["approved", "paid"];

/// Impact ratings, as written.
pub const RATINGS: [&str; 4] = ["exceeded", "met", "partly_met", "not_met"];

/// Pence as pounds for people: `123456` is `£1,234.56`.
pub fn pounds(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let p = pence.unsigned_abs();
    let whole = (p / 100).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}£{grouped}.{:02}", p % 100)
}

/// What the schools' part of a budget still has: grant less central retention less what is approved or paid.
pub fn remaining(grant_pence: i64, central_retention_pence: i64, committed_pence: i64) -> i64 {
    grant_pence - central_retention_pence - committed_pence
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pounds_group_thousands_and_keep_pence() {
        assert_eq!(pounds(0), "£0.00");
        assert_eq!(pounds(5), "£0.05");
        assert_eq!(pounds(123_456), "£1,234.56");
        assert_eq!(pounds(100_000_000_000), "£1,000,000,000.00");
        assert_eq!(pounds(-2_500), "-£25.00");
    }

    #[test]
    fn statuses_round_trip_and_only_approved_and_paid_commit() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(s.commits_budget(), COMMITTED.contains(&s.as_str()));
        }
        assert_eq!(Status::parse("queried"), None);
        assert_eq!(remaining(1_000, 100, 850), 50);
    }
}
