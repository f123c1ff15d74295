//! Connections to the nodes of a Disque cluster, and how they heal.
//!
//! - One shared multiplexed connection (the *main* node) carries every
//!   non-blocking command; blocking GETJOBs borrow dedicated connections from
//!   a small pool (to the main node, or to the node consumers follow); commands
//!   routed by job (NACK, WORKING, SHOW, ACK of a delivery) may open a
//!   multiplexed connection to the node that holds the job.
//! - The main node is the best node of the [`NodeTable`]: lowest HELLO
//!   priority, not failed recently, seeds first. `HELLO` is asked on every new
//!   main connection and every `hello_interval`.
//! - Every connection has TCP keepalive and `TCP_NODELAY`, and is checked to
//!   answer within the connect timeout before it is used. A connection on
//!   which a call timed out or broke is dropped, never reused; the next call
//!   opens another, after a backoff with full jitter when opening fails.
//! - A blocking GETJOB is sent as a series of server-side timeouts of at most
//!   `link_check`, so a dead link is noticed within about twice that.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::io::tcp::{socket2::TcpKeepalive, TcpSettings};
use redis::{
    AsyncConnectionConfig, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisConnectionInfo,
    Value,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::addrs::NodeAddr;
use crate::cluster::{
    value_of, Affinity, ClusterNode, Direct, DirectOutcome, Exchange, NodeTable, Reply,
    LEAVING_PRIORITY,
};
use crate::reply::Hello;
use crate::{Error, JobId};

/// Cap of the reconnect backoff; the first wait is drawn below [`MIN_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// How connections are opened and checked.
#[derive(Debug, Clone)]
pub(crate) struct ConnConfig {
    /// The seeds, in the order given.
    pub(crate) nodes: Vec<NodeAddr>,
    pub(crate) connect_timeout: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) password: Option<String>,
    /// Longest server-side wait of one blocking GETJOB; also the TCP
    /// keepalive idle time.
    pub(crate) link_check: Duration,
    /// How often HELLO is asked again (`None`: only on new connections).
    pub(crate) hello_interval: Option<Duration>,
    /// Whether consumers follow the node producing most of their jobs.
    pub(crate) affinity: bool,
    /// Whether a caller alone on the main connection drives its own I/O
    /// (see `cluster/direct.rs`); off only in tests of the exact bytes sent.
    pub(crate) direct: bool,
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
        let idle = self.link_check.max(Duration::from_secs(1));
        let keepalive = TcpKeepalive::new()
            .with_time(idle)
            .with_interval(Duration::from_secs(1));
        #[cfg(any(target_os = "linux", target_os = "android", target_os = "fuchsia"))]
        let keepalive = keepalive.with_retries(3);
        #[allow(unused_mut)]
        let mut tcp = TcpSettings::default()
            .set_nodelay(true)
            .set_keepalive(keepalive);
        #[cfg(any(target_os = "linux", target_os = "android", target_os = "fuchsia"))]
        {
            // Data sent and not acknowledged for this long: the peer is gone.
            tcp = tcp.set_user_timeout(idle.saturating_mul(2).max(Duration::from_secs(5)));
        }
        let info = ConnectionAddr::Tcp(node.host.clone(), node.port)
            .into_connection_info()
            .map_err(|e| Error::InvalidOptions(format!("node address {node}: {e}")))?;
        Ok(info.set_redis_settings(redis).set_tcp_settings(tcp))
    }

    /// Opens one connection to `node` and checks that it answers `probe`
    /// (PING or HELLO), all within the connect timeout. Returns the
    /// connection and the probe's reply. `response_timeout` `None`: the
    /// connection itself never gives up waiting (blocking GETJOBs).
    async fn open(
        &self,
        node: &NodeAddr,
        response_timeout: Option<Duration>,
        probe: &str,
    ) -> Result<(MultiplexedConnection, Value), Error> {
        let client = redis::Client::open(self.info(node)?).map_err(|e| classify(&e, node))?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(response_timeout);
        let opening = async {
            let mut conn = client
                .get_multiplexed_async_connection_with_config(&config)
                .await
                .map_err(|e| match Error::from_redis(e.clone()) {
                    Error::Auth(m) => Error::Auth(m),
                    _ => Error::Connection(format!("cannot connect to {node}: {e}")),
                })?;
            let reply = match redis::cmd(probe).query_async::<Value>(&mut conn).await {
                Ok(v) => v,
                Err(e) => match Error::from_redis(e.clone()) {
                    // A server that answers with an error reply is alive.
                    Error::Server(m) => Value::SimpleString(m),
                    Error::Auth(m) => return Err(Error::Auth(m)),
                    _ => return Err(Error::Connection(format!("cannot connect to {node}: {e}"))),
                },
            };
            Ok((conn, reply))
        };
        match tokio::time::timeout(self.connect_timeout, opening).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout(format!(
                "cannot connect to {node}: no answer within the connect timeout ({} ms)",
                self.connect_timeout.as_millis()
            ))),
        }
    }
}

/// The main connection, with the generation to report failures against.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) conn: MultiplexedConnection,
    /// Used instead of `conn` by a caller that finds it free.
    direct: Option<Arc<Direct>>,
    pub(crate) addr: Arc<NodeAddr>,
    generation: u64,
}

/// Everything behind the lock.
struct State {
    table: NodeTable,
    main: Option<Shared>,
    generation: u64,
    /// The node the main connection goes to (or went to).
    main_addr: Arc<NodeAddr>,
    /// Connections to other nodes, for commands routed by job.
    routed: HashMap<Arc<NodeAddr>, MultiplexedConnection>,
    /// Where blocking GETJOBs go when consumers follow a producing node.
    consumer: Option<Arc<NodeAddr>>,
    /// Idle dedicated connections, with the node each goes to.
    pool: Vec<(MultiplexedConnection, Arc<NodeAddr>)>,
    /// Blocking GETJOBs in flight, per node.
    blocked: HashMap<Arc<NodeAddr>, usize>,
    failures: u32,
    next_attempt: Option<Instant>,
    /// Why the last main connection was dropped.
    lost: Option<String>,
    affinity: Affinity,
}

/// Connections of one client.
pub(crate) struct Connections {
    config: ConnConfig,
    state: Mutex<State>,
    reconnecting: tokio::sync::Mutex<()>,
    permits: Arc<Semaphore>,
}

/// Why one command failed.
enum Fail {
    /// The server answered with an error (the connection is fine).
    Reply(Error),
    /// The connection broke.
    Broken(String),
    /// No reply within the limit.
    TimedOut(Duration),
}

/// Runs `cmd` on the main node: on the direct connection if it is free,
/// else on the multiplexed one.
async fn exec_main(shared: &Shared, cmd: &redis::Cmd, limit: Duration) -> Result<Value, Fail> {
    if let Some(direct) = &shared.direct {
        match direct.try_run(cmd, limit).await {
            DirectOutcome::Reply(Ok(v)) => return Ok(v),
            DirectOutcome::Reply(Err(e)) => return Err(Fail::Reply(e)),
            DirectOutcome::Broken(why) => return Err(Fail::Broken(why)),
            DirectOutcome::TimedOut => return Err(Fail::TimedOut(limit)),
            DirectOutcome::Busy => {}
        }
    }
    exec(shared.conn.clone(), cmd, limit).await
}

async fn exec(
    mut conn: MultiplexedConnection,
    cmd: &redis::Cmd,
    limit: Duration,
) -> Result<Value, Fail> {
    match tokio::time::timeout(limit, cmd.query_async::<Value>(&mut conn)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) if is_broken(&e) => Err(Fail::Broken(e.to_string())),
        Ok(Err(e)) if e.is_timeout() => Err(Fail::TimedOut(limit)),
        Ok(Err(e)) => Err(Fail::Reply(Error::from_redis(e))),
        Err(_) => Err(Fail::TimedOut(limit)),
    }
}

/// Whether `e` means "this node is leaving: go elsewhere".
fn is_leaving(e: &Error) -> bool {
    match e {
        Error::Leaving(_) => true,
        Error::NoReplication(t) => crate::error::is_leaving_text(t),
        _ => false,
    }
}

/// Whether `cmd` adds jobs (its outcome is unknown when the reply is lost).
fn is_addjob(cmd: &redis::Cmd) -> bool {
    cmd.args_iter().next().is_some_and(
        |a| matches!(a, redis::Arg::Simple(name) if name.eq_ignore_ascii_case(b"ADDJOB")),
    )
}

const MAYBE_ADDED: &str = "the job may or may not have been added";

impl Connections {
    /// Connects the main connection to the best node that answers, learns
    /// the cluster with HELLO, and starts the periodic HELLO.
    pub(crate) async fn connect(config: ConnConfig, blocking: usize) -> Result<Arc<Self>, Error> {
        let table = NodeTable::from_seeds(config.nodes.clone());
        let first = table
            .candidates(Instant::now())
            .into_iter()
            .next()
            .ok_or_else(|| Error::InvalidOptions("no node address given".into()))?;
        let conns = Arc::new(Connections {
            state: Mutex::new(State {
                table,
                main: None,
                generation: 0,
                main_addr: first,
                routed: HashMap::new(),
                consumer: None,
                pool: Vec::new(),
                blocked: HashMap::new(),
                failures: 0,
                next_attempt: None,
                lost: None,
                affinity: Affinity::default(),
            }),
            config,
            reconnecting: tokio::sync::Mutex::new(()),
            permits: Arc::new(Semaphore::new(blocking.max(1))),
        });
        let (conn, addr) = conns.open_best().await?;
        conns.install(conn, addr);
        if let Some(every) = conns.config.hello_interval {
            tokio::spawn(refresh_loop(Arc::downgrade(&conns), every));
        }
        Ok(conns)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The address of the node the main connection goes to.
    pub(crate) fn current_node(&self) -> String {
        self.state().main_addr.to_string()
    }

    /// The node table as shown to users.
    pub(crate) fn nodes(&self) -> Vec<ClusterNode> {
        let st = self.state();
        let consumer = st
            .consumer
            .clone()
            .unwrap_or_else(|| Arc::clone(&st.main_addr));
        let now = Instant::now();
        let order = st.table.candidates(now);
        order
            .iter()
            .filter_map(|addr| st.table.get(addr))
            .map(|e| ClusterNode {
                id: e.id.clone(),
                address: e.addr.to_string(),
                priority: e.priority,
                serves_commands: *e.addr == *st.main_addr && st.main.is_some(),
                serves_consumers: *e.addr == *consumer,
                blocked_consumers: st.blocked.get(&e.addr).copied().unwrap_or(0),
            })
            .collect()
    }

    /// Opens the main connection to the best node: tries the candidates in
    /// order, asks each that answers HELLO, and passes over a leaving node
    /// while a better one answers.
    async fn open_best(&self) -> Result<(MultiplexedConnection, Arc<NodeAddr>), Error> {
        let mut tried: Vec<Arc<NodeAddr>> = Vec::new();
        let mut failures: Vec<String> = Vec::new();
        let mut fallback: Option<(MultiplexedConnection, Arc<NodeAddr>, i64)> = None;
        let limit = self.state().table.entries().len() + 8;
        for _ in 0..limit {
            let next = {
                let st = self.state();
                st.table
                    .candidates(Instant::now())
                    .into_iter()
                    .find(|a| !tried.contains(a))
                    .map(|a| {
                        let prio = st.table.get(&a).map_or(1, |e| e.priority);
                        (a, prio)
                    })
            };
            let Some((addr, prio)) = next else { break };
            if fallback.as_ref().is_some_and(|(_, _, p)| prio >= *p) {
                break;
            }
            tried.push(Arc::clone(&addr));
            match self.config.open(&addr, None, "HELLO").await {
                Ok((conn, reply)) => {
                    let leaving = {
                        let mut st = self.state();
                        st.table.mark_ok(&addr);
                        if let Ok(hello) = Hello::from_value(reply) {
                            st.table.update(&addr, &hello);
                        }
                        let prio = st.table.get(&addr).map_or(1, |e| e.priority);
                        (prio >= LEAVING_PRIORITY
                            && st.table.has_better_than(&addr, Instant::now()))
                        .then_some(prio)
                    };
                    match leaving {
                        None => return Ok((conn, addr)),
                        Some(p) => {
                            tracing::info!(node = %addr, "node is leaving; trying a better one");
                            if fallback.is_none() {
                                fallback = Some((conn, addr, p));
                            }
                        }
                    }
                }
                Err(e @ Error::Auth(_)) => return Err(e),
                Err(e) => {
                    self.state().table.mark_failed(&addr, Instant::now());
                    failures.push(message(e));
                }
            }
        }
        match fallback {
            Some((conn, addr, _)) => Ok((conn, addr)),
            None if failures.is_empty() => {
                Err(Error::Connection("no node left to connect to".into()))
            }
            None => Err(Error::Connection(failures.join("; "))),
        }
    }

    /// Makes `conn` (to `addr`) the main connection.
    fn install(&self, conn: MultiplexedConnection, addr: Arc<NodeAddr>) -> Shared {
        let mut st = self.state();
        st.generation += 1;
        let direct = self.config.direct.then(|| {
            Arc::new(Direct::new(
                Arc::clone(&addr),
                self.config.password.clone(),
                self.config.connect_timeout,
                self.config.link_check,
            ))
        });
        let shared = Shared {
            conn,
            direct,
            addr: Arc::clone(&addr),
            generation: st.generation,
        };
        if *st.main_addr != *addr {
            tracing::info!(from = %st.main_addr, to = %addr, "main connection moved");
        }
        st.routed.remove(&addr);
        st.main = Some(shared.clone());
        st.main_addr = addr;
        st.failures = 0;
        st.next_attempt = None;
        st.lost = None;
        shared
    }

    /// The main connection, reconnecting (to the best node) first if it was lost.
    pub(crate) async fn shared(&self) -> Result<Shared, Error> {
        if let Some(s) = self.state().main.clone() {
            return Ok(s);
        }
        // Boxed: reconnecting is rare and its future large; unboxed, it would
        // be part of the future of every call.
        Box::pin(self.reconnect()).await
    }

    /// The slow path of [`shared`](Self::shared): one caller reconnects
    /// (after the backoff), the others wait for it.
    async fn reconnect(&self) -> Result<Shared, Error> {
        let _one_at_a_time = self.reconnecting.lock().await;
        let (wait_until, lost) = {
            let st = self.state();
            if let Some(s) = st.main.clone() {
                return Ok(s);
            }
            (st.next_attempt, st.lost.clone())
        };
        if let Some(at) = wait_until {
            tokio::time::sleep_until(at.into()).await;
        }
        match self.open_best().await {
            Ok((conn, addr)) => {
                tracing::info!(node = %addr, "reconnected");
                Ok(self.install(conn, addr))
            }
            Err(e) => {
                let mut st = self.state();
                st.failures = st.failures.saturating_add(1);
                let wait = backoff(st.failures);
                st.next_attempt = Some(Instant::now() + wait);
                tracing::warn!(attempt = st.failures, next_in_ms = wait.as_millis() as u64, error = %e, "reconnecting failed");
                let why = lost
                    .map(|l| format!("connection lost ({l}); "))
                    .unwrap_or_default();
                Err(match e {
                    Error::Auth(m) => Error::Auth(m),
                    other => Error::Connection(format!(
                        "{why}reconnecting failed (attempt {}, next in {} ms): {}",
                        st.failures,
                        wait.as_millis(),
                        message(other)
                    )),
                })
            }
        }
    }

    /// Drops the main connection `shared` (if still installed) so that the
    /// next call reconnects, and remembers why. `failed`: the node is tried
    /// last for a while; `leaving`: it said it is leaving.
    fn drop_main(&self, shared: &Shared, why: &str, failed: bool, leaving: bool) {
        let mut st = self.state();
        if failed {
            st.table.mark_failed(&shared.addr, Instant::now());
        }
        if leaving {
            st.table.mark_leaving(&shared.addr);
        }
        if st
            .main
            .as_ref()
            .is_some_and(|m| m.generation == shared.generation)
        {
            st.main = None;
            st.lost = Some(why.to_owned());
            // Idle blocking connections to that node go too.
            st.pool.retain(|(_, a)| *a != shared.addr);
            if st.consumer.as_ref() == Some(&shared.addr) {
                st.consumer = None;
            }
            tracing::warn!(node = %shared.addr, reason = why, "connection dropped; the next call reconnects");
        }
    }

    /// Runs `cmd` on the main connection, waiting at most the response
    /// timeout plus `extra` (the time the server may take on purpose, such
    /// as an ADDJOB's replication timeout). A lost connection or a
    /// `-LEAVING` node moves the client to the next best node, where the
    /// call is tried once more unless it was an ADDJOB whose outcome is
    /// unknown.
    pub(crate) async fn run(&self, cmd: &redis::Cmd, extra: Duration) -> Result<Value, Error> {
        let limit = self.config.response_timeout.saturating_add(extra);
        let shared = self.shared().await?;
        match exec_main(&shared, cmd, limit).await {
            Ok(v) => Ok(v),
            Err(fail) => self.recover(shared, cmd, limit, fail).await,
        }
    }

    async fn recover(
        &self,
        shared: Shared,
        cmd: &redis::Cmd,
        limit: Duration,
        fail: Fail,
    ) -> Result<Value, Error> {
        let adding = is_addjob(cmd);
        match fail {
            Fail::Reply(e) if is_leaving(&e) => {
                // Refused: nothing happened, so trying elsewhere is safe.
                self.drop_main(&shared, "the node is leaving the cluster", false, true);
                let next = self.shared().await?;
                if next.addr == shared.addr {
                    return Err(e);
                }
                let retried = exec_main(&next, cmd, limit).await;
                retried.map_err(|f| self.settle(&next, f, adding))
            }
            Fail::Reply(e) => Err(e),
            Fail::Broken(why) => {
                self.drop_main(&shared, &why, true, false);
                if adding {
                    return Err(Error::Connection(format!(
                        "connection to {} lost before the reply ({why}): {MAYBE_ADDED}",
                        shared.addr
                    )));
                }
                let next = self.shared().await?;
                let retried = exec_main(&next, cmd, limit).await;
                retried.map_err(|f| self.settle(&next, f, adding))
            }
            Fail::TimedOut(limit) => Err(self.settle(&shared, Fail::TimedOut(limit), adding)),
        }
    }

    /// Turns a failure into the caller's error, dropping a broken or
    /// timed-out main connection (never reused).
    fn settle(&self, shared: &Shared, fail: Fail, adding: bool) -> Error {
        let maybe = if adding {
            format!(": {MAYBE_ADDED}")
        } else {
            String::new()
        };
        match fail {
            Fail::Reply(e) => {
                if is_leaving(&e) {
                    self.drop_main(shared, "the node is leaving the cluster", false, true);
                }
                e
            }
            Fail::Broken(why) => {
                self.drop_main(shared, &why, true, false);
                Error::Connection(format!("connection to {} lost ({why}){maybe}", shared.addr))
            }
            Fail::TimedOut(limit) => {
                self.drop_main(shared, "a call timed out", true, false);
                Error::Timeout(format!(
                    "no reply from {} within {} ms (connection replaced){maybe}",
                    shared.addr,
                    limit.as_millis()
                ))
            }
        }
    }

    /// Runs the commands of `pipe` in one write on the main connection;
    /// one result per command, error replies included. Never retried (it
    /// carries ADDJOBs).
    pub(crate) async fn run_pipeline(
        &self,
        pipe: redis::Pipeline,
        extra: Duration,
    ) -> Result<Vec<Result<Value, Error>>, Error> {
        let packed = pipe.get_packed_pipeline();
        let commands = pipe.len();
        let as_value = |_: usize, reply: Reply<'_>| reply.into_value().map_err(Error::Protocol);
        self.run_packed(&packed, commands, extra, move || pipe, as_value)
            .await
    }

    /// [`run_pipeline`](Self::run_pipeline) for commands already packed
    /// (`commands` of them in `packed`); `pipeline` builds the same commands
    /// as a `redis::Pipeline`, only if the multiplexed connection must
    /// carry them (the direct one is busy). `read` reads the reply to the
    /// command at an index (error replies are the `Err`s of the result,
    /// never given to `read`): as bytes from the direct connection, as a
    /// value from the multiplexed one.
    pub(crate) async fn run_packed<T>(
        &self,
        packed: &[u8],
        commands: usize,
        extra: Duration,
        pipeline: impl FnOnce() -> redis::Pipeline,
        mut read: impl FnMut(usize, Reply<'_>) -> Result<T, Error>,
    ) -> Result<Vec<Result<T, Error>>, Error> {
        let shared = self.shared().await?;
        let limit = self.config.response_timeout.saturating_add(extra);
        let direct = match &shared.direct {
            Some(direct) => {
                let mut index = 0;
                let read_frame = |frame: &[u8]| {
                    let at = index;
                    index += 1;
                    if frame.first() == Some(&b'-') {
                        return server_error(frame).map(Err);
                    }
                    Ok(read(at, Reply::Frame(frame)))
                };
                direct.try_packed(packed, commands, limit, read_frame).await
            }
            None => Exchange::Busy,
        };
        let results = match direct {
            Exchange::Replies(results) => results,
            Exchange::Broken(why) => return Err(self.settle(&shared, Fail::Broken(why), true)),
            Exchange::TimedOut => return Err(self.settle(&shared, Fail::TimedOut(limit), true)),
            Exchange::Busy => {
                let mut pipe = pipeline();
                pipe.ignore_errors();
                let mut conn = shared.conn.clone();
                match tokio::time::timeout(limit, pipe.query_async::<Vec<Value>>(&mut conn)).await {
                    Ok(Ok(values)) => values
                        .into_iter()
                        .enumerate()
                        .map(|(at, v)| value_or_error(v).and_then(|v| read(at, Reply::Value(v))))
                        .collect(),
                    Ok(Err(e)) if is_broken(&e) => {
                        return Err(self.settle(&shared, Fail::Broken(e.to_string()), true))
                    }
                    Ok(Err(e)) => return Err(classify(&e, &shared.addr)),
                    Err(_) => return Err(self.settle(&shared, Fail::TimedOut(limit), true)),
                }
            }
        };
        if results.iter().any(|r| matches!(r, Err(e) if is_leaving(e))) {
            self.drop_main(&shared, "the node is leaving the cluster", false, true);
        }
        Ok(results)
    }

    /// Runs `cmd` on the node at `addr`: the main connection if it goes
    /// there, else a connection of its own kept for further routed calls.
    async fn run_on(&self, addr: &Arc<NodeAddr>, cmd: &redis::Cmd) -> Result<Value, Error> {
        let (main, cached) = {
            let st = self.state();
            (
                st.main.clone().filter(|m| m.addr == *addr),
                st.routed.get(addr).cloned(),
            )
        };
        if let Some(shared) = main {
            let limit = self.config.response_timeout;
            return match exec_main(&shared, cmd, limit).await {
                Ok(v) => Ok(v),
                Err(f) => Err(self.settle(&shared, f, false)),
            };
        }
        let conn = match cached {
            Some(c) => c,
            None => {
                let (c, _) = match self.config.open(addr, None, "PING").await {
                    Ok(ok) => ok,
                    Err(e) => {
                        self.state().table.mark_failed(addr, Instant::now());
                        return Err(e);
                    }
                };
                self.state().routed.insert(Arc::clone(addr), c.clone());
                c
            }
        };
        match exec(conn, cmd, self.config.response_timeout).await {
            Ok(v) => Ok(v),
            Err(Fail::Reply(e)) => Err(e),
            Err(f) => {
                let mut st = self.state();
                st.routed.remove(addr);
                st.table.mark_failed(addr, Instant::now());
                Err(match f {
                    Fail::Broken(why) => {
                        Error::Connection(format!("connection to {addr} lost ({why})"))
                    }
                    _ => Error::Timeout(format!(
                        "no reply from {addr} within {} ms",
                        self.config.response_timeout.as_millis()
                    )),
                })
            }
        }
    }

    /// The nodes that may hold the job `id`, most likely first: the node
    /// that delivered it, the node that created it (its id's prefix), the
    /// main node, then every other known node.
    fn route(&self, id: &JobId, delivered_by: Option<&Arc<NodeAddr>>) -> Vec<Arc<NodeAddr>> {
        let st = self.state();
        let mut out: Vec<Arc<NodeAddr>> = Vec::new();
        let mut push = |a: Arc<NodeAddr>| {
            if !out.contains(&a) {
                out.push(a);
            }
        };
        if let Some(a) = delivered_by {
            push(Arc::clone(a));
        }
        if let Some(a) = st.table.addr_of_prefix(id.node_prefix()) {
            push(a);
        }
        push(Arc::clone(&st.main_addr));
        for a in st.table.candidates(Instant::now()) {
            push(a);
        }
        out
    }

    /// Whether the client knows only one node (routing is moot).
    fn single_node(&self) -> bool {
        self.state().table.entries().len() <= 1
    }

    /// Runs the one-id command `cmd` (WORKING, SHOW…) on the nodes that may
    /// hold `id`, in order, until one answers something `found` accepts.
    /// Returns the last answer (or error) when none does.
    pub(crate) async fn run_routed(
        &self,
        id: &JobId,
        delivered_by: Option<&Arc<NodeAddr>>,
        cmd: &redis::Cmd,
        found: impl Fn(&Result<Value, Error>) -> bool,
    ) -> Result<Value, Error> {
        if self.single_node() && delivered_by.is_none_or(|d| *d == self.state().main_addr) {
            return self.run(cmd, Duration::ZERO).await;
        }
        let mut last = None;
        for addr in self.route(id, delivered_by) {
            let r = self.run_on(&addr, cmd).await;
            if found(&r) {
                return r;
            }
            let go_on = match &r {
                Ok(_) => true,
                Err(e) => {
                    matches!(e, Error::NoJob(_))
                        || e.is_connection()
                        || e.is_timeout()
                        || is_leaving(e)
                }
            };
            if !go_on {
                return r;
            }
            last = Some(r);
        }
        last.unwrap_or_else(|| Err(Error::Connection("no node to ask".into())))
    }

    /// `name id…` (NACK, ACKJOB, FASTACK) sent to the node that holds each
    /// job; ids whose node answered 0 ("not here") are asked of the other
    /// nodes one by one. Returns the sum of the counts.
    pub(crate) async fn run_ids_routed(
        &self,
        name: &str,
        ids: &[(JobId, Option<Arc<NodeAddr>>)],
    ) -> Result<u64, Error> {
        let span = tracing::Span::current();
        span.record("jobs", ids.len());
        if let [(one, _)] = ids {
            span.record("job_id", tracing::field::display(one));
        }
        let main = self.state().main_addr.clone();
        let direct = ids
            .iter()
            .all(|(_, d)| d.as_ref().is_none_or(|d| *d == main));
        if self.single_node() && direct {
            let cmd =
                super::ids::multi_id_cmd(name, &ids.iter().map(|(id, _)| id).collect::<Vec<_>>());
            let reply = self.run(&cmd, Duration::ZERO).await?;
            return super::ids::int_reply(name, reply);
        }
        // Group by the first node to ask.
        let mut groups: Vec<(Arc<NodeAddr>, Vec<usize>)> = Vec::new();
        for (i, (id, d)) in ids.iter().enumerate() {
            let first = self
                .route(id, d.as_ref())
                .into_iter()
                .next()
                .unwrap_or_else(|| main.clone());
            match groups.iter_mut().find(|(a, _)| *a == first) {
                Some((_, v)) => v.push(i),
                None => groups.push((first, vec![i])),
            }
        }
        let mut total = 0u64;
        for (addr, members) in groups {
            let cmd = super::ids::multi_id_cmd(
                name,
                &members.iter().map(|&i| &ids[i].0).collect::<Vec<_>>(),
            );
            let got = match self.run_on(&addr, &cmd).await {
                Ok(v) => Some(super::ids::int_reply(name, v)?),
                Err(e) if e.is_connection() || e.is_timeout() || is_leaving(&e) => None,
                Err(e) => return Err(e),
            };
            match got {
                Some(n) if n > 0 => total += n,
                // Nothing was done there: safe to ask the other nodes.
                _ => {
                    for &i in &members {
                        let (id, d) = &ids[i];
                        let one = super::ids::multi_id_cmd(name, &[id]);
                        for other in self
                            .route(id, d.as_ref())
                            .into_iter()
                            .filter(|a| *a != addr)
                        {
                            match self.run_on(&other, &one).await {
                                Ok(v) => {
                                    let n = super::ids::int_reply(name, v)?;
                                    if n > 0 {
                                        total += n;
                                        break;
                                    }
                                }
                                Err(e) if e.is_connection() || e.is_timeout() || is_leaving(&e) => {
                                }
                                Err(e) => return Err(e),
                            }
                        }
                    }
                }
            }
        }
        Ok(total)
    }

    /// The node consumers block on: the one they follow, else the main node.
    fn consumer_addr(&self) -> Arc<NodeAddr> {
        let st = self.state();
        st.consumer
            .clone()
            .unwrap_or_else(|| Arc::clone(&st.main_addr))
    }

    /// Runs a non-blocking GETJOB (NOHANG) where consumers are served:
    /// the followed node if any, else the main connection. Returns the node
    /// that answered.
    pub(crate) async fn run_consume(
        &self,
        cmd: &redis::Cmd,
    ) -> Result<(Value, Arc<NodeAddr>), Error> {
        let followed = self.state().consumer.clone();
        if let Some(addr) = followed {
            match self.run_on(&addr, cmd).await {
                Ok(v) => return Ok((v, addr)),
                Err(e) if e.is_connection() || e.is_timeout() || is_leaving(&e) => {
                    tracing::warn!(node = %addr, error = %e, "followed node lost; consumers go back to the main node");
                    let mut st = self.state();
                    if st.consumer.as_ref() == Some(&addr) {
                        st.consumer = None;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let shared = self.shared().await?;
        let addr = Arc::clone(&shared.addr);
        let limit = self.config.response_timeout;
        match exec_main(&shared, cmd, limit).await {
            Ok(v) => Ok((v, addr)),
            Err(fail) => {
                let v = self.recover(shared, cmd, limit, fail).await?;
                let addr = self.state().main_addr.clone();
                Ok((v, addr))
            }
        }
    }

    /// Counts where the jobs a consumer received were created; moves the
    /// blocking connections to the node producing most of them.
    pub(crate) fn received<'a>(&self, ids: impl Iterator<Item = &'a JobId>) {
        if !self.config.affinity {
            return;
        }
        let mut st = self.state();
        if st.table.entries().len() <= 1 {
            return;
        }
        let current = st
            .consumer
            .clone()
            .unwrap_or_else(|| Arc::clone(&st.main_addr));
        let current_id = st.table.get(&current).and_then(|e| e.id.clone());
        for id in ids {
            let Some(prefix) = st.affinity.record(id.node_prefix(), current_id.as_deref()) else {
                continue;
            };
            let Some(target) = st.table.addr_of_prefix(&prefix) else {
                continue;
            };
            let healthy = st
                .table
                .get(&target)
                .is_some_and(|e| e.priority < LEAVING_PRIORITY);
            if healthy && target != current {
                tracing::info!(from = %current, to = %target, "consumer affinity: most jobs come from another node; blocking connections move there");
                st.consumer = if target == st.main_addr {
                    None
                } else {
                    Some(target)
                };
                return;
            }
        }
    }

    /// A blocking GETJOB, sent as a series of server-side timeouts of at
    /// most `link_check` each (`build(t)` makes the command with TIMEOUT t),
    /// for `total` in all (`None`: until a job comes). A dead link or a
    /// leaving node is noticed at the end of a slice at the latest; the
    /// consumer then moves on (another connection, the next best node)
    /// without reporting an error. Returns the reply and the node that gave it.
    pub(crate) async fn blocking_getjob<F>(
        &self,
        total: Option<Duration>,
        build: F,
    ) -> Result<(Value, Arc<NodeAddr>), Error>
    where
        F: Fn(Duration) -> Result<redis::Cmd, Error>,
    {
        let deadline = total.map(|t| Instant::now() + t);
        let grace = self.config.link_check.min(self.config.response_timeout);
        let mut moves = 0usize;
        loop {
            let slice = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok((Value::Nil, self.consumer_addr()));
                    }
                    left.min(self.config.link_check)
                }
                None => self.config.link_check,
            }
            // GETJOB TIMEOUT 0 waits forever: never send it.
            .max(Duration::from_millis(1));
            let cmd = build(slice)?;
            let conn = self.dedicated().await?;
            let addr = Arc::clone(&conn.addr);
            match conn.run(&cmd, slice.saturating_add(grace)).await {
                Ok(Value::Nil) => continue,
                Ok(v) => return Ok((v, addr)),
                Err(Fail::Reply(e)) if is_leaving(&e) => {
                    tracing::info!(node = %addr, "node is leaving; consumers move to the next best node");
                    self.node_gone(&addr, false);
                }
                Err(Fail::Reply(e)) => return Err(e),
                Err(Fail::Broken(why)) => {
                    tracing::warn!(node = %addr, reason = %why, "blocking connection lost; reconnecting");
                    self.node_gone(&addr, true);
                }
                Err(Fail::TimedOut(_)) => {
                    tracing::warn!(node = %addr, "no answer on a blocking connection (dead link); reconnecting");
                    self.node_gone(&addr, true);
                }
            }
            moves += 1;
            let bound = self.state().table.entries().len() + 2;
            if moves > bound {
                return Err(Error::Connection(format!(
                    "consumers could not stay connected: {moves} connections lost in a row"
                )));
            }
        }
    }

    /// The node at `addr` failed (or is leaving): consumers stop following
    /// it, idle connections to it go, and the main connection moves if it
    /// went there.
    fn node_gone(&self, addr: &Arc<NodeAddr>, failed: bool) {
        let main = {
            let mut st = self.state();
            if failed {
                st.table.mark_failed(addr, Instant::now());
            } else {
                st.table.mark_leaving(addr);
            }
            if st.consumer.as_ref() == Some(addr) {
                st.consumer = None;
            }
            st.pool.retain(|(_, a)| a != addr);
            st.routed.remove(addr);
            st.main.clone().filter(|m| m.addr == *addr)
        };
        if let Some(shared) = main {
            let why = if failed {
                "link dead"
            } else {
                "the node is leaving the cluster"
            };
            self.drop_main(&shared, why, failed, !failed);
        }
    }

    /// A dedicated connection for one blocking GETJOB, to the node
    /// consumers block on. At most `blocking` are out at once; further
    /// callers wait for one to come back.
    async fn dedicated(&self) -> Result<Dedicated<'_>, Error> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| Error::Connection("the client is closed".into()))?;
        // Make sure the main node is chosen (reconnecting if it was lost).
        let followed = self.state().consumer.is_some();
        if !followed {
            self.shared().await?;
        }
        let target = self.consumer_addr();
        let idle = {
            let mut st = self.state();
            let found = st.pool.iter().rposition(|(_, a)| *a == target);
            // Idle connections to nodes consumers left are closed.
            let conn = found.map(|i| st.pool.swap_remove(i));
            st.pool.retain(|(_, a)| *a == target);
            conn
        };
        let (conn, addr) = match idle {
            Some(c) => c,
            None => match self.config.open(&target, None, "PING").await {
                Ok((c, _)) => (c, target),
                Err(e @ Error::Auth(_)) => return Err(e),
                Err(e) => {
                    tracing::warn!(node = %target, error = %e, "cannot open a blocking connection");
                    self.node_gone(&target, true);
                    // Once more, to the next best node.
                    self.shared().await?;
                    let next = self.consumer_addr();
                    let (c, _) = self.config.open(&next, None, "PING").await?;
                    (c, next)
                }
            },
        };
        *self.state().blocked.entry(Arc::clone(&addr)).or_insert(0) += 1;
        Ok(Dedicated {
            owner: self,
            conn: Some(conn),
            addr,
            _permit: permit,
        })
    }

    /// Asks the main node HELLO again; moves the main connection when its
    /// node is now leaving and a better one answers.
    async fn refresh(&self) {
        let Some(shared) = self.state().main.clone() else {
            return;
        };
        let reply = exec(
            shared.conn.clone(),
            &redis::cmd("HELLO"),
            self.config.response_timeout,
        )
        .await;
        match reply {
            Ok(v) => {
                let leaving = match Hello::from_value(v) {
                    Ok(hello) => {
                        let mut st = self.state();
                        st.table.update(&shared.addr, &hello);
                        let prio = st.table.get(&shared.addr).map_or(1, |e| e.priority);
                        prio >= LEAVING_PRIORITY
                            && st.table.has_better_than(&shared.addr, Instant::now())
                    }
                    Err(_) => false,
                };
                if leaving {
                    tracing::info!(node = %shared.addr, "main node is leaving; moving to a better node");
                    let _one_at_a_time = self.reconnecting.lock().await;
                    if let Ok((conn, addr)) = self.open_best().await {
                        if addr != shared.addr {
                            self.install(conn, addr);
                            let mut st = self.state();
                            st.pool.retain(|(_, a)| *a != shared.addr);
                        }
                    }
                }
            }
            Err(Fail::Reply(_)) => {}
            Err(f) => {
                let _ = self.settle(&shared, f, false);
            }
        }
    }
}

/// Asks HELLO every `every` while the client lives.
async fn refresh_loop(conns: Weak<Connections>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let Some(conns) = conns.upgrade() else { break };
        conns.refresh().await;
    }
}

/// A connection for one blocking GETJOB. Given back to the pool only if
/// the call finished cleanly: a GETJOB cut short by a timeout or a cancelled
/// future may still be answered, and that answer must not reach the next user.
struct Dedicated<'a> {
    owner: &'a Connections,
    conn: Option<MultiplexedConnection>,
    addr: Arc<NodeAddr>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Dedicated<'_> {
    fn drop(&mut self) {
        let mut st = self.owner.state();
        if let Some(n) = st.blocked.get_mut(&self.addr) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                st.blocked.remove(&self.addr);
            }
        }
    }
}

impl Dedicated<'_> {
    /// Runs one blocking command, waiting at most `limit`.
    async fn run(mut self, cmd: &redis::Cmd, limit: Duration) -> Result<Value, Fail> {
        let Some(conn) = self.conn.take() else {
            return Err(Fail::Broken("connection already used".into()));
        };
        let result = exec(conn.clone(), cmd, limit).await;
        if matches!(result, Ok(_) | Err(Fail::Reply(_))) {
            lock(&self.owner.state)
                .pool
                .push((conn, Arc::clone(&self.addr)));
        }
        result
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
    // the data (a node table, connection slots) is still consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The wait before reconnect attempt `failures + 1`: "full jitter", a
/// uniformly random time below an exponentially growing cap, so that many
/// clients losing the same node do not all come back at once.
fn backoff(failures: u32) -> Duration {
    let cap = backoff_cap(failures);
    let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rand::random_range(0..=nanos))
}

fn backoff_cap(failures: u32) -> Duration {
    let factor = 1u32 << failures.saturating_sub(1).min(16);
    MIN_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF)
}

/// Whether `e` means the connection can no longer be used.
fn is_broken(e: &redis::RedisError) -> bool {
    e.is_connection_dropped() || e.is_unrecoverable_error() || (e.is_io_error() && !e.is_timeout())
}

/// Maps a pipeline element: an error reply becomes an [`Error`].
/// The error of an error reply (`-…`), read whole.
fn server_error(frame: &[u8]) -> Result<Error, String> {
    match value_of(frame)? {
        Value::ServerError(e) => Ok(Error::from_server_error(&e)),
        other => Err(format!("not an error reply: {other:?}")),
    }
}

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
    fn backoff_has_full_jitter_under_a_growing_cap() {
        assert_eq!(backoff_cap(1), MIN_BACKOFF);
        assert_eq!(backoff_cap(2), MIN_BACKOFF * 2);
        assert_eq!(backoff_cap(40), MAX_BACKOFF);
        let waits: Vec<Duration> = (0..200).map(|_| backoff(3)).collect();
        assert!(waits.iter().all(|w| *w <= backoff_cap(3)));
        // Drawn, not fixed: 200 draws below 200 ms are not all alike, and
        // some fall in the lower half.
        assert!(waits.iter().any(|w| *w != waits[0]));
        assert!(waits.iter().any(|w| *w < backoff_cap(3) / 2));
    }

    #[test]
    fn only_addjob_counts_as_adding() {
        assert!(is_addjob(redis::cmd("ADDJOB").arg("q")));
        assert!(is_addjob(redis::cmd("addjob").arg("q")));
        assert!(!is_addjob(redis::cmd("ACKJOB").arg("D-x")));
        assert!(!is_addjob(&redis::cmd("PING")));
    }

    #[test]
    fn leaving_replies_are_recognised() {
        assert!(is_leaving(&Error::Leaving(
            "This node is leaving the cluster, please connect to a different one".into()
        )));
        assert!(is_leaving(&Error::NoReplication(
            "Not enough reachable nodes for the requested replication level, since I'm unable to hold a copy of the message for the following reason: I'm leaving the cluster".into()
        )));
        assert!(!is_leaving(&Error::NoReplication(
            "Not enough reachable nodes for the requested replication level".into()
        )));
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
            link_check: Duration::from_secs(4),
            hello_interval: None,
            affinity: true,
            direct: false,
        }
    }

    #[tokio::test]
    async fn connecting_asks_hello_and_sends_no_client_setinfo_nor_resp3_hello() {
        // A server that does not know HELLO still answers: it is alive.
        let (node, server) = fake_server(&["-ERR unknown command 'HELLO'\r\n", "+PONG\r\n"]).await;
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
            seen, "*1\r\n$5\r\nHELLO\r\n*1\r\n$4\r\nPING\r\n",
            "Disque's own HELLO (no protocol version), then the command itself"
        );
    }

    #[tokio::test]
    async fn a_password_is_sent_with_auth_first() {
        let (node, server) =
            fake_server(&["+OK\r\n", "-ERR unknown command 'HELLO'\r\n", "+PONG\r\n"]).await;
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
            "*2\r\n$4\r\nAUTH\r\n$6\r\nsesame\r\n*1\r\n$5\r\nHELLO\r\n*1\r\n$4\r\nPING\r\n"
        );
    }

    #[tokio::test]
    async fn a_server_that_never_answers_fails_the_connect_in_time() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut cfg = config(
            NodeAddr {
                host: "127.0.0.1".into(),
                port,
            },
            None,
        );
        cfg.connect_timeout = Duration::from_millis(200);
        let started = Instant::now();
        let err = Connections::connect(cfg, 1).await.err().expect("refused");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert!(
            err.to_string()
                .contains("no answer within the connect timeout"),
            "{err}"
        );
        drop(listener);
    }
}
