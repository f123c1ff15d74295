//! Typed replies of Disque (public, re-exported at the crate root) and their
//! parsers from `redis::Value` (crate-private pure functions, no I/O).
//!
//! Each parser takes the value a command returned and gives a typed result, or
//! [`Error::Protocol`] describing what came when the shape is not Disque's
//! (an error reply found inside a value is mapped like any server error).
//! Key/value replies (SHOW, QSTAT, INFO) are read by key, not by position, and
//! keys Disque may add later are ignored.
//!
//! Queue names are binary-safe in Disque but plain strings here: a name that
//! is not UTF-8 (created by another client) is converted lossily, with
//! U+FFFD in place of the invalid bytes, rather than failing a whole reply.

mod getjob;
mod hello;
mod info;
mod pause;
mod qstat;
mod scan;
mod show;

// Tests of the parsers against every recorded reply and random values; they
// live under tests/ so that the published crate ships none of them.
#[cfg(test)]
#[path = "../../tests/parsers/golden.rs"]
mod golden;
#[cfg(test)]
#[path = "../../tests/parsers/robustness.rs"]
mod robustness;

use std::fmt::Display;
use std::time::Duration;

use redis::Value;

use crate::{Error, JobId};

pub use getjob::ReceivedJob;
pub(crate) use getjob::{parse_getjob, parse_qpeek, read_getjob};
pub use hello::{Hello, NodeInfo};
pub use info::{Info, InfoSection};
pub use pause::PauseState;
pub use qstat::QueueStats;
pub(crate) use scan::{parse_jscan_all, parse_jscan_ids, parse_qscan, ScanPage};
pub use show::{JobInfo, JobState};

/// A job id replied as a status (ADDJOB, JSCAN) or a bulk string (GETJOB,
/// QPEEK, SHOW).
pub(crate) fn parse_job_id(value: Value) -> Result<JobId, Error> {
    let text = text(value, "job id")?;
    JobId::parse(&text).map_err(|_| Error::Protocol(format!("expected a job id, got {text:?}")))
}

/// A non-negative integer reply: the count of ACKJOB, FASTACK, NACK, ENQUEUE,
/// DEQUEUE, DELJOB and QLEN.
pub(crate) fn parse_count(value: Value) -> Result<u64, Error> {
    unsigned(value, "count")
}

/// WORKING's reply: the number of seconds the next delivery was postponed by.
pub(crate) fn parse_working(value: Value) -> Result<Duration, Error> {
    unsigned(value, "WORKING retry time").map(Duration::from_secs)
}

/// The longest part of a bulk string quoted in an error message.
const QUOTE_MAX: usize = 64;

/// A short description of `value` for error messages (long strings cut).
pub(crate) fn describe(value: &Value) -> String {
    let quote = |bytes: &[u8]| {
        let cut = &bytes[..bytes.len().min(QUOTE_MAX)];
        let more = if bytes.len() > QUOTE_MAX { "…" } else { "" };
        format!("{:?}{more}", String::from_utf8_lossy(cut))
    };
    match value {
        Value::Nil => "nil".to_owned(),
        Value::Int(n) => format!("integer {n}"),
        Value::BulkString(b) => format!("bulk string {}", quote(b)),
        Value::SimpleString(s) => format!("status {}", quote(s.as_bytes())),
        Value::Okay => "status OK".to_owned(),
        Value::Array(items) => format!("array of {}", items.len()),
        Value::ServerError(e) => format!("error {e}"),
        other => format!("RESP3 value {}", quote(format!("{other:?}").as_bytes())),
    }
}

/// The error for `value` where `what` was expected: the server's own error if
/// it is one, else [`Error::Protocol`].
pub(crate) fn unexpected(what: impl Display + Copy, value: &Value) -> Error {
    match value {
        Value::ServerError(e) => Error::from_server_error(e),
        other => Error::Protocol(format!("expected {what}, got {}", describe(other))),
    }
}

/// The bytes of a bulk or status string.
pub(crate) fn bytes(value: Value, what: impl Display + Copy) -> Result<Vec<u8>, Error> {
    match value {
        Value::BulkString(b) => Ok(b),
        Value::SimpleString(s) => Ok(s.into_bytes()),
        Value::Okay => Ok(b"OK".to_vec()),
        other => Err(unexpected(what, &other)),
    }
}

/// A bulk or status string as UTF-8 text.
pub(crate) fn text(value: Value, what: impl Display + Copy) -> Result<String, Error> {
    String::from_utf8(bytes(value, what)?).map_err(|e| {
        Error::Protocol(format!(
            "{what} is not UTF-8: {}",
            describe(&Value::BulkString(e.into_bytes()))
        ))
    })
}

/// A queue name: UTF-8 text, converted lossily if it is not (see the module
/// docs).
pub(crate) fn queue_name(value: Value, what: impl Display + Copy) -> Result<String, Error> {
    Ok(String::from_utf8(bytes(value, what)?)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// An integer, given as an integer reply or as a decimal string (HELLO sends
/// ports and priorities as bulk strings).
pub(crate) fn integer(value: Value, what: impl Display + Copy) -> Result<i64, Error> {
    match value {
        Value::Int(n) => Ok(n),
        Value::BulkString(ref b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| unexpected(what, &value)),
        Value::SimpleString(ref s) => s.parse().ok().ok_or_else(|| unexpected(what, &value)),
        other => Err(unexpected(what, &other)),
    }
}

/// A non-negative integer that fits `T`.
pub(crate) fn unsigned<T: TryFrom<i64>>(
    value: Value,
    what: impl Display + Copy,
) -> Result<T, Error> {
    let n = integer(value, what)?;
    T::try_from(n).map_err(|_| Error::Protocol(format!("{what} out of range: {n}")))
}

/// A number of seconds from an integer reply; negative values (a time
/// already past) become zero.
pub(crate) fn secs(value: Value, what: &str) -> Result<Duration, Error> {
    Ok(Duration::from_secs(non_negative(value, what)?))
}

/// A number of milliseconds from an integer reply; negative values (a time
/// already past) become zero.
pub(crate) fn millis(value: Value, what: &str) -> Result<Duration, Error> {
    Ok(Duration::from_millis(non_negative(value, what)?))
}

/// An integer clamped at zero.
fn non_negative(value: Value, what: &str) -> Result<u64, Error> {
    Ok(u64::try_from(integer(value, what)?).unwrap_or(0))
}

/// The elements of an array reply.
pub(crate) fn array(value: Value, what: impl Display + Copy) -> Result<Vec<Value>, Error> {
    match value {
        Value::Array(items) => Ok(items),
        other => Err(unexpected(what, &other)),
    }
}

/// The elements of an array of strings.
pub(crate) fn strings(value: Value, what: &str) -> Result<Vec<String>, Error> {
    array(value, what)?
        .into_iter()
        .map(|v| text(v, what))
        .collect()
}

/// A flat `[key, value, key, value, …]` array as pairs, keys as text.
pub(crate) fn pairs(value: Value, what: &str) -> Result<Vec<(String, Value)>, Error> {
    let items = array(value, what)?;
    if items.len() % 2 != 0 {
        return Err(Error::Protocol(format!(
            "{what}: expected key/value pairs, got an array of {}",
            items.len()
        )));
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((text(k, &format!("{what} key"))?, v));
    }
    Ok(out)
}

/// Collects the value of each wanted key of a key/value reply (unknown keys
/// ignored; a missing key is an error naming it).
pub(crate) struct Fields {
    what: &'static str,
    found: Vec<(String, Value)>,
}

impl Fields {
    /// Reads a flat key/value array.
    pub(crate) fn new(value: Value, what: &'static str) -> Result<Fields, Error> {
        Ok(Fields {
            what,
            found: pairs(value, what)?,
        })
    }

    /// Takes the value of `key` out.
    pub(crate) fn take(&mut self, key: &str) -> Result<Value, Error> {
        match self.found.iter().position(|(k, _)| k == key) {
            Some(i) => Ok(self.found.swap_remove(i).1),
            None => Err(Error::Protocol(format!("{}: no {key:?} field", self.what))),
        }
    }

    /// The label of `key` for error messages.
    pub(crate) fn label(&self, key: &str) -> String {
        format!("{} {key}", self.what)
    }
}

#[cfg(test)]
pub(crate) mod test_values {
    //! Short constructors of `redis::Value`s, to write goldens as literals.
    use redis::Value;

    /// A bulk string.
    pub(crate) fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }
    /// A status reply.
    pub(crate) fn status(s: &str) -> Value {
        Value::SimpleString(s.to_owned())
    }
    /// An integer reply.
    pub(crate) fn int(n: i64) -> Value {
        Value::Int(n)
    }
    /// An array reply.
    pub(crate) fn arr(items: Vec<Value>) -> Value {
        Value::Array(items)
    }
    /// An error reply, as `redis` parses it.
    pub(crate) fn err(line: &str) -> Value {
        redis::parse_redis_value(format!("-{line}\r\n").as_bytes()).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::test_values::*;
    use super::*;

    #[test]
    fn job_ids_come_as_status_or_bulk() {
        let id = "D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1";
        assert_eq!(parse_job_id(status(id)).unwrap().as_str(), id);
        assert_eq!(parse_job_id(bulk(id)).unwrap().as_str(), id);
        assert!(matches!(
            parse_job_id(status("D-nope")),
            Err(Error::Protocol(_))
        ));
        assert!(matches!(parse_job_id(int(1)), Err(Error::Protocol(_))));
    }

    #[test]
    fn error_replies_inside_values_keep_their_meaning() {
        let e = parse_job_id(err("PAUSED Queue paused in input, try later")).unwrap_err();
        assert!(matches!(e, Error::Paused(_)), "{e:?}");
    }

    #[test]
    fn counts_and_working() {
        assert_eq!(parse_count(int(0)).unwrap(), 0);
        assert!(parse_count(int(-3)).is_err());
        assert!(parse_count(Value::Nil).is_err());
        assert_eq!(parse_working(int(300)).unwrap(), Duration::from_secs(300));
    }

    #[test]
    fn queue_names_that_are_not_utf8_are_converted_lossily() {
        // golden/binary_payload.json: a queue named "bin\0queue\r\n\xff".
        let name = queue_name(Value::BulkString(b"bin\0queue\r\n\xff".to_vec()), "q").unwrap();
        assert_eq!(name, "bin\0queue\r\n\u{fffd}");
        assert_eq!(queue_name(status("q"), "q").unwrap(), "q");
        assert!(queue_name(int(1), "q").is_err());
    }

    #[test]
    fn integers_may_come_as_decimal_strings() {
        assert_eq!(integer(bulk("7811"), "port").unwrap(), 7811);
        assert_eq!(integer(status("-5"), "n").unwrap(), -5);
        assert!(integer(bulk("7x"), "port").is_err());
    }

    #[test]
    fn negative_durations_become_zero() {
        assert_eq!(millis(int(-20), "d").unwrap(), Duration::ZERO);
        assert_eq!(millis(int(1500), "d").unwrap(), Duration::from_millis(1500));
        assert_eq!(secs(int(-1), "d").unwrap(), Duration::ZERO);
        assert_eq!(secs(int(60), "d").unwrap(), Duration::from_secs(60));
    }

    #[test]
    fn long_strings_are_cut_in_error_messages() {
        let big = Value::BulkString(vec![b'x'; 1 << 20]);
        let Err(Error::Protocol(m)) = parse_count(big) else {
            panic!("expected a protocol error")
        };
        assert!(m.len() < 200, "{m}");
    }

    #[test]
    fn pairs_need_an_even_array() {
        assert!(pairs(arr(vec![bulk("k")]), "x").is_err());
        let p = pairs(arr(vec![bulk("k"), int(1)]), "x").unwrap();
        assert_eq!(p, vec![("k".to_owned(), int(1))]);
    }

    // Examples that build replies from `redis::Value`s (not public API).
    #[test]
    fn doc_example_1() -> Result<(), crate::Error> {
        use crate::reply::{self, PauseState};
        use redis::Value;

        let paused = reply::PauseState::from_value(Value::SimpleString("out".into()))?;
        assert_eq!(paused, PauseState::Out);
        assert_eq!(reply::parse_count(Value::Int(2))?, 2);
        Ok(())
    }

    #[test]
    fn doc_example_2() -> Result<(), crate::Error> {
        use redis::Value;
        let v = Value::SimpleString("D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1".into());
        assert_eq!(crate::reply::parse_job_id(v)?.node_prefix(), "dcb833cf");
        Ok(())
    }

    #[test]
    fn doc_example_3() -> Result<(), crate::Error> {
        use redis::Value;
        assert_eq!(crate::reply::parse_count(Value::Int(3))?, 3);
        assert!(crate::reply::parse_count(Value::Int(-1)).is_err());
        Ok(())
    }

    #[test]
    fn doc_example_4() -> Result<(), crate::Error> {
        use redis::Value;
        use std::time::Duration;
        assert_eq!(
            crate::reply::parse_working(Value::Int(300))?,
            Duration::from_secs(300)
        );
        Ok(())
    }
}
