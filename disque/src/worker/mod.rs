//! The worker: the way to consume. Typed handlers per job type, bounded
//! concurrency, `GETJOB COUNT` up to the free slots, batched acks, retries
//! with backoff, panics caught, `WORKING` heartbeats, dead letters, graceful
//! drain, a span per job and counters.
//!
//! Disque's own mechanisms do the work: a failed job is `NACK`ed after a
//! backoff or left for its RETRY, a slow one is kept with `WORKING`, a poison
//! one moves to `<queue>.dead`; the worker keeps no queue of its own.

mod acks;
mod counters;
mod dead;
mod fetch;
mod handler;
mod heartbeat;
mod on_the_wire;
mod retry;
mod shutdown;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

pub use acks::AckMode;
pub use counters::{WorkerCounters, WorkerStats};
pub use retry::RetryPolicy;
pub use shutdown::WorkerSummary;

use handler::{Handler, Shared, Typed};

use crate::{Client, Delivery, Error, Job};

/// Settings of a worker (see the [`WorkerBuilder`] setters).
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) concurrency: usize,
    pub(crate) fetch_count: u32,
    pub(crate) max_fetches: usize,
    pub(crate) ack_mode: AckMode,
    pub(crate) ack_batch: usize,
    pub(crate) retry: RetryPolicy,
    pub(crate) heartbeat_fraction: Option<f64>,
    pub(crate) poll_timeout: Duration,
    pub(crate) shutdown_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            concurrency: 64,
            fetch_count: 64,
            max_fetches: 4,
            ack_mode: AckMode::Ack,
            ack_batch: 1000,
            retry: RetryPolicy::new(),
            heartbeat_fraction: Some(1.0 / 3.0),
            poll_timeout: Duration::from_secs(1),
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

/// Runs typed handlers on the jobs of their queues: the way to consume.
///
/// Register one handler per job type with [`WorkerBuilder::handle`]; a handler
/// gets the [`Delivery`] and returns a `Result`:
///
/// - `Ok` → the job is acknowledged (in batches: one `ACKJOB`, or `FASTACK`,
///   with many ids, sent in the same write as the next fetch, or within 1 ms
///   plus a round trip when no fetch goes out);
/// - `Err` or a panic → it is logged and counted, and the job is retried after
///   an exponential backoff with jitter ([`RetryPolicy`]): `NACK`ed after the
///   delay, or left for Disque to deliver again after its RETRY when the delay
///   would reach it. On its last attempt, or if it cannot be decoded as its
///   type, it goes to the dead-letter queue `<queue>.dead` with the reason.
///
/// Each handler runs in a task of its own (polled once in the worker's own
/// task first, so a handler that finishes without waiting costs no task); at
/// most [`concurrency`](WorkerBuilder::concurrency) jobs run at once; one
/// `GETJOB … COUNT n FROM` takes up to the free slots, from the queues of
/// every job type, highest [`Job::PRIORITY`] first. While a handler runs
/// longer than a fraction of its job type's RETRY, `WORKING` is sent for it so
/// Disque does not deliver it to another consumer. Each job runs in a span
/// `job` with `job_type`, `queue`, `job_id` and `attempt`.
///
/// [`run_until`](Worker::run_until) stops fetching when its signal completes,
/// gives back (`NACK`) jobs fetched but not started, lets the running ones
/// finish (up to [`shutdown_timeout`](WorkerBuilder::shutdown_timeout)),
/// flushes the acks and returns a [`WorkerSummary`].
///
#[cfg_attr(feature = "derive", doc = "```")]
#[cfg_attr(not(feature = "derive"), doc = "```ignore")]
/// use std::time::Duration;
/// use disque::{Delivery, Worker};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, disque::Job)]
/// #[job(queue = "worker-doc-emails", priority = 10, retry = "30s")]
/// struct SendEmail { to: String }
///
/// #[derive(Serialize, Deserialize, disque::Job)]
/// #[job(queue = "worker-doc-reports", priority = 1)]
/// struct Report { day: u32 }
///
/// async fn send_email(job: Delivery<SendEmail>) -> Result<(), std::io::Error> {
///     println!("sending to {}", job.to);
///     Ok(())
/// }
///
/// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
/// # let node = disque_embedded::Node::start_ephemeral().await?;
/// # let client = disque::Client::connect(node.addr()).await?;
/// client.enqueue(&SendEmail { to: "ada@example.com".into() }).await?;
/// client.enqueue(&Report { day: 1 }).await?;
///
/// let worker = Worker::builder(client.clone())
///     .concurrency(16)
///     .handle(send_email)
///     .handle(|job: Delivery<Report>| async move {
///         if job.day > 31 {
///             return Err(format!("no day {}", job.day));
///         }
///         Ok(())
///     })
///     .build()?;
/// let counters = worker.counters();
/// let stop = async move {
///     // An application would wait for Ctrl-C: `tokio::signal::ctrl_c()`.
///     while counters.snapshot().processed < 2 {
///         tokio::time::sleep(Duration::from_millis(5)).await;
///     }
/// };
/// let summary = worker.run_until(stop).await?;
/// assert_eq!(summary.stats.processed, 2);
/// # Ok(()) }
/// ```
pub struct Worker {
    client: Client,
    handlers: Vec<Box<dyn Handler>>,
    queues: Arc<[&'static str]>,
    config: Config,
    counters: WorkerCounters,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("queues", &self.queues)
            .field("config", &self.config)
            .field("counters", &self.counters.snapshot())
            .finish()
    }
}

/// Settings and handlers of a [`Worker`], made with [`Worker::builder`].
///
#[cfg_attr(feature = "derive", doc = "```")]
#[cfg_attr(not(feature = "derive"), doc = "```ignore")]
/// # use std::time::Duration;
/// # use serde::{Deserialize, Serialize};
/// # #[derive(Serialize, Deserialize, disque::Job)]
/// # #[job(queue = "builder-doc")]
/// # struct Thumbnail { width: u32 }
/// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
/// # let node = disque_embedded::Node::start_ephemeral().await?;
/// # let client = disque::Client::connect(node.addr()).await?;
/// let worker = disque::Worker::builder(client)
///     .concurrency(8)
///     .fetch_count(8)
///     .ack_mode(disque::AckMode::FastAck)
///     .retry(disque::RetryPolicy::new().max_attempts(5))
///     .shutdown_timeout(Duration::from_secs(10))
///     .handle(|job: disque::Delivery<Thumbnail>| async move {
///         let _ = job.width;
///         Ok::<(), std::io::Error>(())
///     })
///     .build()?;
/// assert_eq!(worker.queues(), ["builder-doc"]);
/// # Ok(()) }
/// ```
pub struct WorkerBuilder {
    client: Client,
    handlers: Vec<Box<dyn Handler>>,
    config: Config,
}

impl std::fmt::Debug for WorkerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let queues: Vec<_> = self.handlers.iter().map(|h| h.queue()).collect();
        f.debug_struct("WorkerBuilder")
            .field("queues", &queues)
            .field("config", &self.config)
            .finish()
    }
}

impl Worker {
    /// A builder for a worker consuming through `client` (a clone shares its connections).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let builder = disque::Worker::builder(client);
    /// assert!(builder.build().is_err()); // no handler yet
    /// # Ok(()) }
    /// ```
    pub fn builder(client: Client) -> WorkerBuilder {
        WorkerBuilder {
            client,
            handlers: Vec::new(),
            config: Config::default(),
        }
    }

    /// The live counters (a handle to keep and read while the worker runs).
    /// See [`WorkerCounters`].
    pub fn counters(&self) -> WorkerCounters {
        self.counters.clone()
    }

    /// The queues it takes from, in `GETJOB … FROM` order (highest priority first).
    /// See [`WorkerBuilder`].
    pub fn queues(&self) -> &[&'static str] {
        &self.queues
    }

    /// Runs until `shutdown` completes, then drains: stops fetching, gives
    /// back (`NACK`) jobs fetched but not started, lets running jobs finish up
    /// to the [`shutdown_timeout`](WorkerBuilder::shutdown_timeout) (those
    /// still running then are stopped and given back), flushes the acks, and
    /// returns the summary.
    ///
    /// `shutdown` is any future: `tokio::signal::ctrl_c()` (mapped to `()`),
    /// a `CancellationToken::cancelled()`, a channel…
    /// `std::future::pending()` runs for ever.
    ///
    /// Errors of Disque while running (a lost connection, a failed ack…) are
    /// logged, counted and retried; only an error that retrying cannot cure
    /// (a refused password, options refused) stops the worker — after the
    /// same drain — and is returned. Dropping the future (or aborting its
    /// task) stops every handler at once without acknowledging anything:
    /// Disque delivers their jobs again after their RETRY.
    ///
    /// See [`Worker`] for an example.
    pub async fn run_until<S>(self, shutdown: S) -> Result<WorkerSummary, Error>
    where
        S: Future<Output = ()>,
    {
        let started = Instant::now();
        let Worker {
            client,
            handlers,
            queues,
            config,
            counters,
        } = self;
        let counts = counters.inner.clone();
        let ack_queue = Arc::new(acks::AckQueue::default());
        let acker = tokio::spawn(acks::run(
            client.clone(),
            config.ack_mode,
            ack_queue.clone(),
            config.ack_batch,
            counts.clone(),
        ));
        let (stop_tx, stop_rx) = watch::channel(false);
        let ctx = Arc::new(Shared {
            client,
            counts,
            acks: ack_queue,
            ack_mode: config.ack_mode,
            policy: config.retry,
            stop: stop_rx,
            abandoned: Mutex::new(Vec::new()),
        });
        let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        tracing::info!(queues = ?queues, concurrency = config.concurrency, "worker started");
        let end = fetch::run(
            &config, &handlers, &queues, &ctx, &slots, &mut tasks, shutdown,
        )
        .await;
        tracing::info!("worker stopping: fetching stopped");
        let _ = stop_tx.send(true);
        let deadline = Instant::now() + config.shutdown_timeout;
        let (returned_unstarted, abandoned) =
            shutdown::drain(&ctx, tasks, end.unstarted, deadline).await;
        // The last reference: the batcher flushes and ends (`Shared::drop`).
        drop(ctx);
        let unacked = match acker.await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "the ack batcher failed");
                0
            }
        };
        let summary = WorkerSummary {
            stats: counters.snapshot(),
            elapsed: started.elapsed(),
            returned_unstarted,
            abandoned,
            unacked,
        };
        tracing::info!(%summary, "worker stopped");
        match end.fatal {
            Some(e) => Err(e),
            None => Ok(summary),
        }
    }
}

impl WorkerBuilder {
    /// Registers the handler of job type `J` (inferred from the handler's
    /// argument, `Delivery<J>`): jobs from `J::QUEUE` are decoded as `J` and
    /// handed to it. It returns `Result<(), E>` for any error type that
    /// converts into `Box<dyn Error + Send + Sync>` (`std::io::Error`,
    /// `disque::Error`, `String`, `anyhow::Error`…). It need not ack: `Ok`
    /// does (it may still call [`Delivery::ack`] itself, e.g. before a long
    /// tail of work; the worker's ack of a job already gone is harmless).
    ///
    #[cfg_attr(feature = "derive", doc = "```")]
    #[cfg_attr(not(feature = "derive"), doc = "```ignore")]
    /// # use serde::{Deserialize, Serialize};
    /// use disque::{Delivery, Worker};
    ///
    /// #[derive(Serialize, Deserialize, disque::Job)]
    /// #[job(queue = "handle-doc")]
    /// struct Resize { width: u32 }
    ///
    /// async fn resize(job: Delivery<Resize>) -> Result<(), disque::Error> {
    ///     assert!(job.width > 0);
    ///     Ok(())
    /// }
    ///
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let worker = Worker::builder(client).handle(resize).build()?;
    /// # let _ = worker;
    /// # Ok(()) }
    /// ```
    pub fn handle<J, F, Fut, E>(mut self, handler: F) -> Self
    where
        J: Job,
        F: Fn(Delivery<J>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
    {
        self.handlers.push(Box::new(Typed::<J, F>::new(handler)));
        self
    }

    /// How many jobs may run at once (default 64, at least 1).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let builder = disque::Worker::builder(client).concurrency(1); // one at a time
    /// # let _ = builder;
    /// # Ok(()) }
    /// ```
    pub fn concurrency(mut self, n: usize) -> Self {
        self.config.concurrency = n.max(1);
        self
    }

    /// The most jobs one `GETJOB COUNT` asks for (default 64, at least 1);
    /// each fetch asks for the free slots up to this.
    pub fn fetch_count(mut self, n: u32) -> Self {
        self.config.fetch_count = n.max(1);
        self
    }

    /// How many `GETJOB`s may be on the wire at once while jobs keep coming
    /// (default 4, at least 1; useful when `concurrency` exceeds `fetch_count`).
    /// When the queues are empty, a single blocking `GETJOB` waits.
    pub fn max_fetches(mut self, n: usize) -> Self {
        self.config.max_fetches = n.max(1);
        self
    }

    /// `ACKJOB` (default) or `FASTACK` for finished jobs.
    pub fn ack_mode(mut self, mode: AckMode) -> Self {
        self.config.ack_mode = mode;
        self
    }

    /// The most ids in one ack command (default 1000, at least 1).
    pub fn ack_batch(mut self, n: usize) -> Self {
        self.config.ack_batch = n.max(1);
        self
    }

    /// How failed jobs are retried and when they are dead-lettered.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.config.retry = policy;
        self
    }

    /// Whether to send `WORKING` for handlers running longer than a fraction
    /// of their job type's RETRY (default on).
    pub fn heartbeats(mut self, on: bool) -> Self {
        self.config.heartbeat_fraction = if on {
            Some(self.config.heartbeat_fraction.unwrap_or(1.0 / 3.0))
        } else {
            None
        };
        self
    }

    /// The fraction of a job type's RETRY after which, and then every which,
    /// `WORKING` is sent (default 1/3; turns heartbeats on).
    pub fn heartbeat_fraction(mut self, fraction: f64) -> Self {
        self.config.heartbeat_fraction = Some(fraction);
        self
    }

    /// How long one blocking `GETJOB` waits on empty queues before asking
    /// again (default 1 s). Shutdown waits for it, so this bounds how long
    /// stopping an idle worker takes.
    pub fn poll_timeout(mut self, timeout: Duration) -> Self {
        self.config.poll_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long running jobs may take to finish once shutdown starts (default 30 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.config.shutdown_timeout = timeout;
        self
    }

    /// The worker, with its queues ordered by priority. Refused
    /// ([`Error::InvalidOptions`]) without handlers or with two handlers for
    /// one queue.
    pub fn build(self) -> Result<Worker, Error> {
        let WorkerBuilder {
            client,
            mut handlers,
            config,
        } = self;
        if handlers.is_empty() {
            return Err(Error::InvalidOptions(
                "a worker needs at least one handler".into(),
            ));
        }
        for (i, h) in handlers.iter().enumerate() {
            if handlers[..i].iter().any(|o| o.queue() == h.queue()) {
                return Err(Error::InvalidOptions(format!(
                    "two handlers for queue {:?}",
                    h.queue()
                )));
            }
        }
        // Stable: ties keep registration order.
        handlers.sort_by_key(|h| std::cmp::Reverse(h.priority()));
        for h in &mut handlers {
            h.configure(&client, config.heartbeat_fraction);
        }
        let queues: Arc<[&'static str]> = handlers.iter().map(|h| h.queue()).collect();
        Ok(Worker {
            client,
            handlers,
            queues,
            config,
            counters: WorkerCounters::default(),
        })
    }
}
