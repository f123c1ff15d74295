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

/// How often the timer task runs (Disque processes jobs every 100 ms).
const TICK: Duration = Duration::from_millis(100);
/// Timers processed per lock of the state.
const TIMERS_PER_LOCK: usize = 10_000;
/// Queue eviction runs every this many ticks.
const GC_EVERY_TICKS: u32 = 10;

/// Serves `listener` until shutdown.
pub async fn run(listener: TcpListener, shared: Arc<Shared>, limits: Limits, max_clients: usize) {
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
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                _ = crate::shared::stopped(&mut timer_shutdown) => break,
            }
            let now = timer_shared.clock.now_ms();
            // Many jobs due at once are processed in chunks, letting the
            // clients in between.
            while timer_shared.db().run_timers(now, TIMERS_PER_LOCK) {
                tokio::task::yield_now().await;
            }
            ticks = ticks.wrapping_add(1);
            if ticks.is_multiple_of(GC_EVERY_TICKS) {
                timer_shared.db().evict_idle_queues(now);
            }
        }
    });

    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = crate::shared::stopped(&mut shutdown) => break,
        };
        let Ok((mut socket, _)) = accepted else {
            // Transient accept errors (e.g. too many open files): back off.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        Stats::add(&shared.stats.connections_received, 1);
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            Stats::add(&shared.stats.rejected_connections, 1);
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
            connection::serve(socket, shared.clone(), limits, rx).await;
            shared
                .stats
                .connected_clients
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        });
    }
    drop(listener);
    // Blocked clients are not answered: like a stopping Disque, the node
    // closes their connections (each task unblocks its own GETJOB). A null
    // reply here would read as "GETJOB timed out" and race with the close.
    drop(done_tx);
    let _ = done_rx.recv().await;
}
