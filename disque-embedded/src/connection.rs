//! One client connection: read into a buffer, run every complete request
//! already buffered (under one lock of the state), encode all their replies
//! into one write buffer and write it once — which is what makes pipelining
//! fast.

use std::borrow::Cow;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use crate::clients::ClientEntry;
use crate::cmd::timing::Timing;
use crate::cmd::{self, Outcome, Session};
use crate::frame::{Limits, ParseError, Reply, RequestParser};
use crate::replies::Replies;
use crate::shared::{stopped, Shared, Stats};
use crate::state::Served;

/// Initial capacity of the read and write buffers.
const BUF_CAPACITY: usize = 16 * 1024;
/// Replies buffered before they are written even if more requests wait.
const MAX_PENDING_REPLIES: usize = 1024 * 1024;
/// Smallest free space offered to a read.
const MIN_READ: usize = 4096;
/// Buffers grown past this size (by a large request or reply) are given
/// back once empty, so memory returns after a large job.
const SHRINK_ABOVE: usize = 1024 * 1024;
/// Arguments a connection keeps room for between requests.
const MAX_KEPT_ARGS: usize = 1024;
/// Commands run per lock of the state before letting others in.
const COMMANDS_PER_LOCK: u32 = 128;

/// Why [`run_batch`] stopped.
enum BatchEnd {
    /// Every complete request was run; read more.
    NeedInput,
    /// The replies grew large: write them, then run the rest.
    Flush,
    /// QUIT (its `+OK` is in the write buffer), or a protocol error (its
    /// error is in the write buffer): flush and close.
    Close,
    /// SHUTDOWN: flush, stop the node, close.
    Shutdown,
    /// A GETJOB blocked.
    Wait {
        id: u64,
        rx: oneshot::Receiver<Option<Served>>,
        withcounters: bool,
        timeout_ms: u64,
    },
}

/// The per-connection buffers and state.
struct Client {
    socket: TcpStream,
    shared: Arc<Shared>,
    limits: Arc<Limits>,
    parser: RequestParser,
    /// The request being run (reused: its memory is kept).
    args: Vec<Bytes>,
    session: Session,
    rbuf: BytesMut,
    /// The replies to write.
    out: Replies,
    /// Where the replies of commands whose replies are not sent (CLIENT
    /// REPLY OFF or SKIP) go, emptied after each.
    muted: Replies,
    /// Counters not yet added to the node's (shared, contended) ones.
    pending: Pending,
    /// The AOF offset of the last change this connection's commands made
    /// and has not yet waited for (0: none).
    logged: u64,
    /// Bytes of requests parsed since `rbuf` was last renewed: past
    /// [`SHRINK_ABOVE`], `rbuf` may share its memory with large job bodies.
    parsed_since_renew: usize,
    /// The delivery record of the served GETJOB whose reply is buffered
    /// (tests check, when it is written, that the record is durable).
    #[cfg(test)]
    served_logged: u64,
}

/// Per-connection counters, added to [`Stats`] every [`FLUSH_EVERY`]
/// commands and when the connection ends, so that INFO's totals do not
/// cost a contended atomic per request.
#[derive(Default)]
struct Pending {
    commands: u64,
    input: u64,
    output: u64,
}

/// Commands between two flushes of [`Pending`].
const FLUSH_EVERY: u64 = 256;

impl Drop for Client {
    fn drop(&mut self) {
        self.flush_stats();
    }
}

/// Serves one client until it disconnects, QUITs, sends a malformed
/// request or the node shuts down.
pub async fn serve(
    socket: TcpStream,
    shared: Arc<Shared>,
    limits: Arc<Limits>,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = socket.set_nodelay(true);
    let peer = socket
        .peer_addr()
        .unwrap_or_else(|_| std::net::SocketAddr::from(([0, 0, 0, 0], 0)));
    #[cfg(unix)]
    let fd = i64::from(std::os::fd::AsRawFd::as_raw_fd(&socket));
    #[cfg(not(unix))]
    let fd = -1;
    let table = shared.clone();
    let registered = table.clients.register(peer, fd);
    let me = registered.entry.clone();
    let session = Session {
        client: Some(me.clone()),
        ..Session::default()
    };
    let mut c = Client {
        socket,
        shared,
        limits,
        parser: RequestParser::new(),
        args: Vec::new(),
        session,
        rbuf: BytesMut::with_capacity(BUF_CAPACITY),
        out: Replies::with_capacity(BUF_CAPACITY),
        muted: Replies::default(),
        pending: Pending::default(),
        logged: 0,
        parsed_since_renew: 0,
        #[cfg(test)]
        served_logged: 0,
    };
    loop {
        c.wait_unpaused().await;
        match c.run_batch() {
            BatchEnd::NeedInput => {}
            BatchEnd::Flush => {
                if !c.settle(&mut shutdown).await || c.write_out().await.is_err() {
                    return;
                }
                continue;
            }
            BatchEnd::Close => {
                if c.settle(&mut shutdown).await {
                    let _ = c.write_out().await;
                }
                return;
            }
            BatchEnd::Shutdown => {
                if c.settle(&mut shutdown).await {
                    let _ = c.write_out().await;
                }
                c.shared.trigger_shutdown();
                return;
            }
            BatchEnd::Wait {
                id,
                rx,
                withcounters,
                timeout_ms,
            } => {
                if !c.settle(&mut shutdown).await
                    || c.write_out().await.is_err()
                    || !c
                        .wait_for_job(&mut shutdown, id, rx, withcounters, timeout_ms)
                        .await
                {
                    c.shared.db().unblock(id);
                    return;
                }
                // Requests pipelined behind the GETJOB may be buffered.
                continue;
            }
        }
        if !c.settle(&mut shutdown).await
            || c.write_out().await.is_err()
            || c.rbuf.len() >= c.limits.max_query_buffer
        {
            return;
        }
        // After large requests the buffer is renewed (what little it still
        // holds is copied): its memory may be shared with large job bodies,
        // which can then be freed with their jobs, and a buffer grown large
        // is given back.
        let grown_and_empty = c.rbuf.is_empty() && c.rbuf.capacity() > SHRINK_ABOVE;
        if grown_and_empty || (c.parsed_since_renew > SHRINK_ABOVE && c.rbuf.len() < BUF_CAPACITY) {
            let mut fresh = BytesMut::with_capacity(BUF_CAPACITY);
            fresh.extend_from_slice(&c.rbuf);
            c.rbuf = fresh;
            c.parsed_since_renew = 0;
        }
        // A large argument on its way: make room for all of it at once.
        if let Some(wanted) = c.parser.wanted(&c.rbuf) {
            let wanted = wanted.min(c.limits.max_query_buffer);
            if wanted > c.rbuf.capacity() {
                c.rbuf.reserve(wanted - c.rbuf.len());
            }
        }
        // Read in large chunks even once parsed requests were split off.
        if c.rbuf.capacity() - c.rbuf.len() < MIN_READ {
            c.rbuf.reserve(BUF_CAPACITY);
        }
        me.qbuf.store(c.rbuf.len(), Ordering::Relaxed);
        me.qbuf_free
            .store(c.rbuf.capacity() - c.rbuf.len(), Ordering::Relaxed);
        tokio::select! {
            n = c.socket.read_buf(&mut c.rbuf) => match n {
                Ok(0) | Err(_) => return,
                Ok(n) => c.pending.input += n as u64,
            },
            _ = me.killed() => return,
            _ = stopped(&mut shutdown) => return,
        }
    }
}

impl Client {
    /// Waits while CLIENT PAUSE holds the clients.
    async fn wait_unpaused(&self) {
        let until = self.shared.paused_until_ms.load(Ordering::Relaxed);
        if until == 0 {
            return;
        }
        let now = self.shared.clock.now_ms();
        if until > now {
            tokio::time::sleep(Duration::from_millis(until - now)).await;
        }
    }

    /// Runs every complete request already buffered, synchronously.
    fn run_batch(&mut self) -> BatchEnd {
        let shared = &*self.shared;
        let mut guard = None;
        let mut time = None;
        let mut held = 0;
        let mut processed = 0u64;
        let end = loop {
            if self.out.buf.len() >= MAX_PENDING_REPLIES || self.out.chunks.len() >= 64 {
                break BatchEnd::Flush;
            }
            let before = self.rbuf.len();
            let parsed = self
                .parser
                .parse_into(&mut self.rbuf, &self.limits, &mut self.args);
            self.parsed_since_renew += before - self.rbuf.len();
            match parsed {
                Ok(true) => {}
                Ok(false) => break BatchEnd::NeedInput,
                Err(ParseError::Protocol(msg)) => {
                    self.out.push(&Reply::Error(Cow::Owned(msg)));
                    break BatchEnd::Close;
                }
            }
            if self.args.is_empty() {
                continue;
            }
            processed += 1;
            if held == COMMANDS_PER_LOCK {
                guard = None;
                time = None;
                held = 0;
            }
            held += 1;
            let db = guard.get_or_insert_with(|| shared.db());
            // The clocks are read once the lock is held.
            let time = time.get_or_insert_with(|| Timing::start(&shared.clock));
            let logged = db.log_end();
            self.session.skip_current = std::mem::take(&mut self.session.skip_next);
            // A reply encoded by the command itself goes where the state
            // before it says; a reply returned, where the state after it
            // says (CLIENT REPLY ON is answered, OFF is not).
            let mute = self.session.reply_off || self.session.skip_current;
            let out = if mute { &mut self.muted } else { &mut self.out };
            let outcome = cmd::execute(shared, db, &mut self.session, &self.args, out, time);
            // Slices of the read buffer: dropped now, so that the buffer
            // stays the only owner of its memory and can reuse it. A
            // request of many arguments does not keep its memory.
            self.args.clear();
            if self.args.capacity() > MAX_KEPT_ARGS {
                self.args = Vec::new();
            }
            if db.log_end() != logged {
                self.logged = db.log_end();
            }
            self.muted.clear();
            match outcome {
                Outcome::Reply(_) | Outcome::Encoded => {
                    if let Outcome::Reply(reply) = &outcome {
                        if !(self.session.reply_off || self.session.skip_current) {
                            self.out.push(reply);
                        }
                    }
                    // CLIENT KILL of its own connection: close after the reply.
                    if self.session.client.as_ref().is_some_and(|c| c.is_killed()) {
                        break BatchEnd::Close;
                    }
                }
                Outcome::Quit => {
                    self.out.push(&Reply::Status(Cow::Borrowed("OK")));
                    break BatchEnd::Close;
                }
                Outcome::Shutdown => break BatchEnd::Shutdown,
                Outcome::Wait {
                    id,
                    rx,
                    withcounters,
                    timeout_ms,
                } => {
                    break BatchEnd::Wait {
                        id,
                        rx,
                        withcounters,
                        timeout_ms,
                    };
                }
            }
        };
        drop(guard);
        self.pending.commands += processed;
        if self.pending.commands >= FLUSH_EVERY {
            self.flush_stats();
        }
        end
    }

    /// Waits, for a blocked GETJOB, until a job is delivered or the timeout
    /// passes (the reply is then in the write buffer: true), or the client
    /// goes away or the node stops (false: the caller unblocks and closes).
    async fn wait_for_job(
        &mut self,
        shutdown: &mut watch::Receiver<bool>,
        id: u64,
        mut rx: oneshot::Receiver<Option<Served>>,
        withcounters: bool,
        timeout_ms: u64,
    ) -> bool {
        let deadline = (timeout_ms > 0).then(|| Instant::now() + Duration::from_millis(timeout_ms));
        let timer = async move {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::pin!(timer);
        // A node set leaving answers -LEAVING to the clients blocked on it.
        let mut leaving = self.shared.cluster.watch_leaving();
        let me = self.session.client.clone();
        let killed = async move {
            match me {
                Some(me) => me.killed().await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::pin!(killed);
        let _blocked = self.session.client.as_ref().map(|c| Blocked::new(c));
        let job = loop {
            tokio::select! {
                r = &mut rx => break r.ok().flatten(),
                _ = &mut timer => {
                    if self.shared.db().unblock(id) {
                        break None;
                    }
                    // Served meanwhile: the job is already in the channel.
                    break (&mut rx).await.ok().flatten();
                }
                _ = crate::cmd::cluster::became_leaving(&mut leaving) => {
                    if self.shared.db().unblock(id) {
                        self.out.push(&crate::cmd::cluster::leaving_reply());
                        return true;
                    }
                    // Served meanwhile: the job is already in the channel.
                    break (&mut rx).await.ok().flatten();
                }
                n = self.socket.read_buf(&mut self.rbuf) => match n {
                    Ok(0) | Err(_) => return false,
                    Ok(n) => {
                        self.pending.input += n as u64;
                        if self.rbuf.len() >= self.limits.max_query_buffer {
                            return false;
                        }
                    }
                },
                _ = &mut killed => return false,
                _ = stopped(shutdown) => return false,
            }
        };
        if let Some(served) = &job {
            // Its delivery (queued to active) was logged by whoever served
            // it: the reply waits for that record like any other change
            // (`settle`, before it is written).
            self.logged = self.logged.max(served.logged);
            #[cfg(test)]
            {
                self.served_logged = served.logged;
            }
        }
        self.out
            .push(&cmd::job_reply::waited(job.map(|s| s.job), withcounters));
        true
    }

    fn flush_stats(&mut self) {
        let p = std::mem::take(&mut self.pending);
        let stats = &self.shared.stats;
        Stats::add(&stats.commands_processed, p.commands);
        Stats::add(&stats.net_input_bytes, p.input);
        Stats::add(&stats.net_output_bytes, p.output);
    }

    /// Under `appendfsync always`, waits until the changes made by the
    /// commands whose replies are buffered are on disk (group commit: the
    /// writer fsyncs many connections' records at once). False if the node
    /// stops first: the replies are then not sent.
    async fn settle(&mut self, shutdown: &mut watch::Receiver<bool>) -> bool {
        let offset = std::mem::take(&mut self.logged);
        if offset == 0 {
            return true;
        }
        tokio::select! {
            _ = self.shared.aof.wait_acked(offset) => true,
            _ = stopped(shutdown) => false,
        }
    }

    async fn write_out(&mut self) -> std::io::Result<()> {
        #[cfg(test)]
        if self.served_logged != 0 {
            self.shared
                .aof
                .served_reply_written(std::mem::take(&mut self.served_logged));
        }
        for chunk in std::mem::take(&mut self.out.chunks) {
            self.socket.write_all(&chunk).await?;
            self.pending.output += chunk.len() as u64;
        }
        let wbuf = &mut self.out.buf;
        if wbuf.is_empty() {
            return Ok(());
        }
        let n = wbuf.len();
        self.socket.write_all(wbuf).await?;
        wbuf.clear();
        if wbuf.capacity() > SHRINK_ABOVE {
            *wbuf = BytesMut::with_capacity(BUF_CAPACITY);
        }
        self.pending.output += n as u64;
        Ok(())
    }
}

/// Shows a client as blocked (`flags=b` in CLIENT LIST) while it lives.
struct Blocked<'a>(&'a ClientEntry);

impl<'a> Blocked<'a> {
    fn new(client: &'a ClientEntry) -> Self {
        client.blocked.store(true, Ordering::Relaxed);
        Blocked(client)
    }
}

impl Drop for Blocked<'_> {
    fn drop(&mut self) {
        self.0.blocked.store(false, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};

    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpStream;

    use crate::{AppendFsync, Config, Node};

    /// A directory removed when dropped (also when the test fails).
    struct TempDir(std::path::PathBuf);

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Bound on every wait of these tests.
    const PATIENCE: Duration = Duration::from_secs(10);

    fn request(args: &[&str]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        out
    }

    /// The next `n` lines the node sends on `conn`.
    async fn lines(conn: &mut BufReader<TcpStream>, n: usize) -> Vec<String> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let mut line = String::new();
            let read = tokio::time::timeout(PATIENCE, conn.read_line(&mut line))
                .await
                .expect("no reply in time")
                .unwrap();
            assert!(
                read > 0 && line.ends_with("\r\n"),
                "connection closed: {out:?}"
            );
            line.truncate(line.len() - 2);
            out.push(line);
        }
        out
    }

    /// Polls `cond` until it holds (bounded by [`PATIENCE`]).
    async fn until(what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Blocked GETJOBs served by later ADDJOBs under `appendfsync always`:
    /// each reply is written only once the record of its delivery (queued
    /// to active) is fsynced, and the consumers share the producer's
    /// fsyncs (group commit) instead of adding their own.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn served_getjobs_are_answered_once_their_delivery_is_fsynced() {
        const CONSUMERS: usize = 4;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = TempDir(std::env::temp_dir().join(format!(
            "disque-embedded-served-{}-{nanos}",
            std::process::id()
        )));
        std::fs::create_dir_all(&dir.0).unwrap();
        let node = Node::start(
            Config::default()
                .addr(([127, 0, 0, 1], 0))
                .appendonly(true)
                .appendfsync(AppendFsync::Always)
                .dir(&dir.0),
        )
        .await
        .unwrap();
        let shared = node.shared.clone();
        let aof = &shared.aof;
        let mut consumers = Vec::new();
        for _ in 0..CONSUMERS {
            let mut c = BufReader::new(TcpStream::connect(node.addr()).await.unwrap());
            c.get_mut()
                .write_all(&request(&["GETJOB", "FROM", "served"]))
                .await
                .unwrap();
            consumers.push(c);
            // One at a time: they are served in the order they blocked.
            until("the consumer to block", || {
                shared.db().blocked_count() == consumers.len()
            })
            .await;
        }

        aof.hooks.hold_fsync(true);
        let fsyncs_before = aof.stats.fsyncs.load(Ordering::SeqCst);
        let mut producer = BufReader::new(TcpStream::connect(node.addr()).await.unwrap());
        let mut adds = Vec::new();
        for i in 0..CONSUMERS {
            adds.extend(request(&["ADDJOB", "served", &format!("job-{i}"), "0"]));
        }
        producer.get_mut().write_all(&adds).await.unwrap();
        // With the fsync held, either a consumer's reply is written at once
        // (what this test catches), or every connection waits for it: the
        // producer (its ADDJOBs) and each consumer (its delivery).
        until("the replies to wait for the held fsync", || {
            aof.acked_waiters() == CONSUMERS + 1
                || aof.hooks.served_replies.load(Ordering::SeqCst) > 0
        })
        .await;
        aof.hooks.hold_fsync(false);

        let added = lines(&mut producer, CONSUMERS).await;
        let mut got = Vec::new();
        for c in &mut consumers {
            // [[queue, id, body]]: *1 *3 $ queue $ id $ body.
            let reply = lines(c, 8).await;
            assert_eq!(reply[..4], ["*1", "*3", "$6", "served"], "{reply:?}");
            got.push(format!("+{}", reply[5]));
        }
        assert_eq!(got, added, "each consumer got one job, in blocking order");
        assert_eq!(
            aof.hooks.served_replies.load(Ordering::SeqCst),
            CONSUMERS as u64
        );
        assert_eq!(
            aof.hooks.served_early.load(Ordering::SeqCst),
            0,
            "a served GETJOB was answered before its delivery record was fsynced"
        );
        // The writer held at its first fsync took some records; the rest
        // gathered meanwhile and share one more.
        let fsyncs = aof.stats.fsyncs.load(Ordering::SeqCst) - fsyncs_before;
        assert!(
            (1..=2).contains(&fsyncs),
            "{fsyncs} fsyncs for {} records",
            2 * CONSUMERS
        );
        for id in &added {
            let mut c = BufReader::new(TcpStream::connect(node.addr()).await.unwrap());
            c.get_mut()
                .write_all(&request(&["SHOW", &id[1..]]))
                .await
                .unwrap();
            // *N, then id, queue, state: each name and value a bulk.
            let show = lines(&mut c, 13).await;
            assert_eq!(show[9..], ["$5", "state", "$6", "active"], "{id}: {show:?}");
        }
        node.shutdown().await;
    }
}
