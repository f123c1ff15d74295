//! Moving a poison job to its dead-letter queue, `<queue>.dead`.

use std::sync::Arc;

use tokio::sync::OwnedSemaphorePermit;

use super::counters::add;
use super::handler::Shared;
use crate::{Delivery, Error, JobId};

/// `Delivery::dead_letter`: the job moves to `<queue>.dead` in a
/// `DeadLetter` envelope that keeps `reason`, then the original is
/// acknowledged. The only place the worker dead-letters through.
async fn dead_letter(delivery: Delivery, reason: &str) -> Result<JobId, Error> {
    delivery.dead_letter(reason).await
}

/// Dead-letters `delivery` with `reason`, counting and logging the outcome.
/// On failure the job stays as it is (Disque delivers it again after its
/// RETRY, and the worker tries again then).
pub(crate) async fn dead_letter_job(
    ctx: Arc<Shared>,
    delivery: Delivery,
    reason: String,
    permit: Option<OwnedSemaphorePermit>,
) {
    let id = delivery.id().clone();
    let queue = delivery.queue().to_owned();
    match dead_letter(delivery, &reason).await {
        Ok(dead) => {
            add(&ctx.counts.dead_lettered, 1);
            tracing::warn!(job_id = %id, queue, dead_letter_id = %dead, reason, "job dead-lettered");
        }
        Err(e) => {
            add(&ctx.counts.errors, 1);
            tracing::error!(job_id = %id, queue, reason, error = %e,
                "dead-lettering failed: the job is left for Disque to deliver again");
        }
    }
    drop(permit);
}
