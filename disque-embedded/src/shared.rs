//! What every connection and the timer task share: the state behind one
//! mutex, the clock, the configuration that CONFIG SET may change, counters.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use tokio::sync::watch;
use tokio::time::Instant;

use crate::clients::Clients;
use crate::monitor::Monitor;
use crate::state::Db;

/// Wall-clock milliseconds that advance with tokio's clock, so that tests
/// can pause and advance time.
#[derive(Debug)]
pub struct Clock {
    base_ms: u64,
    base: Instant,
}

impl Clock {
    /// A clock reading the system time now.
    pub fn new() -> Clock {
        let base_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Clock {
            base_ms,
            base: Instant::now(),
        }
    }

    /// Milliseconds since the unix epoch.
    pub fn now_ms(&self) -> u64 {
        self.ms_at(Instant::now())
    }

    /// Milliseconds since the unix epoch at `at`, a reading of tokio's
    /// clock.
    pub fn ms_at(&self, at: Instant) -> u64 {
        self.base_ms + at.saturating_duration_since(self.base).as_millis() as u64
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// Counters reported by INFO.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub connections_received: AtomicU64,
    /// Connections currently open.
    pub connected_clients: AtomicUsize,
    /// Connections refused (client cap).
    pub rejected_connections: AtomicU64,
    /// Commands executed.
    pub commands_processed: AtomicU64,
    /// Bytes read.
    pub net_input_bytes: AtomicU64,
    /// Bytes written.
    pub net_output_bytes: AtomicU64,
    /// Times freed memory was given back to the OS (`crate::trim`).
    pub memory_trims: AtomicU64,
}

impl Stats {
    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// The node-wide shared state.
#[derive(Debug)]
pub struct Shared {
    db: Mutex<Db>,
    /// The clock.
    pub clock: Clock,
    /// The port the node listens on.
    pub port: u16,
    /// `requirepass`, changeable with CONFIG SET (see [`Shared::set_password`]).
    requirepass: RwLock<Option<String>>,
    /// Whether a password is set: the per-command fast path.
    auth_required: AtomicBool,
    /// Counters.
    pub stats: Stats,
    /// Set to true to stop the node (SHUTDOWN, Node::shutdown, drop).
    pub shutdown: watch::Sender<bool>,
    /// When the node started, for INFO.
    pub started: Instant,
    /// Per-client query buffer cap, for INFO/CONFIG.
    pub max_clients: usize,
    /// Append-only persistence (off until `aof::start`).
    pub aof: Arc<crate::aof::Aof>,
    /// Leaving flag and presented peers (CLUSTER, HELLO).
    pub cluster: crate::cmd::cluster::Membership,
    /// The connected clients (CLIENT LIST/KILL).
    pub clients: Clients,
    /// The slow log and latency monitor (SLOWLOG, LATENCY).
    pub monitor: Monitor,
    /// CLIENT PAUSE: clients wait until this clock time, in ms.
    pub paused_until_ms: AtomicU64,
}

impl Shared {
    /// Shared state for a node on `port`.
    pub fn new(port: u16, requirepass: Option<String>, max_clients: usize) -> Shared {
        let (shutdown, _) = watch::channel(false);
        let db = Db::new();
        let clients = Clients::new(db.client_bytes());
        Shared {
            db: Mutex::new(db),
            clock: Clock::new(),
            port,
            auth_required: AtomicBool::new(requirepass.is_some()),
            requirepass: RwLock::new(requirepass),
            stats: Stats::default(),
            shutdown,
            started: Instant::now(),
            max_clients,
            aof: Arc::new(crate::aof::Aof::new(crate::aof::Settings::default())),
            cluster: Default::default(),
            clients,
            monitor: Monitor::default(),
            paused_until_ms: AtomicU64::new(0),
        }
    }

    /// Locks the state. A panic while holding the lock cannot leave it
    /// half-updated in a way that matters more than losing the node, so a
    /// poisoned lock is simply taken over.
    pub fn db(&self) -> MutexGuard<'_, Db> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current password, if any.
    pub fn password(&self) -> Option<String> {
        self.requirepass
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether clients must AUTH.
    pub fn auth_required(&self) -> bool {
        self.auth_required.load(Ordering::Relaxed)
    }

    /// Sets or clears (`None`) the password.
    pub fn set_password(&self, password: Option<String>) {
        let mut guard = self.requirepass.write().unwrap_or_else(|e| e.into_inner());
        self.auth_required
            .store(password.is_some(), Ordering::Relaxed);
        *guard = password;
    }

    /// Asks the node to stop.
    pub fn trigger_shutdown(&self) {
        self.shutdown.send_replace(true);
    }
}

/// Resolves once the node is asked to stop, even if that happened before
/// the call (a receiver subscribed late must not miss it).
pub async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}
