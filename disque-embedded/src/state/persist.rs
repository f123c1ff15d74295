//! The state's side of persistence: logging each change that matters to
//! the AOF, taking the jobs a file held, and writing a snapshot for a
//! rewrite.

use std::sync::Arc;

use super::id::JobKey;
use super::job::{Job, JobState};
use super::{schedule, Db};
use crate::aof::record;
use crate::aof::Aof;

impl Db {
    /// Starts (`Some`) or stops logging changes.
    pub fn set_log(&mut self, log: Option<Arc<Aof>>) {
        self.log = log;
    }

    /// The logical AOF offset of the last record this state logged: a
    /// connection that saw it change waits for it under `appendfsync
    /// always`.
    pub fn log_end(&self) -> u64 {
        self.log_end
    }

    fn log_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        if let Some(log) = &self.log {
            self.log_end = log.append(write);
        }
    }

    /// Logs a new job (ADDJOB).
    pub(super) fn log_add(&mut self, key: &JobKey) {
        if let Some(log) = &self.log {
            if let Some(job) = self.jobs.get(key) {
                self.log_end = log.append(|out| record::add(out, key, job));
            }
        }
    }

    /// Logs a job's new state and counters.
    pub(super) fn log_update(&mut self, key: &JobKey) {
        if let Some(log) = &self.log {
            if let Some(job) = self.jobs.get(key) {
                self.log_end = log.append(|out| record::update(out, key, job));
            }
        }
    }

    /// Logs that a job is gone.
    pub(super) fn log_del(&mut self, key: &JobKey) {
        self.log_with(|out| record::del(out, key));
    }

    /// Logs that every job is gone.
    pub(super) fn log_flush(&mut self) {
        self.log_with(record::flushall);
    }

    /// Takes the node id a file was written by (job ids embed it).
    pub fn restore_node_id(&mut self, node_id: String) {
        self.node_id = node_id;
    }

    /// Loading done: takes the jobs the file held, drops the expired ones, queues the queued ones (in
    /// creation order), schedules every job's timer (an active job is
    /// queued again once its RETRY passes, counting an additional
    /// delivery, as after any lost delivery). Returns the jobs kept.
    pub fn restore_finish(&mut self, mut loaded: Vec<(JobKey, Box<Job>)>, now: u64) -> usize {
        let now_s = now / 1000;
        self.jobs.clear();
        self.queues.clear();
        self.timers.clear();
        self.job_bytes = 0;
        self.jobs.reserve(loaded.len());
        // In creation order: queues and timers then grow at their ends.
        loaded.sort_unstable_by_key(|(_, job)| job.ctime);
        for (key, mut job) in loaded {
            if job.etime <= now_s {
                continue;
            }
            if matches!(job.state, JobState::WaitRepl | JobState::Acked) {
                job.state = JobState::Active;
            }
            schedule(&mut self.timers, key, &mut job);
            let (ctime, queued, cost) = (
                job.ctime,
                job.state == JobState::Queued,
                super::job_cost(&job),
            );
            let queue = queued.then(|| job.queue.clone());
            if let Err(job) = self.jobs.insert(key, job) {
                // A key whose high bits another job holds (never drawn so:
                // the node refuses such keys) is dropped rather than break
                // the table.
                self.timers.remove(&(job.awake, key));
                continue;
            }
            self.prev_ctime = self.prev_ctime.max(ctime);
            self.job_bytes += cost;
            if let Some(name) = queue {
                let q = match self.queues.get_mut(&name) {
                    Some(q) => q,
                    None => self.queues.get_or_create(name, now_s),
                };
                q.jobs.insert(ctime, key);
            }
        }
        self.note_memory_peak();
        self.jobs.len()
    }

    /// A rewrite's snapshot: ADD records for up to `max` entries of the job
    /// table from position `from` (JSCAN's walk). Returns where to go on,
    /// or `None` once the whole table was walked.
    pub fn snapshot(&self, from: u64, max: usize, out: &mut Vec<u8>) -> Option<u64> {
        for (taken, (pos, entry)) in self.jobs.walk_from(from).enumerate() {
            if taken == max.max(2) {
                return Some(pos);
            }
            if let Some((key, job)) = entry {
                record::add(out, key, job);
            }
        }
        None
    }
}
