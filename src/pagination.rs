//! Keyset pagination: `limit` bounds and opaque, signed cursors.
//!
//! A cursor holds the position of the last item a page returned and a MAC over that position, the list it belongs
//! to and the list's filters. A client can neither forge a position nor carry a cursor over to another list or
//! other filters: either answers 400.

use crate::error::ApiError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// `limit` when none is given.
pub const DEFAULT_LIMIT: i64 = 50;
/// Largest `limit`.
pub const MAX_LIMIT: i64 = 200;
/// Longest cursor accepted.
pub const MAX_CURSOR_LEN: usize = 512;
const MAC_BYTES: usize = 16;

/// Checks `limit` (1–200, default 50).
pub fn limit(requested: Option<i64>) -> Result<i64, ApiError> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::BadRequest(format!("limit must be from 1 to {MAX_LIMIT}"))),
    }
}

/// Splits a page fetched with `limit + 1` rows into the page and whether more rows follow.
pub fn split<T>(mut rows: Vec<T>, limit: i64) -> (Vec<T>, bool) {
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    (rows, more)
}

/// Signs and checks cursors with this instance's key (shared by every instance that shares the key).
#[derive(Clone)]
pub struct Cursors {
    key: Vec<u8>,
}

impl Cursors {
    /// A codec keyed with `key`.
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn mac(&self, list: &str, filters: &[u8], position: &[u8]) -> Vec<u8> {
        let mut mac = match <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.key) {
            Ok(m) => m,
            Err(_) => return Vec::new(),
        };
        for part in [list.as_bytes(), filters, position] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes()[..MAC_BYTES].to_vec()
    }

    /// The cursor that continues `list` under `filters` after `position`.
    pub fn encode<F: Serialize, P: Serialize>(
        &self,
        list: &str,
        filters: &F,
        position: &P,
    ) -> Result<String, ApiError> {
        let filters = serde_json::to_vec(filters).map_err(ApiError::internal)?;
        let position = serde_json::to_vec(position).map_err(ApiError::internal)?;
        let mac = self.mac(list, &filters, &position);
        Ok(format!("{}.{}", URL_SAFE_NO_PAD.encode(&position), URL_SAFE_NO_PAD.encode(mac)))
    }

    /// The position in `cursor`, if it was issued for `list` under the same `filters`.
    pub fn decode<F: Serialize, P: DeserializeOwned>(
        &self,
        list: &str,
        filters: &F,
        cursor: &str,
    ) -> Result<P, ApiError> {
        let bad = || {
            ApiError::BadRequest(
                "the cursor is not valid for this list and these filters; start again without it".into(),
            )
        };
        if cursor.len() > MAX_CURSOR_LEN {
            return Err(bad());
        }
        let (pos, mac) = cursor.split_once('.').ok_or_else(bad)?;
        let position = URL_SAFE_NO_PAD.decode(pos).map_err(|_| bad())?;
        let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| bad())?;
        let filters = serde_json::to_vec(filters).map_err(ApiError::internal)?;
        let expected = self.mac(list, &filters, &position);
        // Compared in constant time, so timing does not reveal how much of a forged tag was right.
        if expected.len() != mac.len() || expected.iter().zip(&mac).fold(0u8, |acc, (a, b)| acc | (a ^ b)) != 0 {
            return Err(bad());
        }
        serde_json::from_slice(&position).map_err(|_| bad())
    }
}

impl Cursors {
    /// The position a request's `cursor` continues from, if it sent one.
    pub fn after<F: Serialize, P: DeserializeOwned>(
        &self,
        list: &str,
        filters: &F,
        cursor: Option<&str>,
    ) -> Result<Option<P>, ApiError> {
        cursor.map(|c| self.decode(list, filters, c)).transpose()
    }

    /// The `next_cursor` of a page: after its last row when more rows follow, else `None`.
    pub fn next<F: Serialize, P: Serialize, T>(
        &self,
        list: &str,
        filters: &F,
        (rows, more): (&[T], bool),
        position: impl FnOnce(&T) -> P,
    ) -> Result<Option<String>, ApiError> {
        match (more, rows.last()) {
            (true, Some(last)) => Ok(Some(self.encode(list, filters, &position(last))?)),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_tells_whether_more_rows_follow() {
        assert_eq!(split(vec![1, 2, 3], 2), (vec![1, 2], true));
        assert_eq!(split(vec![1, 2], 2), (vec![1, 2], false));
    }

    #[test]
    fn limits() {
        assert_eq!(limit(None).unwrap(), 50);
        assert_eq!(limit(Some(200)).unwrap(), 200);
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(201)).is_err());
    }

    #[test]
    fn cursors_round_trip_and_refuse_tampering_and_other_filters() {
        let c = Cursors::new(b"k");
        let cur = c.encode("audit", &("child-1",), &"pos-9").unwrap();
        let back: String = c.decode("audit", &("child-1",), &cur).unwrap();
        assert_eq!(back, "pos-9");
        assert!(c.decode::<_, String>("audit", &("child-2",), &cur).is_err());
        assert!(c.decode::<_, String>("children", &("child-1",), &cur).is_err());
        let forged = format!("{}{}", URL_SAFE_NO_PAD.encode(b"\"pos-1\""), &cur[cur.find('.').unwrap()..]);
        assert!(c.decode::<_, String>("audit", &("child-1",), &forged).is_err());
        assert!(Cursors::new(b"other").decode::<_, String>("audit", &("child-1",), &cur).is_err());
        assert!(c.decode::<_, String>("audit", &("child-1",), "garbage").is_err());
    }
}
