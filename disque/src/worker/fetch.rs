//! The fetch loop: takes jobs with `GETJOB COUNT` up to the free slots and
//! starts a task per job.
//!
//! While jobs keep coming, fetches are `NOHANG` (several may be on the wire
//! at once when many slots are free); once a fetch comes back short, the
//! queues are taken to be empty and one blocking `GETJOB` (bounded by the
//! poll timeout) waits for the next job. Fetches are never cancelled — a
//! cancelled GETJOB could have been served jobs nobody sees — so shutdown
//! waits for them and gives back (`NACK`) what they bring.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::acks::{command as ack_command, name as ack_name, AckMode};
use super::counters::add;
use super::handler::{Handler, Shared};
use super::on_the_wire::OnTheWire;
use super::Config;
use crate::cluster::{pack_arg, pack_header, push_decimal, Reply};
use crate::reply::read_getjob;
use crate::{Client, ConsumeOptions, Delivery, Error, JobId};

/// Pauses after failed fetches: doubled per consecutive failure.
const FIRST_PAUSE: Duration = Duration::from_millis(50);
const MAX_PAUSE: Duration = Duration::from_secs(2);

/// A GETJOB blocking up to `poll` for up to `count` jobs (it asks with
/// NOHANG on the shared connection first, then blocks on a dedicated one).
async fn fetch_blocking(
    client: &Client,
    queues: &[&'static str],
    count: u32,
    poll: Duration,
) -> Result<Vec<Delivery>, Error> {
    let options = ConsumeOptions::new()
        .timeout(poll)
        .nohang(false)
        .count(count);
    client.get_many_with(queues, options).await
}

/// `[ACKJOB|FASTACK ids…] GETJOB NOHANG COUNT n WITHCOUNTERS FROM queues…` in
/// one write on the shared connection: the acks of finished jobs travel
/// with the fetch of the next ones. Ids whose ack failed go back to the queue.
async fn fetch_nohang(
    ctx: &Shared,
    queues: &[&'static str],
    count: u32,
    getjob: Arc<[u8]>,
    acks: Vec<JobId>,
) -> Result<Vec<Delivery>, Error> {
    let packed = pack_fetch(ctx.ack_mode, &acks, &getjob);
    let commands = 1 + usize::from(!acks.is_empty());
    let as_pipeline = || fetch_pipeline(ctx.ack_mode, &acks, queues, count);
    // The ACKJOB's count is not read (only whether it is an error); the
    // GETJOB's reply is read into jobs.
    let read = |at: usize, reply: Reply<'_>| {
        if at + 1 < commands {
            Ok(None)
        } else {
            read_getjob(reply).map(Some)
        }
    };
    let sent = ctx
        .client
        .conns()
        .run_packed(&packed, commands, Duration::ZERO, as_pipeline, read)
        .await;
    let mut replies = match sent {
        Ok(replies) => replies.into_iter(),
        Err(e) => {
            if !acks.is_empty() {
                ctx.acks.put_back(acks);
            }
            return Err(e);
        }
    };
    if !acks.is_empty() {
        match replies.next() {
            Some(Ok(_)) => add(&ctx.counts.acked, acks.len() as u64),
            other => {
                add(&ctx.counts.errors, 1);
                tracing::warn!(reply = ?other, jobs = acks.len(), "acknowledging with a fetch failed; the batcher tries again");
                ctx.acks.put_back(acks);
            }
        }
    }
    let jobs = replies
        .next()
        .ok_or_else(|| Error::Protocol("GETJOB: no reply in the pipeline".into()))??
        .ok_or_else(|| Error::Protocol("GETJOB: no reply read".into()))?;
    Ok(jobs
        .into_iter()
        .map(|j| {
            Delivery::new(
                ctx.client.clone(),
                j.id,
                j.queue,
                j.body,
                j.nacks.unwrap_or(0),
                j.additional_deliveries.unwrap_or(0),
            )
        })
        .collect())
}

/// The same commands as [`pack_fetch`], for the multiplexed connection.
fn fetch_pipeline(
    mode: AckMode,
    acks: &[JobId],
    queues: &[&'static str],
    count: u32,
) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    if !acks.is_empty() {
        pipe.add_command(ack_command(mode, acks));
    }
    let mut get = redis::cmd("GETJOB");
    get.arg("NOHANG")
        .arg("COUNT")
        .arg(count)
        .arg("WITHCOUNTERS")
        .arg("FROM");
    for q in queues {
        get.arg(*q);
    }
    pipe.add_command(get);
    pipe
}

/// `GETJOB NOHANG COUNT n WITHCOUNTERS FROM queues…` packed, kept for the
/// next fetches while `n` stays the same.
struct PackedGetjob {
    count: u32,
    bytes: Arc<[u8]>,
}

impl PackedGetjob {
    fn new(queues: &[&'static str], count: u32) -> Self {
        let mut out = Vec::with_capacity(96 + queues.iter().map(|q| q.len() + 16).sum::<usize>());
        let mut digits = Vec::with_capacity(10);
        push_decimal(&mut digits, u64::from(count));
        pack_header(&mut out, 6 + queues.len());
        for arg in [
            &b"GETJOB"[..],
            b"NOHANG",
            b"COUNT",
            &digits,
            b"WITHCOUNTERS",
            b"FROM",
        ] {
            pack_arg(&mut out, arg);
        }
        for q in queues {
            pack_arg(&mut out, q.as_bytes());
        }
        PackedGetjob {
            count,
            bytes: out.into(),
        }
    }

    /// The packed GETJOB for `count` (packed again only if it changed).
    fn for_count(&mut self, queues: &[&'static str], count: u32) -> Arc<[u8]> {
        if self.count != count {
            *self = PackedGetjob::new(queues, count);
        }
        self.bytes.clone()
    }
}

/// `[ACKJOB|FASTACK ids…]` then the packed `getjob`, in one buffer.
fn pack_fetch(mode: AckMode, acks: &[JobId], getjob: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + acks.len() * 48 + getjob.len());
    if !acks.is_empty() {
        pack_header(&mut out, 1 + acks.len());
        pack_arg(&mut out, ack_name(mode).as_bytes());
        for id in acks {
            pack_arg(&mut out, id.as_str().as_bytes());
        }
    }
    out.extend_from_slice(getjob);
    out
}

/// How the fetch loop ended.
pub(crate) struct FetchEnd {
    /// Jobs fetched after the stop signal: never started, to give back.
    pub(crate) unstarted: Vec<Delivery>,
    /// The error that stopped the worker, if it was not the signal.
    pub(crate) fatal: Option<Error>,
}

/// What one fetch brings back.
struct Fetched {
    result: Result<Vec<Delivery>, Error>,
    permits: OwnedSemaphorePermit,
    blocking: bool,
    asked: u32,
}

/// Whether a fetch error should stop the worker rather than be retried.
fn is_fatal(e: &Error) -> bool {
    matches!(e, Error::Auth(_) | Error::InvalidOptions(_))
}

/// Runs until `shutdown` completes (or a fatal error), starting jobs into `tasks`.
pub(crate) async fn run(
    config: &Config,
    handlers: &[Box<dyn Handler>],
    queues: &Arc<[&'static str]>,
    ctx: &Arc<Shared>,
    slots: &Arc<Semaphore>,
    tasks: &mut JoinSet<()>,
    shutdown: impl Future<Output = ()>,
) -> FetchEnd {
    let mut shutdown = pin!(shutdown);
    let mut fetches = OnTheWire::new();
    let mut blocking_out = false;
    let mut idle = false;
    let mut stopping = false;
    let mut fatal = None;
    let mut failures = 0u32;
    let mut paused_until: Option<Instant> = None;
    let mut unstarted = Vec::new();
    let fetch_count = config.fetch_count.max(1) as usize;
    let mut getjob = PackedGetjob::new(&queues[..], config.fetch_count.max(1));
    // However the loop ends (or is dropped), ids left are the batcher's.
    let _waits_at_the_end = LoopWaitsOnDrop(&ctx.acks);
    loop {
        ctx.acks.loop_wakes();
        while let Some(done) = tasks.try_join_next() {
            if let Err(e) = done {
                tracing::error!(error = %e, "a job task failed");
            }
        }
        // Start fetches for the free slots.
        while !stopping
            && paused_until.is_none()
            && fetches.len() < config.max_fetches.max(1)
            && !(idle && blocking_out)
        {
            let free = slots.available_permits().min(fetch_count);
            if free == 0 {
                break;
            }
            let Ok(permits) = slots.clone().try_acquire_many_owned(free as u32) else {
                break;
            };
            let blocking = idle;
            blocking_out |= blocking;
            let ctx = ctx.clone();
            let queues = queues.clone();
            let poll = config.poll_timeout;
            let asked = free as u32;
            let (acks, getjob) = if blocking {
                (Vec::new(), None)
            } else {
                (ctx.acks.take(), Some(getjob.for_count(&queues[..], asked)))
            };
            fetches.push(async move {
                let result = match getjob {
                    // Boxed: only an idle worker blocks, and its future is
                    // large (a whole client call); unboxed, every fetch's
                    // future would be that large and moved into its slot.
                    None => Box::pin(fetch_blocking(&ctx.client, &queues, asked, poll)).await,
                    Some(getjob) => fetch_nohang(&ctx, &queues, asked, getjob, acks).await,
                };
                Fetched {
                    result,
                    permits,
                    blocking,
                    asked,
                }
            });
            if idle {
                break;
            }
        }
        if stopping && fetches.is_empty() {
            break;
        }
        let wait_slot = !stopping
            && paused_until.is_none()
            && fetches.len() < config.max_fetches.max(1)
            && !(idle && blocking_out)
            && slots.available_permits() == 0;
        ctx.acks.loop_waits();
        tokio::select! {
            biased;
            () = &mut shutdown, if !stopping => {
                stopping = true;
            }
            Some(f) = fetches.next(), if !fetches.is_empty() => {
                // Awake again before jobs finish in `dispatch`.
                ctx.acks.loop_wakes();
                if f.blocking {
                    blocking_out = false;
                }
                match f.result {
                    Ok(jobs) => {
                        failures = 0;
                        let got = jobs.len();
                        idle = got < f.asked as usize;
                        add(&ctx.counts.fetched, got as u64);
                        if stopping {
                            unstarted.extend(jobs);
                        } else {
                            dispatch(jobs, f.permits, handlers, ctx, tasks);
                        }
                    }
                    Err(e) => {
                        add(&ctx.counts.errors, 1);
                        if is_fatal(&e) {
                            tracing::error!(error = %e, "fetching jobs failed: the worker stops");
                            fatal = Some(e);
                            stopping = true;
                        } else {
                            failures = failures.saturating_add(1);
                            let pause = FIRST_PAUSE
                                .saturating_mul(1 << failures.min(8).saturating_sub(1))
                                .min(MAX_PAUSE);
                            tracing::warn!(error = %e, retry_in_ms = pause.as_millis() as u64,
                                "fetching jobs failed; trying again");
                            paused_until = Some(Instant::now() + pause);
                        }
                    }
                }
            }
            permit = slots.clone().acquire_owned(), if wait_slot => {
                // A slot was freed: loop to fetch for it (and any others).
                drop(permit);
            }
            () = sleep_until_opt(paused_until), if paused_until.is_some() => {
                paused_until = None;
            }
        }
    }
    FetchEnd { unstarted, fatal }
}

/// Calls [`AckQueue::loop_waits`](super::acks::AckQueue::loop_waits) when dropped.
struct LoopWaitsOnDrop<'a>(&'a super::acks::AckQueue);

impl Drop for LoopWaitsOnDrop<'_> {
    fn drop(&mut self) {
        self.0.loop_waits();
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

/// Starts each fetched job with one of `permits` (the rest are released).
fn dispatch(
    jobs: Vec<Delivery>,
    mut permits: OwnedSemaphorePermit,
    handlers: &[Box<dyn Handler>],
    ctx: &Arc<Shared>,
    tasks: &mut JoinSet<()>,
) {
    let fetched_at = Instant::now();
    for job in jobs {
        let Some(permit) = permits.split(1) else {
            // More jobs than asked for: cannot happen with a sane server.
            tracing::error!(job_id = %job.id(), "more jobs than asked for; giving it back");
            give_back(ctx, job);
            continue;
        };
        match handlers.iter().find(|h| h.queue() == job.queue()) {
            Some(h) => h.start(job, fetched_at, ctx, permit, tasks),
            None => {
                tracing::error!(job_id = %job.id(), queue = job.queue(), "a job from a queue without handler; giving it back");
                give_back(ctx, job);
            }
        }
    }
}

/// NACKs one job in the background.
fn give_back(ctx: &Arc<Shared>, job: Delivery) {
    let client = ctx.client.clone();
    tokio::spawn(async move {
        let _ = client.nack([job.id()]).await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packed_fetch_is_the_pipeline_packed() {
        let ids = [
            JobId::parse("D-deadbeef-AAAAAAAAAAAAAAAAAAAAAAAA-0001").unwrap(),
            JobId::parse("D-deadbeef-BBBBBBBBBBBBBBBBBBBBBBBB-0001").unwrap(),
        ];
        for mode in [AckMode::Ack, AckMode::FastAck] {
            for acks in [&ids[..0], &ids[..1], &ids[..]] {
                for (queues, count) in [(&["q"][..], 1), (&["high", "low"][..], 100)] {
                    let mut getjob = PackedGetjob::new(queues, 7);
                    assert_eq!(
                        pack_fetch(mode, acks, &getjob.for_count(queues, count)),
                        fetch_pipeline(mode, acks, queues, count).get_packed_pipeline(),
                        "{mode:?} {acks:?} {queues:?} {count}"
                    );
                }
            }
        }
    }
}
