//! Inspection and administration: SHOW, QSTAT, QPEEK, PAUSE, HELLO, INFO.

use std::time::Duration;

use super::Client;
use crate::reply::{self, Hello, Info, JobInfo, PauseState, QueueStats};
use crate::{Error, JobId};

impl Client {
    /// `SHOW id`: everything Disque knows about a job; `None` if it does not
    /// know it (acked, deleted, expired, or never existed).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// use disque::JobState;
    /// let id = client.add(b"x".as_slice(), "shown").await?;
    /// let info = client.show(&id).await?.expect("just added");
    /// assert_eq!(info.state, JobState::Queued);
    /// assert_eq!(info.body.as_deref(), Some(&b"x"[..]));
    /// # Ok(()) }
    /// ```
    pub async fn show(&self, id: &JobId) -> Result<Option<JobInfo>, Error> {
        let mut cmd = redis::cmd("SHOW");
        cmd.arg(id.as_str());
        // Asked of the node that holds the job (by its id) first; a node
        // without it answers nil.
        let found = |r: &Result<redis::Value, Error>| !matches!(r, Ok(redis::Value::Nil));
        JobInfo::from_value(self.conns().run_routed(id, None, &cmd, found).await?)
    }

    /// `QSTAT queue`: the queue's statistics; `None` if the queue does not exist.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.add(b"x".as_slice(), "stats").await?;
    /// let stats = client.queue_stats("stats").await?.expect("exists");
    /// assert_eq!(stats.len, 1);
    /// assert!(client.queue_stats("never-used").await?.is_none());
    /// # Ok(()) }
    /// ```
    pub async fn queue_stats(&self, queue: &str) -> Result<Option<QueueStats>, Error> {
        let mut cmd = redis::cmd("QSTAT");
        cmd.arg(queue);
        QueueStats::from_value(self.conns().run(&cmd, Duration::ZERO).await?)
    }

    /// `PAUSE queue state [BCAST]`: pauses the queue for input, output,
    /// both, or un-pauses it (`PauseState::None`); with `broadcast` every
    /// node of the cluster does the same. Returns the new state.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// use disque::PauseState;
    /// assert_eq!(client.pause("p", PauseState::In, false).await?, PauseState::In);
    /// assert!(matches!(client.add(b"x".as_slice(), "p").await, Err(disque::Error::Paused(_))));
    /// client.pause("p", PauseState::None, false).await?;
    /// # Ok(()) }
    /// ```
    pub async fn pause(
        &self,
        queue: &str,
        state: PauseState,
        broadcast: bool,
    ) -> Result<PauseState, Error> {
        let mut cmd = redis::cmd("PAUSE");
        cmd.arg(queue).arg(state.as_arg());
        if broadcast {
            cmd.arg("bcast");
        }
        PauseState::from_value(self.conns().run(&cmd, Duration::ZERO).await?)
    }

    /// `PAUSE queue state`: the queue's pause state, unchanged.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// use disque::PauseState;
    /// assert_eq!(client.pause_state("calm").await?, PauseState::None);
    /// # Ok(()) }
    /// ```
    pub async fn pause_state(&self, queue: &str) -> Result<PauseState, Error> {
        let mut cmd = redis::cmd("PAUSE");
        cmd.arg(queue).arg("state");
        PauseState::from_value(self.conns().run(&cmd, Duration::ZERO).await?)
    }

    /// `QPEEK queue n`: up to `n` queued jobs without taking them, oldest
    /// first; a negative `n` gives the newest first.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.add(b"first".as_slice(), "peek").await?;
    /// client.add(b"second".as_slice(), "peek").await?;
    /// let oldest = client.peek("peek", 1).await?;
    /// assert_eq!(oldest[0].body, b"first");
    /// let newest = client.peek("peek", -1).await?;
    /// assert_eq!(newest[0].body, b"second");
    /// assert_eq!(client.len("peek").await?, 2); // still queued
    /// # Ok(()) }
    /// ```
    pub async fn peek(&self, queue: &str, n: i64) -> Result<Vec<reply::ReceivedJob>, Error> {
        let mut cmd = redis::cmd("QPEEK");
        cmd.arg(queue).arg(n);
        reply::parse_qpeek(self.conns().run(&cmd, Duration::ZERO).await?)
    }

    /// `HELLO`: the cluster as the node sees it (its own id and every
    /// node's address and priority).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let hello = client.hello().await?;
    /// assert_eq!(hello.nodes.len(), 1);
    /// assert_eq!(hello.nodes[0].id, hello.id);
    /// # Ok(()) }
    /// ```
    pub async fn hello(&self) -> Result<Hello, Error> {
        Hello::from_value(
            self.conns()
                .run(&redis::cmd("HELLO"), Duration::ZERO)
                .await?,
        )
    }

    /// `INFO [section]`: the node's information, parsed into sections of
    /// key/value pairs.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let info = client.info(None).await?;
    /// assert!(info.get("registered_jobs").is_some());
    /// let jobs = client.info(Some("jobs")).await?;
    /// assert!(jobs.section("jobs").is_some());
    /// # Ok(()) }
    /// ```
    pub async fn info(&self, section: Option<&str>) -> Result<Info, Error> {
        let mut cmd = redis::cmd("INFO");
        if let Some(s) = section {
            cmd.arg(s);
        }
        Info::from_value(self.conns().run(&cmd, Duration::ZERO).await?)
    }
}
