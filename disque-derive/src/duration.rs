//! Durations written as strings: `"30s"`, `"5m"`, `"1h"`, `"1d"`, `"1h30m"`,
//! and for `timeout` also milliseconds (`"1500ms"`).

use std::time::Duration;

/// Which units a key accepts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Precision {
    /// Whole seconds (DELAY, RETRY, TTL are counted in seconds by Disque).
    Seconds,
    /// Milliseconds too (the ADDJOB timeout is counted in milliseconds).
    Millis,
}

/// Parses `text` (one or more `<number><unit>` groups) into a duration.
/// The error says what is wrong, for a message at the literal.
pub fn parse(text: &str, precision: Precision) -> Result<Duration, String> {
    if text.is_empty() {
        return Err(r#"empty duration: write e.g. "30s", "5m", "1h" or "1d""#.to_owned());
    }
    if text.starts_with('-') {
        return Err(format!(
            r#"negative duration "{text}": Disque refuses negative values"#
        ));
    }
    let mut total_ms: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(format!(
                r#"expected a number at `{rest}` in "{text}": write e.g. "30s", "5m", "1h" or "1d""#
            ));
        }
        let (number, after) = rest.split_at(digits);
        let unit_len = after.len()
            - after
                .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .len();
        let (unit, after) = after.split_at(unit_len);
        let ms_per_unit: u64 = match unit {
            "ms" if precision == Precision::Millis => 1,
            "ms" => {
                return Err(format!(
                    r#"Disque counts this in whole seconds: "{text}" has milliseconds"#
                ))
            }
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" => {
                return Err(format!(
                    r#"missing unit after `{number}` in "{text}": write e.g. "{number}s""#
                ))
            }
            other => {
                let units = match precision {
                    Precision::Seconds => "s, m, h or d",
                    Precision::Millis => "ms, s, m, h or d",
                };
                return Err(format!(
                    r#"unknown unit `{other}` in "{text}": expected {units}"#
                ));
            }
        };
        let too_large = || format!(r#"duration "{text}" is too large"#);
        let value: u64 = number.parse().map_err(|_| too_large())?;
        total_ms = value
            .checked_mul(ms_per_unit)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(too_large)?;
        rest = after;
    }
    Ok(Duration::from_millis(total_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(text: &str) -> Result<u64, String> {
        parse(text, Precision::Seconds).map(|d| d.as_secs())
    }

    #[test]
    fn units() {
        assert_eq!(secs("0s"), Ok(0));
        assert_eq!(secs("30s"), Ok(30));
        assert_eq!(secs("5m"), Ok(300));
        assert_eq!(secs("1h"), Ok(3_600));
        assert_eq!(secs("1d"), Ok(86_400));
        assert_eq!(secs("1h30m"), Ok(5_400));
        assert_eq!(secs("1d1s"), Ok(86_401));
    }

    #[test]
    fn milliseconds_only_where_allowed() {
        assert_eq!(
            parse("1500ms", Precision::Millis),
            Ok(Duration::from_millis(1500))
        );
        assert_eq!(parse("2s", Precision::Millis), Ok(Duration::from_secs(2)));
        assert_eq!(
            secs("1500ms"),
            Err(r#"Disque counts this in whole seconds: "1500ms" has milliseconds"#.to_owned())
        );
    }

    #[test]
    fn mistakes_are_explained() {
        assert!(secs("").unwrap_err().starts_with("empty duration"));
        assert_eq!(
            secs("30"),
            Err(r#"missing unit after `30` in "30": write e.g. "30s""#.to_owned())
        );
        assert_eq!(
            secs("3x"),
            Err(r#"unknown unit `x` in "3x": expected s, m, h or d"#.to_owned())
        );
        assert!(secs("s")
            .unwrap_err()
            .starts_with("expected a number at `s`"));
        assert_eq!(
            secs("-1s"),
            Err(r#"negative duration "-1s": Disque refuses negative values"#.to_owned())
        );
        assert!(secs(" 1s").unwrap_err().starts_with("expected a number"));
        assert!(secs("1.5s")
            .unwrap_err()
            .starts_with("missing unit after `1`"));
        assert!(secs("1 s")
            .unwrap_err()
            .starts_with("missing unit after `1`"));
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        assert!(secs("99999999999999999999s")
            .unwrap_err()
            .ends_with("is too large"));
        assert!(secs("18446744073709551615d")
            .unwrap_err()
            .ends_with("is too large"));
        assert!(secs("18446744073709551d18446744073709551d")
            .unwrap_err()
            .ends_with("is too large"));
    }
}
