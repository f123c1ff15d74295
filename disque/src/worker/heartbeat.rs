//! `WORKING` heartbeats for handlers that run longer than a fraction of their
//! job's RETRY, so a slow job is not delivered to a second consumer.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use tokio::time::Instant;

use super::counters::{add, Counts};
use crate::{Client, Error, JobId};

/// After a failed `WORKING` (other than a refusal), the next try comes this soon at most.
const RETRY_AFTER_ERROR: Duration = Duration::from_millis(200);

/// Sends `WORKING id` every `every` until the future is dropped (when the
/// handler returns). Stops (pends forever) when Disque refuses it: after
/// half the job's TTL (`-TOOLATE`, counted and logged), or when the job is
/// gone (`-NOJOB`: the handler acknowledged it itself). `touched` receives
/// the milliseconds since `start` of the last accepted heartbeat.
pub(crate) async fn beat(
    client: &Client,
    id: &JobId,
    every: Duration,
    counts: &Counts,
    start: Instant,
    touched: &AtomicU64,
) -> Infallible {
    let mut next = start + every;
    loop {
        tokio::time::sleep_until(next).await;
        match client.working(id).await {
            Ok(postponed) => {
                add(&counts.heartbeats, 1);
                touched.store(start.elapsed().as_millis() as u64, Relaxed);
                tracing::trace!(postponed_s = postponed.as_secs(), "WORKING sent");
                next = Instant::now() + every;
            }
            Err(Error::TooLate(text)) => {
                add(&counts.heartbeats_refused, 1);
                tracing::warn!(
                    reason = %text,
                    "WORKING refused (half the job's TTL has passed): heartbeats stop and \
                     Disque may deliver the job again after its RETRY"
                );
                return std::future::pending().await;
            }
            Err(Error::NoJob(_)) => {
                tracing::debug!("WORKING: the job is gone (acknowledged already); heartbeats stop");
                return std::future::pending().await;
            }
            Err(e) => {
                add(&counts.errors, 1);
                tracing::warn!(error = %e, "WORKING failed; trying again");
                next = Instant::now() + every.min(RETRY_AFTER_ERROR);
            }
        }
    }
}

/// How often to send `WORKING` for a job type: `fraction` of its RETRY, but
/// never more often than every 10 ms. `None` for RETRY 0 (at most once: never
/// delivered again, nothing to postpone) or when heartbeats are off.
pub(crate) fn interval(retry: Duration, fraction: Option<f64>) -> Option<Duration> {
    let fraction = fraction?;
    if retry.is_zero() || !fraction.is_finite() || fraction <= 0.0 {
        return None;
    }
    let every = retry.mul_f64(fraction.min(1.0));
    Some(every.max(Duration::from_millis(10)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_is_a_fraction_of_retry() {
        let s = Duration::from_secs;
        assert_eq!(interval(s(30), Some(1.0 / 3.0)), Some(s(10)));
        assert_eq!(interval(s(30), Some(5.0)), Some(s(30)));
        assert_eq!(interval(s(0), Some(0.5)), None);
        assert_eq!(interval(s(30), None), None);
        assert_eq!(interval(s(30), Some(0.0)), None);
        assert_eq!(interval(s(30), Some(f64::NAN)), None);
        assert_eq!(
            interval(s(1), Some(0.000_001)),
            Some(Duration::from_millis(10))
        );
    }
}
