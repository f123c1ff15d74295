//! Filters of QSCAN ([`QueueScanOptions`]) and JSCAN ([`JobScanOptions`]).
//!
//! Both are value types with setters; `append_args` adds the options to a
//! command that already holds `QSCAN <cursor>` or `JSCAN <cursor>`.

use crate::reply::JobState;

/// Options of QSCAN: page size hint and filters on queue length and import rate.
///
/// ```
/// use disque::scan_options::QueueScanOptions;
///
/// let opts = QueueScanOptions::new().count(100).minlen(1);
/// let mut cmd = redis::cmd("QSCAN");
/// cmd.arg(0);
/// opts.append_args(&mut cmd);
/// assert_eq!(cmd.get_packed_command(),
///     redis::cmd("QSCAN").arg(&["0", "COUNT", "100", "MINLEN", "1"]).get_packed_command());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct QueueScanOptions {
    count: Option<u32>,
    busyloop: bool,
    minlen: Option<u64>,
    maxlen: Option<u64>,
    import_rate: Option<u64>,
}

impl QueueScanOptions {
    /// No filter: every queue, Disque's default page size.
    ///
    /// ```
    /// assert_eq!(disque::scan_options::QueueScanOptions::new(), Default::default());
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
    /// let o = disque::scan_options::QueueScanOptions::new().count(50);
    /// assert_eq!(o.get_count(), Some(50));
    /// ```
    pub const fn count(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }

    /// `BUSYLOOP`: scan everything in one call, blocking the server meanwhile.
    ///
    /// ```
    /// assert!(disque::scan_options::QueueScanOptions::new().busyloop(true).get_busyloop());
    /// ```
    pub const fn busyloop(mut self, on: bool) -> Self {
        self.busyloop = on;
        self
    }

    /// `MINLEN n`: only queues holding at least `n` jobs.
    ///
    /// ```
    /// assert_eq!(disque::scan_options::QueueScanOptions::new().minlen(1).get_minlen(), Some(1));
    /// ```
    pub const fn minlen(mut self, n: u64) -> Self {
        self.minlen = Some(n);
        self
    }

    /// `MAXLEN n`: only queues holding at most `n` jobs.
    ///
    /// ```
    /// assert_eq!(disque::scan_options::QueueScanOptions::new().maxlen(9).get_maxlen(), Some(9));
    /// ```
    pub const fn maxlen(mut self, n: u64) -> Self {
        self.maxlen = Some(n);
        self
    }

    /// `IMPORTRATE n`: only queues importing at least `n` jobs per second from
    /// other nodes.
    ///
    /// ```
    /// let o = disque::scan_options::QueueScanOptions::new().import_rate(5);
    /// assert_eq!(o.get_import_rate(), Some(5));
    /// ```
    pub const fn import_rate(mut self, n: u64) -> Self {
        self.import_rate = Some(n);
        self
    }

    /// The COUNT hint, if set.
    ///
    /// ```
    /// assert_eq!(disque::scan_options::QueueScanOptions::new().get_count(), None);
    /// ```
    pub const fn get_count(&self) -> Option<u32> {
        self.count
    }

    /// Whether BUSYLOOP is set.
    ///
    /// ```
    /// assert!(!disque::scan_options::QueueScanOptions::new().get_busyloop());
    /// ```
    pub const fn get_busyloop(&self) -> bool {
        self.busyloop
    }

    /// The MINLEN filter, if set.
    ///
    /// ```
    /// assert_eq!(disque::scan_options::QueueScanOptions::new().get_minlen(), None);
    /// ```
    pub const fn get_minlen(&self) -> Option<u64> {
        self.minlen
    }

    /// The MAXLEN filter, if set.
    ///
    /// ```
    /// assert_eq!(disque::scan_options::QueueScanOptions::new().get_maxlen(), None);
    /// ```
    pub const fn get_maxlen(&self) -> Option<u64> {
        self.maxlen
    }

    /// The IMPORTRATE filter, if set.
    ///
    /// ```
    /// assert_eq!(disque::scan_options::QueueScanOptions::new().get_import_rate(), None);
    /// ```
    pub const fn get_import_rate(&self) -> Option<u64> {
        self.import_rate
    }

    /// Appends the options set (`COUNT`, `BUSYLOOP`, `MINLEN`, `MAXLEN`,
    /// `IMPORTRATE`) to `cmd`.
    ///
    /// ```
    /// let mut cmd = redis::cmd("QSCAN");
    /// disque::scan_options::QueueScanOptions::new().busyloop(true).append_args(&mut cmd);
    /// assert_eq!(cmd.get_packed_command(), redis::cmd("QSCAN").arg("BUSYLOOP").get_packed_command());
    /// ```
    pub fn append_args(&self, cmd: &mut redis::Cmd) {
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
/// everything SHOW would (`REPLY all`).
///
/// ```
/// use disque::scan_options::JobScanReply;
/// assert_eq!(JobScanReply::All.as_arg(), "all");
/// assert_eq!(JobScanReply::default(), JobScanReply::Id);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum JobScanReply {
    /// Job ids: parse pages with [`parse_jscan_ids`](crate::reply::parse_jscan_ids).
    #[default]
    Id,
    /// SHOW-like entries: parse pages with [`parse_jscan_all`](crate::reply::parse_jscan_all).
    All,
}

impl JobScanReply {
    /// The word Disque takes: `id` or `all`.
    ///
    /// ```
    /// assert_eq!(disque::scan_options::JobScanReply::Id.as_arg(), "id");
    /// ```
    pub const fn as_arg(self) -> &'static str {
        match self {
            JobScanReply::Id => "id",
            JobScanReply::All => "all",
        }
    }
}

/// Options of JSCAN: page size hint, filters on queue and state, and the
/// reply kind.
///
/// ```
/// use disque::{reply::JobState, scan_options::{JobScanOptions, JobScanReply}};
///
/// let opts = JobScanOptions::new()
///     .queue("emails")
///     .state(JobState::Active)
///     .reply(JobScanReply::All);
/// let mut cmd = redis::cmd("JSCAN");
/// cmd.arg(0);
/// opts.append_args(&mut cmd);
/// assert_eq!(cmd.get_packed_command(), redis::cmd("JSCAN")
///     .arg(&["0", "QUEUE", "emails", "STATE", "active", "REPLY", "all"]).get_packed_command());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct JobScanOptions {
    count: Option<u32>,
    busyloop: bool,
    queue: Option<String>,
    states: Vec<JobState>,
    reply: JobScanReply,
}

impl JobScanOptions {
    /// No filter: every job, ids only, Disque's default page size.
    ///
    /// ```
    /// assert_eq!(disque::scan_options::JobScanOptions::new(), Default::default());
    /// ```
    pub const fn new() -> Self {
        Self {
            count: None,
            busyloop: false,
            queue: None,
            states: Vec::new(),
            reply: JobScanReply::Id,
        }
    }

    /// `COUNT n`: how much work to do per call, a hint for the page size
    /// (Disque's default: 10).
    ///
    /// ```
    /// assert_eq!(disque::scan_options::JobScanOptions::new().count(100).get_count(), Some(100));
    /// ```
    pub fn count(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }

    /// `BUSYLOOP`: scan everything in one call, blocking the server meanwhile.
    ///
    /// ```
    /// assert!(disque::scan_options::JobScanOptions::new().busyloop(true).get_busyloop());
    /// ```
    pub fn busyloop(mut self, on: bool) -> Self {
        self.busyloop = on;
        self
    }

    /// `QUEUE q`: only jobs of queue `q`.
    ///
    /// ```
    /// let o = disque::scan_options::JobScanOptions::new().queue("emails");
    /// assert_eq!(o.get_queue(), Some("emails"));
    /// ```
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = Some(queue.into());
        self
    }

    /// `STATE s`: only jobs in state `s`; call it again to accept several
    /// states.
    ///
    /// ```
    /// use disque::{reply::JobState, scan_options::JobScanOptions};
    /// let o = JobScanOptions::new().state(JobState::Queued).state(JobState::Active);
    /// assert_eq!(o.get_states(), [JobState::Queued, JobState::Active]);
    /// ```
    pub fn state(mut self, state: JobState) -> Self {
        self.states.push(state);
        self
    }

    /// `REPLY id|all`: ids only (the default) or SHOW-like entries.
    ///
    /// ```
    /// use disque::scan_options::{JobScanOptions, JobScanReply};
    /// let o = JobScanOptions::new().reply(JobScanReply::All);
    /// assert_eq!(o.get_reply(), JobScanReply::All);
    /// ```
    pub fn reply(mut self, reply: JobScanReply) -> Self {
        self.reply = reply;
        self
    }

    /// The COUNT hint, if set.
    ///
    /// ```
    /// assert_eq!(disque::scan_options::JobScanOptions::new().get_count(), None);
    /// ```
    pub fn get_count(&self) -> Option<u32> {
        self.count
    }

    /// Whether BUSYLOOP is set.
    ///
    /// ```
    /// assert!(!disque::scan_options::JobScanOptions::new().get_busyloop());
    /// ```
    pub fn get_busyloop(&self) -> bool {
        self.busyloop
    }

    /// The queue filter, if set.
    ///
    /// ```
    /// assert_eq!(disque::scan_options::JobScanOptions::new().get_queue(), None);
    /// ```
    pub fn get_queue(&self) -> Option<&str> {
        self.queue.as_deref()
    }

    /// The states accepted (empty: all).
    ///
    /// ```
    /// assert!(disque::scan_options::JobScanOptions::new().get_states().is_empty());
    /// ```
    pub fn get_states(&self) -> &[JobState] {
        &self.states
    }

    /// The reply kind: which parser reads the pages.
    ///
    /// ```
    /// use disque::scan_options::{JobScanOptions, JobScanReply};
    /// assert_eq!(JobScanOptions::new().get_reply(), JobScanReply::Id);
    /// ```
    pub fn get_reply(&self) -> JobScanReply {
        self.reply
    }

    /// Appends the options set (`COUNT`, `BUSYLOOP`, `QUEUE`, each `STATE`, and
    /// `REPLY all` when asked for) to `cmd`.
    ///
    /// ```
    /// let mut cmd = redis::cmd("JSCAN");
    /// disque::scan_options::JobScanOptions::new().count(5).append_args(&mut cmd);
    /// assert_eq!(cmd.get_packed_command(), redis::cmd("JSCAN").arg(&["COUNT", "5"]).get_packed_command());
    /// ```
    pub fn append_args(&self, cmd: &mut redis::Cmd) {
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
        if self.reply == JobScanReply::All {
            cmd.arg("REPLY").arg(JobScanReply::All.as_arg());
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
        let mut cmd = redis::cmd("JSCAN");
        cmd.arg(0);
        o.append_args(&mut cmd);
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
        let ids = JobScanOptions::new().reply(JobScanReply::Id);
        assert_eq!(jscan(&ids), ["JSCAN", "0"]);
    }

    #[test]
    fn jscan_sends_every_option_and_repeats_state() {
        // golden/jscan_state.json: STATE queued STATE active.
        let o = JobScanOptions::new()
            .count(1)
            .busyloop(true)
            .queue("jscan_state")
            .state(JobState::Queued)
            .state(JobState::Active)
            .reply(JobScanReply::All);
        assert_eq!(
            jscan(&o),
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
