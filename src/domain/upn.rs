//! Unique Pupil Number: DfE check letter, or one of the placeholder codes `UN1`–`UN5`.

/// The 23 check letters, in the order of the remainder they stand for (no I, O or S).
const CHECK_LETTERS: &[u8; 23] = b"ABCDEFGHJKLMNPQRTUVWXYZ";

/// Whether `raw` is one of the placeholder codes `UN1`–`UN5` (any case), which identify nobody.
pub fn is_placeholder(raw: &str) -> bool {
    matches!(raw.trim().to_ascii_uppercase().as_str(), "UN1" | "UN2" | "UN3" | "UN4" | "UN5")
}

/// The check letter of a UPN's last 12 characters (`body`: 11 digits, then a digit or, for a temporary UPN, a
/// check-table letter): each character times its weight 2..13, summed, mod 23, looked up in the check table.
/// `None` when `body` is not of that shape.
pub fn check_letter(body: &str) -> Option<char> {
    let b = body.as_bytes();
    if b.len() != 12 || !b[..11].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let last = match b[11] {
        d @ b'0'..=b'9' => u32::from(d - b'0'),
        c => CHECK_LETTERS.iter().position(|&l| l == c)? as u32,
    };
    let sum: u32 =
        b[..11].iter().enumerate().map(|(i, d)| u32::from(d - b'0') * (i as u32 + 2)).sum::<u32>() + last * 13;
    Some(char::from(CHECK_LETTERS[(sum % 23) as usize]))
}

/// A valid UPN, upper-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upn(String);

impl Upn {
    /// Parses a UPN: 13 characters whose first is the check letter of the rest (digits, the last may be a letter
    /// for a temporary UPN), or `UN1`–`UN5` for an unknown UPN. Lower case is accepted and stored upper-case.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = raw.trim().to_ascii_uppercase();
        if is_placeholder(&s) {
            return Ok(Self(s));
        }
        let b = s.as_bytes();
        if b.len() != 13 {
            return Err("must be 13 characters, or UN1 to UN5 when unknown");
        }
        if !b[1..12].iter().all(u8::is_ascii_digit) {
            return Err("characters 2 to 12 must be digits");
        }
        match check_letter(&s[1..]) {
            None => Err("character 13 must be a digit or a check-table letter"),
            Some(c) if c as u8 != b[0] => Err("the check letter does not match"),
            Some(_) => Ok(Self(s)),
        }
    }

    /// The UPN as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_test_vector_is_valid() {
        assert_eq!(Upn::parse("B801200005001").unwrap().as_str(), "B801200005001");
        assert_eq!(Upn::parse("b801200005001").unwrap().as_str(), "B801200005001");
    }

    #[test]
    fn changing_any_digit_makes_it_invalid() {
        let good = b"B801200005001";
        for pos in 1..13 {
            for d in b'0'..=b'9' {
                if d == good[pos] {
                    continue;
                }
                let mut bad = good.to_vec();
                bad[pos] = d;
                let s = String::from_utf8(bad).unwrap();
                assert!(Upn::parse(&s).is_err(), "{s} should be invalid");
            }
        }
    }

    #[test]
    fn placeholders_and_temporary_upns() {
        for p in ["UN1", "UN2", "UN3", "UN4", "UN5", "un3"] {
            assert!(Upn::parse(p).is_ok(), "{p}");
        }
        assert!(Upn::parse("UN6").is_err());
        // A temporary UPN ends in a letter, valued by its place in the check table: "A" = 0, so the same check
        // letter as a final 0 digit: digits 80120000500 with a final 0 sum to 80 → 80 mod 23 = 11 → M.
        assert!(Upn::parse("M80120000500A").is_ok());
        assert!(Upn::parse("M801200005000").is_ok());
        assert!(Upn::parse("M80120000500I").is_err());
    }

    #[test]
    fn check_letters_make_valid_upns() {
        assert_eq!(check_letter("801200005001"), Some('B'));
        assert_eq!(check_letter("80120000500A"), Some('M'));
        assert_eq!(check_letter("8012000050"), None);
        assert_eq!(check_letter("80120000500I"), None);
        for body in ["312123425001", "312000126999", "312999909123"] {
            let upn = format!("{}{body}", check_letter(body).unwrap());
            assert!(Upn::parse(&upn).is_ok(), "{upn}");
        }
    }

    #[test]
    fn wrong_shapes_are_refused() {
        for s in ["", "B80120000500", "B8012000050011", "B80120000X001", "1801200005001"] {
            assert!(Upn::parse(s).is_err(), "{s}");
        }
    }
}
