//! One client connection: read into a buffer, run every complete request
//! already buffered, encode all their replies into one write buffer and
//! write it once — which is what makes pipelining fast.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::cmd::{self, Outcome, Session};
use crate::frame::{self, Limits, ParseError, Reply};
use crate::shared::{Shared, Stats};

/// Initial capacity of the read and write buffers.
const BUF_CAPACITY: usize = 16 * 1024;

/// What to do after handling a blocked GETJOB.
enum AfterWait {
    Continue,
    Close,
}

/// Serves one client until it disconnects, QUITs, sends a malformed
/// request or the node shuts down.
pub async fn serve(
    mut socket: TcpStream,
    shared: Arc<Shared>,
    limits: Arc<Limits>,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = socket.set_nodelay(true);
    let mut rbuf = BytesMut::with_capacity(BUF_CAPACITY);
    let mut wbuf = BytesMut::with_capacity(BUF_CAPACITY);
    let mut session = Session {
        authenticated: shared.password().is_none(),
    };
    loop {
        // Run every complete request already buffered.
        loop {
            let args = match frame::parse_request(&mut rbuf, &limits) {
                Ok(Some(args)) => args,
                Ok(None) => break,
                Err(ParseError::Protocol(msg)) => {
                    Reply::Error(Cow::Owned(msg)).encode(&mut wbuf);
                    let _ = write_out(&mut socket, &mut wbuf, &shared).await;
                    return;
                }
            };
            if args.is_empty() {
                continue;
            }
            Stats::add(&shared.stats.commands_processed, 1);
            match cmd::execute(&shared, &mut session, &args) {
                Outcome::Reply(reply) => reply.encode(&mut wbuf),
                Outcome::Quit => {
                    Reply::Status(Cow::Borrowed("OK")).encode(&mut wbuf);
                    let _ = write_out(&mut socket, &mut wbuf, &shared).await;
                    return;
                }
                Outcome::Shutdown => {
                    let _ = write_out(&mut socket, &mut wbuf, &shared).await;
                    shared.trigger_shutdown();
                    return;
                }
                Outcome::Wait { id, rx, timeout_ms } => {
                    if write_out(&mut socket, &mut wbuf, &shared).await.is_err() {
                        shared.db().unblock(id);
                        return;
                    }
                    let after = wait_for_job(
                        &mut socket,
                        &shared,
                        &limits,
                        &mut shutdown,
                        &mut rbuf,
                        &mut wbuf,
                        id,
                        rx,
                        timeout_ms,
                    )
                    .await;
                    if let AfterWait::Close = after {
                        return;
                    }
                }
            }
        }
        if !wbuf.is_empty() && write_out(&mut socket, &mut wbuf, &shared).await.is_err() {
            return;
        }
        if rbuf.len() >= limits.max_query_buffer {
            return;
        }
        tokio::select! {
            n = socket.read_buf(&mut rbuf) => match n {
                Ok(0) | Err(_) => return,
                Ok(n) => Stats::add(&shared.stats.net_input_bytes, n as u64),
            },
            _ = crate::shared::stopped(&mut shutdown) => return,
        }
    }
}

/// Waits, for a blocked GETJOB, until a job is delivered, the timeout
/// passes, the client goes away or the node stops; encodes the reply.
#[allow(clippy::too_many_arguments)]
async fn wait_for_job(
    socket: &mut TcpStream,
    shared: &Shared,
    limits: &Limits,
    shutdown: &mut watch::Receiver<bool>,
    rbuf: &mut BytesMut,
    wbuf: &mut BytesMut,
    id: u64,
    mut rx: tokio::sync::oneshot::Receiver<Reply>,
    timeout_ms: u64,
) -> AfterWait {
    let deadline = (timeout_ms > 0).then(|| Instant::now() + Duration::from_millis(timeout_ms));
    let timer = async move {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending::<()>().await,
        }
    };
    tokio::pin!(timer);
    let reply = loop {
        tokio::select! {
            r = &mut rx => break r.unwrap_or(Reply::NilArray),
            _ = &mut timer => {
                if shared.db().unblock(id) {
                    break Reply::NilArray;
                }
                // Served meanwhile: the reply is already in the channel.
                break (&mut rx).await.unwrap_or(Reply::NilArray);
            }
            n = socket.read_buf(rbuf) => match n {
                Ok(0) | Err(_) => {
                    shared.db().unblock(id);
                    return AfterWait::Close;
                }
                Ok(n) => {
                    Stats::add(&shared.stats.net_input_bytes, n as u64);
                    if rbuf.len() >= limits.max_query_buffer {
                        shared.db().unblock(id);
                        return AfterWait::Close;
                    }
                }
            },
            _ = crate::shared::stopped(shutdown) => {
                shared.db().unblock(id);
                return AfterWait::Close;
            }
        }
    };
    reply.encode(wbuf);
    AfterWait::Continue
}

async fn write_out(
    socket: &mut TcpStream,
    wbuf: &mut BytesMut,
    shared: &Shared,
) -> std::io::Result<()> {
    if wbuf.is_empty() {
        return Ok(());
    }
    let n = wbuf.len();
    socket.write_all(wbuf).await?;
    wbuf.clear();
    Stats::add(&shared.stats.net_output_bytes, n as u64);
    Ok(())
}
