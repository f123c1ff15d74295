//! The handler registry: one typed handler per job type, erased behind
//! [`Handler`] so one worker serves several types; and the task that runs one
//! job through its handler and applies the outcome.

use std::any::type_name;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::{watch, OwnedSemaphorePermit};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument;

use super::acks::{AckMode, AckQueue};
use super::counters::{add, sub1, Counts};
use super::retry::{next_step, Next, RetryPolicy};
use super::{dead, heartbeat};
use crate::{Client, Delivery, Job, JobId};

/// What a handler's error becomes: anything that converts into a boxed error
/// (`std::io::Error`, `disque::Error`, `String`, `&str`, `anyhow::Error`…).
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What every job task shares.
pub(crate) struct Shared {
    pub(crate) client: Client,
    pub(crate) counts: Arc<Counts>,
    pub(crate) acks: Arc<AckQueue>,
    pub(crate) ack_mode: AckMode,
    pub(crate) policy: RetryPolicy,
    /// Becomes `true` at shutdown: backoff waits end with an immediate NACK.
    pub(crate) stop: watch::Receiver<bool>,
    /// Ids of jobs whose task was aborted (shutdown deadline passed) before it finished.
    pub(crate) abandoned: Mutex<Vec<JobId>>,
}

impl Drop for Shared {
    /// The last job task and the worker are gone (finished, or the worker was
    /// dropped): the batcher flushes the acks queued and ends.
    fn drop(&mut self) {
        self.acks.close();
    }
}

/// A handler with its job type erased.
pub(crate) trait Handler: Send + Sync + 'static {
    /// `J::QUEUE`.
    fn queue(&self) -> &'static str;
    /// `J::PRIORITY`.
    fn priority(&self) -> i64;
    /// Reads the job type's RETRY (over the client's defaults) and sets the
    /// heartbeat interval from it.
    fn configure(&mut self, client: &Client, heartbeat_fraction: Option<f64>);
    /// Decodes `raw` and spawns the task that runs the handler on it (or
    /// dead-letters it), holding `permit` while the handler runs.
    fn start(
        &self,
        raw: Delivery,
        fetched_at: Instant,
        ctx: &Arc<Shared>,
        permit: OwnedSemaphorePermit,
        tasks: &mut JoinSet<()>,
    );
}

/// The handler of job type `J`.
pub(crate) struct Typed<J, F> {
    f: F,
    retry: Duration,
    heartbeat: Option<Duration>,
    _job: PhantomData<fn() -> J>,
}

impl<J, F> Typed<J, F> {
    pub(crate) fn new(f: F) -> Self {
        Typed {
            f,
            retry: Duration::ZERO,
            heartbeat: None,
            _job: PhantomData,
        }
    }
}

/// Disque's RETRY for a job without one: TTL/10, at most 300 s, at least 1 s.
fn disque_default_retry(ttl: Option<Duration>) -> Duration {
    let ttl = ttl.unwrap_or(Duration::from_secs(24 * 60 * 60));
    (ttl / 10).clamp(Duration::from_secs(1), Duration::from_secs(300))
}

/// The RETRY of `J`'s jobs: the job type's options over the client's defaults.
fn type_retry<J: Job>(client: &Client) -> Duration {
    let opts = J::options().merged_over(client.job_defaults());
    opts.retry.unwrap_or_else(|| disque_default_retry(opts.ttl))
}

/// Facts about one delivery the job task needs after the handler returns.
struct JobMeta {
    queue: &'static str,
    attempt: u32,
    retry: Duration,
    heartbeat: Option<Duration>,
    fetched_at: Instant,
    /// The raw delivery kept for dead-lettering, on the last attempt only.
    last: Option<Delivery>,
}

impl<J, F, Fut, E> Handler for Typed<J, F>
where
    J: Job,
    F: Fn(Delivery<J>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<BoxError> + Send + 'static,
{
    fn queue(&self) -> &'static str {
        J::QUEUE
    }

    fn priority(&self) -> i64 {
        J::PRIORITY
    }

    fn configure(&mut self, client: &Client, heartbeat_fraction: Option<f64>) {
        self.retry = type_retry::<J>(client);
        self.heartbeat = heartbeat::interval(self.retry, heartbeat_fraction);
    }

    fn start(
        &self,
        raw: Delivery,
        fetched_at: Instant,
        ctx: &Arc<Shared>,
        permit: OwnedSemaphorePermit,
        tasks: &mut JoinSet<()>,
    ) {
        let attempt = attempt_of(&raw);
        let last_attempt = ctx.policy.last_attempt();
        if attempt > last_attempt {
            let reason = format!(
                "delivered {attempt} times ({} nacks, {} additional deliveries): \
                 more than the {last_attempt} attempts allowed",
                raw.nacks(),
                raw.additional_deliveries()
            );
            tasks.spawn(dead::dead_letter_job(
                ctx.clone(),
                raw,
                reason,
                Some(permit),
            ));
            return;
        }
        // The last attempt keeps a copy to dead-letter from if it fails.
        let last = (attempt >= last_attempt).then(|| raw.duplicate());
        let delivery = match raw.decode::<J>() {
            Ok(d) => d,
            Err(e) => {
                let reason = format!("undecodable as `{}`: {e}", type_name::<J>());
                match e {
                    crate::Error::Decode(failure) => {
                        let undecodable = failure.into_delivery(&ctx.client);
                        tasks.spawn(dead::dead_letter_job(
                            ctx.clone(),
                            undecodable,
                            reason,
                            Some(permit),
                        ));
                    }
                    other => {
                        add(&ctx.counts.errors, 1);
                        tracing::error!(error = %other, "decoding failed without the job: Disque delivers it again after its RETRY");
                    }
                }
                return;
            }
        };
        let id = delivery.id().clone();
        let span = tracing::info_span!(
            "job",
            job_type = type_name::<J>(),
            queue = J::QUEUE,
            job_id = %id,
            attempt,
        );
        let meta = JobMeta {
            queue: J::QUEUE,
            attempt,
            retry: self.retry,
            heartbeat: self.heartbeat,
            fetched_at,
            last,
        };
        add(&ctx.counts.in_flight, 1);
        let guard = InFlight {
            ctx: ctx.clone(),
            id: Some(id),
        };
        // Calling the handler may itself panic (before returning a future).
        let fut = std::panic::catch_unwind(AssertUnwindSafe(|| (self.f)(delivery)));
        // Polled once here first: a handler that finishes without waiting
        // (and the ack hand-off after it) costs no task. One that waits is
        // spawned and polled again there, with the task's waker.
        let mut job = Box::pin(run_job(guard, fut, meta, permit).instrument(span));
        if job.as_mut().now_or_never().is_none() {
            tasks.spawn(job);
        }
    }
}

/// `1 + nacks + additional deliveries`.
fn attempt_of<T>(d: &Delivery<T>) -> u32 {
    let n = 1u64
        .saturating_add(d.nacks())
        .saturating_add(d.additional_deliveries());
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Counts a job in flight; if dropped before [`finish`](InFlight::finish)
/// (its task aborted), records the id as abandoned.
struct InFlight {
    ctx: Arc<Shared>,
    id: Option<JobId>,
}

impl InFlight {
    fn finish(&mut self) -> Option<JobId> {
        let id = self.id.take();
        if id.is_some() {
            sub1(&self.ctx.counts.in_flight);
        }
        id
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            sub1(&self.ctx.counts.in_flight);
            if let Ok(mut list) = self.ctx.abandoned.lock() {
                list.push(id);
            }
        }
    }
}

/// The text of a panic payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

type Panic = Box<dyn std::any::Any + Send>;

/// Runs one job's handler (with heartbeats) and applies the outcome: ack on
/// `Ok`; retry policy on `Err` or panic.
async fn run_job<Fut, E>(
    mut guard: InFlight,
    fut: Result<Fut, Panic>,
    mut meta: JobMeta,
    permit: OwnedSemaphorePermit,
) where
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<BoxError> + Send + 'static,
{
    // The rare paths below (heartbeats, dead letters, NACK after a
    // backoff) are boxed: inlined, they made this future about 5.8 KiB, a
    // large allocation for every job.
    let touched = AtomicU64::new(0);
    let outcome = match fut {
        Err(panic) => Err(panic),
        Ok(fut) => {
            let mut fut = std::pin::pin!(AssertUnwindSafe(fut).catch_unwind());
            let first =
                std::future::poll_fn(|cx| std::task::Poll::Ready(fut.as_mut().poll(cx))).await;
            match (first, meta.heartbeat, guard.id.as_ref()) {
                // A handler that finished at once needs no heartbeat timer.
                (std::task::Poll::Ready(out), _, _) => out,
                (_, Some(every), Some(id)) => {
                    let ctx = &guard.ctx;
                    let beat = Box::pin(heartbeat::beat(
                        &ctx.client,
                        id,
                        every,
                        &ctx.counts,
                        meta.fetched_at,
                        &touched,
                    ));
                    tokio::select! {
                        biased;
                        out = fut.as_mut() => out,
                        never = beat => match never {},
                    }
                }
                _ => fut.await,
            }
        }
    };
    let finished = guard.finish();
    drop(permit);
    let ctx = guard.ctx.clone();
    drop(guard);
    let Some(id) = finished else { return };
    let error = match outcome {
        Ok(Ok(())) => {
            add(&ctx.counts.processed, 1);
            ctx.acks.push(id);
            return;
        }
        Ok(Err(e)) => {
            let e: BoxError = e.into();
            add(&ctx.counts.failed, 1);
            tracing::warn!(error = %e, "handler failed");
            e.to_string()
        }
        Err(panic) => {
            add(&ctx.counts.failed, 1);
            add(&ctx.counts.panicked, 1);
            let msg = panic_message(&*panic);
            tracing::error!(panic = %msg, "handler panicked");
            format!("panicked: {msg}")
        }
    };
    let since_touch = meta
        .fetched_at
        .elapsed()
        .saturating_sub(Duration::from_millis(touched.load(Relaxed)));
    let until_requeue = meta.retry.saturating_sub(since_touch);
    let delay = ctx.policy.jittered_delay(meta.attempt);
    match next_step(&ctx.policy, meta.attempt, meta.retry, until_requeue, delay) {
        Next::DeadLetter => {
            let reason = format!(
                "failed on attempt {} of {}: {error}",
                meta.attempt,
                ctx.policy.last_attempt()
            );
            match meta.last.take() {
                Some(raw) => Box::pin(dead::dead_letter_job(ctx, raw, reason, None)).await,
                None => tracing::error!("no copy of the job to dead-letter"),
            }
        }
        Next::AtMostOnce => {
            tracing::warn!(
                queue = meta.queue,
                "RETRY 0 (at most once): the failed job is not retried"
            );
        }
        Next::LeaveForRetry => {
            add(&ctx.counts.retried, 1);
            tracing::debug!(
                in_ms = until_requeue.as_millis() as u64,
                "left for Disque to deliver again after its RETRY"
            );
        }
        Next::NackAfter(delay) => {
            add(&ctx.counts.retried, 1);
            tracing::debug!(delay_ms = delay.as_millis() as u64, "NACK after backoff");
            Box::pin(nack_after(ctx, id, delay)).await;
        }
    }
}

/// Waits `delay` (cut short by shutdown), then gives the job back with `NACK`.
async fn nack_after(ctx: Arc<Shared>, id: JobId, delay: Duration) {
    let mut stop = ctx.stop.clone();
    tokio::select! {
        _ = tokio::time::sleep(delay) => {}
        _ = stop.wait_for(|s| *s) => {}
    }
    if let Err(e) = ctx.client.nack([&id]).await {
        add(&ctx.counts.errors, 1);
        tracing::warn!(error = %e, "NACK failed: Disque delivers the job again after its RETRY");
    }
}
