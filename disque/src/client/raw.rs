//! The raw (untyped) API: bytes in, bytes out, one method per Disque command.

use std::borrow::Borrow;
use std::time::Duration;

use redis::Value;
use tracing::field::{display, Empty};
use tracing::Span;

use super::args;
use super::ids::{in_command, int_reply};
use super::Client;
use crate::{ConsumeOptions, Delivery, Error, JobId, JobOptions};

impl Client {
    /// `ADDJOB queue body` with the client's default options; returns the new job's id.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let id = client.add(b"payload".as_slice(), "raw").await?;
    /// assert_eq!(id.as_str().len(), 40);
    /// # Ok(()) }
    /// ```
    pub async fn add(&self, body: impl AsRef<[u8]>, queue: &str) -> Result<JobId, Error> {
        self.add_with(body, queue, JobOptions::new()).await
    }

    /// `ADDJOB` with `options` set over the client's defaults for this call only.
    /// Options Disque would refuse are refused before anything is sent
    /// ([`Error::InvalidOptions`]).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let opts = disque::JobOptions::new().ttl(Duration::from_secs(60)).maxlen(10);
    /// let id = client.add_with(b"x".as_slice(), "raw-with", opts).await?;
    /// let info = client.show(&id).await?.expect("just added");
    /// assert_eq!(info.queue.as_deref(), Some("raw-with"));
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(name = "add", level = "debug", skip_all, fields(queue = %queue, job_id = Empty))]
    pub async fn add_with(
        &self,
        body: impl AsRef<[u8]>,
        queue: &str,
        options: JobOptions,
    ) -> Result<JobId, Error> {
        self.addjob(queue, body.as_ref(), options).await
    }

    /// One ADDJOB with `options` over the client's job defaults; records the
    /// new id as `job_id` on the current span.
    pub(crate) async fn addjob(
        &self,
        queue: &str,
        body: &[u8],
        options: JobOptions,
    ) -> Result<JobId, Error> {
        let opts = options.merged_over(self.job_defaults());
        let (cmd, extra) = args::addjob(queue, body, &opts)?;
        let reply = self.conns().run(&cmd, extra).await?;
        let id = args::job_id_reply(reply)?;
        Span::current().record("job_id", display(&id));
        Ok(id)
    }

    /// Adds several jobs in one write (pipelined `ADDJOB`s) with the
    /// client's job defaults (other options: [`JobOp::add_many`](crate::JobOp::add_many)).
    /// One result per body, in order.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let bodies = [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()];
    /// let ids = client.add_many(&bodies, "batch").await?;
    /// assert!(ids.iter().all(|r| r.is_ok()));
    /// assert_eq!(client.len("batch").await?, 3);
    /// # Ok(()) }
    /// ```
    pub async fn add_many<B: AsRef<[u8]>>(
        &self,
        bodies: &[B],
        queue: &str,
    ) -> Result<Vec<Result<JobId, Error>>, Error> {
        self.add_many_opts(bodies, queue, JobOptions::new()).await
    }

    /// [`add_many`](Client::add_many) with `options` over the client's job defaults.
    #[tracing::instrument(name = "add_many", level = "debug", skip_all, fields(queue = %queue, jobs = bodies.len()))]
    pub(crate) async fn add_many_opts<B: AsRef<[u8]>>(
        &self,
        bodies: &[B],
        queue: &str,
        options: JobOptions,
    ) -> Result<Vec<Result<JobId, Error>>, Error> {
        if bodies.is_empty() {
            return Ok(Vec::new());
        }
        let opts = options.merged_over(self.job_defaults());
        let mut pipe = redis::pipe();
        let mut extra = Duration::ZERO;
        for body in bodies {
            let (cmd, e) = args::addjob(queue, body.as_ref(), &opts)?;
            pipe.add_command(cmd);
            extra = e;
        }
        let replies = self.conns().run_pipeline(pipe, extra).await?;
        Ok(replies
            .into_iter()
            .map(|r| r.and_then(args::job_id_reply))
            .collect())
    }

    /// `GETJOB … FROM queues…`: the first job available, from the queues in
    /// priority order (left first). Blocks until one arrives, or for the
    /// client's default consume timeout ([`ClientBuilder::consume_defaults`](crate::ClientBuilder::consume_defaults))
    /// if set; `None` when that timeout passes (never an error). It first asks with NOHANG on the shared
    /// connection; only if nothing is queued does it block, on a dedicated
    /// connection of its own.
    ///
    /// Cancelling a blocked `get` (dropping its future, e.g. in a
    /// `select!`) closes that dedicated connection, so the node stops
    /// serving it; a job handed to it in that very instant is not lost but
    /// delivered again after its retry time.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.add(b"low".as_slice(), "q-low").await?;
    /// client.add(b"high".as_slice(), "q-high").await?;
    /// let job = client.get(&["q-high", "q-low"]).await?.expect("two queued");
    /// assert_eq!(job.body(), b"high");
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, queues: &[&str]) -> Result<Option<Delivery>, Error> {
        self.get_with(queues, ConsumeOptions::new()).await
    }

    /// [`get`](Client::get) with `options` (GETJOB `timeout`, `nohang`) over
    /// the client's consume defaults; one job (`count` is ignored).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let none = client
    ///     .get_with(&["empty"], disque::ConsumeOptions::new().nohang(true))
    ///     .await?;
    /// assert!(none.is_none());
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(name = "get", level = "debug", skip_all, fields(queues = ?queues, queue = Empty, job_id = Empty))]
    pub async fn get_with(
        &self,
        queues: &[&str],
        options: ConsumeOptions,
    ) -> Result<Option<Delivery>, Error> {
        self.get_one(queues, options).await
    }

    /// One GETJOB for one job; records its `queue` and `job_id` on the
    /// current span.
    pub(crate) async fn get_one(
        &self,
        queues: &[&str],
        options: ConsumeOptions,
    ) -> Result<Option<Delivery>, Error> {
        let job = self.getjob(queues, options.count(1)).await?.pop();
        if let Some(job) = &job {
            let span = Span::current();
            span.record("queue", job.queue());
            span.record("job_id", display(job.id()));
        }
        Ok(job)
    }

    /// Up to `count` jobs in one `GETJOB COUNT` (round-robin over the queues,
    /// left first). Empty when the GETJOB timeout passes. A blocked GETJOB
    /// is served the first job that arrives only; use `nohang` to take what
    /// is there.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// for b in [b"1", b"2", b"3"] {
    ///     client.add(b.as_slice(), "many").await?;
    /// }
    /// let jobs = client.get_many(&["many"], 10).await?;
    /// assert_eq!(jobs.len(), 3);
    /// client.ack(jobs.iter().map(|j| j.id())).await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_many(&self, queues: &[&str], count: u32) -> Result<Vec<Delivery>, Error> {
        self.get_many_with(queues, ConsumeOptions::new().count(count))
            .await
    }

    /// [`get_many`](Client::get_many) with `options` over the client's
    /// consume defaults: up to `options.count` jobs (default 1).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let jobs = client
    ///     .get_many_with(&["nothing-here"], disque::ConsumeOptions::new().count(5).nohang(true))
    ///     .await?;
    /// assert!(jobs.is_empty());
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(name = "get_many", level = "debug", skip_all, fields(queues = ?queues, jobs = Empty))]
    pub async fn get_many_with(
        &self,
        queues: &[&str],
        options: ConsumeOptions,
    ) -> Result<Vec<Delivery>, Error> {
        let jobs = self.getjob(queues, options).await?;
        Span::current().record("jobs", jobs.len());
        Ok(jobs)
    }

    /// One GETJOB (always WITHCOUNTERS). A blocking one first asks with
    /// NOHANG on the shared connection (a busy queue answers at once, and a
    /// dedicated connection is not needed); only when nothing is there does
    /// it block, on a dedicated connection.
    pub(crate) async fn getjob(
        &self,
        queues: &[&str],
        options: ConsumeOptions,
    ) -> Result<Vec<Delivery>, Error> {
        let opts = options.merged_over(self.consume_defaults());
        let get = args::getjob(queues, &opts)?;
        let now = args::getjob(queues, &opts.clone().nohang(true))?;
        let (reply, node) = self.conns().run_consume(&now.cmd).await?;
        let jobs = args::deliveries(self, reply, &node)?;
        if get.nohang || !jobs.is_empty() {
            self.conns().received(jobs.iter().map(|d| d.id()));
            return Ok(jobs);
        }
        // Blocks as a series of server-side timeouts, so a dead link is noticed.
        let (reply, node) = self
            .conns()
            .blocking_getjob(get.timeout, |slice| {
                args::getjob(queues, &opts.clone().timeout(slice)).map(|g| g.cmd)
            })
            .await?;
        let jobs = args::deliveries(self, reply, &node)?;
        self.conns().received(jobs.iter().map(|d| d.id()));
        Ok(jobs)
    }

    /// `ACKJOB id…`: the jobs are done; returns how many were known.
    /// All ids go in one command.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let a = client.add(b"a".as_slice(), "acks").await?;
    /// let b = client.add(b"b".as_slice(), "acks").await?;
    /// assert_eq!(client.ack([&a, &b]).await?, 2);
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(name = "ack", level = "debug", skip_all, fields(jobs = Empty, job_id = Empty))]
    pub async fn ack<I>(&self, ids: I) -> Result<u64, Error>
    where
        I: IntoIterator,
        I::Item: Borrow<JobId>,
    {
        self.multi_id("ACKJOB", ids).await
    }

    /// `FASTACK id…`: acknowledges without the cluster-wide handshake of ACKJOB.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let id = client.add(b"a".as_slice(), "fast").await?;
    /// assert_eq!(client.fast_ack([&id]).await?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn fast_ack<I>(&self, ids: I) -> Result<u64, Error>
    where
        I: IntoIterator,
        I::Item: Borrow<JobId>,
    {
        self.multi_id("FASTACK", ids).await
    }

    /// `NACK id…`: gives the jobs back, queued again at once (nacks + 1).
    /// Returns how many were re-queued.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.add(b"a".as_slice(), "nacks").await?;
    /// let job = client.get(&["nacks"]).await?.expect("queued");
    /// assert_eq!(client.nack([job.id()]).await?, 1);
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(name = "nack", level = "debug", skip_all, fields(jobs = Empty, job_id = Empty))]
    pub async fn nack<I>(&self, ids: I) -> Result<u64, Error>
    where
        I: IntoIterator,
        I::Item: Borrow<JobId>,
    {
        let ids: Vec<_> = ids
            .into_iter()
            .map(|id| (id.borrow().clone(), None))
            .collect();
        self.conns().run_ids_routed("NACK", &ids).await
    }

    /// `ENQUEUE id…`: puts jobs back in their queue (if not queued already);
    /// returns how many were queued. (Adding a new job is
    /// [`add`](Client::add) or [`enqueue`](Client::enqueue): ADDJOB.)
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let id = client.add(b"a".as_slice(), "enq").await?;
    /// client.dequeue([&id]).await?;
    /// assert_eq!(client.requeue([&id]).await?, 1);
    /// assert_eq!(client.len("enq").await?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn requeue<I>(&self, ids: I) -> Result<u64, Error>
    where
        I: IntoIterator,
        I::Item: Borrow<JobId>,
    {
        self.multi_id("ENQUEUE", ids).await
    }

    /// `DEQUEUE id…`: takes jobs out of their queue without delivering them.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let id = client.add(b"a".as_slice(), "deq").await?;
    /// assert_eq!(client.dequeue([&id]).await?, 1);
    /// assert_eq!(client.len("deq").await?, 0);
    /// # Ok(()) }
    /// ```
    pub async fn dequeue<I>(&self, ids: I) -> Result<u64, Error>
    where
        I: IntoIterator,
        I::Item: Borrow<JobId>,
    {
        self.multi_id("DEQUEUE", ids).await
    }

    /// `DELJOB id…`: deletes jobs from this node, whatever their state.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let id = client.add(b"a".as_slice(), "del").await?;
    /// assert_eq!(client.delete([&id]).await?, 1);
    /// assert!(client.show(&id).await?.is_none());
    /// # Ok(()) }
    /// ```
    pub async fn delete<I>(&self, ids: I) -> Result<u64, Error>
    where
        I: IntoIterator,
        I::Item: Borrow<JobId>,
    {
        self.multi_id("DELJOB", ids).await
    }

    /// `WORKING id`: postpones the job's next delivery; returns by how much.
    /// [`Error::TooLate`] once half the job's TTL has passed.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let id = client.retry(Duration::from_secs(30)).add(b"a".as_slice(), "work").await?;
    /// assert_eq!(client.working(&id).await?, Duration::from_secs(30));
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(name = "working", level = "debug", skip_all, fields(job_id = %id))]
    pub async fn working(&self, id: &JobId) -> Result<Duration, Error> {
        self.working_id(id).await
    }

    /// `WORKING id`, without a span of its own.
    pub(crate) async fn working_id(&self, id: &JobId) -> Result<Duration, Error> {
        self.working_at(id, None).await
    }

    /// WORKING through the node that delivered the job (else the node that
    /// created it, else the others): a node without the job answers NOJOB.
    pub(crate) async fn working_at(
        &self,
        id: &JobId,
        delivered_by: Option<&std::sync::Arc<super::NodeAddr>>,
    ) -> Result<Duration, Error> {
        let mut cmd = redis::cmd("WORKING");
        cmd.arg(id.as_str());
        let reply = self
            .conns()
            .run_routed(id, delivered_by, &cmd, |r| r.is_ok())
            .await?;
        crate::reply::parse_working(reply).map_err(|e| in_command("WORKING", e))
    }

    /// `QLEN queue`: how many jobs are queued (not active, not delayed).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// assert_eq!(client.len("no-such-queue").await?, 0);
    /// # Ok(()) }
    /// ```
    pub async fn len(&self, queue: &str) -> Result<u64, Error> {
        let mut cmd = redis::cmd("QLEN");
        cmd.arg(queue);
        let reply = self.conns().run(&cmd, Duration::ZERO).await?;
        int_reply("QLEN", reply)
    }

    /// `PING`: checks that the node answers.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.ping().await?;
    /// # Ok(()) }
    /// ```
    pub async fn ping(&self) -> Result<(), Error> {
        match self
            .conns()
            .run(&redis::cmd("PING"), Duration::ZERO)
            .await?
        {
            Value::SimpleString(s) if s == "PONG" => Ok(()),
            other => Err(Error::Protocol(format!(
                "PING: expected PONG, got {other:?}"
            ))),
        }
    }
}
