//! What SLOWLOG and LATENCY report: the commands slower than
//! `slowlog-log-slower-than` and, per event, the latency spikes over
//! `latency-monitor-threshold`, kept like Disque keeps them.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;

/// Arguments kept per slow-log entry; the last one says how many more.
const SLOWLOG_MAX_ARGS: usize = 32;
/// Bytes kept per argument; the rest is summarised.
const SLOWLOG_MAX_STRING: usize = 128;
/// Samples kept per latency event.
const LATENCY_HISTORY: usize = 160;

/// One slow-log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowEntry {
    /// Unique, increasing.
    pub id: u64,
    /// Unix seconds when it ran.
    pub time: u64,
    /// How long it ran, microseconds.
    pub micros: u64,
    /// The command and its arguments, shortened like Disque does.
    pub args: Vec<Bytes>,
}

/// One latency sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Unix seconds.
    pub time: u64,
    /// Milliseconds.
    pub millis: u64,
}

/// The samples of one event.
#[derive(Debug, Default, Clone)]
pub struct Series {
    /// Oldest first, at most [`LATENCY_HISTORY`].
    pub samples: VecDeque<Sample>,
    /// The highest latency seen, ms.
    pub max: u64,
}

/// The slow log and the latency monitor with their settings.
#[derive(Debug)]
pub struct Monitor {
    /// `slowlog-log-slower-than`, µs; negative: off.
    pub slower_than_us: AtomicI64,
    /// `slowlog-max-len`.
    pub slowlog_max_len: AtomicU64,
    /// `latency-monitor-threshold`, ms; 0: off.
    pub latency_threshold_ms: AtomicU64,
    slowlog: Mutex<(u64, VecDeque<SlowEntry>)>,
    latency: Mutex<BTreeMap<&'static str, Series>>,
}

impl Default for Monitor {
    fn default() -> Self {
        Monitor {
            slower_than_us: AtomicI64::new(10_000),
            slowlog_max_len: AtomicU64::new(128),
            latency_threshold_ms: AtomicU64::new(0),
            slowlog: Mutex::new((0, VecDeque::new())),
            latency: Mutex::new(BTreeMap::new()),
        }
    }
}

fn shorten(args: &[Bytes]) -> Vec<Bytes> {
    let kept = args.len().min(SLOWLOG_MAX_ARGS);
    let mut out = Vec::with_capacity(kept);
    for (j, arg) in args.iter().take(kept).enumerate() {
        if kept != args.len() && j == kept - 1 {
            out.push(Bytes::from(format!(
                "... ({} more arguments)",
                args.len() - kept + 1
            )));
        } else if arg.len() > SLOWLOG_MAX_STRING {
            let mut s = arg[..SLOWLOG_MAX_STRING].to_vec();
            s.extend_from_slice(
                format!("... ({} more bytes)", arg.len() - SLOWLOG_MAX_STRING).as_bytes(),
            );
            out.push(Bytes::from(s));
        } else {
            // Copied: the argument may be a slice of a large read buffer.
            out.push(Bytes::copy_from_slice(arg));
        }
    }
    out
}

impl Monitor {
    /// Whether a command that ran for `took` is worth a look (the fast
    /// path: two relaxed loads).
    pub fn wants(&self, took: Duration) -> bool {
        let slow = self.slower_than_us.load(Ordering::Relaxed);
        let lat = self.latency_threshold_ms.load(Ordering::Relaxed);
        (slow >= 0 && took.as_micros() >= slow as u128)
            || (lat > 0 && took.as_millis() >= u128::from(lat))
    }

    /// Records a command that ran for `took` at unix second `now_s`, in the
    /// slow log and as a `command` (or `fast-command`) latency event, each
    /// if over its threshold.
    pub fn command(&self, args: &[Bytes], fast: bool, took: Duration, now_s: u64) {
        let slow = self.slower_than_us.load(Ordering::Relaxed);
        if slow >= 0 && took.as_micros() >= slow as u128 {
            let max = self.slowlog_max_len.load(Ordering::Relaxed) as usize;
            let mut log = self.slowlog();
            let id = log.0;
            log.0 += 1;
            log.1.push_front(SlowEntry {
                id,
                time: now_s,
                micros: took.as_micros().min(u128::from(u64::MAX)) as u64,
                args: shorten(args),
            });
            log.1.truncate(max);
        }
        let event = if fast { "fast-command" } else { "command" };
        self.sample(event, took, now_s);
    }

    /// Adds a latency sample to `event` if over the threshold; samples in
    /// the same second keep the highest.
    pub fn sample(&self, event: &'static str, took: Duration, now_s: u64) {
        let threshold = self.latency_threshold_ms.load(Ordering::Relaxed);
        let millis = took.as_millis().min(u128::from(u64::MAX)) as u64;
        if threshold == 0 || millis < threshold {
            return;
        }
        let mut events = self.latency();
        let series = events.entry(event).or_default();
        series.max = series.max.max(millis);
        match series.samples.back_mut() {
            Some(last) if last.time == now_s => last.millis = last.millis.max(millis),
            _ => {
                if series.samples.len() == LATENCY_HISTORY {
                    series.samples.pop_front();
                }
                series.samples.push_back(Sample {
                    time: now_s,
                    millis,
                });
            }
        }
    }

    fn slowlog(&self) -> MutexGuard<'_, (u64, VecDeque<SlowEntry>)> {
        self.slowlog.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The latency events by name.
    pub fn latency(&self) -> MutexGuard<'_, BTreeMap<&'static str, Series>> {
        self.latency.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The newest `count` slow-log entries (all if `None`), newest first.
    pub fn slow_entries(&self, count: Option<usize>) -> Vec<SlowEntry> {
        let log = self.slowlog();
        log.1
            .iter()
            .take(count.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }

    /// Entries in the slow log.
    pub fn slow_len(&self) -> usize {
        self.slowlog().1.len()
    }

    /// Empties the slow log.
    pub fn slow_reset(&self) {
        self.slowlog().1.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slow_log_keeps_the_newest_entries_shortened() {
        let m = Monitor::default();
        m.slower_than_us.store(0, Ordering::Relaxed);
        m.slowlog_max_len.store(2, Ordering::Relaxed);
        let long = Bytes::from(vec![b'a'; 130]);
        let many: Vec<Bytes> = (0..40).map(|i| Bytes::from(i.to_string())).collect();
        m.command(&[Bytes::from_static(b"ping")], true, Duration::ZERO, 1);
        m.command(
            &[Bytes::from_static(b"addjob"), long],
            false,
            Duration::ZERO,
            2,
        );
        m.command(&many, false, Duration::from_micros(7), 3);
        let got = m.slow_entries(None);
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].id, got[0].time, got[0].micros), (2, 3, 7));
        assert_eq!(got[0].args.len(), 32);
        assert_eq!(got[0].args[31], "... (9 more arguments)");
        assert_eq!(got[1].args[1].len(), 128 + "... (2 more bytes)".len());
        assert!(got[1].args[1].ends_with(b"... (2 more bytes)"));
        m.slow_reset();
        assert_eq!(m.slow_len(), 0);
    }

    #[test]
    fn latency_samples_over_the_threshold_one_per_second() {
        let m = Monitor::default();
        m.command(&[], false, Duration::from_secs(1), 1);
        assert!(m.latency().is_empty(), "off by default");
        m.latency_threshold_ms.store(5, Ordering::Relaxed);
        m.sample("command", Duration::from_millis(4), 1);
        m.sample("command", Duration::from_millis(6), 1);
        m.sample("command", Duration::from_millis(9), 1);
        m.sample("command", Duration::from_millis(7), 2);
        let events = m.latency();
        let s = &events["command"];
        assert_eq!(
            s.samples.iter().copied().collect::<Vec<_>>(),
            [Sample { time: 1, millis: 9 }, Sample { time: 2, millis: 7 }]
        );
        assert_eq!(s.max, 9);
    }
}
