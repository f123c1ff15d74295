//! What a failed job gets: retried after an exponential backoff with jitter,
//! up to a number of attempts, then dead-lettered.

use std::time::Duration;

/// How a [`Worker`](crate::Worker) retries a job whose handler failed (returned
/// `Err` or panicked), using Disque's own mechanics: the job is given back with
/// `NACK` after a delay, or, when the delay would reach the job's RETRY anyway,
/// simply left for Disque to deliver again after its RETRY. A failing job is
/// never re-queued at once, so it cannot hot-loop.
///
/// The delay before attempt `n + 1` is `initial_delay × multiplier^(n-1)`,
/// capped at `max_delay`, then shortened by a random fraction of up to
/// `jitter` (so many jobs failing together do not come back together).
///
/// A job's *attempt* is `1 + nacks + additional deliveries` (read with
/// `GETJOB WITHCOUNTERS`). A job that fails on attempt `max_attempts`, or is
/// delivered for an attempt past it (e.g. after crashes), goes to the
/// dead-letter queue `<queue>.dead` with the reason, and is acknowledged.
///
/// Fields are public to read; set them with the `const` setters of the same names.
///
/// ```
/// use std::time::Duration;
/// use disque::RetryPolicy;
///
/// const POLICY: RetryPolicy = RetryPolicy::new()
///     .initial_delay(Duration::from_millis(200))
///     .max_delay(Duration::from_secs(60))
///     .max_attempts(5);
/// assert_eq!(POLICY.max_attempts, 5);
/// // Without jitter the delays double: 200 ms, 400 ms, 800 ms…
/// let exact = POLICY.jitter(0.0);
/// assert_eq!(exact.delay(1), Duration::from_millis(200));
/// assert_eq!(exact.delay(3), Duration::from_millis(800));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// The delay after the first failure (default 1 s).
    pub initial_delay: Duration,
    /// The longest delay (default 5 min).
    pub max_delay: Duration,
    /// How much each delay grows over the previous one (default 2.0; at least 1.0).
    pub multiplier: f64,
    /// The largest fraction taken off a delay at random, 0.0..=1.0 (default 0.5:
    /// a delay `d` becomes a random value in `[d/2, d]`).
    pub jitter: f64,
    /// The attempt on whose failure the job is dead-lettered (default 10; at least 1).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::new()
    }
}

impl RetryPolicy {
    /// The defaults: 1 s doubling up to 5 min, jitter 0.5, 10 attempts.
    ///
    /// ```
    /// let p = disque::RetryPolicy::new();
    /// assert_eq!(p.max_attempts, 10);
    /// ```
    pub const fn new() -> Self {
        RetryPolicy {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
            multiplier: 2.0,
            jitter: 0.5,
            max_attempts: 10,
        }
    }

    /// Sets [`initial_delay`](RetryPolicy::initial_delay).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let p = disque::RetryPolicy::new().initial_delay(Duration::from_millis(100));
    /// assert_eq!(p.initial_delay, Duration::from_millis(100));
    /// ```
    pub const fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// Sets [`max_delay`](RetryPolicy::max_delay).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let p = disque::RetryPolicy::new().max_delay(Duration::from_secs(10));
    /// assert_eq!(p.max_delay, Duration::from_secs(10));
    /// ```
    pub const fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Sets [`multiplier`](RetryPolicy::multiplier) (values below 1.0 count as 1.0).
    ///
    /// ```
    /// let p = disque::RetryPolicy::new().multiplier(3.0);
    /// assert_eq!(p.multiplier, 3.0);
    /// ```
    pub const fn multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = multiplier;
        self
    }

    /// Sets [`jitter`](RetryPolicy::jitter) (clamped to 0.0..=1.0 when used).
    ///
    /// ```
    /// let p = disque::RetryPolicy::new().jitter(0.0);
    /// assert_eq!(p.jitter, 0.0);
    /// ```
    pub const fn jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
    }

    /// Sets [`max_attempts`](RetryPolicy::max_attempts) (0 counts as 1: dead-letter on the first failure).
    ///
    /// ```
    /// let p = disque::RetryPolicy::new().max_attempts(3);
    /// assert_eq!(p.max_attempts, 3);
    /// ```
    pub const fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }

    /// The longest delay after the failure of `attempt` (1-based): no jitter taken off.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let p = disque::RetryPolicy::new().max_delay(Duration::from_secs(3));
    /// assert_eq!(p.delay(1), Duration::from_secs(1));
    /// assert_eq!(p.delay(2), Duration::from_secs(2));
    /// assert_eq!(p.delay(9), Duration::from_secs(3)); // capped
    /// ```
    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, 0.0)
    }

    /// The delay after the failure of `attempt` with `draw` (0.0..1.0) of the
    /// jitter taken off: `draw` 0.0 gives [`delay`](RetryPolicy::delay).
    pub(crate) fn delay_with(&self, attempt: u32, draw: f64) -> Duration {
        let multiplier = if self.multiplier.is_finite() {
            self.multiplier.max(1.0)
        } else {
            1.0
        };
        let exponent = attempt.saturating_sub(1).min(1_000) as i32;
        let max = self.max_delay.as_secs_f64();
        let full = (self.initial_delay.as_secs_f64() * multiplier.powi(exponent)).min(max);
        let jitter = if self.jitter.is_finite() {
            self.jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let secs = full * (1.0 - jitter * draw.clamp(0.0, 1.0));
        Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(self.max_delay)
    }

    /// A delay with a random jitter.
    pub(crate) fn jittered_delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, rand::random::<f64>())
    }

    /// The last attempt allowed (at least 1).
    pub(crate) fn last_attempt(&self) -> u32 {
        self.max_attempts.max(1)
    }
}

/// What to do with a job whose handler failed on `attempt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Past the last attempt: to the dead-letter queue.
    DeadLetter,
    /// RETRY 0 (at most once): Disque never delivers it again; leave it.
    AtMostOnce,
    /// The delay reaches the job's next requeue anyway: let Disque redeliver it.
    LeaveForRetry,
    /// `NACK` after this delay.
    NackAfter(Duration),
}

/// The decision after a failure: `until_requeue` is how long before Disque
/// would queue the job again by itself (its RETRY minus the time since it was
/// delivered or last postponed with WORKING); `retry` is the job type's RETRY.
pub(crate) fn next_step(
    policy: &RetryPolicy,
    attempt: u32,
    retry: Duration,
    until_requeue: Duration,
    delay: Duration,
) -> Next {
    if attempt >= policy.last_attempt() {
        Next::DeadLetter
    } else if retry.is_zero() {
        Next::AtMostOnce
    } else if delay >= until_requeue {
        Next::LeaveForRetry
    } else {
        Next::NackAfter(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn delays_grow_exponentially_up_to_the_cap() {
        let p = RetryPolicy::new()
            .initial_delay(MS(100))
            .max_delay(MS(1_000))
            .jitter(0.0);
        let delays: Vec<_> = (1..=6).map(|a| p.delay(a)).collect();
        assert_eq!(
            delays,
            [MS(100), MS(200), MS(400), MS(800), MS(1_000), MS(1_000)]
        );
        // Huge attempts neither overflow nor panic.
        assert_eq!(p.delay(u32::MAX), MS(1_000));
        assert_eq!(p.delay(0), MS(100));
    }

    #[test]
    fn jitter_takes_off_at_most_its_fraction() {
        let p = RetryPolicy::new().initial_delay(MS(1_000)).jitter(0.5);
        assert_eq!(p.delay_with(1, 0.0), MS(1_000));
        assert_eq!(p.delay_with(1, 1.0), MS(500));
        assert_eq!(p.delay_with(1, 0.5), MS(750));
        for _ in 0..1_000 {
            let d = p.jittered_delay(2);
            assert!(d >= MS(1_000) && d <= MS(2_000), "{d:?}");
        }
    }

    #[test]
    fn odd_settings_are_tamed() {
        let p = RetryPolicy::new()
            .initial_delay(MS(10))
            .multiplier(0.1)
            .jitter(7.0);
        assert_eq!(p.delay_with(5, 0.0), MS(10)); // multiplier at least 1
        assert_eq!(p.delay_with(5, 1.0), Duration::ZERO); // jitter at most 1
        let nan = RetryPolicy::new().multiplier(f64::NAN).jitter(f64::NAN);
        assert_eq!(nan.delay_with(4, 1.0), Duration::from_secs(1));
        let zero = RetryPolicy::new().max_attempts(0);
        assert_eq!(zero.last_attempt(), 1);
    }

    #[test]
    fn the_next_step_after_a_failure() {
        let p = RetryPolicy::new().max_attempts(3);
        let s = Duration::from_secs;
        assert_eq!(next_step(&p, 3, s(10), s(9), s(1)), Next::DeadLetter);
        assert_eq!(next_step(&p, 9, s(10), s(9), s(1)), Next::DeadLetter);
        assert_eq!(next_step(&p, 1, s(0), s(0), s(1)), Next::AtMostOnce);
        assert_eq!(next_step(&p, 1, s(10), s(9), s(1)), Next::NackAfter(s(1)));
        assert_eq!(next_step(&p, 2, s(10), s(2), s(2)), Next::LeaveForRetry);
        assert_eq!(next_step(&p, 2, s(10), s(2), s(5)), Next::LeaveForRetry);
    }
}
