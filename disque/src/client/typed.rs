//! The typed API: jobs as Rust values of a [`Job`] type.

use std::any::type_name;

use tracing::field::Empty;

use super::Client;
use crate::{job, ConsumeOptions, Delivery, Error, Job, JobId, JobOptions, JobSet};

impl Client {
    /// Enqueues `job` on `J::QUEUE` with its type's options (over the
    /// client's defaults); returns its id.
    ///
    #[cfg_attr(feature = "derive", doc = "```")]
    #[cfg_attr(not(feature = "derive"), doc = "```ignore")]
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Serialize, Deserialize, disque::Job)]
    /// #[job(queue = "emails", retry = "30s")]
    /// struct SendEmail { to: String }
    ///
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let id = client.enqueue(&SendEmail { to: "a@example.com".into() }).await?;
    /// assert_eq!(client.len("emails").await?, 1);
    /// # let _ = id;
    /// # Ok(()) }
    /// ```
    pub async fn enqueue<J: Job>(&self, job: &J) -> Result<JobId, Error> {
        self.enqueue_with(job, JobOptions::new()).await
    }

    /// Enqueues `job` with `options` over its type's options, over the
    /// client's defaults (a field set in the upper layer wins).
    ///
    #[cfg_attr(feature = "derive", doc = "```")]
    #[cfg_attr(not(feature = "derive"), doc = "```ignore")]
    /// # use std::time::Duration;
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Serialize, Deserialize, disque::Job)]
    /// #[job(queue = "reports", ttl = "1h")]
    /// struct Report { day: u32 }
    ///
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let later = disque::JobOptions::new().delay(Duration::from_secs(60));
    /// client.enqueue_with(&Report { day: 1 }, later).await?;
    /// assert_eq!(client.len("reports").await?, 0); // delayed
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(
        name = "enqueue",
        level = "debug",
        skip_all,
        fields(queue = J::QUEUE, job_type = type_name::<J>(), job_id = Empty)
    )]
    pub async fn enqueue_with<J: Job>(&self, job: &J, options: JobOptions) -> Result<JobId, Error> {
        let body = job::encode_payload(job)?;
        let opts = options.merged_over(&J::options());
        self.addjob(J::QUEUE, &body, opts).await
    }

    /// Takes the next job of type `J`, waiting as long as it takes (a
    /// consume timeout among the client's defaults only makes it ask again).
    ///
    /// If the payload cannot be decoded as a `J` the job is left as it is
    /// (active: Disque delivers it again after its retry time) and the error
    /// is [`Error::Decode`], naming its id and queue.
    ///
    #[cfg_attr(feature = "derive", doc = "```")]
    #[cfg_attr(not(feature = "derive"), doc = "```ignore")]
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Serialize, Deserialize, disque::Job)]
    /// #[job(queue = "resize")]
    /// struct Resize { width: u32 }
    ///
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.enqueue(&Resize { width: 64 }).await?;
    /// let job = client.consume::<Resize>().await?;
    /// assert_eq!(job.width, 64);
    /// job.ack().await?;
    /// # Ok(()) }
    /// ```
    pub async fn consume<J: Job>(&self) -> Result<Delivery<J>, Error> {
        loop {
            // A GETJOB without timeout only returns with a job; the loop is
            // a guard against a server replying null anyway.
            if let Some(d) = self
                .consume_with::<J>(ConsumeOptions::new().nohang(false))
                .await?
            {
                return Ok(d);
            }
        }
    }

    /// Takes the next job of type `J` as `options` say (over the client's
    /// consume defaults): `None` if none comes within `options.timeout`, or
    /// at once with `nohang`. Decode failures as for [`consume`](Client::consume).
    ///
    #[cfg_attr(feature = "derive", doc = "```")]
    #[cfg_attr(not(feature = "derive"), doc = "```ignore")]
    /// # use std::time::Duration;
    /// # use serde::{Deserialize, Serialize};
    /// use disque::ConsumeOptions;
    ///
    /// #[derive(Serialize, Deserialize, disque::Job)]
    /// #[job(queue = "rare")]
    /// struct Rare;
    ///
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let wait = ConsumeOptions::new().timeout(Duration::from_millis(100));
    /// let got = client.consume_with::<Rare>(wait).await?;
    /// assert!(got.is_none());
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(
        name = "consume",
        level = "debug",
        skip_all,
        fields(queue = J::QUEUE, job_type = type_name::<J>(), job_id = Empty)
    )]
    pub async fn consume_with<J: Job>(
        &self,
        options: ConsumeOptions,
    ) -> Result<Option<Delivery<J>>, Error> {
        match self.get_one(&[J::QUEUE], options).await? {
            Some(raw) => raw.decode::<J>().map(Some),
            None => Ok(None),
        }
    }

    /// Takes the next job of any member type of `S`, from their queues
    /// highest priority first (one `GETJOB … FROM` over `S::queues()`),
    /// waiting as long as it takes. Decode failures as for
    /// [`consume`](Client::consume).
    ///
    #[cfg_attr(feature = "derive", doc = "```")]
    #[cfg_attr(not(feature = "derive"), doc = "```ignore")]
    /// # use serde::{Deserialize, Serialize};
    /// use disque::{Delivery, Job, JobSet};
    ///
    /// #[derive(Serialize, Deserialize, Job)]
    /// #[job(queue = "urgent", priority = 10)]
    /// struct Urgent;
    /// #[derive(Serialize, Deserialize, Job)]
    /// #[job(queue = "later", priority = 1)]
    /// struct Later;
    ///
    /// #[derive(JobSet)]
    /// enum Work {
    ///     Urgent(Delivery<Urgent>),
    ///     Later(Delivery<Later>),
    /// }
    ///
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.enqueue(&Later).await?;
    /// client.enqueue(&Urgent).await?;
    /// assert!(matches!(client.consume_set::<Work>().await?, Work::Urgent(_)));
    /// # Ok(()) }
    /// ```
    pub async fn consume_set<S: JobSet>(&self) -> Result<S, Error> {
        loop {
            if let Some(set) = self
                .consume_set_with::<S>(ConsumeOptions::new().nohang(false))
                .await?
            {
                return Ok(set);
            }
        }
    }

    /// [`consume_set`](Client::consume_set) as `options` say (over the
    /// client's consume defaults): `None` if no job comes within
    /// `options.timeout`, or at once with `nohang`.
    ///
    #[cfg_attr(feature = "derive", doc = "```")]
    #[cfg_attr(not(feature = "derive"), doc = "```ignore")]
    /// # use std::time::Duration;
    /// # use serde::{Deserialize, Serialize};
    /// use disque::{ConsumeOptions, Delivery, Job, JobSet};
    ///
    /// #[derive(Serialize, Deserialize, Job)]
    /// #[job(queue = "set-a")]
    /// struct A;
    ///
    /// #[derive(JobSet)]
    /// enum Only { A(Delivery<A>) }
    ///
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let wait = ConsumeOptions::new().timeout(Duration::from_millis(50));
    /// let got = client.consume_set_with::<Only>(wait).await?;
    /// assert!(got.is_none());
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(
        name = "consume",
        level = "debug",
        skip_all,
        fields(queue = Empty, job_type = type_name::<S>(), job_id = Empty)
    )]
    pub async fn consume_set_with<S: JobSet>(
        &self,
        options: ConsumeOptions,
    ) -> Result<Option<S>, Error> {
        let queues = S::queues();
        match self.get_one(&queues, options).await? {
            Some(raw) => S::from_delivery(raw).map(Some),
            None => Ok(None),
        }
    }
}
