//! Per-job options (ADDJOB) and consume options (GETJOB): one value type,
//! [`JobOptions`].
//!
//! # Layers
//!
//! Options come in three layers, merged with [`JobOptions::merged_over`]
//! (a field set in the upper layer wins): the client's defaults, then a job
//! type's defaults (`#[job(...)]`), then the options of one call.
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
//! never turns into 0, which Disque reads as "no timeout" for GETJOB.
//! Seconds above `u32::MAX` and timeouts above `i32::MAX` ms (~24.8 days) are
//! refused as well.

use std::time::Duration;

use crate::Error;

/// Disque's default TTL (one day), used to check `DELAY < TTL` when no TTL is set.
const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Longest timeout sent to Disque, in milliseconds.
const MAX_TIMEOUT_MS: u128 = i32::MAX as u128;

/// Options of `ADDJOB` (timeout, replicate, delay, retry, ttl, maxlen, async)
/// and of `GETJOB` (timeout, count, nohang, withcounters).
///
/// Every field is optional: an unset field is not sent, so Disque's default
/// applies (documented on each setter). Set them as a client's defaults, per
/// job type, or for one call; see [`merged_over`](JobOptions::merged_over).
/// The setters are `const`, so options can be constants.
///
/// ```
/// use std::time::Duration;
/// use disque::JobOptions;
///
/// const EMAILS: JobOptions = JobOptions::new()
///     .retry(Duration::from_secs(30))
///     .ttl(Duration::from_secs(3600))
///     .maxlen(10_000);
/// assert!(EMAILS.validate().is_ok());
/// assert_eq!(EMAILS.get_retry(), Some(Duration::from_secs(30)));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct JobOptions {
    timeout: Option<Duration>,
    replicate: Option<u16>,
    delay: Option<Duration>,
    retry: Option<Duration>,
    ttl: Option<Duration>,
    maxlen: Option<u32>,
    asynchronous: Option<bool>,
    count: Option<u32>,
    nohang: Option<bool>,
    withcounters: Option<bool>,
}

impl JobOptions {
    /// No option set: Disque's defaults apply.
    ///
    /// ```
    /// assert_eq!(disque::JobOptions::new(), disque::JobOptions::default());
    /// ```
    pub const fn new() -> Self {
        Self {
            timeout: None,
            replicate: None,
            delay: None,
            retry: None,
            ttl: None,
            maxlen: None,
            asynchronous: None,
            count: None,
            nohang: None,
            withcounters: None,
        }
    }

    /// ADDJOB: how long to wait for synchronous replication (`<ms-timeout>`;
    /// unset: 0, which Disque reads as "as long as it takes"; on timeout the
    /// job is dropped and the reply is `-NOREPL`). GETJOB: how long to block
    /// waiting for a job (`TIMEOUT ms`; unset or zero: Disque blocks until a
    /// job comes). Sent in milliseconds, rounded up.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let o = disque::JobOptions::new().timeout(Duration::from_millis(500));
    /// assert_eq!(o.get_timeout(), Some(Duration::from_millis(500)));
    /// ```
    pub const fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// `REPLICATE n`: how many nodes must hold a copy (1..=65535; Disque's
    /// default: min(3, cluster size)).
    ///
    /// ```
    /// assert_eq!(disque::JobOptions::new().replicate(2).get_replicate(), Some(2));
    /// ```
    pub const fn replicate(mut self, n: u16) -> Self {
        self.replicate = Some(n);
        self
    }

    /// `DELAY s`: how long the job waits before being queued (whole seconds;
    /// must be shorter than the TTL; Disque's default: 0).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let o = disque::JobOptions::new().delay(Duration::from_secs(10));
    /// assert_eq!(o.get_delay(), Some(Duration::from_secs(10)));
    /// ```
    pub const fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// `RETRY s`: after how long a delivered but unacknowledged job is queued
    /// again (whole seconds; zero: at most once, which needs `replicate(1)` on a
    /// cluster; Disque's default: TTL/10, between 1 and 300 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let o = disque::JobOptions::new().retry(Duration::ZERO).replicate(1);
    /// assert!(o.validate().is_ok());
    /// ```
    pub const fn retry(mut self, retry: Duration) -> Self {
        self.retry = Some(retry);
        self
    }

    /// `TTL s`: how long the job lives, whatever its state (whole seconds, at
    /// least 1; Disque's default: one day).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let o = disque::JobOptions::new().ttl(Duration::from_secs(3600));
    /// assert_eq!(o.get_ttl(), Some(Duration::from_secs(3600)));
    /// ```
    pub const fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// `MAXLEN n`: refuse the job (`-MAXLEN`, [`Error::QueueFull`]) if the queue
    /// already holds `n` jobs or more (at least 1; Disque's default: no limit).
    ///
    /// ```
    /// assert_eq!(disque::JobOptions::new().maxlen(100).get_maxlen(), Some(100));
    /// ```
    pub const fn maxlen(mut self, n: u32) -> Self {
        self.maxlen = Some(n);
        self
    }

    /// `ASYNC`: reply as soon as the job is stored locally and replicate in the
    /// background (Disque's default: synchronous replication).
    ///
    /// ```
    /// assert_eq!(disque::JobOptions::new().asynchronous(true).get_asynchronous(), Some(true));
    /// ```
    pub const fn asynchronous(mut self, on: bool) -> Self {
        self.asynchronous = Some(on);
        self
    }

    /// GETJOB `COUNT n`: take up to `n` jobs at once (at least 1; Disque's
    /// default: 1).
    ///
    /// ```
    /// assert_eq!(disque::JobOptions::new().count(10).get_count(), Some(10));
    /// ```
    pub const fn count(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }

    /// GETJOB `NOHANG`: return at once (no job: an empty reply) instead of
    /// blocking (Disque's default: block).
    ///
    /// ```
    /// assert_eq!(disque::JobOptions::new().nohang(true).get_nohang(), Some(true));
    /// ```
    pub const fn nohang(mut self, on: bool) -> Self {
        self.nohang = Some(on);
        self
    }

    /// GETJOB `WITHCOUNTERS`: also return each job's `nacks` and
    /// `additional-deliveries` counters (Disque's default: not returned).
    ///
    /// ```
    /// assert_eq!(disque::JobOptions::new().withcounters(true).get_withcounters(), Some(true));
    /// ```
    pub const fn withcounters(mut self, on: bool) -> Self {
        self.withcounters = Some(on);
        self
    }

    /// The timeout, if set.
    ///
    /// ```
    /// assert_eq!(disque::JobOptions::new().get_timeout(), None);
    /// ```
    pub const fn get_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The replication level, if set.
    ///
    /// ```
    /// assert_eq!(disque::JobOptions::new().get_replicate(), None);
    /// ```
    pub const fn get_replicate(&self) -> Option<u16> {
        self.replicate
    }

    /// The delay, if set.
    ///
    /// ```
    /// assert_eq!(disque::JobOptions::new().get_delay(), None);
    /// ```
    pub const fn get_delay(&self) -> Option<Duration> {
        self.delay
    }

    /// The retry period, if set.
    ///
    /// ```
    /// assert_eq!(disque::JobOptions::new().get_retry(), None);
    /// ```
    pub const fn get_retry(&self) -> Option<Duration> {
        self.retry
    }

    /// The TTL, if set.
    ///
    /// ```
    /// assert_eq!(disque::JobOptions::new().get_ttl(), None);
    /// ```
    pub const fn get_ttl(&self) -> Option<Duration> {
        self.ttl
    }

    /// The queue length limit, if set.
    ///
    /// ```
    /// assert_eq!(disque::JobOptions::new().get_maxlen(), None);
    /// ```
    pub const fn get_maxlen(&self) -> Option<u32> {
        self.maxlen
    }

    /// Whether ASYNC was asked for, if set.
    ///
    /// ```
    /// assert_eq!(disque::JobOptions::new().get_asynchronous(), None);
    /// ```
    pub const fn get_asynchronous(&self) -> Option<bool> {
        self.asynchronous
    }

    /// The GETJOB count, if set.
    ///
    /// ```
    /// assert_eq!(disque::JobOptions::new().get_count(), None);
    /// ```
    pub const fn get_count(&self) -> Option<u32> {
        self.count
    }

    /// Whether NOHANG was asked for, if set.
    ///
    /// ```
    /// assert_eq!(disque::JobOptions::new().get_nohang(), None);
    /// ```
    pub const fn get_nohang(&self) -> Option<bool> {
        self.nohang
    }

    /// Whether WITHCOUNTERS was asked for, if set.
    ///
    /// ```
    /// assert_eq!(disque::JobOptions::new().get_withcounters(), None);
    /// ```
    pub const fn get_withcounters(&self) -> Option<bool> {
        self.withcounters
    }

    /// These options laid over `base`: each field set in `self` wins, the others
    /// come from `base`. Used for client defaults ← job-type defaults ← one call.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use disque::JobOptions;
    ///
    /// let client = JobOptions::new().ttl(Duration::from_secs(60)).maxlen(10);
    /// let call = JobOptions::new().maxlen(5);
    /// let merged = call.merged_over(&client);
    /// assert_eq!(merged.get_ttl(), Some(Duration::from_secs(60)));
    /// assert_eq!(merged.get_maxlen(), Some(5));
    /// ```
    pub const fn merged_over(&self, base: &JobOptions) -> JobOptions {
        /// `Option::or`, usable in a const fn.
        macro_rules! or {
            ($field:ident) => {
                match self.$field {
                    Some(v) => Some(v),
                    None => base.$field,
                }
            };
        }
        JobOptions {
            timeout: or!(timeout),
            replicate: or!(replicate),
            delay: or!(delay),
            retry: or!(retry),
            ttl: or!(ttl),
            maxlen: or!(maxlen),
            asynchronous: or!(asynchronous),
            count: or!(count),
            nohang: or!(nohang),
            withcounters: or!(withcounters),
        }
    }

    /// Refuses, before anything is sent, what Disque would refuse or silently
    /// round: DELAY/RETRY/TTL that are not whole seconds (see the
    /// [module docs](self)), TTL 0, DELAY ≥ TTL (default TTL: one day),
    /// RETRY 0 with REPLICATE > 1, REPLICATE 0, MAXLEN 0, COUNT 0, and
    /// out-of-range values. The error is [`Error::InvalidOptions`] and says which
    /// option and why.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use disque::{Error, JobOptions};
    ///
    /// let bad = JobOptions::new().retry(Duration::from_millis(1500));
    /// assert!(matches!(bad.validate(), Err(Error::InvalidOptions(_))));
    /// let bad = JobOptions::new().delay(Duration::from_secs(60)).ttl(Duration::from_secs(60));
    /// assert!(matches!(bad.validate(), Err(Error::InvalidOptions(_))));
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        self.validate_addjob()?;
        self.validate_getjob()
    }

    /// Checks the options ADDJOB uses.
    fn validate_addjob(&self) -> Result<(), Error> {
        timeout_ms(self.timeout)?;
        if self.replicate == Some(0) {
            return Err(invalid("REPLICATE must be between 1 and 65535, got 0"));
        }
        let delay = whole_seconds("DELAY", self.delay)?;
        let retry = whole_seconds("RETRY", self.retry)?;
        let ttl = whole_seconds("TTL", self.ttl)?;
        if ttl == Some(0) {
            return Err(invalid("TTL must be at least 1 second"));
        }
        if self.maxlen == Some(0) {
            return Err(invalid("MAXLEN must be at least 1"));
        }
        if let (Some(0), Some(n)) = (retry, self.replicate) {
            if n > 1 {
                return Err(invalid(&format!(
                    "RETRY 0 (at-most-once delivery) needs REPLICATE 1, got REPLICATE {n}"
                )));
            }
        }
        if let Some(delay) = delay {
            let ttl = ttl.unwrap_or(DEFAULT_TTL.as_secs());
            if delay >= ttl {
                return Err(invalid(&format!(
                    "DELAY ({delay} s) must be shorter than TTL ({ttl} s{}): the job would never be delivered",
                    if self.ttl.is_none() { ", Disque's default" } else { "" }
                )));
            }
        }
        Ok(())
    }

    /// Checks the options GETJOB uses.
    fn validate_getjob(&self) -> Result<(), Error> {
        timeout_ms(self.timeout)?;
        if self.count == Some(0) {
            return Err(invalid("COUNT must be at least 1"));
        }
        Ok(())
    }

    /// Validates the ADDJOB options, then appends `<ms-timeout>` (0 when unset)
    /// and the options set (`REPLICATE`, `DELAY`, `RETRY`, `TTL`, `MAXLEN`,
    /// `ASYNC`) to `cmd`, which should hold `ADDJOB queue body`. GETJOB-only
    /// options are ignored.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let mut cmd = redis::cmd("ADDJOB");
    /// cmd.arg("q").arg("body");
    /// disque::JobOptions::new()
    ///     .ttl(Duration::from_secs(60))
    ///     .asynchronous(true)
    ///     .append_addjob_args(&mut cmd)?;
    /// assert_eq!(cmd.get_packed_command(), redis::cmd("ADDJOB")
    ///     .arg(&["q", "body", "0", "TTL", "60", "ASYNC"]).get_packed_command());
    /// # Ok::<(), disque::Error>(())
    /// ```
    pub fn append_addjob_args(&self, cmd: &mut redis::Cmd) -> Result<(), Error> {
        self.validate_addjob()?;
        cmd.arg(timeout_ms(self.timeout)?.unwrap_or(0));
        if let Some(n) = self.replicate {
            cmd.arg("REPLICATE").arg(n);
        }
        for (name, value) in [
            ("DELAY", self.delay),
            ("RETRY", self.retry),
            ("TTL", self.ttl),
        ] {
            if let Some(d) = value {
                cmd.arg(name).arg(d.as_secs());
            }
        }
        if let Some(n) = self.maxlen {
            cmd.arg("MAXLEN").arg(n);
        }
        if self.asynchronous == Some(true) {
            cmd.arg("ASYNC");
        }
        Ok(())
    }

    /// Validates the GETJOB options, then appends those set (`NOHANG`,
    /// `TIMEOUT ms`, `COUNT n`, `WITHCOUNTERS`) to `cmd`, which should hold
    /// `GETJOB`; the caller appends `FROM q1 … qN`. ADDJOB-only options are
    /// ignored.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let mut cmd = redis::cmd("GETJOB");
    /// disque::JobOptions::new()
    ///     .timeout(Duration::from_secs(5))
    ///     .count(10)
    ///     .append_getjob_args(&mut cmd)?;
    /// cmd.arg("FROM").arg("q");
    /// assert_eq!(cmd.get_packed_command(), redis::cmd("GETJOB")
    ///     .arg(&["TIMEOUT", "5000", "COUNT", "10", "FROM", "q"]).get_packed_command());
    /// # Ok::<(), disque::Error>(())
    /// ```
    pub fn append_getjob_args(&self, cmd: &mut redis::Cmd) -> Result<(), Error> {
        self.validate_getjob()?;
        if self.nohang == Some(true) {
            cmd.arg("NOHANG");
        }
        if let Some(ms) = timeout_ms(self.timeout)? {
            cmd.arg("TIMEOUT").arg(ms);
        }
        if let Some(n) = self.count {
            cmd.arg("COUNT").arg(n);
        }
        if self.withcounters == Some(true) {
            cmd.arg("WITHCOUNTERS");
        }
        Ok(())
    }

    /// The longest a GETJOB with these options may block on the server:
    /// `Some(Duration::ZERO)` with NOHANG, `Some(timeout)` (rounded up to whole
    /// milliseconds) with a non-zero timeout, and `None` — block until a job
    /// comes — when no timeout or a zero one is set. A connection running the
    /// GETJOB needs a response timeout longer than this.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use disque::JobOptions;
    ///
    /// assert_eq!(JobOptions::new().getjob_timeout(), None);
    /// assert_eq!(JobOptions::new().nohang(true).getjob_timeout(), Some(Duration::ZERO));
    /// let o = JobOptions::new().timeout(Duration::from_micros(1500));
    /// assert_eq!(o.getjob_timeout(), Some(Duration::from_millis(2)));
    /// ```
    pub fn getjob_timeout(&self) -> Option<Duration> {
        if self.nohang == Some(true) {
            return Some(Duration::ZERO);
        }
        let ms = self.timeout.map(ceil_ms)?;
        if ms == 0 {
            None
        } else {
            Some(Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX)))
        }
    }
}

/// An [`Error::InvalidOptions`] with `message`.
fn invalid(message: &str) -> Error {
    Error::InvalidOptions(message.to_owned())
}

/// `d` in milliseconds, rounded up.
fn ceil_ms(d: Duration) -> u128 {
    d.as_nanos().div_ceil(1_000_000)
}

/// The timeout in whole milliseconds (rounded up), refusing values Disque
/// could overflow on.
fn timeout_ms(timeout: Option<Duration>) -> Result<Option<u64>, Error> {
    match timeout.map(ceil_ms) {
        None => Ok(None),
        Some(ms) if ms <= MAX_TIMEOUT_MS => Ok(Some(ms as u64)),
        Some(ms) => Err(invalid(&format!(
            "timeout of {ms} ms is too long (at most {MAX_TIMEOUT_MS} ms)"
        ))),
    }
}

/// `value` in whole seconds; a fractional part or more than `u32::MAX`
/// seconds is an error naming `option`.
fn whole_seconds(option: &str, value: Option<Duration>) -> Result<Option<u64>, Error> {
    let Some(d) = value else { return Ok(None) };
    if d.subsec_nanos() != 0 {
        return Err(invalid(&format!(
            "{option} must be a whole number of seconds (Disque does not take fractions), got {d:?}"
        )));
    }
    if d.as_secs() > u64::from(u32::MAX) {
        return Err(invalid(&format!(
            "{option} of {} s is too long (at most {} s)",
            d.as_secs(),
            u32::MAX
        )));
    }
    Ok(Some(d.as_secs()))
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

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn addjob(o: JobOptions) -> Result<Vec<String>, Error> {
        let mut cmd = redis::cmd("ADDJOB");
        cmd.arg("q").arg("b");
        o.append_addjob_args(&mut cmd)?;
        Ok(test_args(&cmd))
    }

    fn getjob(o: JobOptions) -> Result<Vec<String>, Error> {
        let mut cmd = redis::cmd("GETJOB");
        o.append_getjob_args(&mut cmd)?;
        Ok(test_args(&cmd))
    }

    fn reason(r: Result<(), Error>) -> String {
        match r {
            Err(Error::InvalidOptions(m)) => m,
            other => panic!("expected InvalidOptions, got {other:?}"),
        }
    }

    #[test]
    fn addjob_with_no_option_sends_a_zero_timeout_only() {
        assert_eq!(
            addjob(JobOptions::new()).unwrap(),
            ["ADDJOB", "q", "b", "0"]
        );
    }

    #[test]
    fn addjob_sends_every_option_as_the_golden_transcript() {
        // golden/addjob_all_options.json, first command.
        let o = JobOptions::new()
            .replicate(1)
            .delay(S(2))
            .retry(S(5))
            .ttl(S(60))
            .maxlen(10)
            .asynchronous(true)
            .count(3) // GETJOB only: ignored
            .nohang(true);
        assert_eq!(
            addjob(o).unwrap(),
            [
                "ADDJOB",
                "q",
                "b",
                "0",
                "REPLICATE",
                "1",
                "DELAY",
                "2",
                "RETRY",
                "5",
                "TTL",
                "60",
                "MAXLEN",
                "10",
                "ASYNC"
            ]
        );
    }

    #[test]
    fn addjob_timeout_is_in_milliseconds_rounded_up() {
        let o = JobOptions::new().timeout(Duration::from_micros(1001));
        assert_eq!(addjob(o).unwrap()[3], "2");
        let o = JobOptions::new().timeout(S(1));
        assert_eq!(addjob(o).unwrap()[3], "1000");
    }

    #[test]
    fn false_flags_are_not_sent() {
        let o = JobOptions::new()
            .asynchronous(false)
            .nohang(false)
            .withcounters(false);
        assert_eq!(addjob(o.clone()).unwrap(), ["ADDJOB", "q", "b", "0"]);
        assert_eq!(getjob(o).unwrap(), ["GETJOB"]);
    }

    #[test]
    fn getjob_sends_its_options_in_order_and_ignores_addjob_ones() {
        let o = JobOptions::new()
            .withcounters(true)
            .count(2)
            .timeout(Duration::from_millis(250))
            .nohang(true)
            .ttl(S(10))
            .delay(S(20)); // DELAY >= TTL: an ADDJOB problem, not a GETJOB one
        assert_eq!(
            getjob(o.clone()).unwrap(),
            [
                "GETJOB",
                "NOHANG",
                "TIMEOUT",
                "250",
                "COUNT",
                "2",
                "WITHCOUNTERS"
            ]
        );
        assert!(addjob(o).is_err());
    }

    #[test]
    fn fractional_seconds_are_refused_for_each_duration_option() {
        let half = Duration::from_millis(1500);
        for (o, name) in [
            (JobOptions::new().delay(half), "DELAY"),
            (JobOptions::new().retry(half), "RETRY"),
            (JobOptions::new().ttl(half), "TTL"),
            (JobOptions::new().retry(Duration::from_millis(200)), "RETRY"),
        ] {
            let m = reason(o.validate());
            assert!(m.contains(name) && m.contains("whole"), "{m}");
            assert!(addjob(o).is_err());
        }
    }

    #[test]
    fn zero_delay_and_zero_retry_are_allowed() {
        let o = JobOptions::new()
            .delay(Duration::ZERO)
            .retry(Duration::ZERO);
        assert_eq!(
            addjob(o).unwrap(),
            ["ADDJOB", "q", "b", "0", "DELAY", "0", "RETRY", "0"]
        );
    }

    #[test]
    fn zero_ttl_maxlen_replicate_count_are_refused() {
        assert!(reason(JobOptions::new().ttl(Duration::ZERO).validate()).contains("TTL"));
        assert!(reason(JobOptions::new().maxlen(0).validate()).contains("MAXLEN"));
        assert!(reason(JobOptions::new().replicate(0).validate()).contains("REPLICATE"));
        let m = reason(JobOptions::new().count(0).validate());
        assert!(m.contains("COUNT"));
        assert!(getjob(JobOptions::new().count(0)).is_err());
    }

    #[test]
    fn delay_must_be_shorter_than_ttl_including_the_default_ttl() {
        // golden/addjob_err_delay_vs_ttl.json: 10/5 and 10/10 refused, 9/10 accepted,
        // DELAY 86400 with the default TTL refused.
        assert!(JobOptions::new().delay(S(10)).ttl(S(5)).validate().is_err());
        assert!(JobOptions::new()
            .delay(S(10))
            .ttl(S(10))
            .validate()
            .is_err());
        assert!(JobOptions::new().delay(S(9)).ttl(S(10)).validate().is_ok());
        let m = reason(JobOptions::new().delay(S(86_400)).validate());
        assert!(m.contains("default"), "{m}");
        assert!(JobOptions::new().delay(S(86_399)).validate().is_ok());
    }

    #[test]
    fn retry_zero_needs_replicate_one() {
        assert!(reason(
            JobOptions::new()
                .retry(Duration::ZERO)
                .replicate(2)
                .validate()
        )
        .contains("REPLICATE 1"));
        assert!(JobOptions::new()
            .retry(Duration::ZERO)
            .replicate(1)
            .validate()
            .is_ok());
        // REPLICATE unset: fine on a single node, the server decides on a cluster.
        assert!(JobOptions::new().retry(Duration::ZERO).validate().is_ok());
    }

    #[test]
    fn retry_longer_than_ttl_is_accepted_like_disque() {
        assert!(JobOptions::new()
            .retry(S(100))
            .ttl(S(10))
            .validate()
            .is_ok());
    }

    #[test]
    fn oversized_values_are_refused() {
        assert!(JobOptions::new()
            .ttl(S(u64::from(u32::MAX) + 1))
            .validate()
            .is_err());
        assert!(JobOptions::new()
            .ttl(S(u64::from(u32::MAX)))
            .validate()
            .is_ok());
        let long = Duration::from_millis(i32::MAX as u64 + 1);
        assert!(JobOptions::new().timeout(long).validate().is_err());
        assert!(getjob(JobOptions::new().timeout(long)).is_err());
        assert!(addjob(JobOptions::new().timeout(long)).is_err());
    }

    #[test]
    fn merged_over_prefers_the_upper_layer_field_by_field() {
        let client = JobOptions::new()
            .ttl(S(60))
            .retry(S(5))
            .count(4)
            .nohang(true);
        let job_type = JobOptions::new().retry(S(10)).maxlen(100);
        let call = JobOptions::new().maxlen(7).nohang(false);
        let merged = call.merged_over(&job_type.merged_over(&client));
        assert_eq!(
            merged,
            JobOptions::new()
                .ttl(S(60))
                .retry(S(10))
                .maxlen(7)
                .count(4)
                .nohang(false)
        );
        assert_eq!(JobOptions::new().merged_over(&client), client);
    }

    #[test]
    fn getjob_timeout_reports_how_long_the_server_may_block() {
        assert_eq!(JobOptions::new().getjob_timeout(), None);
        assert_eq!(
            JobOptions::new().timeout(Duration::ZERO).getjob_timeout(),
            None
        );
        assert_eq!(JobOptions::new().timeout(S(5)).getjob_timeout(), Some(S(5)));
        assert_eq!(
            JobOptions::new()
                .timeout(Duration::from_nanos(1))
                .getjob_timeout(),
            Some(Duration::from_millis(1))
        );
        assert_eq!(
            JobOptions::new()
                .timeout(S(5))
                .nohang(true)
                .getjob_timeout(),
            Some(Duration::ZERO)
        );
    }
}
