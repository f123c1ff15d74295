//! Number parsing with the exact leniency of Disque (Redis 3.0's
//! `strtoll`-based helpers) and the shared error replies.

use std::borrow::Cow;

use crate::frame::Reply;

/// `-ERR syntax error`
pub fn syntax_error() -> Reply {
    Reply::Error(Cow::Borrowed("ERR syntax error"))
}

/// `-BADID Invalid Job ID format.`
pub fn bad_id() -> Reply {
    Reply::Error(Cow::Borrowed("BADID Invalid Job ID format."))
}

/// `-ERR <text>`
pub fn err(text: &'static str) -> Reply {
    Reply::Error(Cow::Borrowed(text))
}

/// `+OK`
pub fn ok() -> Reply {
    Reply::Status(Cow::Borrowed("OK"))
}

/// Like `strtoll(s, &end, 10)` accepted only when it consumed everything,
/// did not start with a space and did not overflow. Note that, as in
/// Disque, the empty string parses as 0.
pub fn parse_ll(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        None => return Some(0),
        Some(c) if c.is_ascii_whitespace() => return None,
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        Some(_) => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: i128 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i128::from(c - b'0');
        if v > i128::from(i64::MAX) + 1 {
            return None;
        }
    }
    let v = if neg { -v } else { v };
    i64::try_from(v).ok()
}

/// Like `strtoul`: a leading `-` wraps around, as QSCAN's cursor does.
pub fn parse_cursor(s: &[u8]) -> Option<u64> {
    let (neg, digits) = match s.first() {
        None => return Some(0),
        Some(c) if c.is_ascii_whitespace() => return None,
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        Some(_) => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtoll_quirks() {
        assert_eq!(parse_ll(b""), Some(0));
        assert_eq!(parse_ll(b"42"), Some(42));
        assert_eq!(parse_ll(b"+42"), Some(42));
        assert_eq!(parse_ll(b"-3"), Some(-3));
        assert_eq!(parse_ll(b" 5"), None);
        assert_eq!(parse_ll(b"5 "), None);
        assert_eq!(parse_ll(b"1.0"), None);
        assert_eq!(parse_ll(b"-"), None);
        assert_eq!(parse_ll(b"abc"), None);
        assert_eq!(parse_ll(b"99999999999999999999"), None);
        assert_eq!(parse_ll(b"-9223372036854775808"), Some(i64::MIN));
    }

    #[test]
    fn cursor_wraps_negative() {
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"7"), Some(7));
        assert_eq!(parse_cursor(b"x"), None);
    }
}
