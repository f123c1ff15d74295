//! One named queue: its jobs ordered by creation time, its blocked clients,
//! its counters and pause state.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use super::id::JobKey;

/// Paused in input: ADDJOB is refused.
pub const PAUSED_IN: u8 = 1;
/// Paused in output: GETJOB does not serve this queue.
pub const PAUSED_OUT: u8 = 2;

/// A queue.
#[derive(Debug)]
pub struct Queue {
    /// Its name.
    pub name: Arc<[u8]>,
    /// Queued jobs by ctime (unique), oldest first.
    pub jobs: BTreeMap<u64, JobKey>,
    /// Creation time, unix seconds.
    pub ctime: u64,
    /// Last access time, unix seconds.
    pub atime: u64,
    /// Ids of the blocked clients, in the order they blocked.
    pub blocked: VecDeque<u64>,
    /// Jobs queued so far.
    pub jobs_in: u64,
    /// Jobs fetched so far.
    pub jobs_out: u64,
    /// `PAUSED_*` bits.
    pub paused: u8,
}

impl Queue {
    /// An empty queue created at `now_s`.
    pub fn new(name: Arc<[u8]>, now_s: u64) -> Queue {
        Queue {
            name,
            jobs: BTreeMap::new(),
            ctime: now_s,
            atime: now_s,
            blocked: VecDeque::new(),
            jobs_in: 0,
            jobs_out: 0,
            paused: 0,
        }
    }

    /// Number of queued jobs.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Disque's name for the pause state.
    pub fn pause_name(flags: u8) -> &'static str {
        match flags & (PAUSED_IN | PAUSED_OUT) {
            3 => "all",
            PAUSED_IN => "in",
            PAUSED_OUT => "out",
            _ => "none",
        }
    }
}
