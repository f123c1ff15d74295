//! A connection whose caller drives its own I/O.
//!
//! The `redis` crate's multiplexed connection hands every command to a
//! driver task and the reply back through a channel: on a multi-thread
//! runtime each round trip pays two task hand-offs across worker threads,
//! which halves the rate of a caller that sends one command at a time. This
//! connection is used instead when nobody else is using it: the caller
//! writes the command and reads the reply itself. Concurrent callers find it
//! busy and use the multiplexed connection, where their commands coalesce.

use std::time::{Duration, Instant};

use redis::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::deadline::Deadline;
use super::resp2::{frame_end, value_of};
use crate::client::NodeAddr;
use crate::Error;

/// How long a direct connection that failed to open is not tried again.
const RETRY_OPEN_AFTER: Duration = Duration::from_secs(1);

/// The socket and what is known about it.
struct State {
    stream: Option<TcpStream>,
    /// Bytes read and not yet consumed.
    buf: Vec<u8>,
    /// A command was written and its reply not fully read: the caller was
    /// cancelled in between, so the connection is out of step and is closed.
    in_flight: bool,
    failed_at: Option<Instant>,
    /// The response deadline of the round trips.
    deadline: Deadline,
}

impl Default for State {
    fn default() -> Self {
        State {
            stream: None,
            buf: Vec::new(),
            in_flight: false,
            failed_at: None,
            deadline: Deadline::new(),
        }
    }
}

/// One direct connection to one node.
pub(crate) struct Direct {
    addr: std::sync::Arc<NodeAddr>,
    password: Option<String>,
    connect_timeout: Duration,
    /// Idle time before TCP keepalive probes.
    keepalive: Duration,
    state: tokio::sync::Mutex<State>,
}

/// What became of the commands of one write.
pub(crate) enum Exchange<T = Value> {
    /// The connection is in use (or cannot be opened): use another.
    Busy,
    /// One reply per command, in order (error replies included), as read.
    Replies(Vec<T>),
    /// The connection broke; the commands may have reached the server.
    Broken(String),
    /// Not every reply came within the limit (the connection is closed).
    TimedOut,
}

/// What became of one command.
pub(crate) enum Outcome {
    /// The connection is in use (or cannot be opened): use another.
    Busy,
    /// The reply (error replies included).
    Reply(Result<Value, Error>),
    /// The connection broke; whether the command may have reached the server.
    Broken(String),
    /// No reply within the limit (the connection is closed).
    TimedOut,
}

impl Direct {
    pub(crate) fn new(
        addr: std::sync::Arc<NodeAddr>,
        password: Option<String>,
        connect_timeout: Duration,
        keepalive: Duration,
    ) -> Direct {
        Direct {
            addr,
            password,
            connect_timeout,
            keepalive,
            state: tokio::sync::Mutex::new(State::default()),
        }
    }

    /// Runs `cmd` if the connection is free, waiting at most `limit` for the reply.
    pub(crate) async fn try_run(&self, cmd: &redis::Cmd, limit: Duration) -> Outcome {
        match self
            .exchange(&cmd.get_packed_command(), 1, limit, value_of)
            .await
        {
            Exchange::Replies(mut values) => match values.pop() {
                Some(v) => Outcome::Reply(reply(v)),
                None => Outcome::Broken("no reply".into()),
            },
            Exchange::Busy => Outcome::Busy,
            Exchange::Broken(why) => Outcome::Broken(why),
            Exchange::TimedOut => Outcome::TimedOut,
        }
    }

    /// Writes `packed` (`commands` commands) in one write if the connection
    /// is free, waiting at most `limit` for all their replies, each given
    /// whole to `read` (error replies too); an `Err` from `read` breaks the
    /// connection.
    pub(crate) async fn try_packed<T>(
        &self,
        packed: &[u8],
        commands: usize,
        limit: Duration,
        read: impl FnMut(&[u8]) -> Result<T, String>,
    ) -> Exchange<T> {
        self.exchange(packed, commands, limit, read).await
    }

    /// Writes `packed` and reads `replies` replies with `read`, if the
    /// connection is free.
    async fn exchange<T>(
        &self,
        packed: &[u8],
        replies: usize,
        limit: Duration,
        read: impl FnMut(&[u8]) -> Result<T, String>,
    ) -> Exchange<T> {
        let Ok(mut st) = self.state.try_lock() else {
            return Exchange::Busy;
        };
        if st.in_flight {
            // A cancelled caller left a reply on the way: start afresh.
            st.stream = None;
            st.buf.clear();
            st.in_flight = false;
        }
        if st.stream.is_none() {
            if st.failed_at.is_some_and(|t| t.elapsed() < RETRY_OPEN_AFTER) {
                return Exchange::Busy;
            }
            match tokio::time::timeout(self.connect_timeout, self.open()).await {
                Ok(Ok(s)) => {
                    st.stream = Some(s);
                    st.buf.clear();
                    st.failed_at = None;
                }
                _ => {
                    st.failed_at = Some(Instant::now());
                    return Exchange::Busy;
                }
            }
        }
        st.in_flight = true;
        let State {
            stream: Some(stream),
            buf,
            deadline,
            ..
        } = &mut *st
        else {
            return Exchange::Broken("not connected".into());
        };
        let outcome = tokio::select! {
            biased;
            done = round_trip(stream, buf, packed, replies, read) => match done {
                Ok(values) => Exchange::Replies(values),
                Err(why) => Exchange::Broken(why),
            },
            () = deadline.arm(limit) => Exchange::TimedOut,
        };
        match outcome {
            Exchange::Replies(_) => st.in_flight = false,
            _ => {
                st.stream = None;
                st.buf.clear();
                st.in_flight = false;
            }
        }
        outcome
    }

    /// Connects, with `TCP_NODELAY` and keepalive, and authenticates.
    async fn open(&self) -> Result<TcpStream, String> {
        use redis::io::tcp::socket2::{SockRef, TcpKeepalive};
        let stream = TcpStream::connect((self.addr.host.as_str(), self.addr.port))
            .await
            .map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let keepalive = TcpKeepalive::new()
            .with_time(self.keepalive.max(Duration::from_secs(1)))
            .with_interval(Duration::from_secs(1));
        SockRef::from(&stream)
            .set_tcp_keepalive(&keepalive)
            .map_err(|e| e.to_string())?;
        let mut stream = stream;
        if let Some(pw) = &self.password {
            let auth = redis::cmd("AUTH").arg(pw).get_packed_command();
            let mut buf = Vec::new();
            let answer = round_trip(&mut stream, &mut buf, &auth, 1, value_of)
                .await?
                .pop();
            if let Some(Err(e)) = answer.map(reply) {
                return Err(e.to_string());
            }
        }
        Ok(stream)
    }
}

/// Writes `packed` and reads `replies` whole replies, each with `read`.
async fn round_trip<T>(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    packed: &[u8],
    replies: usize,
    mut read: impl FnMut(&[u8]) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    stream.write_all(packed).await.map_err(|e| e.to_string())?;
    let mut values = Vec::with_capacity(replies);
    // Where the next reply starts: the bytes before it are dropped at the end.
    let mut at = 0;
    while values.len() < replies {
        match frame_end(buf, at) {
            Ok(Some(end)) => {
                values.push(read(&buf[at..end])?);
                at = end;
                continue;
            }
            Ok(None) => {}
            Err(()) => return Err("malformed reply".into()),
        }
        buf.reserve(4096);
        let n = stream.read_buf(buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed by the server".into());
        }
    }
    buf.drain(..at);
    Ok(values)
}

/// An error reply becomes an [`Error`], as on the multiplexed connection.
fn reply(v: Value) -> Result<Value, Error> {
    match v {
        Value::ServerError(e) => Err(Error::from_server_error(&e)),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A server that reads one pipeline (up to its final `last` argument)
    /// and answers `replies` one byte per write, then closes.
    async fn fragmenting_server(replies: &'static [u8]) -> (Direct, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.expect("accept");
            let mut got = Vec::new();
            let mut chunk = [0u8; 256];
            while !got.ends_with(b"last\r\n") {
                let n = sock.read(&mut chunk).await.expect("read");
                assert!(n > 0, "client closed early");
                got.extend_from_slice(&chunk[..n]);
            }
            for b in replies {
                sock.write_all(&[*b]).await.expect("write");
                sock.flush().await.expect("flush");
            }
        });
        let addr = NodeAddr::parse(&format!("127.0.0.1:{port}")).expect("address");
        let direct = Direct::new(
            std::sync::Arc::new(addr),
            None,
            Duration::from_secs(5),
            Duration::from_secs(30),
        );
        (direct, server)
    }

    #[tokio::test]
    async fn a_pipeline_gets_every_reply_in_order_across_fragmented_reads() {
        let (direct, server) =
            fragmenting_server(b"+OK\r\n-ERR no\r\n*2\r\n$1\r\na\r\n:7\r\n").await;
        let mut pipe = redis::pipe();
        pipe.cmd("PING").cmd("BAD").cmd("ECHO").arg("last");
        let Exchange::Replies(values) = direct
            .try_packed(
                &pipe.get_packed_pipeline(),
                pipe.len(),
                Duration::from_secs(5),
                value_of,
            )
            .await
        else {
            panic!("no replies");
        };
        assert_eq!(values.len(), 3);
        assert_eq!(values[0], Value::Okay);
        assert!(matches!(&values[1], Value::ServerError(e) if e.details() == Some("no")));
        assert_eq!(
            values[2],
            Value::Array(vec![Value::BulkString(b"a".to_vec()), Value::Int(7)])
        );
        server.await.expect("server");
    }

    #[tokio::test]
    async fn a_pipeline_cut_short_is_broken_not_partial() {
        let (direct, server) = fragmenting_server(b"+OK\r\n").await;
        let mut pipe = redis::pipe();
        pipe.cmd("PING").cmd("ECHO").arg("last");
        let outcome = direct
            .try_packed(
                &pipe.get_packed_pipeline(),
                pipe.len(),
                Duration::from_secs(5),
                value_of,
            )
            .await;
        server.await.expect("server");
        assert!(
            matches!(outcome, Exchange::Broken(_)),
            "one reply of two must not pass"
        );
    }

    /// A server answering every command it reads with `reply`, counting the
    /// connections it accepts.
    async fn counting_server(
        reply: &'static [u8],
    ) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let accepted = std::sync::Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut chunk = [0u8; 512];
                    // One reply per read: the tests send one command at a time.
                    while let Ok(n) = sock.read(&mut chunk).await {
                        if n == 0 || sock.write_all(reply).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        (port, accepted)
    }

    fn direct_to(port: u16, password: Option<&str>) -> Direct {
        let addr = NodeAddr::parse(&format!("127.0.0.1:{port}")).expect("address");
        Direct::new(
            std::sync::Arc::new(addr),
            password.map(str::to_owned),
            Duration::from_secs(5),
            Duration::from_secs(30),
        )
    }

    #[tokio::test]
    async fn no_reply_within_the_limit_is_a_timeout_and_the_next_call_reconnects() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (held, mut hold) = tokio::sync::mpsc::unbounded_channel();
        // Accepts connections and never answers (keeping them open).
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let _ = held.send(sock);
            }
        });
        let direct = direct_to(port, None);
        let ping = redis::cmd("PING");
        for _ in 0..2 {
            let start = std::time::Instant::now();
            let outcome = direct.try_run(&ping, Duration::from_millis(200)).await;
            assert!(matches!(outcome, Outcome::TimedOut));
            assert!(start.elapsed() >= Duration::from_millis(200));
            let opened = tokio::time::timeout(Duration::from_secs(5), hold.recv()).await;
            assert!(matches!(opened, Ok(Some(_))), "one connection per call");
        }
    }

    #[tokio::test]
    async fn a_connection_that_answered_is_used_again() {
        let (port, accepted) = counting_server(b"+PONG\r\n").await;
        let direct = direct_to(port, None);
        let ping = redis::cmd("PING");
        for _ in 0..3 {
            let outcome = direct.try_run(&ping, Duration::from_secs(5)).await;
            assert!(matches!(outcome, Outcome::Reply(Ok(_))));
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_error_reply_is_an_error() {
        let (port, _) = counting_server(b"-NOJOB Unknown job\r\n").await;
        let direct = direct_to(port, None);
        let outcome = direct
            .try_run(&redis::cmd("WORKING"), Duration::from_secs(5))
            .await;
        assert!(matches!(outcome, Outcome::Reply(Err(Error::NoJob(_)))));
    }

    #[tokio::test]
    async fn a_connection_that_failed_to_open_is_not_tried_again_at_once() {
        // AUTH is refused, so opening fails; the next call within
        // RETRY_OPEN_AFTER must not connect again.
        let (port, accepted) = counting_server(b"-ERR invalid password\r\n").await;
        let direct = direct_to(port, Some("wrong"));
        let ping = redis::cmd("PING");
        for _ in 0..3 {
            let outcome = direct.try_run(&ping, Duration::from_secs(5)).await;
            assert!(matches!(outcome, Outcome::Busy));
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
