//! Connections: one shared multiplexed connection for every non-blocking
//! command, and a small pool of dedicated connections for blocking GETJOBs.
//!
//! A connection found broken is dropped; the next call opens a new one (to the
//! same node first, then the others in order), waiting a growing backoff after
//! consecutive failures.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisConnectionInfo,
    Value,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::addrs::NodeAddr;
use crate::Error;

/// First pause before reconnecting after a failure; doubled up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// How connections are opened.
#[derive(Debug, Clone)]
pub(crate) struct ConnConfig {
    pub(crate) nodes: Vec<NodeAddr>,
    pub(crate) connect_timeout: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) password: Option<String>,
}

impl ConnConfig {
    fn info(&self, node: &NodeAddr) -> Result<ConnectionInfo, Error> {
        // RESP2, and no `CLIENT SETINFO` on connect: Disque does not know it.
        let mut redis = RedisConnectionInfo::default()
            .set_protocol(redis::ProtocolVersion::RESP2)
            .set_skip_set_lib_name();
        if let Some(pw) = &self.password {
            redis = redis.set_password(pw);
        }
        let info = ConnectionAddr::Tcp(node.host.clone(), node.port)
            .into_connection_info()
            .map_err(|e| Error::InvalidOptions(format!("node address {node}: {e}")))?;
        Ok(info.set_redis_settings(redis))
    }

    /// Opens one connection to `node`. `response_timeout` `None`: wait forever.
    async fn open(
        &self,
        node: &NodeAddr,
        response_timeout: Option<Duration>,
    ) -> Result<MultiplexedConnection, Error> {
        let client = redis::Client::open(self.info(node)?).map_err(|e| classify(&e, node))?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(response_timeout);
        let conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| match Error::from_redis(e.clone()) {
                Error::Auth(m) => Error::Auth(m),
                _ => Error::Connection(format!("cannot connect to {node}: {e}")),
            })?;
        Ok(conn)
    }

    /// Tries every node once, starting at `start`; returns the connection and its node index.
    async fn open_any(
        &self,
        start: usize,
        response_timeout: Option<Duration>,
    ) -> Result<(MultiplexedConnection, usize), Error> {
        let n = self.nodes.len();
        let mut failures = Vec::new();
        for k in 0..n {
            let i = (start + k) % n;
            match self.open(&self.nodes[i], response_timeout).await {
                Ok(c) => return Ok((c, i)),
                // A wrong password is wrong on every node.
                Err(e @ Error::Auth(_)) => return Err(e),
                Err(e) => failures.push(message(e)),
            }
        }
        Err(Error::Connection(failures.join("; ")))
    }
}

/// The slot holding the shared connection.
#[derive(Default)]
struct Slot {
    conn: Option<MultiplexedConnection>,
    /// Bumped each time a connection is installed, so a stale failure report
    /// does not drop a fresh connection.
    generation: u64,
    /// Index of the node the connection goes to (or went to).
    node: usize,
    /// Consecutive failed reconnects, and when the next one may start.
    failures: u32,
    next_attempt: Option<Instant>,
    /// Why the last connection was dropped (reported by the call that reconnects).
    lost: Option<String>,
}

/// Connections of one client.
pub(crate) struct Connections {
    config: ConnConfig,
    slot: Mutex<Slot>,
    reconnecting: tokio::sync::Mutex<()>,
    pool: Mutex<Vec<(MultiplexedConnection, usize)>>,
    permits: Arc<Semaphore>,
}

/// A shared connection handed to one call, with the generation to report failures against.
pub(crate) struct Shared {
    pub(crate) conn: MultiplexedConnection,
    generation: u64,
}

impl Connections {
    /// Connects the shared connection to the first node that answers.
    pub(crate) async fn connect(config: ConnConfig, blocking: usize) -> Result<Self, Error> {
        let (conn, node) = config.open_any(0, None).await?;
        Ok(Connections {
            config,
            slot: Mutex::new(Slot {
                conn: Some(conn),
                generation: 1,
                node,
                ..Slot::default()
            }),
            reconnecting: tokio::sync::Mutex::new(()),
            pool: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(blocking.max(1))),
        })
    }

    /// How long a non-blocking command may wait for its reply.
    pub(crate) fn response_timeout(&self) -> Duration {
        self.config.response_timeout
    }

    /// The address of the node the shared connection goes to.
    pub(crate) fn current_node(&self) -> String {
        let slot = lock(&self.slot);
        self.config.nodes[slot.node].to_string()
    }

    /// The shared connection, reconnecting first if it was lost.
    pub(crate) async fn shared(&self) -> Result<Shared, Error> {
        if let Some(s) = self.try_shared() {
            return Ok(s);
        }
        let _one_at_a_time = self.reconnecting.lock().await;
        if let Some(s) = self.try_shared() {
            return Ok(s);
        }
        let (start, wait_until, lost) = {
            let slot = lock(&self.slot);
            (slot.node, slot.next_attempt, slot.lost.clone())
        };
        if let Some(at) = wait_until {
            tokio::time::sleep_until(at.into()).await;
        }
        match self.config.open_any(start, None).await {
            Ok((conn, node)) => {
                // The idle GETJOB connections went to the node that was lost
                // (or to one we moved away from): open fresh ones when needed.
                lock(&self.pool).clear();
                tracing::debug!(node = %self.config.nodes[node], "reconnected");
                let mut slot = lock(&self.slot);
                slot.generation += 1;
                slot.conn = Some(conn.clone());
                slot.node = node;
                slot.failures = 0;
                slot.next_attempt = None;
                slot.lost = None;
                Ok(Shared {
                    conn,
                    generation: slot.generation,
                })
            }
            Err(e) => {
                let mut slot = lock(&self.slot);
                slot.failures = slot.failures.saturating_add(1);
                let backoff = backoff(slot.failures);
                slot.next_attempt = Some(Instant::now() + backoff);
                let why = lost
                    .map(|l| format!("connection lost ({l}); "))
                    .unwrap_or_default();
                Err(match e {
                    Error::Auth(m) => Error::Auth(m),
                    other => Error::Connection(format!(
                        "{why}reconnecting failed (attempt {}, next in {} ms): {}",
                        slot.failures,
                        backoff.as_millis(),
                        message(other)
                    )),
                })
            }
        }
    }

    fn try_shared(&self) -> Option<Shared> {
        let slot = lock(&self.slot);
        slot.conn.as_ref().map(|c| Shared {
            conn: c.clone(),
            generation: slot.generation,
        })
    }

    /// Runs `cmd` on the shared connection, waiting at most the response
    /// timeout plus `extra` (the time the server may take on purpose, such
    /// as an ADDJOB's replication timeout).
    pub(crate) async fn run(&self, cmd: &redis::Cmd, extra: Duration) -> Result<Value, Error> {
        let mut shared = self.shared().await?;
        let limit = self.config.response_timeout.saturating_add(extra);
        match tokio::time::timeout(limit, cmd.query_async::<Value>(&mut shared.conn)).await {
            Ok(result) => result.map_err(|e| self.failed(&shared, &e)),
            Err(_) => Err(self.timed_out(limit)),
        }
    }

    /// Runs the commands of `pipe` in one write on the shared connection;
    /// one result per command, error replies included.
    pub(crate) async fn run_pipeline(
        &self,
        mut pipe: redis::Pipeline,
        extra: Duration,
    ) -> Result<Vec<Result<Value, Error>>, Error> {
        pipe.ignore_errors();
        let mut shared = self.shared().await?;
        let limit = self.config.response_timeout.saturating_add(extra);
        let values =
            match tokio::time::timeout(limit, pipe.query_async::<Vec<Value>>(&mut shared.conn))
                .await
            {
                Ok(result) => result.map_err(|e| self.failed(&shared, &e))?,
                Err(_) => return Err(self.timed_out(limit)),
            };
        Ok(values.into_iter().map(value_or_error).collect())
    }

    fn timed_out(&self, limit: Duration) -> Error {
        Error::Timeout(format!(
            "no reply from {} within {} ms",
            self.current_node(),
            limit.as_millis()
        ))
    }

    /// Turns a failure on `shared` into an [`Error`], dropping the connection if it is broken.
    fn failed(&self, shared: &Shared, e: &redis::RedisError) -> Error {
        let node = self.current_node();
        if is_broken(e) {
            let mut slot = lock(&self.slot);
            if slot.generation == shared.generation {
                slot.conn = None;
                slot.lost = Some(e.to_string());
                tracing::debug!(%node, error = %e, "connection lost; the next call reconnects");
            }
            return Error::Connection(format!(
                "connection to {node} lost ({e}); the next call reconnects"
            ));
        }
        classify(e, &self.config.nodes[lock(&self.slot).node])
    }

    /// A dedicated connection for one blocking GETJOB. At most `blocking`
    /// are out at once; further callers wait for one to come back.
    pub(crate) async fn dedicated(&self) -> Result<Dedicated<'_>, Error> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| Error::Connection("the client is closed".into()))?;
        let idle = lock(&self.pool).pop();
        let (conn, node) = match idle {
            Some(c) => c,
            None => {
                let start = lock(&self.slot).node;
                self.config.open_any(start, None).await?
            }
        };
        Ok(Dedicated {
            owner: self,
            conn: Some((conn, node)),
            _permit: permit,
        })
    }
}

/// A connection of the GETJOB pool, lent to one call. Dropped (closed) unless
/// the call finished cleanly: a GETJOB cut short by a timeout or a cancelled
/// future may still be answered, and that answer must not reach the next user.
pub(crate) struct Dedicated<'a> {
    owner: &'a Connections,
    conn: Option<(MultiplexedConnection, usize)>,
    _permit: OwnedSemaphorePermit,
}

impl Dedicated<'_> {
    /// Runs one blocking command, waiting at most `limit` (`None`: forever).
    pub(crate) async fn run(
        mut self,
        cmd: &redis::Cmd,
        limit: Option<Duration>,
    ) -> Result<Value, Error> {
        let Some((mut conn, node)) = self.conn.take() else {
            return Err(Error::Connection("connection already used".into()));
        };
        let fut = cmd.query_async::<Value>(&mut conn);
        let result = match limit {
            Some(limit) => match tokio::time::timeout(limit, fut).await {
                Ok(r) => r,
                Err(_) => {
                    return Err(Error::Timeout(format!(
                        "no reply from {} within {} ms",
                        self.owner.config.nodes[node],
                        limit.as_millis()
                    )))
                }
            },
            None => fut.await,
        };
        match result {
            Ok(v) => {
                lock(&self.owner.pool).push((conn, node));
                Ok(v)
            }
            Err(e) if is_broken(&e) => Err(Error::Connection(format!(
                "connection to {} lost ({e})",
                self.owner.config.nodes[node]
            ))),
            Err(e) => {
                lock(&self.owner.pool).push((conn, node));
                Err(classify(&e, &self.owner.config.nodes[node]))
            }
        }
    }
}

/// The text of a connection-level error without its variant's prefix, to
/// embed in another error's message.
fn message(e: Error) -> String {
    match e {
        Error::Connection(m) | Error::Timeout(m) => m,
        other => other.to_string(),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another thread panicked while holding it;
    // the data (a connection slot or idle list) is still consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn backoff(failures: u32) -> Duration {
    let factor = 1u32 << failures.saturating_sub(1).min(16);
    MIN_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF)
}

/// Whether `e` means the connection can no longer be used.
fn is_broken(e: &redis::RedisError) -> bool {
    e.is_connection_dropped() || e.is_unrecoverable_error() || (e.is_io_error() && !e.is_timeout())
}

/// Maps a pipeline element: an error reply becomes an [`Error`].
fn value_or_error(v: Value) -> Result<Value, Error> {
    match v {
        Value::ServerError(e) => Err(Error::from_server_error(&e)),
        other => Ok(other),
    }
}

/// Maps a `redis` error that is not a broken connection, naming the node
/// for connection-level failures.
pub(crate) fn classify(e: &redis::RedisError, node: &NodeAddr) -> Error {
    match Error::from_redis(e.clone()) {
        Error::Timeout(m) => Error::Timeout(format!("{node}: {m}")),
        Error::Connection(m) => Error::Connection(format!("{node}: {m}")),
        Error::Io(io) => Error::Connection(format!("{node}: {io}")),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), MIN_BACKOFF);
        assert_eq!(backoff(2), MIN_BACKOFF * 2);
        assert_eq!(backoff(40), MAX_BACKOFF);
    }

    /// A one-connection fake server: answers `replies` in order, one per
    /// command received, and returns everything it read.
    async fn fake_server(
        replies: &'static [&'static str],
    ) -> (NodeAddr, tokio::task::JoinHandle<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            for reply in replies {
                // Read until one more whole command (RESP array) has arrived.
                let want = seen.iter().filter(|&&b| b == b'*').count() + 1;
                while seen.iter().filter(|&&b| b == b'*').count() < want || !seen.ends_with(b"\r\n")
                {
                    let mut buf = [0u8; 512];
                    let n = sock.read(&mut buf).await.unwrap();
                    assert!(n > 0, "client closed early");
                    seen.extend_from_slice(&buf[..n]);
                }
                sock.write_all(reply.as_bytes()).await.unwrap();
            }
            String::from_utf8_lossy(&seen).into_owned()
        });
        let node = NodeAddr {
            host: "127.0.0.1".into(),
            port,
        };
        (node, task)
    }

    /// An address nothing listens on.
    async fn dead_node() -> NodeAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        NodeAddr {
            host: "127.0.0.1".into(),
            port,
        }
    }

    fn config(node: NodeAddr, password: Option<&str>) -> ConnConfig {
        ConnConfig {
            nodes: vec![node],
            connect_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(5),
            password: password.map(String::from),
        }
    }

    #[tokio::test]
    async fn connecting_sends_no_client_setinfo_and_no_resp3_hello() {
        let (node, server) = fake_server(&["+PONG\r\n"]).await;
        let conns = Connections::connect(config(node, None), 1).await.unwrap();
        assert!(Connections::connect(config(dead_node().await, None), 1)
            .await
            .is_err_and(|e| {
                let text = e.to_string();
                text.starts_with("connection error: cannot connect to 127.0.0.1:")
                    && text.matches("connection error").count() == 1
            }));
        let reply = conns
            .run(&redis::cmd("PING"), Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(reply, Value::SimpleString("PONG".into()));
        let seen = server.await.unwrap();
        assert_eq!(
            seen, "*1\r\n$4\r\nPING\r\n",
            "only the command itself was sent"
        );
    }

    #[tokio::test]
    async fn a_password_is_sent_with_auth_first() {
        let (node, server) = fake_server(&["+OK\r\n", "+PONG\r\n"]).await;
        let conns = Connections::connect(config(node, Some("sesame")), 1)
            .await
            .unwrap();
        conns
            .run(&redis::cmd("PING"), Duration::ZERO)
            .await
            .unwrap();
        let seen = server.await.unwrap();
        assert_eq!(
            seen,
            "*2\r\n$4\r\nAUTH\r\n$6\r\nsesame\r\n*1\r\n$4\r\nPING\r\n"
        );
    }
}
