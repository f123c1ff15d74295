//! The connected clients as CLIENT LIST and CLIENT KILL see them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::time::Instant;

/// One connected client.
#[derive(Debug)]
pub struct ClientEntry {
    /// Unique, increasing from 1.
    pub id: u64,
    /// The peer's address.
    pub addr: SocketAddr,
    /// The socket's file descriptor (-1 where there is none).
    pub fd: i64,
    /// When it connected.
    pub created: Instant,
    /// Milliseconds after `created` of its last command.
    last_active_ms: AtomicU64,
    /// The name given with CLIENT SETNAME.
    name: Mutex<Option<String>>,
    /// Index in the command table of its last command (`usize::MAX`: none).
    last_cmd: AtomicUsize,
    /// Bytes waiting in its query buffer.
    pub qbuf: AtomicUsize,
    /// Free bytes in its query buffer.
    pub qbuf_free: AtomicUsize,
    /// Blocked in GETJOB.
    pub blocked: AtomicBool,
    killed: AtomicBool,
    kill: Notify,
}

impl ClientEntry {
    /// The name, if set.
    pub fn name(&self) -> Option<String> {
        self.name.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sets or clears the name.
    pub fn set_name(&self, name: Option<String>) {
        *self.name.lock().unwrap_or_else(|e| e.into_inner()) = name;
    }

    /// Notes a command (its index in the command table) run at `at`.
    pub fn touch(&self, at: Instant, cmd: usize) {
        let ms = at.saturating_duration_since(self.created).as_millis() as u64;
        self.last_active_ms.store(ms, Ordering::Relaxed);
        self.last_cmd.store(cmd, Ordering::Relaxed);
    }

    /// Index of the last command in the command table.
    pub fn last_cmd(&self) -> Option<usize> {
        match self.last_cmd.load(Ordering::Relaxed) {
            usize::MAX => None,
            i => Some(i),
        }
    }

    /// Seconds since its last command.
    pub fn idle_secs(&self) -> u64 {
        let now = self.created.elapsed().as_millis() as u64;
        now.saturating_sub(self.last_active_ms.load(Ordering::Relaxed)) / 1000
    }

    /// Asks its connection to close (CLIENT KILL).
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Relaxed);
        self.kill.notify_one();
    }

    /// Whether CLIENT KILL named it.
    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Relaxed)
    }

    /// Resolves once CLIENT KILL names it.
    pub async fn killed(&self) {
        if !self.is_killed() {
            self.kill.notified().await;
        }
    }
}

/// Bytes a connection is accounted for in `used_memory`: its two 16 KiB
/// buffers and its records (like Disque, which counts client buffers).
pub const CLIENT_COST: usize = 2 * 16 * 1024 + 1024;

/// Every connected client by id.
#[derive(Debug, Default)]
pub struct Clients {
    next_id: AtomicU64,
    map: Mutex<BTreeMap<u64, Arc<ClientEntry>>>,
    /// Bytes accounted for the connections (shared with the state, which
    /// compares the total with `maxmemory`).
    bytes: Arc<AtomicUsize>,
}

/// Removes a client from the table when its connection ends.
#[derive(Debug)]
pub struct Registration<'a> {
    clients: &'a Clients,
    /// The entry.
    pub entry: Arc<ClientEntry>,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.clients.map().remove(&self.entry.id);
        self.clients.bytes.fetch_sub(CLIENT_COST, Ordering::Relaxed);
    }
}

impl Clients {
    /// An empty table that adds what its connections cost to `bytes`.
    pub fn new(bytes: Arc<AtomicUsize>) -> Clients {
        Clients {
            bytes,
            ..Clients::default()
        }
    }

    fn map(&self) -> MutexGuard<'_, BTreeMap<u64, Arc<ClientEntry>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a newly connected client.
    pub fn register(&self, addr: SocketAddr, fd: i64) -> Registration<'_> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let entry = Arc::new(ClientEntry {
            id,
            addr,
            fd,
            created: Instant::now(),
            last_active_ms: AtomicU64::new(0),
            name: Mutex::new(None),
            last_cmd: AtomicUsize::new(usize::MAX),
            qbuf: AtomicUsize::new(0),
            qbuf_free: AtomicUsize::new(0),
            blocked: AtomicBool::new(false),
            killed: AtomicBool::new(false),
            kill: Notify::new(),
        });
        self.map().insert(id, entry.clone());
        self.bytes.fetch_add(CLIENT_COST, Ordering::Relaxed);
        Registration {
            clients: self,
            entry,
        }
    }

    /// Every client, by id.
    pub fn all(&self) -> Vec<Arc<ClientEntry>> {
        self.map().values().cloned().collect()
    }
}
