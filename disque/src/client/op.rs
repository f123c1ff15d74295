//! Job options chained for one call: `client.retry(…).maxlen(…).add(…)`.

use std::time::Duration;

use super::Client;
use crate::{Error, Job, JobId, JobOptions};

/// One ADDJOB being set up: a clone of the client plus job options of its
/// own. Made by the job option methods of [`Client`] (`client.ttl(…)`,
/// `client.retry(…)`…, [`client.with_options(…)`](Client::with_options));
/// the client's defaults are never changed. Consuming takes
/// [`ConsumeOptions`](crate::ConsumeOptions) through the `_with` methods
/// instead.
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
/// assert_eq!(client.job_defaults(), &disque::JobOptions::new()); // untouched
/// # let _ = id;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a JobOp does nothing until `add`, `add_many` or `enqueue` is called"]
pub struct JobOp {
    client: Client,
    options: JobOptions,
}

macro_rules! setters {
    ($( $(#[$doc:meta])* $name:ident($ty:ty) ),* $(,)?) => {
        impl JobOp {
            $(
                $(#[$doc])*
                pub fn $name(mut self, value: $ty) -> JobOp {
                    self.options = self.options.$name(value);
                    self
                }
            )*
        }

        impl Client {
            $(
                $(#[$doc])*
                ///
                /// Starts a [`JobOp`]: these options apply to the one command
                /// called on it, over the job type's and the client's defaults.
                pub fn $name(&self, value: $ty) -> JobOp {
                    JobOp { client: self.clone(), options: JobOptions::new() }.$name(value)
                }
            )*
        }
    };
}

setters! {
    /// ADDJOB replication timeout ([`JobOptions::replication_timeout`]).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.replication_timeout(Duration::from_secs(2)).add(b"x".as_slice(), "repl-t").await?;
    /// # Ok(()) }
    /// ```
    replication_timeout(Duration),
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
}

impl Client {
    /// Starts a [`JobOp`] with `options` for the one command called on it,
    /// over the job type's and the client's defaults.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let opts = disque::JobOptions::new().ttl(Duration::from_secs(60));
    /// let id = client.with_options(opts).add(b"x".as_slice(), "with-opts").await?;
    /// assert_eq!(client.show(&id).await?.expect("added").ttl, Duration::from_secs(60));
    /// # Ok(()) }
    /// ```
    pub fn with_options(&self, options: JobOptions) -> JobOp {
        JobOp {
            client: self.clone(),
            options,
        }
    }
}

impl JobOp {
    /// The options of this operation (not yet merged with the client's defaults).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// assert_eq!(client.maxlen(5).options().maxlen, Some(5));
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
    /// let op = client.maxlen(5).with_options(disque::JobOptions::new().ttl(Duration::from_secs(60)));
    /// assert_eq!(op.options().maxlen, Some(5));
    /// assert_eq!(op.options().ttl, Some(Duration::from_secs(60)));
    /// # Ok(()) }
    /// ```
    pub fn with_options(mut self, options: JobOptions) -> JobOp {
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

    /// [`Client::add_many`] with these options: several jobs in one write.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let ids = client
    ///     .ttl(Duration::from_secs(60))
    ///     .add_many(&[b"a".as_slice(), b"b".as_slice()], "op-many")
    ///     .await?;
    /// assert_eq!(ids.len(), 2);
    /// # Ok(()) }
    /// ```
    pub async fn add_many<B: AsRef<[u8]>>(
        self,
        bodies: &[B],
        queue: &str,
    ) -> Result<Vec<Result<JobId, Error>>, Error> {
        self.client.add_many_opts(bodies, queue, self.options).await
    }
}
