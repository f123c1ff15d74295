//! The async client: a cheap-to-clone handle to one Disque (or a cluster).
//!
//! Non-blocking commands of every clone share one multiplexed connection;
//! each blocking `GETJOB` borrows a dedicated connection from a small pool.

mod addrs;
mod admin;
mod args;
mod conn;
mod ids;
mod op;
mod raw;
mod scan;
mod typed;
mod wait;

use std::sync::Arc;
use std::time::Duration;

pub(crate) use addrs::NodeAddr;
pub use addrs::{ToAddrs, DEFAULT_PORT};
pub use op::JobOp;

use crate::{ConsumeOptions, Error, JobOptions};
use conn::{ConnConfig, Connections};

/// A handle to Disque. Clones share the connections; it is `Send + Sync`.
///
/// ```
/// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
/// # let node = disque_embedded::Node::start_ephemeral().await?;
/// # let addr = node.addr().to_string();
/// let client = disque::Client::connect(addr.as_str()).await?;
/// let id = client.add(b"hello".as_slice(), "greetings").await?;
/// let job = client.get(&["greetings"]).await?.expect("a job is queued");
/// assert_eq!(job.id(), &id);
/// job.ack().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    conns: Arc<Connections>,
    job_defaults: JobOptions,
    consume_defaults: ConsumeOptions,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("node", &self.inner.conns.current_node())
            .field("job_defaults", &self.inner.job_defaults)
            .field("consume_defaults", &self.inner.consume_defaults)
            .finish()
    }
}

impl Client {
    /// Connects with default settings to the best node of `addrs` that
    /// answers (`"host:port"`, `"a:7711,b:7711"`, `&["a:7711", "b:7711"]`,
    /// `Vec<String>`…); the others, and every node their `HELLO` names, are
    /// kept for reconnecting (see [`ClientBuilder::connect`]).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let addr = node.addr().to_string();
    /// // The first address refuses connections; the second answers.
    /// let client = disque::Client::connect(["127.0.0.1:1", addr.as_str()]).await?;
    /// client.ping().await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(addrs: impl ToAddrs) -> Result<Client, Error> {
        Client::builder().connect(addrs).await
    }

    /// A builder for connect timeout, password, default options and pool size.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let addr = node.addr().to_string();
    /// let client = disque::Client::builder()
    ///     .connect_timeout(Duration::from_secs(2))
    ///     .job_defaults(disque::JobOptions::new().retry(Duration::from_secs(30)))
    ///     .consume_defaults(disque::ConsumeOptions::new().timeout(Duration::from_secs(10)))
    ///     .blocking_connections(4)
    ///     .connect(addr.as_str())
    ///     .await?;
    /// # client.ping().await?;
    /// # Ok(()) }
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The job options applied to every job this client adds, under those of
    /// a job type and those given for one call (set with
    /// [`ClientBuilder::job_defaults`]).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// assert_eq!(client.job_defaults(), &disque::JobOptions::new());
    /// # Ok(()) }
    /// ```
    pub fn job_defaults(&self) -> &JobOptions {
        &self.inner.job_defaults
    }

    /// The consume options applied to every GETJOB of this client, under
    /// those given for one call (set with [`ClientBuilder::consume_defaults`]).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// assert_eq!(client.consume_defaults(), &disque::ConsumeOptions::new());
    /// # Ok(()) }
    /// ```
    pub fn consume_defaults(&self) -> &ConsumeOptions {
        &self.inner.consume_defaults
    }

    /// The node the shared connection currently goes to (`host:port`).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// let client = disque::Client::connect(node.addr()).await?;
    /// assert_eq!(client.node(), node.addr().to_string());
    /// # Ok(()) }
    /// ```
    pub fn node(&self) -> String {
        self.inner.conns.current_node()
    }

    /// Every node the client knows (the seeds and what `HELLO` told), best
    /// first, with its priority and what it serves for this client.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// let client = disque::Client::connect(node.addr()).await?;
    /// let main = client.nodes().into_iter().find(|n| n.serves_commands);
    /// assert_eq!(main.map(|n| n.address), Some(client.node()));
    /// # Ok(()) }
    /// ```
    pub fn nodes(&self) -> Vec<crate::ClusterNode> {
        self.inner.conns.nodes()
    }

    pub(crate) fn conns(&self) -> &Connections {
        &self.inner.conns
    }
}

/// Settings of a [`Client`], made with [`Client::builder`].
///
/// ```
/// # use std::time::Duration;
/// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
/// # let node = disque_embedded::Node::start_ephemeral().await?;
/// let client = disque::Client::builder()
///     .connect_timeout(Duration::from_secs(1))
///     .response_timeout(Duration::from_secs(10))
///     .connect(node.addr())
///     .await?;
/// client.ping().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    connect_timeout: Duration,
    response_timeout: Duration,
    password: Option<String>,
    job_defaults: JobOptions,
    consume_defaults: ConsumeOptions,
    blocking: usize,
    link_check: Duration,
    hello_interval: Option<Duration>,
    affinity: bool,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            connect_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(30),
            password: None,
            job_defaults: JobOptions::new(),
            consume_defaults: ConsumeOptions::new(),
            blocking: 8,
            link_check: Duration::from_secs(4),
            hello_interval: Some(Duration::from_secs(30)),
            affinity: true,
        }
    }
}

impl ClientBuilder {
    /// How long connecting to one node may take (default 5 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let b = disque::Client::builder().connect_timeout(Duration::from_millis(500));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a non-blocking command may wait for its reply (default 30 s;
    /// an `ADDJOB` waiting for replication gets its own timeout on top).
    /// Blocking `GETJOB`s wait for their own `TIMEOUT` instead.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let b = disque::Client::builder().response_timeout(Duration::from_secs(5));
    /// ```
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// Sends `AUTH password` on every new connection.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let config = disque_embedded::Config::default()
    /// #     .addr(([127, 0, 0, 1], 0))
    /// #     .requirepass("secret");
    /// # let node = disque_embedded::Node::start(config).await?;
    /// let client = disque::Client::builder()
    ///     .password("secret")
    ///     .connect(node.addr())
    ///     .await?;
    /// client.ping().await?;
    /// # Ok(()) }
    /// ```
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Job options (ADDJOB) applied to every job the client adds, under
    /// those of a job type and those given for one call. They never change
    /// how consumers wait: a replication timeout set here is not a GETJOB
    /// timeout.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let b = disque::Client::builder()
    ///     .job_defaults(disque::JobOptions::new().ttl(Duration::from_secs(3600)));
    /// ```
    pub fn job_defaults(mut self, defaults: JobOptions) -> Self {
        self.job_defaults = defaults;
        self
    }

    /// Consume options (GETJOB) applied to every `get`/`consume` of the
    /// client, under those given for one call.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let b = disque::Client::builder()
    ///     .consume_defaults(disque::ConsumeOptions::new().timeout(Duration::from_secs(5)));
    /// ```
    pub fn consume_defaults(mut self, defaults: ConsumeOptions) -> Self {
        self.consume_defaults = defaults;
        self
    }

    /// How many dedicated connections blocking `GETJOB`s may use at once
    /// (default 8, at least 1); more concurrent consumers wait their turn.
    ///
    /// ```
    /// let b = disque::Client::builder().blocking_connections(16);
    /// ```
    pub fn blocking_connections(mut self, n: usize) -> Self {
        self.blocking = n.max(1);
        self
    }

    /// How long a blocking `GETJOB` waits on the server at most before it
    /// is sent again (default 4 s, at least 1 ms): a dead link under a
    /// consumer is noticed within about twice this, and the consumer
    /// reconnects without reporting an error. Also the idle time before TCP
    /// keepalive probes start.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let b = disque::Client::builder().link_check_interval(Duration::from_secs(2));
    /// ```
    pub fn link_check_interval(mut self, every: Duration) -> Self {
        self.link_check = every.max(Duration::from_millis(1));
        self
    }

    /// How often the client asks its node `HELLO` to learn the cluster's
    /// nodes and priorities (default every 30 s; `None`: only when it
    /// connects or reconnects). A main node found leaving is left for a
    /// better one.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let b = disque::Client::builder().hello_interval(Some(Duration::from_secs(5)));
    /// ```
    pub fn hello_interval(mut self, every: Option<Duration>) -> Self {
        self.hello_interval = every.map(|d| d.max(Duration::from_millis(10)));
        self
    }

    /// Whether consumers follow the node that produces most of their jobs
    /// (default on): the client counts the node part of the ids of the jobs
    /// it receives and, when over a round of 32 jobs more than half came from
    /// another node, moves its blocking `GETJOB`s there (logged at `info`).
    ///
    /// ```
    /// let b = disque::Client::builder().consumer_affinity(false);
    /// ```
    pub fn consumer_affinity(mut self, on: bool) -> Self {
        self.affinity = on;
        self
    }

    /// Connects to the best node that answers: the seeds `addrs` in order,
    /// then the nodes their `HELLO` names, lowest priority first (a node
    /// leaving the cluster only when no other answers). Each connection is
    /// checked to answer within the connect timeout.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// let client = disque::Client::builder().connect(node.addr()).await?;
    /// # client.ping().await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(self, addrs: impl ToAddrs) -> Result<Client, Error> {
        let nodes = addrs::parse_all(&addrs)?;
        let config = ConnConfig {
            nodes,
            connect_timeout: self.connect_timeout,
            response_timeout: self.response_timeout,
            password: self.password,
            link_check: self.link_check,
            hello_interval: self.hello_interval,
            affinity: self.affinity,
            direct: true,
        };
        let conns = Connections::connect(config, self.blocking).await?;
        Ok(Client {
            inner: Arc::new(Inner {
                conns,
                job_defaults: self.job_defaults,
                consume_defaults: self.consume_defaults,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_is_cheap_to_share_across_tasks() {
        fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}
        assert_send_sync_clone::<Client>();
        assert_send_sync_clone::<JobOp>();
        fn assert_send<T: Send>() {}
        assert_send::<crate::Delivery<Vec<u8>>>();
    }
}
