//! Counters a running worker updates and the application reads.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// The live counters of a [`Worker`](crate::Worker): a cheap handle to clone
/// and read while the worker runs ([`Worker::counters`](crate::Worker::counters)).
///
#[cfg_attr(feature = "derive", doc = "```")]
#[cfg_attr(not(feature = "derive"), doc = "```ignore")]
/// # use serde::{Deserialize, Serialize};
/// # #[derive(Serialize, Deserialize, disque::Job)]
/// # #[job(queue = "counted")]
/// # struct Counted;
/// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
/// # let node = disque_embedded::Node::start_ephemeral().await?;
/// # let client = disque::Client::connect(node.addr()).await?;
/// let worker = disque::Worker::builder(client)
///     .handle(|_job: disque::Delivery<Counted>| async { Ok::<(), disque::Error>(()) })
///     .build()?;
/// let counters = worker.counters();
/// assert_eq!(counters.snapshot().processed, 0);
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct WorkerCounters {
    pub(crate) inner: Arc<Counts>,
}

impl fmt::Debug for WorkerCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.snapshot().fmt(f)
    }
}

impl WorkerCounters {
    /// The counters now.
    ///
    /// ```
    /// let stats = disque::WorkerCounters::default().snapshot();
    /// assert_eq!(stats, disque::WorkerStats::default());
    /// ```
    pub fn snapshot(&self) -> WorkerStats {
        let c = &self.inner;
        WorkerStats {
            fetched: c.fetched.load(Relaxed),
            processed: c.processed.load(Relaxed),
            failed: c.failed.load(Relaxed),
            panicked: c.panicked.load(Relaxed),
            retried: c.retried.load(Relaxed),
            dead_lettered: c.dead_lettered.load(Relaxed),
            in_flight: c.in_flight.load(Relaxed),
            heartbeats: c.heartbeats.load(Relaxed),
            heartbeats_refused: c.heartbeats_refused.load(Relaxed),
            acked: c.acked.load(Relaxed),
            errors: c.errors.load(Relaxed),
        }
    }
}

/// The atomics behind [`WorkerCounters`].
#[derive(Default)]
pub(crate) struct Counts {
    pub(crate) fetched: AtomicU64,
    pub(crate) processed: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) panicked: AtomicU64,
    pub(crate) retried: AtomicU64,
    pub(crate) dead_lettered: AtomicU64,
    pub(crate) in_flight: AtomicU64,
    pub(crate) heartbeats: AtomicU64,
    pub(crate) heartbeats_refused: AtomicU64,
    pub(crate) acked: AtomicU64,
    pub(crate) errors: AtomicU64,
}

/// Adds `n` to a counter.
pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Relaxed);
}

/// Subtracts 1 from a counter.
pub(crate) fn sub1(counter: &AtomicU64) {
    counter.fetch_sub(1, Relaxed);
}

/// The counters of a worker at one moment ([`WorkerCounters::snapshot`]).
/// `Display` gives a one-line progress report.
///
/// ```
/// let stats = disque::WorkerStats::default();
/// assert_eq!(
///     stats.to_string(),
///     "processed 0, failed 0 (0 panics), retried 0, dead-lettered 0, in flight 0, heartbeats 0"
/// );
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct WorkerStats {
    /// Jobs taken from Disque (GETJOB).
    pub fetched: u64,
    /// Jobs whose handler returned `Ok` (acknowledged, or queued for the next ack batch).
    pub processed: u64,
    /// Handler failures: `Err` returned or panic.
    pub failed: u64,
    /// Of `failed`, the panics.
    pub panicked: u64,
    /// Failed jobs given back for another attempt (NACK after a backoff, or left for their RETRY).
    pub retried: u64,
    /// Jobs moved to their dead-letter queue (undecodable, or out of attempts).
    pub dead_lettered: u64,
    /// Jobs whose handler is running now.
    pub in_flight: u64,
    /// `WORKING` heartbeats sent (and accepted).
    pub heartbeats: u64,
    /// `WORKING` refused by Disque because half the job's TTL had passed
    /// (heartbeats stop for that job; it may be delivered again).
    pub heartbeats_refused: u64,
    /// Job ids acknowledged to Disque (ACKJOB/FASTACK batches sent successfully).
    pub acked: u64,
    /// Commands that failed (fetch, ack, nack, heartbeat, dead-letter), each logged.
    pub errors: u64,
}

impl fmt::Display for WorkerStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "processed {}, failed {} ({} panics), retried {}, dead-lettered {}, in flight {}, heartbeats {}",
            self.processed,
            self.failed,
            self.panicked,
            self.retried,
            self.dead_lettered,
            self.in_flight,
            self.heartbeats
        )?;
        if self.heartbeats_refused > 0 {
            write!(f, " ({} refused)", self.heartbeats_refused)?;
        }
        if self.errors > 0 {
            write!(f, ", errors {}", self.errors)?;
        }
        Ok(())
    }
}
