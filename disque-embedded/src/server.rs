//! The accept loop, the client cap, the timer task and shutdown: a node
//! stops when `shutdown` flips to true, and `run` returns only once the
//! accept loop, the timer task and every connection have finished.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Semaphore};

use crate::connection;
use crate::frame::Limits;
use crate::shared::{Shared, Stats};
use crate::trim;

/// How often the timer task runs (Disque processes jobs every 100 ms).
const TICK: Duration = Duration::from_millis(100);
/// Timers processed per lock of the state.
const TIMERS_PER_LOCK: usize = 10_000;
/// First wait after a failed accept; doubled at each failure in a row.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(1);
/// Longest wait after failed accepts.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// Queue eviction runs every this many ticks.
const GC_EVERY_TICKS: u32 = 10;

/// Serves `listener` until shutdown; `trim_memory`: give freed memory back
/// to the OS once the load falls (`crate::trim`).
pub async fn run(
    listener: TcpListener,
    shared: Arc<Shared>,
    limits: Limits,
    max_clients: usize,
    trim_memory: bool,
) {
    let limits = Arc::new(limits);
    let permits = Arc::new(Semaphore::new(max_clients.max(1)));
    // Every task holds a clone of `done_tx`; `done_rx` yields None once all
    // of them have finished.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let mut shutdown = shared.shutdown.subscribe();

    let timer_shared = shared.clone();
    let timer_done = done_tx.clone();
    let mut timer_shutdown = shared.shutdown.subscribe();
    tokio::spawn(async move {
        let _done = timer_done;
        let mut interval = tokio::time::interval(TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ticks: u32 = 0;
        let mut trim = trim::Policy::default();
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                _ = crate::shared::stopped(&mut timer_shutdown) => break,
            }
            let now = timer_shared.clock.now_ms();
            // Many jobs due at once are processed in chunks, letting the
            // clients in between.
            let started = std::time::Instant::now();
            while timer_shared.db().run_timers(now, TIMERS_PER_LOCK) {
                tokio::task::yield_now().await;
            }
            timer_shared
                .monitor
                .sample("jobs-processing", started.elapsed(), now / 1000);
            ticks = ticks.wrapping_add(1);
            if ticks.is_multiple_of(GC_EVERY_TICKS) {
                timer_shared.db().evict_idle_queues(now);
            }
            if trim_memory && trim::SUPPORTED {
                maybe_trim(&timer_shared, &mut trim, now);
            }
        }
    });

    let mut backoff = Backoff::default();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = crate::shared::stopped(&mut shutdown) => break,
        };
        let (mut socket, peer) = match accepted {
            Ok(accepted) => {
                backoff.reset();
                accepted
            }
            Err(error) => {
                // Transient accept errors (e.g. too many open files): log,
                // then wait longer each time in a row (mini-redis style),
                // still answering shutdown.
                let wait = backoff.failed();
                tracing::warn!(%error, backoff_ms = wait.as_millis() as u64, "accept failed; backing off");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = crate::shared::stopped(&mut shutdown) => break,
                }
                continue;
            }
        };
        Stats::add(&shared.stats.connections_received, 1);
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            Stats::add(&shared.stats.rejected_connections, 1);
            tracing::warn!(%peer, max_clients, "connection refused: max number of clients reached");
            tokio::spawn(async move {
                let _ = socket
                    .write_all(b"-ERR max number of clients reached\r\n")
                    .await;
            });
            continue;
        };
        let shared = shared.clone();
        let limits = limits.clone();
        let rx = shared.shutdown.subscribe();
        let done = done_tx.clone();
        tokio::spawn(async move {
            let _done = done;
            let _permit = permit;
            shared
                .stats
                .connected_clients
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::debug!(%peer, "connection open");
            connection::serve(socket, shared.clone(), limits, rx).await;
            tracing::debug!(%peer, "connection closed");
            shared
                .stats
                .connected_clients
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        });
    }
    drop(listener);
    tracing::info!("shutting down");
    // Blocked clients are not answered: like a stopping Disque, the node
    // closes their connections (each task unblocks its own GETJOB). A null
    // reply here would read as "GETJOB timed out" and race with the close.
    drop(done_tx);
    let _ = done_rx.recv().await;
}

/// Gives freed memory back to the OS if `policy` says the load fell.
fn maybe_trim(shared: &Shared, policy: &mut trim::Policy, now_ms: u64) {
    let (used, peak) = {
        let mut db = shared.db();
        let (used, peak) = db.memory_since_trim();
        if !policy.due(used, peak, now_ms) {
            return;
        }
        db.memory_trimmed();
        (used, peak)
    };
    policy.trimmed(now_ms);
    // Outside the state's lock, so that with several worker threads the
    // other clients go on (an allocation in the arena being trimmed waits
    // for it). With one worker thread (the binary's default) the trim is a
    // pause of its length: 13-16 ms after 250 MB of 1 KiB jobs were freed.
    let debug = tracing::enabled!(tracing::Level::DEBUG);
    let rss_before = if debug { trim::rss_bytes() } else { 0 };
    let started = std::time::Instant::now();
    trim::release();
    let elapsed = started.elapsed();
    Stats::add(&shared.stats.memory_trims, 1);
    if debug {
        tracing::debug!(
            used,
            peak,
            rss_before,
            rss_after = trim::rss_bytes(),
            elapsed_us = elapsed.as_micros() as u64,
            "gave freed memory back to the OS (malloc_trim)"
        );
    }
}

/// The wait after failed accepts: [`ACCEPT_BACKOFF_MIN`] after the first,
/// doubled at each failure in a row up to [`ACCEPT_BACKOFF_MAX`], back to
/// the start after a success.
#[derive(Debug)]
struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            next: ACCEPT_BACKOFF_MIN,
        }
    }
}

impl Backoff {
    /// Another failure: how long to wait before the next accept.
    fn failed(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(ACCEPT_BACKOFF_MAX);
        wait
    }

    /// An accept succeeded.
    fn reset(&mut self) {
        self.next = ACCEPT_BACKOFF_MIN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_backoff_doubles_up_to_its_cap_and_resets_on_success() {
        let mut b = Backoff::default();
        let waits: Vec<u128> = (0..12).map(|_| b.failed().as_millis()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 1000]);
        b.reset();
        assert_eq!(b.failed(), ACCEPT_BACKOFF_MIN);
    }
}
