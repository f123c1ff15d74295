//! Options chained for one operation: `client.retry(…).maxlen(…).add(…)`.

use std::time::Duration;

use super::Client;
use crate::{Delivery, Error, Job, JobId, JobOptions};

/// One operation being set up: a clone of the client plus options of its
/// own. Made by the option methods of [`Client`] (`client.ttl(…)`,
/// `client.retry(…)`…); the client's defaults are never changed.
///
/// ```
/// # use std::time::Duration;
/// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
/// # let node = disque_embedded::Node::start_ephemeral().await?;
/// # let client = disque::Client::connect(node.addr()).await?;
/// let id = client
///     .retry(Duration::from_secs(60))
///     .maxlen(1000)
///     .add(b"data".as_slice(), "queue")
///     .await?;
/// assert_eq!(client.defaults(), &disque::JobOptions::new()); // untouched
/// # let _ = id;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "an Op does nothing until one of its commands is called"]
pub struct Op {
    client: Client,
    options: JobOptions,
}

macro_rules! setters {
    ($( $(#[$doc:meta])* $name:ident($ty:ty) ),* $(,)?) => {
        impl Op {
            $(
                $(#[$doc])*
                pub fn $name(mut self, value: $ty) -> Op {
                    self.options = self.options.$name(value);
                    self
                }
            )*
        }

        impl Client {
            $(
                $(#[$doc])*
                ///
                /// Starts an [`Op`]: these options apply to the one command
                /// called on it, over the client's defaults.
                pub fn $name(&self, value: $ty) -> Op {
                    Op { client: self.clone(), options: JobOptions::new() }.$name(value)
                }
            )*
        }
    };
}

setters! {
    /// ADDJOB replication timeout, or how long GETJOB blocks ([`JobOptions::timeout`]).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let got = client.timeout(Duration::from_millis(50)).get(&["idle"]).await?;
    /// assert!(got.is_none());
    /// # Ok(()) }
    /// ```
    timeout(Duration),
    /// `REPLICATE n` ([`JobOptions::replicate`]).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.replicate(1).add(b"x".as_slice(), "repl").await?;
    /// # Ok(()) }
    /// ```
    replicate(u16),
    /// `DELAY s` ([`JobOptions::delay`]).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.delay(Duration::from_secs(30)).add(b"x".as_slice(), "later").await?;
    /// assert_eq!(client.len("later").await?, 0);
    /// # Ok(()) }
    /// ```
    delay(Duration),
    /// `RETRY s` ([`JobOptions::retry`]).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let id = client.retry(Duration::from_secs(90)).add(b"x".as_slice(), "r").await?;
    /// assert_eq!(client.show(&id).await?.expect("added").retry, Duration::from_secs(90));
    /// # Ok(()) }
    /// ```
    retry(Duration),
    /// `TTL s` ([`JobOptions::ttl`]).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let id = client.ttl(Duration::from_secs(120)).add(b"x".as_slice(), "t").await?;
    /// assert_eq!(id.ttl_minutes(), 3); // 2 minutes, odd: not at-most-once
    /// # Ok(()) }
    /// ```
    ttl(Duration),
    /// `MAXLEN n` ([`JobOptions::maxlen`]).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.maxlen(1).add(b"x".as_slice(), "small").await?;
    /// let full = client.maxlen(1).add(b"y".as_slice(), "small").await;
    /// assert!(matches!(full, Err(disque::Error::QueueFull(_))));
    /// # Ok(()) }
    /// ```
    maxlen(u32),
    /// `ASYNC` ([`JobOptions::asynchronous`]).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.asynchronous(true).add(b"x".as_slice(), "async").await?;
    /// # Ok(()) }
    /// ```
    asynchronous(bool),
    /// GETJOB `NOHANG` ([`JobOptions::nohang`]).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// assert!(client.nohang(true).get(&["void"]).await?.is_none());
    /// # Ok(()) }
    /// ```
    nohang(bool),
}

impl Op {
    /// The options of this operation (not yet merged with the client's defaults).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// assert_eq!(client.maxlen(5).options().get_maxlen(), Some(5));
    /// # Ok(()) }
    /// ```
    pub fn options(&self) -> &JobOptions {
        &self.options
    }

    /// Sets every option of `options` that is set (they win over earlier ones).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let op = client.maxlen(5).with(disque::JobOptions::new().ttl(Duration::from_secs(60)));
    /// assert_eq!(op.options().get_maxlen(), Some(5));
    /// assert_eq!(op.options().get_ttl(), Some(Duration::from_secs(60)));
    /// # Ok(()) }
    /// ```
    pub fn with(mut self, options: JobOptions) -> Op {
        self.options = options.merged_over(&self.options);
        self
    }

    /// [`Client::add_with`] with these options.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.ttl(Duration::from_secs(60)).add(b"x".as_slice(), "op-add").await?;
    /// # Ok(()) }
    /// ```
    pub async fn add(self, body: impl AsRef<[u8]>, queue: &str) -> Result<JobId, Error> {
        self.client.add_with(body, queue, self.options).await
    }

    /// [`Client::enqueue_with`] with these options (over the job type's).
    ///
    #[cfg_attr(feature = "derive", doc = "```")]
    #[cfg_attr(not(feature = "derive"), doc = "```ignore")]
    /// # use std::time::Duration;
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Serialize, Deserialize, disque::Job)]
    /// #[job(queue = "op-enqueue")]
    /// struct Tick;
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.delay(Duration::from_secs(10)).enqueue(&Tick).await?;
    /// # Ok(()) }
    /// ```
    pub async fn enqueue<J: Job>(self, job: &J) -> Result<JobId, Error> {
        self.client.enqueue_with(job, self.options).await
    }

    /// [`Client::get_with`] with these options.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// assert!(client.timeout(Duration::from_millis(20)).get(&["op-get"]).await?.is_none());
    /// # Ok(()) }
    /// ```
    pub async fn get(self, queues: &[&str]) -> Result<Option<Delivery>, Error> {
        self.client.get_with(queues, self.options).await
    }

    /// [`Client::get_many_with`] with these options.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// assert!(client.nohang(true).get_many(&["op-many"], 3).await?.is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn get_many(self, queues: &[&str], count: u32) -> Result<Vec<Delivery>, Error> {
        self.client.get_many_with(queues, count, self.options).await
    }
}
