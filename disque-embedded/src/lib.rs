//! A single-node Disque-compatible server, in-process or standalone.
//!
//! It speaks RESP2 and answers every single-node Disque 1.0-rc1 command
//! with Disque's exact replies: a local Disque for development and a test
//! fixture for clients. The binary `disque-embedded` runs it standalone
//! (`--port`, default 7711; `--bind`, default 127.0.0.1; `--requirepass`;
//! `--appendonly yes` to keep the jobs across restarts, see
//! [Persistence](#persistence); `--help` lists every option).
//!
//! How it is built (like mini-redis):
//! - `frame`: RESP requests in, replies out;
//! - `server`: the accept loop, the client cap, the 100 ms timer task and
//!   shutdown (a watch channel; `run` returns once every task is done);
//!   the timer also gives freed memory back to the OS once the load falls
//!   (`trim`, see [`Config::trim_memory()`]);
//! - `connection`: one task per client; it runs every complete request
//!   already buffered under one lock of the state and writes all their
//!   replies at once, which is what makes pipelining fast;
//! - `cmd`: Disque's command table and one module per command family
//!   (parse the arguments with Disque's exact checks, apply, reply);
//! - `state`: jobs (one hash table of compact boxed records keyed by the
//!   id's random bits), queues (ordered by creation time), timers (ordered
//!   by due time, so a tick costs O(jobs due)) and blocked clients;
//! - `aof`: append-only persistence (below).
//!
//! # Persistence
//!
//! Off by default, like Disque: the node keeps its jobs in memory only and
//! a restart loses them. With [`Config::appendonly()`] (`--appendonly yes`)
//! every change that matters is appended to `dir/appendfilename`
//! (`./disque.aof` by default) and the file is loaded at start, before the
//! node listens:
//!
//! - queued jobs come back queued (in creation order), delivered (active)
//!   jobs come back active and are queued again once their RETRY passes
//!   (counted as an additional delivery), acknowledged and deleted jobs stay
//!   gone, counters (NACKs, additional deliveries) are kept, TTLs count from
//!   each job's creation (jobs that expired meanwhile are dropped). The node
//!   keeps its node id (job ids embed it). Queues' pause states and the
//!   queue counters of QSTAT are not kept (Disque keeps them neither).
//! - [`AppendFsync::Always`]: a command that changed something (ADDJOB,
//!   ACKJOB, …) is answered only once its record is fsynced. One writer
//!   thread takes the records of every client that arrived meanwhile and
//!   makes them durable with one `write` and one `fsync` (group commit).
//!   [`AppendFsync::EverySec`] (the default) writes every few milliseconds
//!   and fsyncs once a second; [`AppendFsync::No`] leaves flushing to the
//!   OS. A crash of the process loses at most the records not yet written
//!   (milliseconds); of the machine, what was not fsynced.
//! - `BGREWRITEAOF` compacts the file without blocking clients: the job
//!   table is walked a chunk at a time, its live jobs written whole to
//!   `temp-rewriteaof-<appendfilename>`; the records logged meanwhile are
//!   kept and appended to it, then it is fsynced and renamed over the file.
//!   The node does the same by itself once the file grew by
//!   [`Config::auto_aof_rewrite_percentage()`] since the last rewrite and is
//!   larger than [`Config::auto_aof_rewrite_min_size()`]. `CONFIG GET/SET`
//!   `appendonly`, `appendfsync`, `dir`, `auto-aof-rewrite-percentage`,
//!   `auto-aof-rewrite-min-size` (and GET `appendfilename`) and `INFO
//!   persistence` behave as Disque's.
//!
//! ## File format (version 1)
//!
//! All integers little-endian. A header of 56 bytes: the magic
//! `DQEAOF\r\n`, the version (`u32`, 1), the node id (40 ASCII hex bytes),
//! and the CRC-32 (IEEE) of those 52 bytes (`u32`). Then records, each
//! `len: u32` (of the payload), `crc: u32` (CRC-32 of the 4 bytes of `len`
//! followed by the payload), and the payload, whose first byte is its kind:
//!
//! | kind | record | payload after the kind byte |
//! |------|--------|-----------------------------|
//! | 1 | ADD: a new job (ADDJOB), or a live job written whole by a rewrite | key `hi: u64, lo: u64` (the id's first 128 random bits), `tail: u16` (its last 16), `ttl_field: u16` (the id's last 4 hex digits), `ctime: u64` (ms × 1 000 000), `etime: u64` (unix s), `qtime: u64` (next queueing, unix ms, 0 = never), `retry: u32`, `delay: u32`, `nacks: u32`, `additional_deliveries: u32`, `repl: u16`, `state: u8` (0 wait-repl, 1 active, 2 queued, 3 acked), `flags: u8` (1 delivered, 2 queued once), queue (`u32` length + bytes), body (`u32` length + bytes) |
//! | 2 | UPDATE: new state and counters (delivery by GETJOB, NACK, WORKING, ENQUEUE, DEQUEUE, re-queue after RETRY) | key, `state: u8`, `flags: u8`, `nacks: u32`, `additional_deliveries: u32`, `qtime: u64` |
//! | 3 | DEL: the job is gone (ACKJOB, FASTACK, DELJOB, expiry) | key |
//! | 4 | FLUSHALL: every job is gone (DEBUG FLUSHALL) | — |
//!
//! Every record states a job's whole state (or absence), so replaying one
//! twice is harmless: that is what lets a rewrite's snapshot be taken while
//! clients go on. Loading: a record cut short or failing its checksum with
//! no valid record after it is the torn tail of a crash in the middle of a
//! write: the file is truncated there with a log line and the node starts.
//! A bad record followed by valid ones is corruption: the node refuses to
//! start, with an error naming the record's offset. A file of another format
//! (a real Disque's AOF, or a later version of this one) is refused.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let node = disque_embedded::Node::start_ephemeral().await?;
//! println!("Disque-compatible node on {}", node.addr());
//! node.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod aof;
mod clients;
mod cmd;
mod config;
mod connection;
pub mod frame;
mod monitor;
mod replies;
mod server;
mod shared;
mod state;
mod trim;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use cmd::cluster::Peer;
pub use config::{parse_memory, Config};
use shared::Shared;

pub use aof::AppendFsync;

/// A running node; dropping it stops it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use disque_embedded::{Config, Node};
/// let node = Node::start(Config::default().addr(([127, 0, 0, 1], 0))).await?;
/// assert_ne!(node.addr().port(), 0);
/// node.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Node {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl Node {
    /// Binds `config.addr` and starts serving on the current tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let config = disque_embedded::Config::default()
    ///     .addr(([127, 0, 0, 1], 0))
    ///     .requirepass("secret");
    /// let node = disque_embedded::Node::start(config).await?;
    /// node.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start(config: Config) -> std::io::Result<Node> {
        let listener = TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(
            addr.port(),
            config.requirepass.clone(),
            config.max_clients,
        ));
        shared.db().set_maxmemory(config.maxmemory);
        shared
            .aof
            .update_settings(|s| *s = aof::settings_of(&config));
        {
            let shared = shared.clone();
            tokio::task::spawn_blocking(move || aof::start(&shared))
                .await
                .map_err(std::io::Error::other)??;
        }
        aof::spawn_maintenance(&shared);
        // A record holds a body of at most 4 GiB.
        let max_bulk_len = if config.appendonly {
            config.max_bulk_len.min(3 << 30)
        } else {
            config.max_bulk_len
        };
        let limits = frame::Limits {
            max_bulk_len,
            max_query_buffer: config.max_query_buffer,
            ..frame::Limits::default()
        };
        let task = tokio::spawn(server::run(
            listener,
            shared.clone(),
            limits,
            config.max_clients,
            config.trim_memory,
        ));
        Ok(Node {
            addr,
            shared,
            task: Some(task),
        })
    }

    /// Starts a node on a free loopback port (`127.0.0.1:0`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let node = disque_embedded::Node::start_ephemeral().await?;
    /// assert!(node.addr().ip().is_loopback());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start_ephemeral() -> std::io::Result<Node> {
        Self::start(Config::default().addr(([127, 0, 0, 1], 0))).await
    }

    /// The address the node listens on.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let node = disque_embedded::Node::start_ephemeral().await?;
    /// let _conn = tokio::net::TcpStream::connect(node.addr()).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// This node's id (40 hex characters), as HELLO and CLUSTER MYID report
    /// it; the ids of the jobs it creates carry its first 8 characters.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let node = disque_embedded::Node::start_ephemeral().await?;
    /// assert_eq!(node.node_id().len(), 40);
    /// # Ok(())
    /// # }
    /// ```
    pub fn node_id(&self) -> String {
        self.shared.db().node_id().to_owned()
    }

    /// Sets (or clears) "leaving the cluster", like `CLUSTER LEAVING yes|no`:
    /// HELLO then reports this node with priority 100, GETJOB still hands out
    /// the jobs it holds but answers `-LEAVING` where it would block (clients
    /// already blocked get it at once), and ADDJOB is refused with NOREPL.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let node = disque_embedded::Node::start_ephemeral().await?;
    /// node.set_leaving(true);
    /// assert!(node.is_leaving());
    /// node.set_leaving(false);
    /// assert!(!node.is_leaving());
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_leaving(&self, leaving: bool) {
        self.shared.cluster.set_leaving(leaving);
    }

    /// Whether the node is leaving the cluster ([`Node::set_leaving`] or
    /// `CLUSTER LEAVING yes`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let node = disque_embedded::Node::start_ephemeral().await?;
    /// assert!(!node.is_leaving());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_leaving(&self) -> bool {
        self.shared.cluster.is_leaving()
    }

    /// For client tests: the membership this node *presents* in HELLO,
    /// CLUSTER NODES and CLUSTER INFO (replacing any earlier one; empty
    /// makes it a lone node again). The node never contacts its peers and
    /// never replicates: every job command keeps answering as a lone Disque
    /// (ADDJOB with REPLICATE 2 is still refused with NOREPL), and
    /// `CLUSTER MEET` stays refused. With peers set, HELLO shows this node's
    /// own IP (a lone Disque shows `""`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use disque_embedded::Node;
    /// let (a, b) = (Node::start_ephemeral().await?, Node::start_ephemeral().await?);
    /// a.set_peers([b.peer()]);
    /// b.set_peers([a.peer()]);
    /// b.set_leaving(true); // `a`'s HELLO now lists `b` with priority 100
    /// assert_eq!(a.peers()[0].priority(), 100);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_peers(&self, peers: impl IntoIterator<Item = Peer>) {
        self.shared
            .cluster
            .set_peers(self.addr.ip(), peers.into_iter().collect());
    }

    /// The peers this node presents (see [`Node::set_peers`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let node = disque_embedded::Node::start_ephemeral().await?;
    /// assert!(node.peers().is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn peers(&self) -> Vec<Peer> {
        self.shared.cluster.peers()
    }

    /// This node as a [`Peer`] for another node's [`Node::set_peers`]: its
    /// id and address, priority 1 while it runs, 100 while it is leaving and
    /// 5 once it is stopped (as the nodes of a real Disque cluster list a dead
    /// node until its failure is detected, 15 s later) — see [`Peer::priority`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let node = disque_embedded::Node::start_ephemeral().await?;
    /// let peer = node.peer();
    /// assert_eq!((peer.id(), peer.addr()), (node.node_id().as_str(), node.addr()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn peer(&self) -> Peer {
        Peer::live(self.node_id(), self.addr, &self.shared)
    }

    /// How many times this node gave freed memory back to the OS: with
    /// [`Config::trim_memory()`] on (the default), on Linux with glibc, its
    /// timer calls glibc's `malloc_trim` once the memory it accounts for
    /// (INFO's `used_memory`) fell under half of its high point since the
    /// last trim, that high point being at least 16 MiB; at most once a
    /// second. Always 0 on other targets.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let node = disque_embedded::Node::start_ephemeral().await?;
    /// assert_eq!(node.memory_trims(), 0, "nothing was freed yet");
    /// # Ok(())
    /// # }
    /// ```
    pub fn memory_trims(&self) -> u64 {
        self.shared
            .stats
            .memory_trims
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Resolves once the node was asked to stop (e.g. by a `SHUTDOWN`
    /// command), so a binary can exit.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use tokio::io::AsyncWriteExt;
    /// let node = disque_embedded::Node::start_ephemeral().await?;
    /// let mut conn = tokio::net::TcpStream::connect(node.addr()).await?;
    /// conn.write_all(b"SHUTDOWN\r\n").await?;
    /// node.stopped().await;
    /// node.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn stopped(&self) {
        let mut rx = self.shared.shutdown.subscribe();
        let _ = rx.wait_for(|stop| *stop).await;
    }

    /// Stops the node and waits until its connections are closed.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let node = disque_embedded::Node::start_ephemeral().await?;
    /// let addr = node.addr();
    /// node.shutdown().await;
    /// assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn shutdown(mut self) {
        self.shared.trigger_shutdown();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let shared = self.shared.clone();
        let _ = tokio::task::spawn_blocking(move || shared.aof.close()).await;
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.shared.trigger_shutdown();
        // Dropped without `shutdown`: still flush the append-only file once
        // the connections are done.
        if let (Some(task), Ok(rt)) = (self.task.take(), tokio::runtime::Handle::try_current()) {
            let shared = self.shared.clone();
            rt.spawn(async move {
                let _ = task.await;
                let _ = tokio::task::spawn_blocking(move || shared.aof.close()).await;
            });
        }
    }
}
