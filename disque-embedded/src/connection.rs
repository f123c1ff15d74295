//! One client connection: read into a buffer, run every complete request
//! already buffered (under one lock of the state), encode all their replies
//! into one write buffer and write it once — which is what makes pipelining
//! fast.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use crate::cmd::{self, Outcome, Session};
use crate::frame::{Limits, ParseError, Reply, RequestParser};
use crate::shared::{stopped, Shared, Stats};

/// Initial capacity of the read and write buffers.
const BUF_CAPACITY: usize = 16 * 1024;
/// Replies buffered before they are written even if more requests wait.
const MAX_PENDING_REPLIES: usize = 1024 * 1024;
/// Smallest free space offered to a read.
const MIN_READ: usize = 4096;
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
        rx: oneshot::Receiver<Reply>,
        timeout_ms: u64,
    },
}

/// The per-connection buffers and state.
struct Client {
    socket: TcpStream,
    shared: Arc<Shared>,
    limits: Arc<Limits>,
    parser: RequestParser,
    session: Session,
    rbuf: BytesMut,
    wbuf: BytesMut,
    /// Counters not yet added to the node's (shared, contended) ones.
    pending: Pending,
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
    let session = Session::default();
    let mut c = Client {
        socket,
        shared,
        limits,
        parser: RequestParser::new(),
        session,
        rbuf: BytesMut::with_capacity(BUF_CAPACITY),
        wbuf: BytesMut::with_capacity(BUF_CAPACITY),
        pending: Pending::default(),
    };
    loop {
        match c.run_batch() {
            BatchEnd::NeedInput => {}
            BatchEnd::Flush => {
                if c.write_out().await.is_err() {
                    return;
                }
                continue;
            }
            BatchEnd::Close => {
                let _ = c.write_out().await;
                return;
            }
            BatchEnd::Shutdown => {
                let _ = c.write_out().await;
                c.shared.trigger_shutdown();
                return;
            }
            BatchEnd::Wait { id, rx, timeout_ms } => {
                if c.write_out().await.is_err()
                    || !c.wait_for_job(&mut shutdown, id, rx, timeout_ms).await
                {
                    c.shared.db().unblock(id);
                    return;
                }
                // Requests pipelined behind the GETJOB may be buffered.
                continue;
            }
        }
        if c.write_out().await.is_err() || c.rbuf.len() >= c.limits.max_query_buffer {
            return;
        }
        // Read in large chunks even once parsed requests were split off.
        if c.rbuf.capacity() - c.rbuf.len() < MIN_READ {
            c.rbuf.reserve(BUF_CAPACITY);
        }
        tokio::select! {
            n = c.socket.read_buf(&mut c.rbuf) => match n {
                Ok(0) | Err(_) => return,
                Ok(n) => c.pending.input += n as u64,
            },
            _ = stopped(&mut shutdown) => return,
        }
    }
}

impl Client {
    /// Runs every complete request already buffered, synchronously.
    fn run_batch(&mut self) -> BatchEnd {
        let shared = &*self.shared;
        let mut guard = None;
        let mut held = 0;
        let mut processed = 0u64;
        let end = loop {
            if self.wbuf.len() >= MAX_PENDING_REPLIES {
                break BatchEnd::Flush;
            }
            let args = match self.parser.parse(&mut self.rbuf, &self.limits) {
                Ok(Some(args)) => args,
                Ok(None) => break BatchEnd::NeedInput,
                Err(ParseError::Protocol(msg)) => {
                    Reply::Error(Cow::Owned(msg)).encode(&mut self.wbuf);
                    break BatchEnd::Close;
                }
            };
            if args.is_empty() {
                continue;
            }
            processed += 1;
            if held == COMMANDS_PER_LOCK {
                guard = None;
                held = 0;
            }
            held += 1;
            let db = guard.get_or_insert_with(|| shared.db());
            match cmd::execute(shared, db, &mut self.session, &args) {
                Outcome::Reply(reply) => reply.encode(&mut self.wbuf),
                Outcome::Quit => {
                    Reply::Status(Cow::Borrowed("OK")).encode(&mut self.wbuf);
                    break BatchEnd::Close;
                }
                Outcome::Shutdown => break BatchEnd::Shutdown,
                Outcome::Wait { id, rx, timeout_ms } => {
                    break BatchEnd::Wait { id, rx, timeout_ms };
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
        mut rx: oneshot::Receiver<Reply>,
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
        let reply = loop {
            tokio::select! {
                r = &mut rx => break r.unwrap_or(Reply::NilArray),
                _ = &mut timer => {
                    if self.shared.db().unblock(id) {
                        break Reply::NilArray;
                    }
                    // Served meanwhile: the reply is already in the channel.
                    break (&mut rx).await.unwrap_or(Reply::NilArray);
                }
                _ = crate::cmd::cluster::became_leaving(&mut leaving) => {
                    if self.shared.db().unblock(id) {
                        break crate::cmd::cluster::leaving_reply();
                    }
                    break (&mut rx).await.unwrap_or(Reply::NilArray);
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
                _ = stopped(shutdown) => return false,
            }
        };
        reply.encode(&mut self.wbuf);
        true
    }

    fn flush_stats(&mut self) {
        let p = std::mem::take(&mut self.pending);
        let stats = &self.shared.stats;
        Stats::add(&stats.commands_processed, p.commands);
        Stats::add(&stats.net_input_bytes, p.input);
        Stats::add(&stats.net_output_bytes, p.output);
    }

    async fn write_out(&mut self) -> std::io::Result<()> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        let n = self.wbuf.len();
        self.socket.write_all(&self.wbuf).await?;
        self.wbuf.clear();
        self.pending.output += n as u64;
        Ok(())
    }
}
