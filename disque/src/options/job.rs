//! [`JobOptions`]: what a job carries (ADDJOB).

use std::time::Duration;

use super::{invalid, timeout_ms};
use crate::Error;

/// Disque's default TTL (one day), used to check `DELAY < TTL` when no TTL is set.
const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// What a job carries: the options of `ADDJOB` (replication timeout,
/// replicate, delay, retry, ttl, maxlen, async).
///
/// Every field is optional: an unset field is not sent, so Disque's default
/// applies (documented on each setter). Fields are public to read; set them
/// with the `const` setters of the same names, so options can be constants.
///
/// # Layers
///
/// Job options come in three layers, merged with
/// [`merged_over`](JobOptions::merged_over) (a field set in the upper layer
/// wins): the client's defaults ([`ClientBuilder::job_defaults`]), then a job
/// type's defaults (`#[job(...)]`), then the options of one call
/// ([`Client::add_with`], [`Client::enqueue_with`], a [`JobOp`]).
///
/// How long a consumer waits is not a job option: see [`ConsumeOptions`].
///
/// # How durations are sent
///
/// Disque takes `DELAY`, `RETRY` and `TTL` in **whole seconds**. Rather than
/// silently round, [`validate`](JobOptions::validate) refuses any of them
/// with a fractional part (`RETRY 1.5s`, `DELAY 200ms`…) with
/// [`Error::InvalidOptions`]; `Duration::ZERO` is allowed for DELAY and RETRY
/// (RETRY 0: at-most-once delivery) but not for TTL. The replication timeout
/// is sent in milliseconds, **rounded up** to the next whole millisecond.
/// Seconds above `u32::MAX` and timeouts above `i32::MAX` ms (~24.8 days)
/// are refused as well.
///
/// [`ClientBuilder::job_defaults`]: crate::ClientBuilder::job_defaults
/// [`Client::add_with`]: crate::Client::add_with
/// [`Client::enqueue_with`]: crate::Client::enqueue_with
/// [`JobOp`]: crate::JobOp
/// [`ConsumeOptions`]: crate::ConsumeOptions
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
/// assert_eq!(EMAILS.retry, Some(Duration::from_secs(30)));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct JobOptions {
    /// How long ADDJOB waits for synchronous replication (`<ms-timeout>`);
    /// see [`replication_timeout`](JobOptions::replication_timeout).
    pub replication_timeout: Option<Duration>,
    /// `REPLICATE n`; see [`replicate`](JobOptions::replicate).
    pub replicate: Option<u16>,
    /// `DELAY s`; see [`delay`](JobOptions::delay).
    pub delay: Option<Duration>,
    /// `RETRY s`; see [`retry`](JobOptions::retry).
    pub retry: Option<Duration>,
    /// `TTL s`; see [`ttl`](JobOptions::ttl).
    pub ttl: Option<Duration>,
    /// `MAXLEN n`; see [`maxlen`](JobOptions::maxlen).
    pub maxlen: Option<u32>,
    /// `ASYNC`; see [`asynchronous`](JobOptions::asynchronous).
    pub asynchronous: Option<bool>,
}

impl JobOptions {
    /// No option set: Disque's defaults apply.
    ///
    /// ```
    /// assert_eq!(disque::JobOptions::new(), disque::JobOptions::default());
    /// ```
    pub const fn new() -> Self {
        Self {
            replication_timeout: None,
            replicate: None,
            delay: None,
            retry: None,
            ttl: None,
            maxlen: None,
            asynchronous: None,
        }
    }

    /// ADDJOB `<ms-timeout>`: how long to wait for synchronous replication
    /// (unset: 0, which Disque reads as "as long as it takes"; on timeout
    /// the job is dropped and the reply is `-NOREPL`,
    /// [`Error::NoReplication`]). Sent in milliseconds, rounded up. It never
    /// changes how long a consumer waits (that is
    /// [`ConsumeOptions::timeout`](crate::ConsumeOptions::timeout)).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let o = disque::JobOptions::new().replication_timeout(Duration::from_millis(500));
    /// assert_eq!(o.replication_timeout, Some(Duration::from_millis(500)));
    /// ```
    pub const fn replication_timeout(mut self, timeout: Duration) -> Self {
        self.replication_timeout = Some(timeout);
        self
    }

    /// `REPLICATE n`: how many nodes must hold a copy (1..=65535; Disque's
    /// default: min(3, cluster size)).
    ///
    /// ```
    /// assert_eq!(disque::JobOptions::new().replicate(2).replicate, Some(2));
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
    /// assert_eq!(o.delay, Some(Duration::from_secs(10)));
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
    /// assert_eq!(o.ttl, Some(Duration::from_secs(3600)));
    /// ```
    pub const fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// `MAXLEN n`: refuse the job (`-MAXLEN`, [`Error::QueueFull`]) if the queue
    /// already holds `n` jobs or more (at least 1; Disque's default: no limit).
    ///
    /// ```
    /// assert_eq!(disque::JobOptions::new().maxlen(100).maxlen, Some(100));
    /// ```
    pub const fn maxlen(mut self, n: u32) -> Self {
        self.maxlen = Some(n);
        self
    }

    /// `ASYNC`: reply as soon as the job is stored locally and replicate in the
    /// background (Disque's default: synchronous replication).
    ///
    /// ```
    /// assert_eq!(disque::JobOptions::new().asynchronous(true).asynchronous, Some(true));
    /// ```
    pub const fn asynchronous(mut self, on: bool) -> Self {
        self.asynchronous = Some(on);
        self
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
    /// assert_eq!(merged.ttl, Some(Duration::from_secs(60)));
    /// assert_eq!(merged.maxlen, Some(5));
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
            replication_timeout: or!(replication_timeout),
            replicate: or!(replicate),
            delay: or!(delay),
            retry: or!(retry),
            ttl: or!(ttl),
            maxlen: or!(maxlen),
            asynchronous: or!(asynchronous),
        }
    }

    /// Refuses, before anything is sent, what Disque would refuse or silently
    /// round: DELAY/RETRY/TTL that are not whole seconds (see
    /// [how durations are sent](crate::JobOptions#how-durations-are-sent)),
    /// TTL 0, DELAY ≥ TTL (default TTL: one day), RETRY 0 with REPLICATE > 1,
    /// REPLICATE 0, MAXLEN 0, and out-of-range values. The error is
    /// [`Error::InvalidOptions`] and says which option and why.
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
        timeout_ms("replication timeout", self.replication_timeout)?;
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

    /// Validates the options, then appends `<ms-timeout>` (0 when unset)
    /// and the options set (`REPLICATE`, `DELAY`, `RETRY`, `TTL`, `MAXLEN`,
    /// `ASYNC`) to `cmd`, which should hold `ADDJOB queue body`.
    pub(crate) fn append_addjob_args(&self, cmd: &mut redis::Cmd) -> Result<(), Error> {
        self.validate()?;
        cmd.arg(timeout_ms("replication timeout", self.replication_timeout)?.unwrap_or(0));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::test_args;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn addjob(o: JobOptions) -> Result<Vec<String>, Error> {
        let mut cmd = redis::cmd("ADDJOB");
        cmd.arg("q").arg("b");
        o.append_addjob_args(&mut cmd)?;
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
            .asynchronous(true);
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
    fn addjob_replication_timeout_is_in_milliseconds_rounded_up() {
        let o = JobOptions::new().replication_timeout(Duration::from_micros(1001));
        assert_eq!(addjob(o).unwrap()[3], "2");
        let o = JobOptions::new().replication_timeout(S(1));
        assert_eq!(addjob(o).unwrap()[3], "1000");
    }

    #[test]
    fn false_flags_are_not_sent() {
        let o = JobOptions::new().asynchronous(false);
        assert_eq!(addjob(o).unwrap(), ["ADDJOB", "q", "b", "0"]);
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
    fn zero_ttl_maxlen_replicate_are_refused() {
        assert!(reason(JobOptions::new().ttl(Duration::ZERO).validate()).contains("TTL"));
        assert!(reason(JobOptions::new().maxlen(0).validate()).contains("MAXLEN"));
        assert!(reason(JobOptions::new().replicate(0).validate()).contains("REPLICATE"));
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
        let m = reason(JobOptions::new().replication_timeout(long).validate());
        assert!(m.contains("replication timeout"), "{m}");
        assert!(addjob(JobOptions::new().replication_timeout(long)).is_err());
    }

    #[test]
    fn merged_over_prefers_the_upper_layer_field_by_field() {
        let client = JobOptions::new()
            .ttl(S(60))
            .retry(S(5))
            .replication_timeout(S(2))
            .asynchronous(true);
        let job_type = JobOptions::new().retry(S(10)).maxlen(100);
        let call = JobOptions::new().maxlen(7).asynchronous(false);
        let merged = call.merged_over(&job_type.merged_over(&client));
        assert_eq!(
            merged,
            JobOptions::new()
                .ttl(S(60))
                .retry(S(10))
                .maxlen(7)
                .replication_timeout(S(2))
                .asynchronous(false)
        );
        assert_eq!(JobOptions::new().merged_over(&client), client);
    }

    #[test]
    fn fields_are_readable_and_match_the_setters() {
        let o = JobOptions::new()
            .replication_timeout(S(1))
            .replicate(2)
            .delay(S(3))
            .retry(S(4))
            .ttl(S(5))
            .maxlen(6)
            .asynchronous(true);
        assert_eq!(o.replication_timeout, Some(S(1)));
        assert_eq!(o.replicate, Some(2));
        assert_eq!(o.delay, Some(S(3)));
        assert_eq!(o.retry, Some(S(4)));
        assert_eq!(o.ttl, Some(S(5)));
        assert_eq!(o.maxlen, Some(6));
        assert_eq!(o.asynchronous, Some(true));
    }
}
