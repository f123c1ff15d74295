//! The compact record of one job.

use std::sync::Arc;

use bytes::Bytes;

/// A job's lifecycle state, as SHOW and JSCAN name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for synchronous replication (never on a single node).
    WaitRepl,
    /// Delivered (or delayed): not in its queue.
    Active,
    /// In its queue.
    Queued,
    /// Acknowledged (never kept on a single node).
    Acked,
}

impl JobState {
    /// Disque's name of the state.
    pub fn name(self) -> &'static str {
        match self {
            JobState::WaitRepl => "wait-repl",
            JobState::Active => "active",
            JobState::Queued => "queued",
            JobState::Acked => "acked",
        }
    }

    /// Parses a state name, case-insensitively.
    pub fn parse(name: &[u8]) -> Option<JobState> {
        [
            JobState::WaitRepl,
            JobState::Active,
            JobState::Queued,
            JobState::Acked,
        ]
        .into_iter()
        .find(|s| s.name().as_bytes().eq_ignore_ascii_case(name))
    }
}

/// The job was delivered at least once (GETJOB).
pub const FLAG_DELIVERED: u8 = 1;
/// The job was queued at least once: the next queueing counts as a
/// re-delivery.
pub const FLAG_QUEUED_ONCE: u8 = 2;

/// One job. Kept small: it is stored once per job, boxed, in the job table.
#[derive(Debug)]
pub struct Job {
    /// Queue name (shared with the queue and the other jobs of the queue).
    pub queue: Arc<[u8]>,
    /// The body, binary-safe; shared with replies rather than copied (see
    /// [`super::ZERO_COPY_BODY_MIN`]).
    pub body: Bytes,
    /// Creation time: milliseconds × 1 000 000, unique and increasing.
    pub ctime: u64,
    /// Expire time, unix seconds.
    pub etime: u64,
    /// When the job is queued (again), in ms; 0 = never.
    pub qtime: u64,
    /// When the timer wheel wakes the job, in ms; 0 = not scheduled.
    pub awake: u64,
    /// RETRY, seconds.
    pub retry: u32,
    /// DELAY, seconds.
    pub delay: u32,
    /// Negative acknowledgements.
    pub nacks: u32,
    /// Additional deliveries.
    pub deliv: u32,
    /// REPLICATE.
    pub repl: u16,
    /// The TTL field of the id.
    pub ttl_field: u16,
    /// The last 16 random bits of the id (the rest is the key).
    pub tail: u16,
    /// Lifecycle state.
    pub state: JobState,
    /// `FLAG_*` bits.
    pub flags: u8,
}

impl Job {
    /// Creation time in milliseconds.
    pub fn ctime_ms(&self) -> u64 {
        self.ctime / 1_000_000
    }
}
