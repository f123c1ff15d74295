//! The node's state behind a small API: jobs, queues, timers and blocked
//! clients. Every method is synchronous and takes the current time in
//! milliseconds, so the whole state lives behind one short-held mutex and is
//! unit-testable without a clock.

pub mod id;
pub mod job;
mod persist;
pub mod queue;
pub mod table;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::sync::oneshot;

use id::{format_job_id, parse_job_id, JobKey};
use job::{Job, JobState, FLAG_DELIVERED, FLAG_QUEUED_ONCE};
use queue::{Queue, Queues, PAUSED_IN, PAUSED_OUT};
use table::JobTable;

/// Queues idle, empty and unblocked for this long are evicted (seconds).
pub const QUEUE_MAX_IDLE_SECS: u64 = 300;

/// Disque's default `maxmemory`: 1 GiB.
pub const DEFAULT_MAXMEMORY: u64 = 1024 * 1024 * 1024;

/// Estimated bytes of one job besides its body: the boxed record, its slot
/// in the job table, its entries in its queue and on the timer list, and
/// the allocator's overhead.
pub const JOB_OVERHEAD: usize = std::mem::size_of::<Job>() + 128;

/// Estimated bytes held by a job.
fn job_cost(job: &Job) -> usize {
    JOB_OVERHEAD + job.body.len()
}

/// Jobs looked at, at most, by one eviction pass (one command's worth of
/// work, like Disque's 1-2 ms eviction cycle).
const EVICTION_MAX_SAMPLES: usize = 10_000;

/// A validated ADDJOB request.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    /// Queue name.
    pub queue: &'a [u8],
    /// Body: a slice of the request, kept as is when large (no copy),
    /// copied when small (so it does not keep the read buffer alive).
    pub body: &'a Bytes,
    /// REPLICATE (1..=65535).
    pub replicate: u16,
    /// TTL, seconds (> 0).
    pub ttl: i64,
    /// RETRY, seconds (>= 0).
    pub retry: i64,
    /// DELAY, seconds (>= 0, < ttl).
    pub delay: i64,
    /// MAXLEN (0 = none).
    pub maxlen: i64,
}

/// Why ADDJOB refused a valid request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddError {
    /// More copies asked than this single node can hold.
    NoRepl,
    /// The queue is already at MAXLEN.
    MaxLen,
    /// The queue is paused in input.
    Paused,
    /// Memory is at its first warning level (75 % of `maxmemory`): this
    /// node cannot hold a copy, and there is no other node to hold one.
    OutOfMemory,
}

/// WORKING refused: half of the TTL already elapsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLate;

/// Bodies this long or longer are kept as the request's own bytes rather
/// than copied: copying a large body would double the memory it needs while
/// it arrives; a small one is copied so that it does not keep the whole read
/// buffer it arrived in alive.
pub const ZERO_COPY_BODY_MIN: usize = 1024 * 1024;

/// A job handed to a consumer (GETJOB) or shown by QPEEK: what the reply is
/// made of (`cmd` builds it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The job's queue.
    pub queue: Arc<[u8]>,
    /// The job's id.
    pub id: [u8; id::JOB_ID_LEN],
    /// The body (shared, not copied).
    pub body: Bytes,
    /// Negative acknowledgements so far.
    pub nacks: u32,
    /// Deliveries after the first.
    pub additional_deliveries: u32,
}

/// [`Delivered`] borrowed from the state, for a reply encoded under its
/// lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryView<'a> {
    /// The job's queue.
    pub queue: &'a [u8],
    /// The job's id.
    pub id: [u8; id::JOB_ID_LEN],
    /// The body.
    pub body: &'a Bytes,
    /// Negative acknowledgements so far.
    pub nacks: u32,
    /// Deliveries after the first.
    pub additional_deliveries: u32,
}

/// What SHOW and JSCAN REPLY ALL tell about a job (`cmd` builds the reply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobDescription<'a> {
    /// The job's id.
    pub id: [u8; id::JOB_ID_LEN],
    /// The job's queue.
    pub queue: &'a [u8],
    /// Its lifecycle state.
    pub state: JobState,
    /// REPLICATE.
    pub repl: u16,
    /// Seconds left to live.
    pub ttl: i64,
    /// Creation time (ms × 1 000 000).
    pub ctime: u64,
    /// DELAY, seconds.
    pub delay: u32,
    /// RETRY, seconds.
    pub retry: u32,
    /// Negative acknowledgements.
    pub nacks: u32,
    /// Deliveries after the first.
    pub additional_deliveries: u32,
    /// The node that holds it (this one).
    pub node_id: &'a str,
    /// Milliseconds until it is queued again, if it will be.
    pub requeue_within: Option<u64>,
    /// Milliseconds until the timer looks at it again, if scheduled.
    pub awake_within: Option<u64>,
    /// The body.
    pub body: &'a Bytes,
}

/// A job handed to a blocked GETJOB when it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// The job.
    pub job: Delivered,
    /// The AOF offset of the end of the record of this delivery (queued to
    /// active), 0 if none was logged: under `appendfsync always` the reply
    /// waits until it is on disk, like the reply of any command that
    /// changed the state.
    pub logged: u64,
}

/// The channel a blocked GETJOB waits on: one job, or `None` when the
/// client is released without one (FLUSHALL, shutdown).
pub type WaiterTx = oneshot::Sender<Option<Served>>;

/// A client blocked in GETJOB.
#[derive(Debug)]
struct Waiter {
    queues: Vec<Arc<[u8]>>,
    tx: WaiterTx,
}

/// Everything the node knows.
#[derive(Debug)]
pub struct Db {
    node_id: String,
    /// Every job, in key order (JSCAN's order).
    jobs: JobTable,
    queues: Queues,
    timers: BTreeSet<(u64, JobKey)>,
    waiters: HashMap<u64, Waiter>,
    next_waiter: u64,
    prev_ctime: u64,
    rng: StdRng,
    /// Where changes are logged (`appendonly yes`).
    log: Option<Arc<crate::aof::Aof>>,
    /// The AOF offset of the last change logged.
    log_end: u64,
    /// `maxmemory` in bytes, 0 for no limit.
    maxmemory: u64,
    /// Estimated bytes held by the jobs.
    job_bytes: usize,
    /// Highest [`Db::used_memory`] seen.
    peak_memory: usize,
    /// Highest [`Db::used_memory`] seen since the last trim (see
    /// [`Db::memory_since_trim`]).
    trim_peak: usize,
    /// Bytes accounted for the client connections (kept by the client table).
    client_bytes: Arc<AtomicUsize>,
}

/// `now_ms` plus `secs` seconds, saturating (TTL and friends may be huge).
fn secs_after(now_ms: u64, secs: u64) -> u64 {
    now_ms.saturating_add(secs.saturating_mul(1000))
}

impl Db {
    /// An empty node state with a random node id.
    pub fn new() -> Db {
        let mut rng = StdRng::from_os_rng();
        Db {
            node_id: id::random_node_id(&mut rng),
            jobs: JobTable::new(),
            queues: Queues::default(),
            timers: BTreeSet::new(),
            waiters: HashMap::new(),
            next_waiter: 1,
            prev_ctime: 0,
            rng,
            log: None,
            log_end: 0,
            maxmemory: DEFAULT_MAXMEMORY,
            job_bytes: 0,
            peak_memory: 0,
            trim_peak: 0,
            client_bytes: Arc::default(),
        }
    }

    /// `maxmemory` in bytes (0: no limit).
    pub fn maxmemory(&self) -> u64 {
        self.maxmemory
    }

    /// Sets `maxmemory` in bytes (0: no limit).
    pub fn set_maxmemory(&mut self, bytes: u64) {
        self.maxmemory = bytes;
    }

    /// The memory the node accounts for its jobs, queues and client
    /// connections, in bytes (what `maxmemory` is compared with; INFO's
    /// `used_memory`).
    pub fn used_memory(&self) -> usize {
        self.job_bytes + self.queues.bytes() + self.client_bytes.load(Ordering::Relaxed)
    }

    /// The counter of the bytes accounted for client connections, for the
    /// client table to keep.
    pub fn client_bytes(&self) -> Arc<AtomicUsize> {
        self.client_bytes.clone()
    }

    /// The highest [`Db::used_memory`] seen.
    pub fn peak_memory(&self) -> usize {
        self.peak_memory.max(self.used_memory())
    }

    /// Records the memory in use in the peaks (after something grew).
    fn note_memory_peak(&mut self) {
        let used = self.used_memory();
        self.peak_memory = self.peak_memory.max(used);
        self.trim_peak = self.trim_peak.max(used);
    }

    /// [`Db::used_memory`] now and the highest seen since the last
    /// [`Db::memory_trimmed`] (or the start), for the decision to give
    /// freed memory back to the OS (`crate::trim`).
    pub fn memory_since_trim(&self) -> (usize, usize) {
        let used = self.used_memory();
        (used, self.trim_peak.max(used))
    }

    /// Memory was given back to the OS: the high point since the last trim
    /// starts again from the memory in use.
    pub fn memory_trimmed(&mut self) {
        self.trim_peak = self.used_memory();
    }

    /// Disque's memory warning level: 0 below 75 % of `maxmemory` (or
    /// without a limit), 1 over 75 % (ADDJOB refused, idle queues evicted
    /// after 10 s instead of 300 s), 2 over 95 % (idle queues evicted after
    /// 2 s, delivered at-most-once jobs evicted, ADDJOB/ENQUEUE/NACK
    /// refused with -OOM when nothing can be freed).
    pub fn memory_warning_level(&self) -> u8 {
        if self.maxmemory == 0 {
            return 0;
        }
        let used = self.used_memory() as u64;
        if used > self.maxmemory / 100 * 95 {
            2
        } else if used > self.maxmemory / 100 * 75 {
            1
        } else {
            0
        }
    }

    /// Disque's `freeMemoryIfNeeded`: at warning level 2, evicts jobs that
    /// can go safely (delivered jobs with RETRY 0, which will never be
    /// queued again) until back under 95 % of `maxmemory`, looking at up to
    /// [`EVICTION_MAX_SAMPLES`] jobs from a random position on; idle queues
    /// too. Returns false when that was not enough (commands that add
    /// memory are then refused).
    pub fn free_memory_if_needed(&mut self, now: u64) -> bool {
        if self.memory_warning_level() < 2 {
            return true;
        }
        let target = (self.maxmemory / 100 * 95) as usize;
        let mut to_free = self.used_memory().saturating_sub(target);
        let from: u64 = rand::Rng::random(&mut self.rng);
        let mut victims = Vec::new();
        let walk = self
            .jobs
            .walk_from(from)
            .chain(self.jobs.walk_from(0).take_while(|(pos, _)| *pos < from))
            .filter_map(|(_, entry)| entry)
            .take(EVICTION_MAX_SAMPLES);
        for (key, job) in walk {
            if to_free == 0 {
                break;
            }
            if job.retry == 0 && job.flags & FLAG_DELIVERED != 0 && job.state == JobState::Active {
                to_free = to_free.saturating_sub(job_cost(job));
                victims.push(*key);
            }
        }
        for key in &victims {
            self.delete(key);
        }
        if self.used_memory() > target {
            self.evict_idle_queues(now);
        }
        self.used_memory() <= target
    }

    /// This node's 40-hex-char id.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Number of registered jobs.
    pub fn job_count(&self) -> usize {
        self.jobs.len()
    }

    /// Number of registered queues.
    pub fn queue_count(&self) -> usize {
        self.queues.len()
    }

    /// Number of clients blocked in GETJOB.
    pub fn blocked_count(&self) -> usize {
        self.waiters.len()
    }

    /// The 40-byte id of a job.
    #[cfg(test)]
    pub fn job_id(&self, key: &JobKey) -> Option<[u8; id::JOB_ID_LEN]> {
        Some(self.id_of(key, self.jobs.get(key)?))
    }

    /// The 40-byte id of a job already at hand.
    pub fn id_of(&self, key: &JobKey, job: &Job) -> [u8; id::JOB_ID_LEN] {
        format_job_id(self.node_id.as_bytes(), key, job.tail, job.ttl_field)
    }

    /// The key of the job named by `id`, if this node knows it.
    pub fn lookup(&self, id: &[u8]) -> Option<JobKey> {
        let (key, tail, ttl) = parse_job_id(self.node_id.as_bytes(), id)?;
        match self.jobs.get(&key) {
            Some(job) if job.ttl_field == ttl && job.tail == tail => Some(key),
            _ => None,
        }
    }

    /// A job by key.
    #[cfg(test)]
    pub fn job(&self, key: &JobKey) -> Option<&Job> {
        self.jobs.get(key)
    }

    /// A queue by name.
    pub fn queue(&self, name: &[u8]) -> Option<&Queue> {
        self.queues.get(name)
    }

    /// QSCAN's walk from cursor `from`: the queues whose position (a keyed
    /// 64-bit hash of the name) is `from` or more, in order of position,
    /// each with its position. Positioning costs O(log queues).
    pub fn queues_from(&self, from: u64) -> impl Iterator<Item = (u64, &Queue)> + '_ {
        self.queues.walk_from(from)
    }

    /// JSCAN's walk from cursor `from`: the jobs whose key's high 64 bits
    /// (their position, unique) are `from` or more, in key order, each with
    /// its position; `None` at the position of each empty stretch of the
    /// table passed, so that bounding the entries taken bounds the work.
    /// Positioning costs O(1) expected.
    pub fn jobs_from(&self, from: u64) -> impl Iterator<Item = (u64, Option<(&JobKey, &Job)>)> {
        self.jobs.walk_from(from)
    }

    fn queue_or_create(&mut self, name: &[u8], now: u64) -> &mut Queue {
        let name: Arc<[u8]> = match self.queues.get_key_value(name) {
            Some((existing, _)) => existing.clone(),
            None => Arc::from(name),
        };
        self.queues.get_or_create(name, now / 1000)
    }

    /// ADDJOB: registers a job and queues it (or schedules it after DELAY);
    /// returns its key and id.
    pub fn add_job(
        &mut self,
        req: &NewJob<'_>,
        now: u64,
    ) -> Result<(JobKey, [u8; id::JOB_ID_LEN]), AddError> {
        // Like Disque on a node with no reachable peer: over the first
        // memory warning level it would only replicate to other nodes, so
        // one copy is refused as "out of memory" and more as NOREPL.
        if self.memory_warning_level() > 0 && req.replicate == 1 {
            return Err(AddError::OutOfMemory);
        }
        if req.replicate > 1 {
            return Err(AddError::NoRepl);
        }
        let queue = match self.queues.get_key_value(req.queue) {
            Some((name, q)) => {
                if req.maxlen > 0 && q.len() as i64 >= req.maxlen {
                    return Err(AddError::MaxLen);
                }
                if q.paused & PAUSED_IN != 0 {
                    return Err(AddError::Paused);
                }
                name.clone()
            }
            None => Arc::from(req.queue),
        };
        let mut ctime = now.saturating_mul(1_000_000);
        if ctime <= self.prev_ctime {
            ctime = self.prev_ctime + 1;
        }
        self.prev_ctime = ctime;
        let qtime = if req.delay > 0 {
            secs_after(now, req.delay as u64)
        } else {
            secs_after(now, req.retry as u64)
        };
        let mut job = Box::new(Job {
            queue,
            body: if req.body.len() >= ZERO_COPY_BODY_MIN {
                req.body.clone()
            } else {
                Bytes::copy_from_slice(req.body)
            },
            ctime,
            etime: (now / 1000).saturating_add(req.ttl as u64),
            qtime,
            awake: 0,
            retry: req.retry.min(u32::MAX as i64) as u32,
            delay: req.delay.min(u32::MAX as i64) as u32,
            nacks: 0,
            deliv: 0,
            repl: req.replicate,
            ttl_field: id::ttl_field(req.ttl, req.retry),
            tail: 0,
            state: JobState::Active,
            flags: 0,
        });
        // 64 random bits practically never collide; if they did, draw
        // again: no two jobs share the high 64 bits of their keys (so no
        // two share a key), which JSCAN's cursor relies on.
        let key = loop {
            let (key, tail) = JobKey::random(&mut self.rng);
            if !self.jobs.contains_hi(key.hi()) {
                job.tail = tail;
                break key;
            }
        };
        // Queue (or schedule) the job before it enters the table, so the
        // table is probed once.
        let serve = if req.delay == 0 {
            queue_job(
                &mut self.queues,
                &mut self.timers,
                key,
                &mut job,
                false,
                now,
            )
        } else {
            schedule(&mut self.timers, key, &mut job);
            None
        };
        let qname = serve.is_some_and(|s| s).then(|| job.queue.clone());
        let id = format_job_id(self.node_id.as_bytes(), &key, job.tail, job.ttl_field);
        if let Err(job) = self.jobs.insert(key, job) {
            // Unreachable (the key's high bits were checked free above);
            // undo the queueing rather than keep a dangling key.
            if job.state == JobState::Queued {
                if let Some(q) = self.queues.get_mut(&job.queue) {
                    q.jobs.remove(&job.ctime);
                }
            }
            self.timers.remove(&(job.awake, key));
            return Err(AddError::NoRepl);
        }
        self.log_add(&key);
        self.job_bytes += JOB_OVERHEAD + req.body.len();
        self.note_memory_peak();
        if let Some(qname) = qname {
            self.serve_blocked(&qname, now);
        }
        Ok((key, id))
    }

    /// Recomputes when the timer wakes a job (TTL, or its next queueing).
    fn reschedule(&mut self, key: &JobKey) {
        if let Some(job) = self.jobs.get_mut(key) {
            schedule(&mut self.timers, *key, job);
        }
    }

    /// Queues an active job. `nack` counts it as a negative acknowledgement,
    /// otherwise a re-queue counts as an additional delivery. Returns
    /// whether the job was queued.
    pub fn enqueue(&mut self, key: &JobKey, nack: bool, now: u64) -> bool {
        let Some(job) = self.jobs.get_mut(key) else {
            return false;
        };
        match queue_job(&mut self.queues, &mut self.timers, *key, job, nack, now) {
            None => false,
            Some(serve) => {
                let qname = serve.then(|| job.queue.clone());
                self.log_update(key);
                if let Some(qname) = qname {
                    self.serve_blocked(&qname, now);
                }
                true
            }
        }
    }

    /// Takes a queued job out of its queue (it becomes active).
    pub fn dequeue(&mut self, key: &JobKey) -> bool {
        let Some(job) = self.jobs.get_mut(key) else {
            return false;
        };
        if job.state != JobState::Queued {
            return false;
        }
        job.state = JobState::Active;
        if let Some(q) = self.queues.get_mut(&job.queue) {
            q.jobs.remove(&job.ctime);
        }
        self.log_update(key);
        true
    }

    /// Forgets a job whatever its state (ACKJOB, FASTACK, DELJOB, expiry).
    pub fn delete(&mut self, key: &JobKey) -> bool {
        let Some(job) = self.jobs.remove(key) else {
            return false;
        };
        self.job_bytes = self.job_bytes.saturating_sub(job_cost(&job));
        if job.state == JobState::Queued {
            if let Some(q) = self.queues.get_mut(&job.queue) {
                q.jobs.remove(&job.ctime);
            }
        }
        if job.awake != 0 {
            self.timers.remove(&(job.awake, *key));
        }
        self.log_del(key);
        true
    }

    /// WORKING: postpones the next queueing; returns RETRY.
    pub fn working(&mut self, key: &JobKey, now: u64) -> Result<u32, TooLate> {
        let Some(job) = self.jobs.get(key) else {
            return Ok(0);
        };
        let ttl = i64::try_from(secs_after(0, job.etime))
            .unwrap_or(i64::MAX)
            .saturating_sub(job.ctime_ms() as i64);
        let elapsed = now as i64 - job.ctime_ms() as i64;
        if ttl > 0 && elapsed > ttl / 2 {
            return Err(TooLate);
        }
        self.dequeue(key);
        let Some(job) = self.jobs.get_mut(key) else {
            return Ok(0);
        };
        let retry = job.retry;
        if job.retry != 0 && job.qtime != 0 {
            job.qtime = secs_after(now, u64::from(job.retry));
            self.reschedule(key);
            self.log_update(key);
        }
        Ok(retry)
    }

    /// Pops the oldest job of a queue for delivery.
    /// `None` if there is no such queue (looked up once: GETJOB's common
    /// case), `Some(None)` if it has nothing to deliver.
    fn fetch(&mut self, qname: &[u8], now: u64) -> Option<Option<JobKey>> {
        let q = self.queues.get_mut(qname)?;
        if q.paused & PAUSED_OUT != 0 {
            return Some(None);
        }
        let Some((_, key)) = q.jobs.pop_first() else {
            return Some(None);
        };
        q.atime = now / 1000;
        q.jobs_out += 1;
        let job = self.jobs.get_mut(&key);
        let found = job.is_some();
        if let Some(job) = job {
            job.state = JobState::Active;
            job.flags |= FLAG_DELIVERED;
        }
        self.log_update(&key);
        Some(found.then_some(key))
    }

    /// What GETJOB and QPEEK reply about a job.
    pub fn delivered(&self, key: &JobKey) -> Option<Delivered> {
        let job = self.jobs.get(key)?;
        Some(Delivered {
            queue: job.queue.clone(),
            id: self.id_of(key, job),
            body: job.body.clone(),
            nacks: job.nacks,
            additional_deliveries: job.deliv,
        })
    }

    /// What GETJOB replies about a job, borrowed (nothing is copied).
    pub fn delivery(&self, key: &JobKey) -> Option<DeliveryView<'_>> {
        let job = self.jobs.get(key)?;
        Some(DeliveryView {
            queue: &job.queue,
            id: self.id_of(key, job),
            body: &job.body,
            nacks: job.nacks,
            additional_deliveries: job.deliv,
        })
    }

    /// SHOW: the description of a job, if known.
    pub fn job_info(&self, key: &JobKey, now: u64) -> Option<JobDescription<'_>> {
        self.jobs.get(key).map(|job| self.describe(key, job, now))
    }

    /// SHOW / JSCAN REPLY ALL of a job already at hand.
    pub fn describe<'a>(&'a self, key: &JobKey, job: &'a Job, now: u64) -> JobDescription<'a> {
        JobDescription {
            id: self.id_of(key, job),
            queue: &job.queue,
            state: job.state,
            repl: job.repl,
            ttl: i64::try_from(job.etime)
                .unwrap_or(i64::MAX)
                .saturating_sub((now / 1000) as i64)
                .max(0),
            ctime: job.ctime,
            delay: job.delay,
            retry: job.retry,
            nacks: job.nacks,
            additional_deliveries: job.deliv,
            node_id: &self.node_id,
            requeue_within: (job.qtime != 0).then(|| job.qtime.saturating_sub(now)),
            awake_within: (job.awake != 0).then(|| job.awake.saturating_sub(now)),
            body: &job.body,
        }
    }

    /// GETJOB without blocking: up to `count` jobs, round-robin over the
    /// queues left to right. Missing queues it looks at are created.
    #[cfg(test)]
    pub fn get_jobs(&mut self, queues: &[Bytes], count: u64, now: u64) -> Vec<Delivered> {
        let mut keys = Vec::new();
        self.fetch_jobs(queues, count, now, &mut keys);
        keys.iter().filter_map(|key| self.delivered(key)).collect()
    }

    /// [`Db::get_jobs`] giving the keys of the jobs delivered, appended to
    /// `keys` (which the caller may reuse); each names a job
    /// ([`Db::delivery`] is `Some`).
    pub fn fetch_jobs(
        &mut self,
        queues: &[Bytes],
        mut count: u64,
        now: u64,
        keys: &mut Vec<JobKey>,
    ) {
        loop {
            let before = keys.len();
            for name in queues {
                let Some(fetched) = self.fetch(name, now) else {
                    self.queue_or_create(name, now);
                    continue;
                };
                if let Some(key) = fetched {
                    keys.push(key);
                    count -= 1;
                    if count == 0 {
                        return;
                    }
                }
            }
            if keys.len() == before {
                return;
            }
        }
    }

    /// Blocks a client on `queues` (creating them); it is sent one job, or
    /// `None` on FLUSHALL and shutdown. Returns the id to pass to
    /// [`Db::unblock`].
    pub fn block(&mut self, queues: &[Bytes], tx: WaiterTx, now: u64) -> u64 {
        let id = self.next_waiter;
        self.next_waiter += 1;
        let mut names: Vec<Arc<[u8]>> = Vec::with_capacity(queues.len());
        for name in queues {
            if names.iter().any(|n| n[..] == name[..]) {
                continue;
            }
            let q = self.queue_or_create(name, now);
            q.blocked.push_back(id);
            names.push(q.name.clone());
        }
        self.waiters.insert(id, Waiter { queues: names, tx });
        id
    }

    /// Removes a blocked client; false if it was already served.
    pub fn unblock(&mut self, id: u64) -> bool {
        let Some(w) = self.waiters.remove(&id) else {
            return false;
        };
        for name in &w.queues {
            if let Some(q) = self.queues.get_mut(name) {
                q.blocked.retain(|&b| b != id);
            }
        }
        true
    }

    /// Serves the clients blocked on a queue, in the order they blocked.
    fn serve_blocked(&mut self, qname: &[u8], now: u64) {
        loop {
            let Some(q) = self.queues.get_mut(qname) else {
                return;
            };
            if q.paused & PAUSED_OUT != 0 || q.jobs.is_empty() {
                return;
            }
            let Some(&wid) = q.blocked.front() else {
                return;
            };
            let Some(w) = self.waiters.get(&wid) else {
                q.blocked.pop_front();
                continue;
            };
            if w.tx.is_closed() {
                self.unblock(wid);
                continue;
            }
            let log_before = self.log_end();
            let Some(key) = self.fetch(qname, now).flatten() else {
                return;
            };
            let Some(job) = self.delivered(&key) else {
                return;
            };
            let logged = if self.log_end() == log_before {
                0
            } else {
                self.log_end()
            };
            self.unblock_and_send(wid, Served { job, logged }, key);
        }
    }

    fn unblock_and_send(&mut self, wid: u64, job: Served, key: JobKey) {
        let Some(w) = self.waiters.remove(&wid) else {
            return;
        };
        for name in &w.queues {
            if let Some(q) = self.queues.get_mut(name) {
                q.blocked.retain(|&b| b != wid);
            }
        }
        if w.tx.send(Some(job)).is_err() {
            // The client went away in between: put the job back.
            if let Some(job) = self.jobs.get_mut(&key) {
                job.state = JobState::Queued;
                let (ctime, qname) = (job.ctime, job.queue.clone());
                if let Some(q) = self.queues.get_mut(&qname) {
                    q.jobs.insert(ctime, key);
                    q.jobs_out = q.jobs_out.saturating_sub(1);
                }
                self.log_update(&key);
            }
        }
    }

    /// PAUSE: replaces the pause state when `update`; returns the state.
    pub fn pause(&mut self, name: &[u8], flags: Option<u8>, now: u64) -> u8 {
        let old = self.queues.get(name).map_or(0, |q| q.paused);
        let Some(new) = flags else {
            return old;
        };
        if !self.queues.contains_key(name) && old == new {
            return 0;
        }
        let q = self.queue_or_create(name, now);
        q.paused = new;
        if old & PAUSED_OUT != 0 && new & PAUSED_OUT == 0 {
            self.serve_blocked(name, now);
        }
        new
    }

    /// Runs up to `limit` of the timers due at `now`: re-queues, delayed
    /// queueing, expiry. Costs O(jobs due), not O(jobs). Returns whether
    /// more are due.
    pub fn run_timers(&mut self, now: u64, limit: usize) -> bool {
        let mut done = 0;
        while let Some(&(at, key)) = self.timers.first() {
            if at > now {
                return false;
            }
            if done == limit {
                return true;
            }
            done += 1;
            self.timers.pop_first();
            if let Some(job) = self.jobs.get_mut(&key) {
                job.awake = 0;
            }
            self.process_job(&key, now);
        }
        false
    }

    /// How many timers are due at `now` (what a tick would process).
    #[cfg(test)]
    pub fn due_timers(&self, now: u64) -> usize {
        self.timers.range(..=(now, JobKey::MAX)).count()
    }

    fn process_job(&mut self, key: &JobKey, now: u64) {
        let Some(job) = self.jobs.get(key) else {
            return;
        };
        if job.etime <= now / 1000 {
            self.delete(key);
            return;
        }
        if job.state == JobState::Active && job.qtime != 0 && job.qtime <= now {
            let paused_in = self
                .queues
                .get(&job.queue)
                .is_some_and(|q| q.paused & PAUSED_IN != 0);
            if job.retry != 0 && paused_in {
                if let Some(job) = self.jobs.get_mut(key) {
                    job.qtime = secs_after(now, u64::from(job.retry));
                }
            } else {
                self.enqueue(key, false, now);
            }
        }
        if let Some(job) = self.jobs.get_mut(key) {
            if job.state == JobState::Queued && job.qtime != 0 && job.qtime <= now && job.retry != 0
            {
                job.qtime = secs_after(now, u64::from(job.retry));
            }
        }
        self.reschedule(key);
    }

    /// Evicts queues that are empty, unblocked, not paused and idle for
    /// [`QUEUE_MAX_IDLE_SECS`] — or, like Disque under memory pressure,
    /// for 10 s at memory warning level 1 and 2 s at level 2. Returns how
    /// many were evicted.
    pub fn evict_idle_queues(&mut self, now: u64) -> usize {
        let now_s = now / 1000;
        let max_idle = match self.memory_warning_level() {
            0 => QUEUE_MAX_IDLE_SECS,
            1 => QUEUE_MAX_IDLE_SECS / 30,
            _ => 2,
        };
        let before = self.queues.len();
        self.queues.retain(|q| {
            !(q.jobs.is_empty()
                && q.blocked.is_empty()
                && q.paused == 0
                && now_s.saturating_sub(q.atime) >= max_idle)
        });
        before - self.queues.len()
    }

    /// DEBUG FLUSHALL: forgets every job and queue; blocked clients get a
    /// null reply.
    pub fn flush_all(&mut self) {
        for (_, w) in self.waiters.drain() {
            let _ = w.tx.send(None);
        }
        self.jobs.clear();
        self.queues.clear();
        self.timers.clear();
        self.log_flush();
        self.job_bytes = 0;
    }
}

impl Default for Db {
    fn default() -> Self {
        Db::new()
    }
}

/// Puts `job` on the timer list at its next wake-up time (TTL, or its next
/// queueing), replacing its previous entry.
fn schedule(timers: &mut BTreeSet<(u64, JobKey)>, key: JobKey, job: &mut Job) {
    let mut at = secs_after(0, job.etime).saturating_add(1000);
    if matches!(job.state, JobState::Active | JobState::Queued) && job.qtime != 0 {
        at = at.min(job.qtime);
    }
    if at != job.awake {
        if job.awake != 0 {
            timers.remove(&(job.awake, key));
        }
        job.awake = at;
        timers.insert((at, key));
    }
}

/// Queues an active job (Disque's `enqueueJob`): `None` if it cannot be
/// queued, else whether clients are blocked on its queue and can be served.
fn queue_job(
    queues: &mut Queues,
    timers: &mut BTreeSet<(u64, JobKey)>,
    key: JobKey,
    job: &mut Job,
    nack: bool,
    now: u64,
) -> Option<bool> {
    if job.state == JobState::Queued || job.qtime == 0 {
        return None;
    }
    if job.retry == 0 && job.flags & FLAG_DELIVERED != 0 {
        return None;
    }
    job.state = JobState::Queued;
    job.qtime = if job.retry > 0 {
        secs_after(now, u64::from(job.retry))
    } else {
        0
    };
    if job.flags & FLAG_QUEUED_ONCE != 0 || nack {
        if nack {
            job.nacks = job.nacks.saturating_add(1);
        } else {
            job.deliv = job.deliv.saturating_add(1);
        }
    }
    job.flags |= FLAG_QUEUED_ONCE;
    schedule(timers, key, job);
    let q = match queues.get_mut(&job.queue) {
        Some(q) => q,
        None => queues.get_or_create(job.queue.clone(), now / 1000),
    };
    q.jobs.insert(job.ctime, key);
    q.atime = now / 1000;
    q.jobs_in += 1;
    Some(q.paused & PAUSED_OUT == 0 && !q.blocked.is_empty())
}
