//! LAC status changes: the kinds of change, their code lists, the rules a child's timeline must keep, and the
//! status derived from it. A timeline is ordered by effective date, so a late correction lands in its place.

use super::child::LacStatus;
use super::codes::CodeList;
use chrono::NaiveDate;

/// What happened to the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeType {
    /// Started to be looked after.
    BecameLookedAfter,
    /// Stopped being looked after.
    CeasedLookedAfter,
    /// Legal status changed during care.
    LegalStatusChanged,
    /// Placement changed during care.
    PlacementChanged,
}

impl ChangeType {
    /// Every kind, as written.
    pub const NAMES: [&'static str; 4] =
        ["became_looked_after", "ceased_looked_after", "legal_status_changed", "placement_changed"];

    /// As written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BecameLookedAfter => Self::NAMES[0],
            Self::CeasedLookedAfter => Self::NAMES[1],
            Self::LegalStatusChanged => Self::NAMES[2],
            Self::PlacementChanged => Self::NAMES[3],
        }
    }

    /// Parses the API name.
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::BecameLookedAfter, Self::CeasedLookedAfter, Self::LegalStatusChanged, Self::PlacementChanged]
            .into_iter()
            .find(|c| c.as_str() == raw)
    }
}

/// Reason for a new episode (SSDA903 RNE): the reason code of `became_looked_after`.
pub const REASON_NEW_EPISODE: CodeList = CodeList { name: "RNE", codes: &["S", "L", "P", "T", "U", "B"] };
/// Reason an episode ceased (SSDA903 REC): the reason code of `ceased_looked_after`.
pub const REASON_CEASED: CodeList = CodeList {
    name: "REC",
    codes: &[
        "E11", "E12", "E13", "E14", "E15", "E16", "E17", "E2", "E3", "E41", "E45", "E46", "E47", "E48", "E4A", "E4B",
        "E5", "E6", "E7", "E8", "E9", "X1",
    ],
};
/// The REC code for a child who died.
pub const DIED: &str = "E2";

/// One change on a child's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    /// When it took effect.
    pub effective_date: NaiveDate,
    /// What happened.
    pub change_type: ChangeType,
    /// RNE or REC code.
    pub reason_code: Option<String>,
    /// Legal status from this change on.
    pub legal_status: Option<String>,
    /// Placement type from this change on.
    pub placement_type: Option<String>,
    /// Whether that placement is out of authority.
    pub out_of_authority: Option<bool>,
    /// Social worker from this change on.
    pub social_worker_id: Option<String>,
    /// The row of the incoming batch, or `None` for a stored change.
    pub batch_index: Option<usize>,
    /// Tie-breaker for changes on the same date: stored first (by when stored), then batch order.
    pub sequence: u64,
}

/// A broken timeline rule, on a batch row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineViolation {
    /// The batch row.
    pub index: usize,
    /// The field.
    pub field: &'static str,
    /// Why.
    pub reason: String,
}

/// The status the timeline leads to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DerivedStatus {
    /// Looked after now (`None` when the timeline is empty).
    pub lac_status: Option<LacStatus>,
    /// Start of the current or last care period.
    pub looked_after_since: Option<NaiveDate>,
    /// End of the last care period, when it has ended.
    pub ceased_on: Option<NaiveDate>,
    /// Latest legal status given.
    pub legal_status: Option<String>,
    /// Latest placement type given.
    pub placement_type: Option<String>,
    /// Latest out-of-authority flag given.
    pub out_of_authority: Option<bool>,
    /// When the latest placement began.
    pub placement_started_on: Option<NaiveDate>,
    /// Latest social worker given.
    pub social_worker_id: Option<String>,
}

/// Sorts a timeline into effective-date order.
pub fn sort(timeline: &mut [TimelineEntry]) {
    timeline.sort_by_key(|e| (e.effective_date, e.sequence));
}

/// Checks a sorted timeline: a care period starts with `became_looked_after`; nothing but a start while not looked
/// after; no start while looked after; nothing after death. Violations are reported on batch rows only (stored
/// changes were valid when they arrived; a batch row that breaks them is the one at fault).
pub fn check(timeline: &[TimelineEntry]) -> Vec<TimelineViolation> {
    let mut out = Vec::new();
    let mut looked_after = false;
    let mut died = false;
    for e in timeline {
        let mut fail = |field: &'static str, reason: &str| {
            if let Some(index) = e.batch_index {
                out.push(TimelineViolation { index, field, reason: reason.to_owned() });
            }
        };
        if died {
            fail("effective_date", "the child died before this change");
            continue;
        }
        match e.change_type {
            ChangeType::BecameLookedAfter if looked_after => {
                fail("change_type", "the child is already looked after on this date");
            }
            ChangeType::BecameLookedAfter => looked_after = true,
            ChangeType::CeasedLookedAfter if !looked_after => {
                fail("change_type", "the child is not looked after on this date, so cannot cease");
            }
            ChangeType::CeasedLookedAfter => {
                looked_after = false;
                died = e.reason_code.as_deref() == Some(DIED);
            }
            ChangeType::LegalStatusChanged | ChangeType::PlacementChanged if !looked_after => {
                fail("change_type", "the first change of a care period must be became_looked_after");
            }
            ChangeType::LegalStatusChanged | ChangeType::PlacementChanged => {}
        }
    }
    out
}

/// The status a sorted, valid timeline leads to.
pub fn derive(timeline: &[TimelineEntry]) -> DerivedStatus {
    let mut s = DerivedStatus::default();
    for e in timeline {
        match e.change_type {
            ChangeType::BecameLookedAfter => {
                s.lac_status = Some(LacStatus::LookedAfter);
                s.looked_after_since = Some(e.effective_date);
                s.ceased_on = None;
            }
            ChangeType::CeasedLookedAfter => {
                s.lac_status = Some(LacStatus::Ceased);
                s.ceased_on = Some(e.effective_date);
            }
            ChangeType::LegalStatusChanged | ChangeType::PlacementChanged => {}
        }
        if e.legal_status.is_some() {
            s.legal_status.clone_from(&e.legal_status);
        }
        if e.placement_type.is_some() {
            s.placement_type.clone_from(&e.placement_type);
            s.placement_started_on = Some(e.effective_date);
        }
        if e.out_of_authority.is_some() {
            s.out_of_authority = e.out_of_authority;
        }
        if e.social_worker_id.is_some() {
            s.social_worker_id.clone_from(&e.social_worker_id);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(date: &str, t: ChangeType, index: Option<usize>, seq: u64) -> TimelineEntry {
        TimelineEntry {
            effective_date: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
            change_type: t,
            reason_code: None,
            legal_status: None,
            placement_type: None,
            out_of_authority: None,
            social_worker_id: None,
            batch_index: index,
            sequence: seq,
        }
    }

    #[test]
    fn a_late_correction_lands_in_its_place() {
        let mut t = vec![
            e("2026-03-01", ChangeType::BecameLookedAfter, None, 0),
            e("2026-09-01", ChangeType::CeasedLookedAfter, None, 1),
            // Arrives later, dated between the two.
            e("2026-05-01", ChangeType::PlacementChanged, Some(0), 2),
        ];
        t[2].placement_type = Some("U1".into());
        sort(&mut t);
        assert!(check(&t).is_empty());
        let s = derive(&t);
        assert_eq!(s.lac_status, Some(LacStatus::Ceased));
        assert_eq!(s.placement_type.as_deref(), Some("U1"));
        assert_eq!(s.ceased_on, NaiveDate::from_ymd_opt(2026, 9, 1));
    }

    #[test]
    fn rules_are_reported_on_batch_rows() {
        let mut t = vec![
            e("2026-01-01", ChangeType::CeasedLookedAfter, Some(0), 0),
            e("2026-02-01", ChangeType::PlacementChanged, Some(1), 1),
            e("2026-03-01", ChangeType::BecameLookedAfter, Some(2), 2),
            e("2026-04-01", ChangeType::BecameLookedAfter, Some(3), 3),
        ];
        sort(&mut t);
        let v = check(&t);
        assert_eq!(v.iter().map(|v| v.index).collect::<Vec<_>>(), vec![0, 1, 3]);
    }

    #[test]
    fn nothing_after_death() {
        let mut t = vec![
            e("2026-01-01", ChangeType::BecameLookedAfter, None, 0),
            e("2026-02-01", ChangeType::CeasedLookedAfter, None, 1),
            e("2026-03-01", ChangeType::BecameLookedAfter, Some(0), 2),
        ];
        t[1].reason_code = Some(DIED.into());
        let v = check(&t);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].reason, "the child died before this change");
    }
}
