//! A job handed to a consumer, which it must acknowledge or give back.

use std::ops::Deref;
use std::time::Duration;

use std::sync::Arc;

use crate::client::NodeAddr;
use crate::{
    error::DecodeFailure,
    id::JobId,
    job::{self, dead_letter::DeadLetter, payload::PayloadError, Job},
    Client, Error,
};

/// A job taken from a queue: acknowledge it ([`ack`](Delivery::ack)) once
/// done, or give it back ([`nack`](Delivery::nack)). Dropped without either,
/// Disque delivers it again after its retry time.
///
/// `Delivery<Vec<u8>>` is the raw (untyped) form returned by
/// [`Client::get`]; `Delivery<J>` for a `J: Job` holds the decoded value
/// and dereferences to it.
///
/// ```
/// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
/// # let node = disque_embedded::Node::start_ephemeral().await?;
/// # let client = disque::Client::connect(node.addr()).await?;
/// client.add(b"resize 42".as_slice(), "images").await?;
/// let job = client.get(&["images"]).await?.expect("queued above");
/// assert_eq!(job.queue(), "images");
/// assert_eq!(&job[..], b"resize 42"); // Deref to the body
/// assert_eq!(job.nacks(), 0);
/// job.ack().await?;
/// # Ok(()) }
/// ```
///
/// Dropping a `Delivery` unused is a warning (`#[must_use]`): the job would
/// come back after its retry time.
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// async fn take(client: disque::Client) -> Result<(), disque::Error> {
///     client.get(&["q"]).await?.expect("a job"); // neither acked nor nacked
///     Ok(())
/// }
/// ```
///
/// The same code that acks the job compiles under the same lint:
///
/// ```
/// #![deny(unused_must_use)]
/// async fn take(client: disque::Client) -> Result<(), disque::Error> {
///     client.get(&["q"]).await?.expect("a job").ack().await?;
///     Ok(())
/// }
/// ```
#[derive(Debug)]
#[must_use = "a Delivery that is neither acked nor nacked is delivered again after its retry time"]
pub struct Delivery<T = Vec<u8>> {
    client: Client,
    id: JobId,
    queue: String,
    nacks: u64,
    additional_deliveries: u64,
    value: T,
    /// The node that handed it out (where NACK and WORKING go first).
    node: Option<Arc<NodeAddr>>,
}

impl Delivery<Vec<u8>> {
    /// A raw delivery of `body`, acknowledged through `client`.
    pub(crate) fn new(
        client: Client,
        id: JobId,
        queue: String,
        body: Vec<u8>,
        nacks: u64,
        additional_deliveries: u64,
    ) -> Self {
        Delivery {
            client,
            id,
            queue,
            nacks,
            additional_deliveries,
            value: body,
            node: None,
        }
    }

    /// Records the node that handed the job out.
    pub(crate) fn delivered_by(mut self, node: Arc<NodeAddr>) -> Self {
        self.node = Some(node);
        self
    }

    /// A second handle on the same job, delivering node included (the
    /// worker keeps one to dead-letter a last attempt that fails).
    pub(crate) fn duplicate(&self) -> Self {
        Delivery {
            client: self.client.clone(),
            id: self.id.clone(),
            queue: self.queue.clone(),
            nacks: self.nacks,
            additional_deliveries: self.additional_deliveries,
            value: self.value.clone(),
            node: self.node.clone(),
        }
    }

    /// Decodes the raw body as a `J`.
    ///
    /// On failure the job is left as it is (active, neither acked nor
    /// nacked): Disque delivers it again after its retry time, so a consumer
    /// of the right type can still take it. The error is [`Error::Decode`]
    /// with a [`DecodeFailure`] that carries the job (id, queue, body,
    /// counters, fingerprints) and can move it to its dead-letter queue in
    /// one call. For an at-most-once job (RETRY 0) Disque will not deliver
    /// it again: the failure's `body` is then the only copy left.
    ///
    #[cfg_attr(feature = "derive", doc = "```")]
    #[cfg_attr(not(feature = "derive"), doc = "```ignore")]
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Serialize, Deserialize, disque::Job)]
    /// #[job(queue = "decode-doc")]
    /// struct Ping { n: u32 }
    ///
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.enqueue(&Ping { n: 7 }).await?;
    /// let raw = client.get(&["decode-doc"]).await?.expect("queued above");
    /// let typed = raw.decode::<Ping>()?;
    /// assert_eq!(typed.n, 7);
    /// typed.ack().await?;
    /// # Ok(()) }
    /// ```
    pub fn decode<J: Job>(self) -> Result<Delivery<J>, Error> {
        match job::decode_payload::<J>(&self.value) {
            Ok(value) => Ok(Delivery {
                client: self.client,
                id: self.id,
                queue: self.queue,
                nacks: self.nacks,
                additional_deliveries: self.additional_deliveries,
                value,
                node: self.node,
            }),
            Err(error) => Err(Error::Decode(Box::new(DecodeFailure::from_delivery(
                self, error,
            )))),
        }
    }

    /// Moves the job to its dead-letter queue, `<queue>.dead` (see
    /// [`DeadLetter`] for the naming rule and the envelope that keeps
    /// `reason`, the original queue, id, counters and body), then
    /// acknowledges the original. Returns the id of the dead-letter job.
    ///
    /// The dead-letter job is added with the client's job defaults, through
    /// the client's current node; the original is acknowledged where it
    /// lives, as [`ack`](Delivery::ack) does: on the node that delivered
    /// it first, then on the other nodes that may hold it. If the
    /// acknowledgement fails after the add, the error is returned and the
    /// original comes back after its retry time: a job may then be in both
    /// queues, never in neither.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// use disque::DeadLetter;
    ///
    /// let id = client.add(b"poison".as_slice(), "mail").await?;
    /// let job = client.get(&["mail"]).await?.expect("queued above");
    /// job.dead_letter("handler gave up").await?;
    /// assert!(client.show(&id).await?.is_none()); // acknowledged
    /// let dead = client.get(&["mail.dead"]).await?.expect("moved");
    /// let letter = DeadLetter::parse(dead.body()).expect("an envelope");
    /// assert_eq!((letter.reason.as_str(), letter.body.as_slice()), ("handler gave up", &b"poison"[..]));
    /// assert_eq!(letter.id, id.as_str());
    /// # Ok(()) }
    /// ```
    pub async fn dead_letter(self, reason: &str) -> Result<JobId, Error> {
        let Delivery {
            client,
            id,
            queue,
            nacks,
            additional_deliveries,
            value,
            node,
        } = self;
        let letter = DeadLetter {
            queue,
            id: id.as_str().to_owned(),
            reason: reason.to_owned(),
            nacks,
            additional_deliveries,
            body: value,
        };
        move_aside(&client, &id, node, letter).await
    }

    /// The raw body.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.add(b"\x00\r\n".as_slice(), "bytes").await?;
    /// let job = client.get(&["bytes"]).await?.expect("queued above");
    /// assert_eq!(job.body(), b"\x00\r\n");
    /// # Ok(()) }
    /// ```
    pub fn body(&self) -> &[u8] {
        &self.value
    }
}

impl<J: Job> Delivery<J> {
    /// Moves the job to its dead-letter queue, `<queue>.dead`, with `reason`,
    /// then acknowledges the original; as for a raw delivery
    /// ([`Delivery::<Vec<u8>>::dead_letter`](Delivery::dead_letter)), the
    /// body kept in the envelope being the value encoded again as a payload
    /// of `J`. Used, say, for a job past its delivery limit.
    ///
    #[cfg_attr(feature = "derive", doc = "```")]
    #[cfg_attr(not(feature = "derive"), doc = "```ignore")]
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Serialize, Deserialize, disque::Job)]
    /// #[job(queue = "typed-dead-doc")]
    /// struct Charge { cents: u64 }
    ///
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.enqueue(&Charge { cents: 5 }).await?;
    /// let job = client.consume::<Charge>().await?;
    /// // Say, a worker's delivery limit was reached:
    /// job.dead_letter("delivered too often").await?;
    /// let dead = client.get(&["typed-dead-doc.dead"]).await?.expect("moved");
    /// let letter = disque::DeadLetter::parse(dead.body()).expect("an envelope");
    /// assert_eq!(disque::decode_payload::<Charge>(&letter.body).unwrap().cents, 5);
    /// # Ok(()) }
    /// ```
    pub async fn dead_letter(self, reason: &str) -> Result<JobId, Error> {
        let body = job::encode_payload(&self.value)?;
        let letter = DeadLetter {
            queue: self.queue,
            id: self.id.as_str().to_owned(),
            reason: reason.to_owned(),
            nacks: self.nacks,
            additional_deliveries: self.additional_deliveries,
            body,
        };
        move_aside(&self.client, &self.id, self.node, letter).await
    }
}

/// Adds `letter` to the dead-letter queue of its queue (through the
/// client's current node), then acknowledges `id` where it lives: first on
/// `delivered_by`, the node that handed it out, then on the other nodes
/// that may hold it, as [`Delivery::ack`] does — a node that does not hold
/// the job answering 0 is not taken for the acknowledgement.
async fn move_aside(
    client: &Client,
    id: &JobId,
    delivered_by: Option<Arc<NodeAddr>>,
    letter: DeadLetter,
) -> Result<JobId, Error> {
    let dead_queue = DeadLetter::queue_for(&letter.queue);
    let dead = client.add(letter.to_bytes(), &dead_queue).await?;
    client
        .conns()
        .run_ids_routed("ACKJOB", &[(id.clone(), delivered_by)])
        .await?;
    Ok(dead)
}

impl DecodeFailure {
    /// The failure of `delivery`'s body to decode.
    pub(crate) fn from_delivery(delivery: Delivery<Vec<u8>>, error: PayloadError) -> Self {
        DecodeFailure {
            id: delivery.id,
            queue: delivery.queue,
            body: delivery.value,
            nacks: delivery.nacks,
            additional_deliveries: delivery.additional_deliveries,
            expected_fingerprint: error.expected_fingerprint,
            found_fingerprint: error.found_fingerprint,
            reason: error.reason,
            delivered_by: delivery.node,
        }
    }

    /// A failure for `delivery` with the fingerprints and reason given.
    pub(crate) fn of(
        delivery: &Delivery<Vec<u8>>,
        expected_fingerprint: u64,
        found_fingerprint: Option<u64>,
        reason: String,
    ) -> Self {
        DecodeFailure {
            id: delivery.id.clone(),
            queue: delivery.queue.clone(),
            body: delivery.value.clone(),
            nacks: delivery.nacks,
            additional_deliveries: delivery.additional_deliveries,
            expected_fingerprint,
            found_fingerprint,
            reason,
            delivered_by: delivery.node.clone(),
        }
    }

    /// Moves the job to its dead-letter queue, `<queue>.dead`, through
    /// `client`, keeping `reason` (followed by the decode failure's own
    /// reason) in the [`DeadLetter`] envelope, then acknowledges the
    /// original on the node that delivered it (as
    /// [`Delivery::dead_letter`] does): [`Delivery::dead_letter`] in one
    /// call from the error.
    ///
    #[cfg_attr(feature = "derive", doc = "```")]
    #[cfg_attr(not(feature = "derive"), doc = "```ignore")]
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Serialize, Deserialize, disque::Job)]
    /// #[job(queue = "poison-doc")]
    /// struct Invoice { total: u64 }
    ///
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let id = client.add(b"{\"total\": 5}".as_slice(), "poison-doc").await?;
    /// if let Err(disque::Error::Decode(failure)) = client.consume::<Invoice>().await {
    ///     failure.dead_letter(&client, "undecodable").await?;
    /// }
    /// assert!(client.show(&id).await?.is_none());
    /// let dead = client.get(&["poison-doc.dead"]).await?.expect("moved");
    /// let letter = disque::DeadLetter::parse(dead.body()).expect("an envelope");
    /// assert!(letter.reason.starts_with("undecodable: expected a payload of"));
    /// # Ok(()) }
    /// ```
    pub async fn dead_letter(self, client: &Client, reason: &str) -> Result<JobId, Error> {
        let letter = DeadLetter {
            queue: self.queue,
            id: self.id.as_str().to_owned(),
            reason: format!("{reason}: {}", self.reason),
            nacks: self.nacks,
            additional_deliveries: self.additional_deliveries,
            body: self.body,
        };
        move_aside(client, &self.id, self.delivered_by, letter).await
    }

    /// The job as a raw delivery through `client`, to give it back (`nack`),
    /// acknowledge it, or decode it as another type. It still knows the
    /// node that delivered it, where `nack`, `ack` and `working` go first.
    ///
    #[cfg_attr(feature = "derive", doc = "```")]
    #[cfg_attr(not(feature = "derive"), doc = "```ignore")]
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Serialize, Deserialize, disque::Job)]
    /// # #[job(queue = "back-doc")]
    /// # struct Resize { width: u32 }
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.add(b"?".as_slice(), "back-doc").await?;
    /// if let Err(disque::Error::Decode(failure)) = client.consume::<Resize>().await {
    ///     failure.into_delivery(&client).nack().await?;
    /// }
    /// assert_eq!(client.len("back-doc").await?, 1);
    /// # Ok(()) }
    /// ```
    pub fn into_delivery(self, client: &Client) -> Delivery<Vec<u8>> {
        let delivery = Delivery::new(
            client.clone(),
            self.id,
            self.queue,
            self.body,
            self.nacks,
            self.additional_deliveries,
        );
        match self.delivered_by {
            Some(node) => delivery.delivered_by(node),
            None => delivery,
        }
    }
}

impl<T> Delivery<T> {
    /// The job's id.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let id = client.add(b"x".as_slice(), "ids").await?;
    /// assert_eq!(client.get(&["ids"]).await?.expect("queued").id(), &id);
    /// # Ok(()) }
    /// ```
    pub fn id(&self) -> &JobId {
        &self.id
    }

    /// The queue it was taken from.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.add(b"x".as_slice(), "low").await?;
    /// let job = client.get(&["high", "low"]).await?.expect("queued");
    /// assert_eq!(job.queue(), "low");
    /// # Ok(()) }
    /// ```
    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// How many times it was given back with NACK.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.add(b"x".as_slice(), "flaky").await?;
    /// client.get(&["flaky"]).await?.expect("queued").nack().await?;
    /// assert_eq!(client.get(&["flaky"]).await?.expect("nacked").nacks(), 1);
    /// # Ok(()) }
    /// ```
    pub fn nacks(&self) -> u64 {
        self.nacks
    }

    /// How many times it was delivered again because its retry time passed
    /// without an acknowledgement.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.add(b"x".as_slice(), "fresh").await?;
    /// assert_eq!(client.get(&["fresh"]).await?.expect("queued").additional_deliveries(), 0);
    /// # Ok(()) }
    /// ```
    pub fn additional_deliveries(&self) -> u64 {
        self.additional_deliveries
    }

    /// The payload (also reachable through `Deref`).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.add(b"x".as_slice(), "values").await?;
    /// assert_eq!(client.get(&["values"]).await?.expect("queued").value(), b"x");
    /// # Ok(()) }
    /// ```
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The payload, leaving the job unacknowledged (it comes back after its
    /// retry time unless acked through [`Client::ack`] with its id).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.add(b"x".as_slice(), "inner").await?;
    /// let job = client.get(&["inner"]).await?.expect("queued");
    /// let id = job.id().clone();
    /// let body: Vec<u8> = job.into_inner();
    /// assert_eq!(body, b"x");
    /// client.ack([&id]).await?;
    /// # Ok(()) }
    /// ```
    pub fn into_inner(self) -> T {
        self.value
    }

    /// Acknowledges the job (`ACKJOB`): done, Disque forgets it.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let id = client.add(b"x".as_slice(), "done").await?;
    /// client.get(&["done"]).await?.expect("queued").ack().await?;
    /// assert!(client.show(&id).await?.is_none());
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(name = "ack", level = "debug", skip_all, fields(queue = %self.queue, job_type = std::any::type_name::<T>(), job_id = tracing::field::Empty))]
    pub async fn ack(self) -> Result<(), Error> {
        let ids = [(self.id.clone(), self.node.clone())];
        self.client
            .conns()
            .run_ids_routed("ACKJOB", &ids)
            .await
            .map(drop)
    }

    /// Gives the job back (`NACK`): queued again at once, its nack count + 1.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.add(b"x".as_slice(), "again").await?;
    /// client.get(&["again"]).await?.expect("queued").nack().await?;
    /// assert_eq!(client.len("again").await?, 1);
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(name = "nack", level = "debug", skip_all, fields(queue = %self.queue, job_type = std::any::type_name::<T>(), job_id = tracing::field::Empty))]
    pub async fn nack(self) -> Result<(), Error> {
        let ids = [(self.id.clone(), self.node.clone())];
        match self.client.conns().run_ids_routed("NACK", &ids).await? {
            0 => Err(Error::NoJob(format!(
                "NACK {}: no node knows the job any more (acked, expired or deleted)",
                self.id
            ))),
            _ => Ok(()),
        }
    }

    /// Tells Disque the job is still being worked on (`WORKING`): its next
    /// delivery is postponed by the returned duration. Refused with
    /// [`Error::TooLate`] once half the job's TTL has passed.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// # use std::time::Duration;
    /// client.retry(Duration::from_secs(60)).add(b"x".as_slice(), "long").await?;
    /// let job = client.get(&["long"]).await?.expect("queued");
    /// assert_eq!(job.working().await?, Duration::from_secs(60));
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(name = "working", level = "debug", skip_all, fields(queue = %self.queue, job_id = %self.id, job_type = std::any::type_name::<T>()))]
    pub async fn working(&self) -> Result<Duration, Error> {
        self.client.working_at(&self.id, self.node.as_ref()).await
    }

    /// The client this delivery acknowledges through.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.add(b"x".as_slice(), "c").await?;
    /// let job = client.get(&["c"]).await?.expect("queued");
    /// job.client().ping().await?;
    /// # Ok(()) }
    /// ```
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl<T> Deref for Delivery<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}
