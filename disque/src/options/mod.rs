//! Options of commands, kept apart by what they are about:
//!
//! - [`JobOptions`]: what a job carries (`ADDJOB`: replication timeout,
//!   replicate, delay, retry, ttl, maxlen, async);
//! - [`ConsumeOptions`]: how a consumer asks (`GETJOB`: how long to wait,
//!   nohang, count);
//! - [`QueueScanOptions`] and [`JobScanOptions`]: filters of `QSCAN` and `JSCAN`.
//!
//! A replication timeout is a [`JobOptions`] field and a consumer's wait a
//! [`ConsumeOptions`] one, so setting one can never change the other.
//!
//! # How durations are sent (and why some are refused)
//!
//! Disque takes `DELAY`, `RETRY` and `TTL` in **whole seconds**. Rather than
//! silently round, [`JobOptions::validate`] refuses any of them with a
//! fractional part (`RETRY 1.5s`, `DELAY 200ms`…) with
//! [`Error::InvalidOptions`]; `Duration::ZERO` is allowed for DELAY and RETRY
//! (RETRY 0: at-most-once delivery) but not for TTL. Timeouts (the ADDJOB
//! replication timeout and the GETJOB `TIMEOUT`) are sent in milliseconds,
//! **rounded up** to the next whole millisecond, so a tiny non-zero timeout
//! never turns into 0, which Disque reads as "no timeout". Seconds above
//! `u32::MAX` and timeouts above `i32::MAX` ms (~24.8 days) are refused as well.

mod consume;
mod job;
mod scan;

use std::time::Duration;

pub use consume::ConsumeOptions;
pub use job::JobOptions;
pub(crate) use scan::JobScanReply;
pub use scan::{JobScanOptions, QueueScanOptions};

use crate::Error;

/// Longest timeout sent to Disque, in milliseconds.
const MAX_TIMEOUT_MS: u128 = i32::MAX as u128;

/// An [`Error::InvalidOptions`] with `message`.
fn invalid(message: &str) -> Error {
    Error::InvalidOptions(message.to_owned())
}

/// `d` in milliseconds, rounded up.
fn ceil_ms(d: Duration) -> u128 {
    d.as_nanos().div_ceil(1_000_000)
}

/// The timeout in whole milliseconds (rounded up), refusing values Disque
/// could overflow on; `what` names it in the error.
fn timeout_ms(what: &str, timeout: Option<Duration>) -> Result<Option<u64>, Error> {
    match timeout.map(ceil_ms) {
        None => Ok(None),
        Some(ms) if ms <= MAX_TIMEOUT_MS => Ok(Some(ms as u64)),
        Some(ms) => Err(invalid(&format!(
            "{what} of {ms} ms is too long (at most {MAX_TIMEOUT_MS} ms)"
        ))),
    }
}

/// The arguments of `cmd` as strings, for tests of command building.
#[cfg(test)]
pub(crate) fn test_args(cmd: &redis::Cmd) -> Vec<String> {
    cmd.args_iter()
        .map(|arg| match arg {
            redis::Arg::Simple(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            _ => "<cursor>".to_owned(),
        })
        .collect()
}
