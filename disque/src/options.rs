//! Per-job options (ADDJOB) and consume options (GETJOB).

use std::time::Duration;

/// Options of `ADDJOB`: set as a client's defaults, for one call, or per job type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobOptions {
    timeout: Option<Duration>,
    replicate: Option<u16>,
    delay: Option<Duration>,
    retry: Option<Duration>,
    ttl: Option<Duration>,
    maxlen: Option<u32>,
    asynchronous: Option<bool>,
}

impl JobOptions {
    /// No option set: Disque's defaults apply.
    pub const fn new() -> Self {
        Self {
            timeout: None,
            replicate: None,
            delay: None,
            retry: None,
            ttl: None,
            maxlen: None,
            asynchronous: None,
        }
    }
    /// `ADDJOB … <ms-timeout>`: how long to wait for replication.
    pub const fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
    /// `REPLICATE n`.
    pub const fn replicate(mut self, n: u16) -> Self {
        self.replicate = Some(n);
        self
    }
    /// `DELAY s`.
    pub const fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
    /// `RETRY s` (zero: at most once).
    pub const fn retry(mut self, retry: Duration) -> Self {
        self.retry = Some(retry);
        self
    }
    /// `TTL s`.
    pub const fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }
    /// `MAXLEN n`.
    pub const fn maxlen(mut self, n: u32) -> Self {
        self.maxlen = Some(n);
        self
    }
    /// `ASYNC`.
    pub const fn asynchronous(mut self, on: bool) -> Self {
        self.asynchronous = Some(on);
        self
    }
}
