//! National curriculum year groups and the key stage each belongs to.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A national curriculum year: `N1`, `N2` (nursery), `R` (reception), `1`–`14`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct YearGroup(i8);

impl YearGroup {
    /// Every year group, youngest first, as written.
    pub const NAMES: [&'static str; 17] =
        ["N1", "N2", "R", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14"];

    /// Parses `N1`, `N2`, `R` or `1`–`14`.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        Self::NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(raw.trim()))
            .map(|i| Self(i as i8 - 2))
            .ok_or("must be N1, N2, R or 1 to 14")
    }

    /// The year group `years` later (earlier when negative), or `None` outside N1 to 14.
    pub fn shifted(self, years: i32) -> Option<Self> {
        let y = i32::from(self.0) + years;
        (-2..=14).contains(&y).then_some(Self(y as i8))
    }

    /// As written: `N1`, `R`, `7`.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[(self.0 + 2) as usize]
    }

    /// The key stage: EYFS (N1–R), KS1 (1–2), KS2 (3–6), KS3 (7–9), KS4 (10–11), post-16 (12–14).
    pub fn key_stage(self) -> KeyStage {
        match self.0 {
            ..=0 => KeyStage::Eyfs,
            1..=2 => KeyStage::Ks1,
            3..=6 => KeyStage::Ks2,
            7..=9 => KeyStage::Ks3,
            10..=11 => KeyStage::Ks4,
            _ => KeyStage::Post16,
        }
    }
}

/// A key stage, derived from the year group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum KeyStage {
    /// Early years (N1, N2, R).
    #[serde(rename = "EYFS")]
    Eyfs,
    /// Years 1–2.
    #[serde(rename = "KS1")]
    Ks1,
    /// Years 3–6.
    #[serde(rename = "KS2")]
    Ks2,
    /// Years 7–9.
    #[serde(rename = "KS3")]
    Ks3,
    /// Years 10–11.
    #[serde(rename = "KS4")]
    Ks4,
    /// Years 12–14.
    #[serde(rename = "post16")]
    Post16,
}

impl KeyStage {
    /// As written in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStage::Eyfs => "EYFS",
            KeyStage::Ks1 => "KS1",
            KeyStage::Ks2 => "KS2",
            KeyStage::Ks3 => "KS3",
            KeyStage::Ks4 => "KS4",
            KeyStage::Post16 => "post16",
        }
    }

    /// Parses the API name.
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Eyfs, Self::Ks1, Self::Ks2, Self::Ks3, Self::Ks4, Self::Post16].into_iter().find(|k| k.as_str() == raw)
    }

    /// The year groups in this key stage, as written.
    pub fn year_groups(self) -> Vec<&'static str> {
        YearGroup::NAMES
            .iter()
            .filter_map(|n| YearGroup::parse(n).ok())
            .filter(|y| y.key_stage() == self)
            .map(YearGroup::as_str)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_stages_follow_the_domain_table() {
        let cases = [
            ("N1", KeyStage::Eyfs),
            ("N2", KeyStage::Eyfs),
            ("R", KeyStage::Eyfs),
            ("1", KeyStage::Ks1),
            ("2", KeyStage::Ks1),
            ("3", KeyStage::Ks2),
            ("6", KeyStage::Ks2),
            ("7", KeyStage::Ks3),
            ("9", KeyStage::Ks3),
            ("10", KeyStage::Ks4),
            ("11", KeyStage::Ks4),
            ("12", KeyStage::Post16),
            ("14", KeyStage::Post16),
        ];
        for (y, ks) in cases {
            let yg = YearGroup::parse(y).unwrap();
            assert_eq!(yg.key_stage(), ks, "{y}");
            assert_eq!(yg.as_str(), y);
        }
        assert_eq!(KeyStage::Ks2.year_groups(), vec!["3", "4", "5", "6"]);
        assert_eq!(YearGroup::parse("r").unwrap().as_str(), "R");
    }

    #[test]
    fn year_groups_shift_by_whole_years_within_n1_to_14() {
        let y7 = YearGroup::parse("7").unwrap();
        assert_eq!(y7.shifted(-1).map(YearGroup::as_str), Some("6"));
        assert_eq!(y7.shifted(-7).map(YearGroup::as_str), Some("R"));
        assert_eq!(y7.shifted(-9).map(YearGroup::as_str), Some("N1"));
        assert_eq!(y7.shifted(-10), None);
        assert_eq!(y7.shifted(7).map(YearGroup::as_str), Some("14"));
        assert_eq!(y7.shifted(8), None);
    }

    #[test]
    fn out_of_range_years_are_refused() {
        for y in ["0", "15", "N3", "Y7", "", "-1"] {
            assert!(YearGroup::parse(y).is_err(), "{y}");
        }
    }
}
