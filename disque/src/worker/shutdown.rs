//! Graceful shutdown: give back what was fetched but not started, let
//! in-flight jobs finish up to a deadline, give back what is still running
//! then, flush the acks; and the summary.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::counters::{add, WorkerStats};
use super::handler::Shared;
use crate::{Delivery, JobId};

/// What a [`Worker`](crate::Worker) did, returned when it stops.
///
#[cfg_attr(feature = "derive", doc = "```")]
#[cfg_attr(not(feature = "derive"), doc = "```ignore")]
/// # use std::time::Duration;
/// # use serde::{Deserialize, Serialize};
/// # #[derive(Serialize, Deserialize, disque::Job)]
/// # #[job(queue = "summary-doc")]
/// # struct Tick;
/// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
/// # let node = disque_embedded::Node::start_ephemeral().await?;
/// # let client = disque::Client::connect(node.addr()).await?;
/// client.enqueue(&Tick).await?;
/// let worker = disque::Worker::builder(client)
///     .handle(|_tick: disque::Delivery<Tick>| async { Ok::<(), disque::Error>(()) })
///     .build()?;
/// let counters = worker.counters();
/// // Stop once one job is processed.
/// let done = async move {
///     while counters.snapshot().processed < 1 {
///         tokio::time::sleep(Duration::from_millis(5)).await;
///     }
/// };
/// let summary = worker.run_until(done).await?;
/// assert_eq!(summary.stats.processed, 1);
/// assert_eq!(summary.stats.acked, 1);
/// println!("{summary}");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerSummary {
    /// The counters when the worker stopped (in flight: 0).
    pub stats: WorkerStats,
    /// How long the worker ran.
    pub elapsed: Duration,
    /// Jobs fetched after the stop signal and given back at once (`NACK`), never started.
    pub returned_unstarted: u64,
    /// Jobs still running at the shutdown deadline: their handlers were
    /// stopped and the jobs given back (`NACK`).
    pub abandoned: u64,
    /// Jobs that succeeded but whose ack could not be sent (Disque delivers
    /// them again after their RETRY).
    pub unacked: u64,
}

impl fmt::Display for WorkerSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            self.stats.processed as f64 / secs
        } else {
            0.0
        };
        write!(
            f,
            "{} in {secs:.1} s ({rate:.0} jobs/s); at shutdown: {} returned unstarted, {} abandoned",
            self.stats, self.returned_unstarted, self.abandoned
        )?;
        if self.unacked > 0 {
            write!(f, ", {} successes not acknowledged", self.unacked)?;
        }
        Ok(())
    }
}

/// NACKs `ids` (in chunks); how many were sent successfully.
async fn give_back(ctx: &Shared, ids: &[JobId], what: &str) -> u64 {
    let mut sent = 0;
    for chunk in ids.chunks(1000) {
        match ctx.client.nack(chunk).await {
            Ok(_) => sent += chunk.len() as u64,
            Err(e) => {
                add(&ctx.counts.errors, 1);
                tracing::warn!(error = %e, jobs = chunk.len(),
                    "giving back {what} jobs failed: Disque delivers them again after their RETRY");
            }
        }
    }
    sent
}

/// Gives back `unstarted`, waits for `tasks` until `deadline`, then aborts
/// and gives back what still runs. Returns (returned unstarted, abandoned).
pub(crate) async fn drain(
    ctx: &Arc<Shared>,
    mut tasks: JoinSet<()>,
    unstarted: Vec<Delivery>,
    deadline: Instant,
) -> (u64, u64) {
    let ids: Vec<JobId> = unstarted.iter().map(|d| d.id().clone()).collect();
    let returned = if ids.is_empty() {
        0
    } else {
        tracing::info!(jobs = ids.len(), "giving back jobs fetched but not started");
        give_back(ctx, &ids, "unstarted").await
    };
    let in_flight = tasks.len();
    if in_flight > 0 {
        tracing::info!(tasks = in_flight, "waiting for in-flight jobs");
    }
    let finished = tokio::time::timeout_at(deadline, async {
        while let Some(done) = tasks.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "a job task failed");
            }
        }
    })
    .await;
    if finished.is_err() {
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
    let abandoned: Vec<JobId> = match ctx.abandoned.lock() {
        Ok(mut list) => std::mem::take(&mut *list),
        Err(_) => Vec::new(),
    };
    let abandoned = if abandoned.is_empty() {
        0
    } else {
        tracing::warn!(
            jobs = abandoned.len(),
            "shutdown deadline passed: stopping the handlers still running and giving their jobs back"
        );
        give_back(ctx, &abandoned, "abandoned").await;
        abandoned.len() as u64
    };
    (returned, abandoned)
}
