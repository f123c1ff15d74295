//! The time as the commands of one batch see it. Reading a clock costs as
//! much as a small command does, so the node's clock is read once per batch
//! (the commands run under one lock of the state see the same millisecond,
//! like Redis' cached time), and again only once a millisecond or more has
//! passed; the monotonic clock is read once after each command, which ends
//! that command's time and starts the next one's (SLOWLOG, LATENCY).

use std::time::Duration;

use crate::shared::Clock;

/// How long the node's time read for a batch is used.
const REFRESH: Duration = Duration::from_millis(1);

/// The clock readings of a batch of commands.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// The node's time, unix ms.
    pub now_ms: u64,
    /// tokio's clock when `now_ms` was read (clients' idle time).
    pub at: tokio::time::Instant,
    /// When `now_ms` is read again, on the monotonic clock.
    refresh: std::time::Instant,
    /// When the running command started: the previous lap.
    started: std::time::Instant,
}

impl Timing {
    /// Reads the clocks: a batch starts.
    pub fn start(clock: &Clock) -> Timing {
        let at = tokio::time::Instant::now();
        let read = std::time::Instant::now();
        Timing {
            now_ms: clock.ms_at(at),
            at,
            refresh: read + REFRESH,
            started: read,
        }
    }

    /// Ends the running command: how long it took since the previous lap
    /// (or the start); the next command starts now. Reads the node's clock
    /// again once a millisecond or more passed since it was last read.
    pub fn lap(&mut self, clock: &Clock) -> Duration {
        let now = std::time::Instant::now();
        let took = now.saturating_duration_since(self.started);
        self.started = now;
        if now >= self.refresh {
            *self = Timing {
                started: now,
                ..Timing::start(clock)
            };
        }
        took
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn laps_measure_each_command_and_the_node_time_follows() {
        let clock = Clock::new();
        let mut t = Timing::start(&clock);
        assert!(t.now_ms.abs_diff(clock.now_ms()) <= 1);
        std::thread::sleep(Duration::from_millis(20));
        let slow = t.lap(&clock);
        assert!(slow >= Duration::from_millis(20), "{slow:?}");
        assert!(t.now_ms.abs_diff(clock.now_ms()) <= 1, "read again");
        let fast = t.lap(&clock);
        assert!(fast < Duration::from_millis(20), "{fast:?}");
    }
}
