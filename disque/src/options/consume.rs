//! [`ConsumeOptions`]: how a consumer asks (GETJOB).

use std::time::Duration;

use super::{ceil_ms, invalid, timeout_ms};
use crate::Error;

/// How a consumer asks for jobs: the options of `GETJOB` (how long to
/// wait, NOHANG, COUNT).
///
/// Every field is optional: an unset field is not sent, so Disque's default
/// applies (block until a job comes, one job). Fields are public to read;
/// set them with the `const` setters of the same names.
///
/// `WITHCOUNTERS` is not an option: it is always sent, so every
/// [`Delivery`](crate::Delivery) carries its `nacks` and
/// `additional-deliveries` counters.
///
/// # Layers
///
/// Two layers, merged with [`merged_over`](ConsumeOptions::merged_over):
/// the client's defaults ([`ClientBuilder::consume_defaults`]) under the
/// options of one call ([`Client::get_with`], [`Client::get_many_with`],
/// [`Client::consume_with`], [`Client::consume_set_with`]). Job options
/// (including the ADDJOB replication timeout) never change how long a
/// consumer waits.
///
/// [`ClientBuilder::consume_defaults`]: crate::ClientBuilder::consume_defaults
/// [`Client::get_with`]: crate::Client::get_with
/// [`Client::get_many_with`]: crate::Client::get_many_with
/// [`Client::consume_with`]: crate::Client::consume_with
/// [`Client::consume_set_with`]: crate::Client::consume_set_with
///
/// ```
/// use std::time::Duration;
/// use disque::ConsumeOptions;
///
/// const POLL: ConsumeOptions = ConsumeOptions::new()
///     .timeout(Duration::from_secs(5))
///     .count(10);
/// assert!(POLL.validate().is_ok());
/// assert_eq!(POLL.timeout, Some(Duration::from_secs(5)));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ConsumeOptions {
    /// How long GETJOB blocks waiting for a job; see
    /// [`timeout`](ConsumeOptions::timeout).
    pub timeout: Option<Duration>,
    /// `NOHANG`; see [`nohang`](ConsumeOptions::nohang).
    pub nohang: Option<bool>,
    /// `COUNT n`; see [`count`](ConsumeOptions::count).
    pub count: Option<u32>,
}

impl ConsumeOptions {
    /// No option set: block until a job comes, one job at a time.
    ///
    /// ```
    /// assert_eq!(disque::ConsumeOptions::new(), disque::ConsumeOptions::default());
    /// ```
    pub const fn new() -> Self {
        Self {
            timeout: None,
            nohang: None,
            count: None,
        }
    }

    /// GETJOB `TIMEOUT ms`: how long to block waiting for a job before giving
    /// up with nothing (unset: block until a job comes). Sent in
    /// milliseconds, rounded up, so a tiny non-zero timeout never becomes
    /// `TIMEOUT 0` (which Disque reads as "forever"). A zero timeout means
    /// "do not wait" and is sent as `NOHANG`, unless `nohang(false)` is set
    /// explicitly (then it blocks until a job comes, as with no timeout).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let o = disque::ConsumeOptions::new().timeout(Duration::from_millis(500));
    /// assert_eq!(o.timeout, Some(Duration::from_millis(500)));
    /// ```
    pub const fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// GETJOB `NOHANG`: return at once (no job: nothing) instead of
    /// blocking (Disque's default: block).
    ///
    /// ```
    /// assert_eq!(disque::ConsumeOptions::new().nohang(true).nohang, Some(true));
    /// ```
    pub const fn nohang(mut self, on: bool) -> Self {
        self.nohang = Some(on);
        self
    }

    /// GETJOB `COUNT n`: take up to `n` jobs at once (at least 1; Disque's
    /// default: 1). Used by [`Client::get_many_with`](crate::Client::get_many_with);
    /// the calls returning one job ask for one.
    ///
    /// ```
    /// assert_eq!(disque::ConsumeOptions::new().count(10).count, Some(10));
    /// ```
    pub const fn count(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }

    /// These options laid over `base`: each field set in `self` wins, the
    /// others come from `base`. Used for client defaults ← one call.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use disque::ConsumeOptions;
    ///
    /// let client = ConsumeOptions::new().timeout(Duration::from_secs(5)).count(10);
    /// let call = ConsumeOptions::new().count(2);
    /// let merged = call.merged_over(&client);
    /// assert_eq!(merged.timeout, Some(Duration::from_secs(5)));
    /// assert_eq!(merged.count, Some(2));
    /// ```
    pub const fn merged_over(&self, base: &ConsumeOptions) -> ConsumeOptions {
        /// `Option::or`, usable in a const fn.
        macro_rules! or {
            ($field:ident) => {
                match self.$field {
                    Some(v) => Some(v),
                    None => base.$field,
                }
            };
        }
        ConsumeOptions {
            timeout: or!(timeout),
            nohang: or!(nohang),
            count: or!(count),
        }
    }

    /// Refuses, before anything is sent, what Disque would refuse: COUNT 0
    /// and a timeout above `i32::MAX` ms. The error is
    /// [`Error::InvalidOptions`] and says which option and why.
    ///
    /// ```
    /// use disque::{ConsumeOptions, Error};
    ///
    /// assert!(matches!(ConsumeOptions::new().count(0).validate(), Err(Error::InvalidOptions(_))));
    /// assert!(ConsumeOptions::new().count(1).validate().is_ok());
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        timeout_ms("GETJOB timeout", self.timeout)?;
        if self.count == Some(0) {
            return Err(invalid("COUNT must be at least 1"));
        }
        Ok(())
    }

    /// Whether GETJOB returns at once: NOHANG, or a zero timeout without an
    /// explicit `nohang(false)`.
    pub(crate) fn is_nohang(&self) -> bool {
        match self.nohang {
            Some(on) => on,
            None => self.timeout == Some(Duration::ZERO),
        }
    }

    /// Validates the options, then appends those set (`NOHANG`,
    /// `TIMEOUT ms`, `COUNT n`) and `WITHCOUNTERS` to `cmd`, which should
    /// hold `GETJOB`; the caller appends `FROM q1 … qN`.
    pub(crate) fn append_getjob_args(&self, cmd: &mut redis::Cmd) -> Result<(), Error> {
        self.validate()?;
        if self.is_nohang() {
            cmd.arg("NOHANG");
        }
        match timeout_ms("GETJOB timeout", self.timeout)? {
            Some(ms) if ms > 0 => {
                cmd.arg("TIMEOUT").arg(ms);
            }
            _ => {}
        }
        if let Some(n) = self.count {
            cmd.arg("COUNT").arg(n);
        }
        cmd.arg("WITHCOUNTERS");
        Ok(())
    }

    /// The longest a GETJOB with these options may block on the server:
    /// `Some(Duration::ZERO)` with NOHANG or a zero timeout, `Some(timeout)`
    /// (rounded up to whole milliseconds) with a non-zero timeout, and `None`
    /// — block until a job comes — when no (or a zero) timeout is set. A
    /// connection running the GETJOB needs a response timeout longer than this.
    pub(crate) fn server_wait(&self) -> Option<Duration> {
        if self.is_nohang() {
            return Some(Duration::ZERO);
        }
        match self.timeout.map(ceil_ms) {
            Some(ms) if ms > 0 => {
                Some(Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX)))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::test_args;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn getjob(o: ConsumeOptions) -> Result<Vec<String>, Error> {
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
    fn false_flags_are_not_sent() {
        let o = ConsumeOptions::new().nohang(false);
        assert_eq!(getjob(o).unwrap(), ["GETJOB", "WITHCOUNTERS"]);
    }

    #[test]
    fn getjob_sends_its_options_in_order_and_always_withcounters() {
        let o = ConsumeOptions::new()
            .count(2)
            .timeout(Duration::from_millis(250))
            .nohang(true);
        assert_eq!(
            getjob(o).unwrap(),
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
    }

    #[test]
    fn getjob_timeout_is_in_milliseconds_rounded_up() {
        let o = ConsumeOptions::new().timeout(Duration::from_micros(1001));
        assert_eq!(
            getjob(o).unwrap(),
            ["GETJOB", "TIMEOUT", "2", "WITHCOUNTERS"]
        );
    }

    #[test]
    fn a_zero_timeout_is_sent_as_nohang_never_as_timeout_0() {
        let o = ConsumeOptions::new().timeout(Duration::ZERO);
        assert_eq!(getjob(o).unwrap(), ["GETJOB", "NOHANG", "WITHCOUNTERS"]);
    }

    #[test]
    fn an_explicit_nohang_false_makes_a_zero_timeout_block() {
        // What `consume()` sends over consume defaults with a zero timeout:
        // it must block, not spin on NOHANG.
        let o = ConsumeOptions::new()
            .nohang(false)
            .merged_over(&ConsumeOptions::new().timeout(Duration::ZERO));
        assert!(!o.is_nohang());
        assert_eq!(o.server_wait(), None);
        assert_eq!(getjob(o).unwrap(), ["GETJOB", "WITHCOUNTERS"]);
    }

    #[test]
    fn zero_count_is_refused() {
        let m = reason(ConsumeOptions::new().count(0).validate());
        assert!(m.contains("COUNT"));
        assert!(getjob(ConsumeOptions::new().count(0)).is_err());
    }

    #[test]
    fn oversized_timeouts_are_refused() {
        let long = Duration::from_millis(i32::MAX as u64 + 1);
        assert!(ConsumeOptions::new().timeout(long).validate().is_err());
        assert!(getjob(ConsumeOptions::new().timeout(long)).is_err());
        let max = Duration::from_millis(i32::MAX as u64);
        assert!(ConsumeOptions::new().timeout(max).validate().is_ok());
    }

    #[test]
    fn merged_over_prefers_the_upper_layer_field_by_field() {
        let client = ConsumeOptions::new().count(4).nohang(true);
        let call = ConsumeOptions::new().nohang(false).timeout(S(1));
        assert_eq!(
            call.merged_over(&client),
            ConsumeOptions::new().count(4).nohang(false).timeout(S(1))
        );
        assert_eq!(ConsumeOptions::new().merged_over(&client), client);
    }

    #[test]
    fn server_wait_reports_how_long_the_server_may_block() {
        assert_eq!(ConsumeOptions::new().server_wait(), None);
        assert_eq!(
            ConsumeOptions::new().timeout(Duration::ZERO).server_wait(),
            Some(Duration::ZERO)
        );
        assert_eq!(
            ConsumeOptions::new().timeout(S(5)).server_wait(),
            Some(S(5))
        );
        assert_eq!(
            ConsumeOptions::new()
                .timeout(Duration::from_nanos(1))
                .server_wait(),
            Some(Duration::from_millis(1))
        );
        assert_eq!(
            ConsumeOptions::new()
                .timeout(S(5))
                .nohang(true)
                .server_wait(),
            Some(Duration::ZERO)
        );
    }
}
