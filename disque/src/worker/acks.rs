//! The ack batcher: ids of jobs whose handler succeeded, acknowledged many
//! per command.
//!
//! The fetch loop takes the ids queued when it sends a `GETJOB NOHANG` and
//! sends them in the same write, so while jobs keep coming the batcher has
//! little to do. It is woken when the first id arrives in an empty queue,
//! waits [`FLUSH_DELAY`] for more (and for the fetch loop to take them), then
//! sends what is left: an id waits at most that delay plus one round trip
//! (well under the few milliseconds allowed). On a multi-thread runtime the
//! batcher runs beside the fetch loop; without the delay it would take every
//! id the moment it is pushed, one `ACKJOB` per job.
//!
//! While the fetch loop is awake (between its waits) an id pushed does not
//! wake the batcher: the loop either takes it with its next fetch or, before
//! it waits again, wakes the batcher itself ([`AckQueue::loop_waits`]). A job
//! handled one at a time then costs no batcher wake-up at all.

use std::time::Duration;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::counters::{add, Counts};
use crate::{Client, JobId};

/// How finished jobs are acknowledged.
///
/// ```
/// assert_eq!(disque::AckMode::default(), disque::AckMode::Ack);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AckMode {
    /// `ACKJOB`: the cluster-wide acknowledgement (the default; safe in a cluster).
    #[default]
    Ack,
    /// `FASTACK`: best-effort, without waiting for the other nodes to agree
    /// (faster; in a cluster a job can rarely be delivered again).
    FastAck,
}

/// Attempts per batch before its ids are given up (the jobs are then
/// delivered again after their RETRY: at least once, never lost).
const ATTEMPTS: u32 = 5;
const FIRST_PAUSE: Duration = Duration::from_millis(50);
/// How long the batcher lets ids gather before it sends them.
pub(crate) const FLUSH_DELAY: Duration = Duration::from_millis(1);

/// Ids of finished jobs waiting to be acknowledged: by the batcher task, or
/// by the fetch loop, which sends them in the same write as its next
/// `GETJOB` (one round trip for both).
#[derive(Default)]
pub(crate) struct AckQueue {
    pending: Mutex<Vec<JobId>>,
    ready: Notify,
    closed: AtomicBool,
    /// The fetch loop is running (not waiting): it will see the ids.
    loop_awake: AtomicBool,
}

impl AckQueue {
    /// Queues one id; wakes the batcher if the queue was empty (else it is
    /// awake already, or the fetch loop is about to take the ids).
    pub(crate) fn push(&self, id: JobId) {
        let was_empty = {
            let mut pending = lock(&self.pending);
            pending.push(id);
            pending.len() == 1
        };
        // SeqCst pairs with `loop_waits`: either this load sees the loop
        // waiting, or the loop's check sees this id.
        if was_empty && !self.loop_awake.load(Ordering::SeqCst) {
            self.ready.notify_one();
        }
    }

    /// The fetch loop is running again: ids pushed now are its to take.
    pub(crate) fn loop_wakes(&self) {
        self.loop_awake.store(true, Ordering::SeqCst);
    }

    /// The fetch loop is about to wait: ids it left are the batcher's.
    pub(crate) fn loop_waits(&self) {
        self.loop_awake.store(false, Ordering::SeqCst);
        if !lock(&self.pending).is_empty() {
            self.ready.notify_one();
        }
    }

    /// Queues ids again (a send failed) and wakes the batcher.
    pub(crate) fn put_back(&self, ids: Vec<JobId>) {
        lock(&self.pending).extend(ids);
        self.ready.notify_one();
    }

    /// Takes every id queued.
    pub(crate) fn take(&self) -> Vec<JobId> {
        std::mem::take(&mut *lock(&self.pending))
    }

    /// No more ids will come: the batcher flushes what is left and ends.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.ready.notify_one();
    }
}

fn lock(m: &Mutex<Vec<JobId>>) -> std::sync::MutexGuard<'_, Vec<JobId>> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The name of the command acknowledging jobs in `mode`.
pub(crate) fn name(mode: AckMode) -> &'static str {
    match mode {
        AckMode::Ack => "ACKJOB",
        AckMode::FastAck => "FASTACK",
    }
}

/// The command acknowledging `ids`.
pub(crate) fn command(mode: AckMode, ids: &[JobId]) -> redis::Cmd {
    let mut cmd = redis::cmd(name(mode));
    for id in ids {
        cmd.arg(id.as_str());
    }
    cmd
}

/// Runs until the queue is closed and flushed. Returns how many ids could
/// not be acknowledged.
pub(crate) async fn run(
    client: Client,
    mode: AckMode,
    queue: Arc<AckQueue>,
    max_batch: usize,
    counts: Arc<Counts>,
) -> u64 {
    let max_batch = max_batch.max(1);
    let mut given_up = 0;
    loop {
        let closed = queue.closed.load(Ordering::Acquire);
        if lock(&queue.pending).is_empty() {
            if closed {
                return given_up;
            }
            queue.ready.notified().await;
            continue;
        }
        if !closed {
            tokio::time::sleep(FLUSH_DELAY).await;
        }
        let ids = queue.take();
        for batch in ids.chunks(max_batch) {
            if !send(&client, mode, batch, &counts).await {
                given_up += batch.len() as u64;
            }
        }
    }
}
/// Sends one batch, retrying a few times on errors; whether it went through.
async fn send(client: &Client, mode: AckMode, batch: &[JobId], counts: &Counts) -> bool {
    let mut pause = FIRST_PAUSE;
    for attempt in 1..=ATTEMPTS {
        let sent = match mode {
            AckMode::Ack => client.ack(batch).await,
            AckMode::FastAck => client.fast_ack(batch).await,
        };
        match sent {
            Ok(_) => {
                add(&counts.acked, batch.len() as u64);
                return true;
            }
            Err(e) => {
                add(&counts.errors, 1);
                tracing::warn!(
                    error = %e,
                    jobs = batch.len(),
                    attempt,
                    "acknowledging finished jobs failed"
                );
                if !(e.is_retryable() || e.is_connection()) {
                    break;
                }
                if attempt < ATTEMPTS {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
            }
        }
    }
    tracing::error!(
        jobs = batch.len(),
        first = %batch.first().map(JobId::as_str).unwrap_or(""),
        "giving up acknowledging finished jobs: Disque delivers them again after their RETRY"
    );
    false
}
