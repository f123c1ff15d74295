//! A response deadline kept across round trips.
//!
//! `tokio::time::timeout` around every round trip registers a timer in the
//! runtime's wheel and removes it again: on a worker taking one job at a
//! time that was about a tenth of the client's instructions per job. A
//! [`Deadline`] keeps one timer and moves it only when the one it has is
//! too early or too late for the limit asked: a round trip is then given
//! between `limit` and `limit + limit / 8` before it counts as timed out.

use std::pin::Pin;
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// How far a deadline may lie beyond the limit asked: `limit / SLACK`.
const SLACK: u32 = 8;

/// Used when `now + limit` does not fit in an `Instant` (as tokio does).
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// One timer, re-armed only when needed.
pub(crate) struct Deadline {
    sleep: Pin<Box<Sleep>>,
}

impl Deadline {
    /// A deadline not armed yet (it lies in the past).
    pub(crate) fn new() -> Self {
        Deadline {
            sleep: Box::pin(tokio::time::sleep_until(Instant::now())),
        }
    }

    /// The timer, set to fire no sooner than `limit` from now and no later
    /// than `limit + limit / 8`.
    pub(crate) fn arm(&mut self, limit: Duration) -> Pin<&mut Sleep> {
        let now = Instant::now();
        let after = |d: Duration| now.checked_add(d).unwrap_or_else(|| now + FAR_FUTURE);
        let (earliest, latest) = (after(limit), after(limit.saturating_add(limit / SLACK)));
        let at = self.sleep.deadline();
        if !(earliest..=latest).contains(&at) {
            self.sleep.as_mut().reset(latest);
        }
        self.sleep.as_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn fires_between_the_limit_and_an_eighth_more() {
        let mut deadline = Deadline::new();
        let start = Instant::now();
        deadline.arm(Duration::from_secs(8)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(9));
    }

    #[tokio::test(start_paused = true)]
    async fn is_moved_only_when_it_would_fire_too_soon_or_too_late() {
        let mut deadline = Deadline::new();
        let start = Instant::now();
        let first = deadline.arm(Duration::from_secs(8)).deadline();
        assert_eq!(first, start + Duration::from_secs(9));
        // Half a second on, 8 s from now is still before it: kept.
        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(deadline.arm(Duration::from_secs(8)).deadline(), first);
        // A second on, it fires exactly 8 s from now: still kept.
        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(deadline.arm(Duration::from_secs(8)).deadline(), first);
        // Past a second on, it would fire before 8 s: moved.
        tokio::time::advance(Duration::from_millis(100)).await;
        let now = Instant::now();
        assert_eq!(
            deadline.arm(Duration::from_secs(8)).deadline(),
            now + Duration::from_secs(9)
        );
        // A shorter limit: the deadline is too late for it, and moved.
        assert_eq!(
            deadline.arm(Duration::from_secs(1)).deadline(),
            now + Duration::from_millis(1125)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_limit_past_any_instant_is_the_far_future() {
        let mut deadline = Deadline::new();
        let now = Instant::now();
        assert_eq!(deadline.arm(Duration::MAX).deadline(), now + FAR_FUTURE);
    }
}
