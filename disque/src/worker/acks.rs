//! The ack batcher: ids of jobs whose handler succeeded, acknowledged many
//! per command.
//!
//! It sends as soon as it has ids and no ack of its own is on the wire, so an
//! id waits at most one round trip (well under the few milliseconds allowed),
//! and under load the ids that arrive during one round trip go together in the
//! next command.

use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;

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

/// Runs until every sender is dropped and the ids received are flushed.
/// Returns how many ids could not be acknowledged.
pub(crate) async fn run(
    client: Client,
    mode: AckMode,
    mut ids: UnboundedReceiver<JobId>,
    max_batch: usize,
    counts: std::sync::Arc<Counts>,
) -> u64 {
    let max_batch = max_batch.max(1);
    let mut batch: Vec<JobId> = Vec::with_capacity(max_batch.min(1024));
    let mut given_up = 0;
    loop {
        if ids.recv_many(&mut batch, max_batch).await == 0 {
            return given_up;
        }
        if !send(&client, mode, &batch, &counts).await {
            given_up += batch.len() as u64;
        }
        batch.clear();
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
