//! How to start a node: [`Config`], a value type with chainable setters.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::AppendFsync;

/// How to start a node.
///
/// `#[non_exhaustive]`: build it from [`Config::default`] and the setters
/// (each named like the field it sets), so that new options are not a
/// breaking change. Fields are public for reading.
///
/// ```
/// use disque_embedded::Config;
/// let config = Config::default()
///     .addr(([127, 0, 0, 1], 0))
///     .requirepass("secret")
///     .max_clients(100);
/// assert_eq!(config.addr.port(), 0);
/// assert_eq!(config.requirepass.as_deref(), Some("secret"));
/// assert_eq!(config.max_clients, 100);
///
/// let default = Config::default();
/// assert_eq!(default.addr.port(), 7711);
/// assert!(default.addr.ip().is_loopback());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Address to bind; port 0 picks a free port (default `127.0.0.1:7711`).
    pub addr: SocketAddr,
    /// `--requirepass`: clients must AUTH first (default none).
    pub requirepass: Option<String>,
    /// Most clients connected at once; more are refused with an error
    /// (default 10,000).
    pub max_clients: usize,
    /// Largest per-client query buffer, in bytes (default 1 GiB, like Redis).
    pub max_query_buffer: usize,
    /// Largest bulk string in a request, in bytes (default 512 MiB, like Redis).
    pub max_bulk_len: usize,
    /// `--appendonly`: log every change to the append-only file and load
    /// it at start (default off, like Disque). See "Persistence" in the
    /// crate docs.
    pub appendonly: bool,
    /// `--appendfsync`: when the file is flushed to disk (default
    /// `everysec`).
    pub appendfsync: AppendFsync,
    /// `--dir`: the directory of the append-only file (default `.`).
    pub dir: PathBuf,
    /// `--appendfilename`: the file's name in `dir` (default `disque.aof`,
    /// Disque's).
    pub appendfilename: String,
    /// `auto-aof-rewrite-percentage`: rewrite the file once it grew by this
    /// many percent since the last rewrite (or the start); 0 = never
    /// (default 100).
    pub auto_aof_rewrite_percentage: u64,
    /// `auto-aof-rewrite-min-size`: no automatic rewrite below this size,
    /// in bytes (default 64 MiB).
    pub auto_aof_rewrite_min_size: u64,
    /// `maxmemory`: the memory the node may account for its jobs and
    /// queues, in bytes; 0 for no limit (default 1 GiB, like Disque). Over
    /// 75 % of it ADDJOB is refused with Disque's `-NOREPL … I'm out of
    /// memory`; CONFIG SET maxmemory changes it.
    pub maxmemory: u64,
    /// Give freed memory back to the OS once the load falls (default on):
    /// see [`Config::trim_memory()`].
    pub trim_memory: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 7711)),
            requirepass: None,
            max_clients: 10_000,
            max_query_buffer: 1024 * 1024 * 1024,
            max_bulk_len: 512 * 1024 * 1024,
            appendonly: false,
            appendfsync: AppendFsync::EverySec,
            dir: PathBuf::from("."),
            appendfilename: crate::aof::DEFAULT_FILENAME.to_owned(),
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 * 1024 * 1024,
            maxmemory: crate::state::DEFAULT_MAXMEMORY,
            trim_memory: true,
        }
    }
}

impl Config {
    /// The address to bind; port 0 picks a free port.
    ///
    /// ```
    /// let config = disque_embedded::Config::default().addr(([127, 0, 0, 1], 0));
    /// assert_eq!(config.addr, "127.0.0.1:0".parse().unwrap());
    /// ```
    #[must_use]
    pub fn addr(mut self, addr: impl Into<SocketAddr>) -> Self {
        self.addr = addr.into();
        self
    }

    /// The password clients must give with AUTH; an empty one means none
    /// (as `requirepass ""` does in Disque).
    ///
    /// ```
    /// let config = disque_embedded::Config::default().requirepass("sesame");
    /// assert_eq!(config.requirepass.as_deref(), Some("sesame"));
    /// assert_eq!(config.requirepass("").requirepass, None);
    /// ```
    #[must_use]
    pub fn requirepass(mut self, password: impl Into<String>) -> Self {
        let password = password.into();
        self.requirepass = (!password.is_empty()).then_some(password);
        self
    }

    /// The most clients connected at once.
    ///
    /// ```
    /// let config = disque_embedded::Config::default().max_clients(2);
    /// assert_eq!(config.max_clients, 2);
    /// ```
    #[must_use]
    pub fn max_clients(mut self, max_clients: usize) -> Self {
        self.max_clients = max_clients;
        self
    }

    /// The largest per-client query buffer, in bytes.
    ///
    /// ```
    /// let config = disque_embedded::Config::default().max_query_buffer(64 * 1024);
    /// assert_eq!(config.max_query_buffer, 64 * 1024);
    /// ```
    #[must_use]
    pub fn max_query_buffer(mut self, bytes: usize) -> Self {
        self.max_query_buffer = bytes;
        self
    }

    /// The largest bulk string accepted in a request, in bytes.
    ///
    /// ```
    /// let config = disque_embedded::Config::default().max_bulk_len(1024);
    /// assert_eq!(config.max_bulk_len, 1024);
    /// ```
    #[must_use]
    pub fn max_bulk_len(mut self, bytes: usize) -> Self {
        self.max_bulk_len = bytes;
        self
    }

    /// Keep the jobs in the append-only file and load it at start
    /// (`--appendonly yes`).
    ///
    /// ```
    /// let config = disque_embedded::Config::default().appendonly(true);
    /// assert!(config.appendonly);
    /// ```
    #[must_use]
    pub fn appendonly(mut self, on: bool) -> Self {
        self.appendonly = on;
        self
    }

    /// When the append-only file is fsynced.
    ///
    /// ```
    /// use disque_embedded::{AppendFsync, Config};
    /// let config = Config::default().appendfsync(AppendFsync::Always);
    /// assert_eq!(config.appendfsync, AppendFsync::Always);
    /// ```
    #[must_use]
    pub fn appendfsync(mut self, mode: AppendFsync) -> Self {
        self.appendfsync = mode;
        self
    }

    /// The directory of the append-only file.
    ///
    /// ```
    /// let config = disque_embedded::Config::default().dir("/var/lib/disque");
    /// assert_eq!(config.dir, std::path::Path::new("/var/lib/disque"));
    /// ```
    #[must_use]
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = dir.into();
        self
    }

    /// The append-only file's name in [`Config::dir()`].
    ///
    /// ```
    /// let config = disque_embedded::Config::default().appendfilename("jobs.aof");
    /// assert_eq!(config.appendfilename, "jobs.aof");
    /// ```
    #[must_use]
    pub fn appendfilename(mut self, name: impl Into<String>) -> Self {
        self.appendfilename = name.into();
        self
    }

    /// Growth, in percent of the size after the last rewrite, that starts
    /// an automatic rewrite (0: never).
    ///
    /// ```
    /// let config = disque_embedded::Config::default().auto_aof_rewrite_percentage(0);
    /// assert_eq!(config.auto_aof_rewrite_percentage, 0);
    /// ```
    #[must_use]
    pub fn auto_aof_rewrite_percentage(mut self, percent: u64) -> Self {
        self.auto_aof_rewrite_percentage = percent;
        self
    }

    /// Size under which no automatic rewrite starts, in bytes.
    ///
    /// ```
    /// let config = disque_embedded::Config::default().auto_aof_rewrite_min_size(1 << 20);
    /// assert_eq!(config.auto_aof_rewrite_min_size, 1 << 20);
    /// ```
    #[must_use]
    pub fn auto_aof_rewrite_min_size(mut self, bytes: u64) -> Self {
        self.auto_aof_rewrite_min_size = bytes;
        self
    }

    /// The memory limit, in bytes; 0 for none.
    ///
    /// ```
    /// let config = disque_embedded::Config::default().maxmemory(64 * 1024 * 1024);
    /// assert_eq!(config.maxmemory, 64 * 1024 * 1024);
    /// assert_eq!(disque_embedded::Config::default().maxmemory, 1 << 30);
    /// ```
    #[must_use]
    pub fn maxmemory(mut self, bytes: u64) -> Self {
        self.maxmemory = bytes;
        self
    }

    /// Whether to give freed memory back to the OS once the load falls
    /// (default on). glibc's malloc keeps most of what a burst of jobs
    /// freed; on Linux with glibc the node then calls `malloc_trim`, which
    /// returns the free pages of every arena, once the memory it accounts
    /// for fell under half of its high point since the last trim (a high
    /// point of at least 16 MiB; at most once a second). The call is
    /// process-wide, so in-process it also trims the memory the rest of the
    /// program freed; it never touches memory in use. A trim walks the heap
    /// under malloc's locks (13-16 ms after 250 MB of 1 KiB jobs were
    /// freed, measured), so turn it off if such a pause matters more than
    /// the memory. No effect on other
    /// targets. [`Node::memory_trims`](crate::Node::memory_trims) counts
    /// the trims.
    ///
    /// ```
    /// let config = disque_embedded::Config::default().trim_memory(false);
    /// assert!(!config.trim_memory);
    /// assert!(disque_embedded::Config::default().trim_memory);
    /// ```
    #[must_use]
    pub fn trim_memory(mut self, on: bool) -> Self {
        self.trim_memory = on;
        self
    }
}

/// Parses a memory amount the way Disque's configuration does: digits and
/// an optional unit, `b`, `k` (1000), `kb` (1024), `m`, `mb`, `g`, `gb`,
/// case-insensitive. Negative or malformed amounts are `None`.
///
/// ```
/// use disque_embedded::parse_memory;
/// assert_eq!(parse_memory("512mb"), Some(512 * 1024 * 1024));
/// assert_eq!(parse_memory("1g"), Some(1_000_000_000));
/// assert_eq!(parse_memory("lots"), None);
/// ```
pub fn parse_memory(s: &str) -> Option<u64> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let (number, unit) = s.split_at(digits);
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    number.parse::<u64>().ok()?.checked_mul(mul)
}

#[cfg(test)]
mod tests {
    use super::parse_memory;

    #[test]
    fn memory_amounts_parse_like_disque() {
        assert_eq!(parse_memory("0"), Some(0));
        assert_eq!(parse_memory("100"), Some(100));
        assert_eq!(parse_memory("100b"), Some(100));
        assert_eq!(parse_memory("2k"), Some(2000));
        assert_eq!(parse_memory("2KB"), Some(2048));
        assert_eq!(parse_memory("3m"), Some(3_000_000));
        assert_eq!(parse_memory("3mb"), Some(3 << 20));
        assert_eq!(parse_memory("1g"), Some(1_000_000_000));
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        for bad in ["", "-1", "1x", "gb", "1 gb", "99999999999999999999"] {
            assert_eq!(parse_memory(bad), None, "{bad}");
        }
    }
}
