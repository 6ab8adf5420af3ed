//! Code lists from the DfE SSDA903 return and the API's own small enumerations.

/// Declares a closed list of codes: `NAME.contains(code)` and `NAME.codes()`.
macro_rules! code_list {
    ($(#[$doc:meta])* $name:ident = [$($code:literal),+ $(,)?]) => {
        $(#[$doc])*
        pub const $name: CodeList = CodeList { name: stringify!($name), codes: &[$($code),+] };
    };
}

/// A closed list of codes.
#[derive(Debug, Clone, Copy)]
pub struct CodeList {
    /// The list's name.
    pub name: &'static str,
    /// Its codes.
    pub codes: &'static [&'static str],
}

impl CodeList {
    /// Whether `code` is on the list (exact, case-sensitive).
    pub fn contains(&self, code: &str) -> bool {
        self.codes.contains(&code)
    }

    /// The reason to give when a value is not on the list.
    pub fn reason(&self) -> String {
        format!("must be one of: {}", self.codes.join(", "))
    }

    /// `Ok` when `code` is on the list, else the reason.
    pub fn check(&self, code: &str) -> Result<(), String> {
        if self.contains(code) {
            Ok(())
        } else {
            Err(self.reason())
        }
    }
}

code_list!(
    /// Sex: male, female, unknown.
    SEX = ["M", "F", "U"]
);
code_list!(
    /// Ethnicity (SSDA903).
    ETHNICITY = [
        "WBRI", "WIRI", "WOTH", "WIRT", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN", "ABAN", "AOTH",
        "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT"
    ]
);
code_list!(
    /// Legal status (SSDA903 LS).
    LEGAL_STATUS = ["C1", "C2", "D1", "E1", "J1", "J2", "J3", "L1", "L2", "L3", "V2", "V3", "V4"]
);
code_list!(
    /// Placement type (SSDA903 PLACE).
    PLACEMENT_TYPE = [
        "A3", "A4", "A5", "A6", "H5", "K1", "K2", "K3", "P1", "P2", "P3", "R1", "R2", "R3", "R5", "S1", "T0", "T1",
        "T2", "T3", "T4", "U1", "U2", "U3", "U4", "U5", "U6", "Z1", "Z11", "Z12", "Z13", "Z14"
    ]
);
code_list!(
    /// Placement provider (SSDA903 PLACE_PROVIDER).
    PLACEMENT_PROVIDER = ["PR0", "PR1", "PR2", "PR3", "PR4", "PR5"]
);
code_list!(
    /// Whether the child is looked after now.
    LAC_STATUS = ["looked_after", "ceased"]
);
code_list!(
    /// Special educational needs.
    SEN_STATUS = ["none", "sen_support", "ehcp"]
);
code_list!(
    /// PEP status, derived.
    PEP_STATUS = ["in_date", "due", "overdue", "not_required"]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_hold_their_codes_exactly() {
        assert!(SEX.contains("U") && !SEX.contains("X") && !SEX.contains("m"));
        assert_eq!(ETHNICITY.codes.len(), 20);
        assert!(LEGAL_STATUS.contains("V4") && !LEGAL_STATUS.contains("V1"));
        assert!(PLACEMENT_TYPE.contains("Z14") && !PLACEMENT_TYPE.contains("Z15"));
        assert!(PLACEMENT_PROVIDER.contains("PR0") && !PLACEMENT_PROVIDER.contains("PR6"));
        assert!(SEN_STATUS.check("ehcp").is_ok());
        assert!(LAC_STATUS.check("adopted").unwrap_err().contains("looked_after, ceased"));
    }
}
