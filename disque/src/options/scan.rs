//! Filters of QSCAN ([`QueueScanOptions`]) and JSCAN ([`JobScanOptions`]).
//!
//! Both are value types with public fields and setters of the same names;
//! `append_args` adds the options to a command that already holds
//! `QSCAN <cursor>` or `JSCAN <cursor>`.

use crate::JobState;

/// Options of QSCAN: page size hint and filters on queue length and import rate.
///
/// Fields are public to read; set them with the setters of the same names.
///
/// ```
/// use disque::QueueScanOptions;
///
/// let opts = QueueScanOptions::new().count(100).minlen(1);
/// assert_eq!(opts.count, Some(100));
/// assert_eq!(opts.minlen, Some(1));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct QueueScanOptions {
    /// `COUNT n`; see [`count`](QueueScanOptions::count).
    pub count: Option<u32>,
    /// `BUSYLOOP`; see [`busyloop`](QueueScanOptions::busyloop).
    pub busyloop: bool,
    /// `MINLEN n`; see [`minlen`](QueueScanOptions::minlen).
    pub minlen: Option<u64>,
    /// `MAXLEN n`; see [`maxlen`](QueueScanOptions::maxlen).
    pub maxlen: Option<u64>,
    /// `IMPORTRATE n`; see [`import_rate`](QueueScanOptions::import_rate).
    pub import_rate: Option<u64>,
}

impl QueueScanOptions {
    /// No filter: every queue, Disque's default page size.
    ///
    /// ```
    /// assert_eq!(disque::QueueScanOptions::new(), Default::default());
    /// ```
    pub const fn new() -> Self {
        Self {
            count: None,
            busyloop: false,
            minlen: None,
            maxlen: None,
            import_rate: None,
        }
    }

    /// `COUNT n`: how much work to do per call, a hint for the page size
    /// (Disque's default: 10).
    ///
    /// ```
    /// let o = disque::QueueScanOptions::new().count(50);
    /// assert_eq!(o.count, Some(50));
    /// ```
    pub const fn count(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }

    /// `BUSYLOOP`: scan everything in one call, blocking the server meanwhile.
    ///
    /// ```
    /// assert!(disque::QueueScanOptions::new().busyloop(true).busyloop);
    /// ```
    pub const fn busyloop(mut self, on: bool) -> Self {
        self.busyloop = on;
        self
    }

    /// `MINLEN n`: only queues holding at least `n` jobs.
    ///
    /// ```
    /// assert_eq!(disque::QueueScanOptions::new().minlen(1).minlen, Some(1));
    /// ```
    pub const fn minlen(mut self, n: u64) -> Self {
        self.minlen = Some(n);
        self
    }

    /// `MAXLEN n`: only queues holding at most `n` jobs.
    ///
    /// ```
    /// assert_eq!(disque::QueueScanOptions::new().maxlen(9).maxlen, Some(9));
    /// ```
    pub const fn maxlen(mut self, n: u64) -> Self {
        self.maxlen = Some(n);
        self
    }

    /// `IMPORTRATE n`: only queues importing at least `n` jobs per second from
    /// other nodes.
    ///
    /// ```
    /// let o = disque::QueueScanOptions::new().import_rate(5);
    /// assert_eq!(o.import_rate, Some(5));
    /// ```
    pub const fn import_rate(mut self, n: u64) -> Self {
        self.import_rate = Some(n);
        self
    }

    /// Appends the options set (`COUNT`, `BUSYLOOP`, `MINLEN`, `MAXLEN`,
    /// `IMPORTRATE`) to `cmd`.
    pub(crate) fn append_args(&self, cmd: &mut redis::Cmd) {
        if let Some(n) = self.count {
            cmd.arg("COUNT").arg(n);
        }
        if self.busyloop {
            cmd.arg("BUSYLOOP");
        }
        for (name, value) in [
            ("MINLEN", self.minlen),
            ("MAXLEN", self.maxlen),
            ("IMPORTRATE", self.import_rate),
        ] {
            if let Some(n) = value {
                cmd.arg(name).arg(n);
            }
        }
    }
}

/// What JSCAN returns for each job: its id (`REPLY id`, the default) or
/// everything SHOW would (`REPLY all`). Chosen by the scan method called
/// (`scan_jobs` or `scan_jobs_info`), not by the options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobScanReply {
    /// Job ids.
    Id,
    /// SHOW-like entries.
    All,
}

/// Options of JSCAN: page size hint and filters on queue and state.
/// Whether ids or whole jobs come back is chosen by the method:
/// [`Client::scan_jobs`](crate::Client::scan_jobs) or
/// [`Client::scan_jobs_info`](crate::Client::scan_jobs_info).
///
/// Fields are public to read; set them with the setters of the same names.
///
/// ```
/// use disque::{JobScanOptions, JobState};
///
/// let opts = JobScanOptions::new().queue("emails").state(JobState::Active);
/// assert_eq!(opts.queue.as_deref(), Some("emails"));
/// assert_eq!(opts.states, [JobState::Active]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct JobScanOptions {
    /// `COUNT n`; see [`count`](JobScanOptions::count).
    pub count: Option<u32>,
    /// `BUSYLOOP`; see [`busyloop`](JobScanOptions::busyloop).
    pub busyloop: bool,
    /// `QUEUE q`; see [`queue`](JobScanOptions::queue).
    pub queue: Option<String>,
    /// One `STATE s` each (empty: every state); see [`state`](JobScanOptions::state).
    pub states: Vec<JobState>,
}

impl JobScanOptions {
    /// No filter: every job, Disque's default page size.
    ///
    /// ```
    /// assert_eq!(disque::JobScanOptions::new(), Default::default());
    /// ```
    pub const fn new() -> Self {
        Self {
            count: None,
            busyloop: false,
            queue: None,
            states: Vec::new(),
        }
    }

    /// `COUNT n`: how much work to do per call, a hint for the page size
    /// (Disque's default: 10).
    ///
    /// ```
    /// assert_eq!(disque::JobScanOptions::new().count(100).count, Some(100));
    /// ```
    pub fn count(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }

    /// `BUSYLOOP`: scan everything in one call, blocking the server meanwhile.
    ///
    /// ```
    /// assert!(disque::JobScanOptions::new().busyloop(true).busyloop);
    /// ```
    pub fn busyloop(mut self, on: bool) -> Self {
        self.busyloop = on;
        self
    }

    /// `QUEUE q`: only jobs of queue `q`.
    ///
    /// ```
    /// let o = disque::JobScanOptions::new().queue("emails");
    /// assert_eq!(o.queue.as_deref(), Some("emails"));
    /// ```
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = Some(queue.into());
        self
    }

    /// `STATE s`: only jobs in state `s`; call it again to accept several
    /// states.
    ///
    /// ```
    /// use disque::{JobScanOptions, JobState};
    /// let o = JobScanOptions::new().state(JobState::Queued).state(JobState::Active);
    /// assert_eq!(o.states, [JobState::Queued, JobState::Active]);
    /// ```
    pub fn state(mut self, state: JobState) -> Self {
        self.states.push(state);
        self
    }

    /// Appends the options set (`COUNT`, `BUSYLOOP`, `QUEUE`, each `STATE`)
    /// and `REPLY all` when `reply` asks for it to `cmd`.
    pub(crate) fn append_args(&self, cmd: &mut redis::Cmd, reply: JobScanReply) {
        if let Some(n) = self.count {
            cmd.arg("COUNT").arg(n);
        }
        if self.busyloop {
            cmd.arg("BUSYLOOP");
        }
        if let Some(q) = &self.queue {
            cmd.arg("QUEUE").arg(q);
        }
        for s in &self.states {
            cmd.arg("STATE").arg(s.as_str());
        }
        if reply == JobScanReply::All {
            cmd.arg("REPLY").arg("all");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::test_args;

    fn qscan(o: &QueueScanOptions) -> Vec<String> {
        let mut cmd = redis::cmd("QSCAN");
        cmd.arg(0);
        o.append_args(&mut cmd);
        test_args(&cmd)
    }

    fn jscan(o: &JobScanOptions) -> Vec<String> {
        jscan_reply(o, JobScanReply::Id)
    }

    fn jscan_reply(o: &JobScanOptions, reply: JobScanReply) -> Vec<String> {
        let mut cmd = redis::cmd("JSCAN");
        cmd.arg(0);
        o.append_args(&mut cmd, reply);
        test_args(&cmd)
    }

    #[test]
    fn qscan_without_options_sends_only_the_cursor() {
        assert_eq!(qscan(&QueueScanOptions::new()), ["QSCAN", "0"]);
    }

    #[test]
    fn qscan_sends_every_option() {
        let o = QueueScanOptions::new()
            .count(3)
            .busyloop(true)
            .minlen(1)
            .maxlen(10)
            .import_rate(2);
        assert_eq!(
            qscan(&o),
            [
                "QSCAN",
                "0",
                "COUNT",
                "3",
                "BUSYLOOP",
                "MINLEN",
                "1",
                "MAXLEN",
                "10",
                "IMPORTRATE",
                "2"
            ]
        );
    }

    #[test]
    fn jscan_without_options_sends_only_the_cursor() {
        assert_eq!(jscan(&JobScanOptions::new()), ["JSCAN", "0"]);
        let ids = jscan_reply(&JobScanOptions::new(), JobScanReply::Id);
        assert_eq!(ids, ["JSCAN", "0"]);
    }

    #[test]
    fn jscan_sends_every_option_and_repeats_state() {
        // golden/jscan_state.json: STATE queued STATE active.
        let o = JobScanOptions::new()
            .count(1)
            .busyloop(true)
            .queue("jscan_state")
            .state(JobState::Queued)
            .state(JobState::Active);
        assert_eq!(
            jscan_reply(&o, JobScanReply::All),
            [
                "JSCAN",
                "0",
                "COUNT",
                "1",
                "BUSYLOOP",
                "QUEUE",
                "jscan_state",
                "STATE",
                "queued",
                "STATE",
                "active",
                "REPLY",
                "all"
            ]
        );
    }

    #[test]
    fn every_job_state_name_is_sent_as_disque_spells_it() {
        let o = JobScanOptions::new()
            .state(JobState::WaitRepl)
            .state(JobState::Acked);
        assert_eq!(
            jscan(&o),
            ["JSCAN", "0", "STATE", "wait-repl", "STATE", "acked"]
        );
    }
}
