//! QSCAN and JSCAN as async streams that follow the cursor to the end.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, Stream};
use redis::Value;

use crate::options::JobScanReply;
use crate::reply::{self, ScanPage};
use crate::{Client, Error, JobId, JobInfo, JobScanOptions, JobState, QueueScanOptions};

/// Where an iteration is.
struct State<T> {
    client: Client,
    /// The next cursor to send; `None` once the server returned cursor 0.
    cursor: Option<u64>,
    /// Items of the last page not handed out yet.
    buffer: VecDeque<T>,
}

/// Streams every item of a cursor iteration: `build(cursor)` makes the
/// command for one page, `parse` reads the page.
fn scan<T: Send + 'static>(
    client: Client,
    build: impl Fn(u64) -> redis::Cmd + Send + Sync + 'static,
    parse: fn(Value) -> Result<ScanPage<T>, Error>,
) -> impl Stream<Item = Result<T, Error>> + Send + 'static {
    let start = State {
        client,
        cursor: Some(0),
        buffer: VecDeque::new(),
    };
    let build = Arc::new(build);
    stream::unfold(Some(start), move |state| {
        let build = Arc::clone(&build);
        async move {
            let mut state = state?;
            loop {
                if let Some(item) = state.buffer.pop_front() {
                    return Some((Ok(item), Some(state)));
                }
                // No more pages: the stream ends.
                let cursor = state.cursor?;
                let page = state
                    .client
                    .conns()
                    .run(&build(cursor), Duration::ZERO)
                    .await;
                match page.and_then(parse) {
                    Ok(page) => {
                        state.cursor = (!page.is_last()).then_some(page.cursor);
                        state.buffer.extend(page.items);
                    }
                    // After an error the stream ends.
                    Err(e) => return Some((Err(e), None)),
                }
            }
        }
    })
}

impl Client {
    /// `QSCAN` followed to the end: every queue name matching `options`
    /// (a queue may come more than once, as QSCAN promises only that every
    /// queue present for the whole iteration comes at least once).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// use disque::QueueScanOptions;
    /// use futures_util::TryStreamExt;
    /// client.add(b"x".as_slice(), "scanned").await?;
    /// let queues: Vec<String> = client.scan_queues(QueueScanOptions::new()).try_collect().await?;
    /// assert!(queues.contains(&"scanned".to_string()));
    /// # Ok(()) }
    /// ```
    pub fn scan_queues(
        &self,
        options: QueueScanOptions,
    ) -> impl Stream<Item = Result<String, Error>> + Send + 'static {
        scan(
            self.clone(),
            move |cursor| {
                let mut cmd = redis::cmd("QSCAN");
                cmd.arg(cursor);
                options.append_args(&mut cmd);
                cmd
            },
            reply::parse_qscan,
        )
    }

    /// `JSCAN` followed to the end: the id of every job matching `options`
    /// (queue, states…; the reply kind is always ids — see
    /// [`scan_jobs_info`](Client::scan_jobs_info) for whole jobs).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// use disque::JobScanOptions;
    /// use futures_util::TryStreamExt;
    /// let id = client.add(b"x".as_slice(), "jscanned").await?;
    /// let ids: Vec<disque::JobId> = client
    ///     .scan_jobs(JobScanOptions::new().queue("jscanned"))
    ///     .try_collect()
    ///     .await?;
    /// assert_eq!(ids, [id]);
    /// # Ok(()) }
    /// ```
    pub fn scan_jobs(
        &self,
        options: JobScanOptions,
    ) -> impl Stream<Item = Result<JobId, Error>> + Send + 'static {
        scan(
            self.clone(),
            move |cursor| {
                let mut cmd = redis::cmd("JSCAN");
                cmd.arg(cursor);
                options.append_args(&mut cmd, JobScanReply::Id);
                cmd
            },
            reply::parse_jscan_ids,
        )
    }

    /// `JSCAN … REPLY all` followed to the end: every job matching
    /// `options`, with everything SHOW tells.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// use disque::JobScanOptions;
    /// use futures_util::TryStreamExt;
    /// client.add(b"x".as_slice(), "jscan-all").await?;
    /// let jobs: Vec<disque::JobInfo> = client
    ///     .scan_jobs_info(JobScanOptions::new().queue("jscan-all"))
    ///     .try_collect()
    ///     .await?;
    /// assert_eq!(jobs[0].body.as_deref(), Some(&b"x"[..]));
    /// # Ok(()) }
    /// ```
    pub fn scan_jobs_info(
        &self,
        options: JobScanOptions,
    ) -> impl Stream<Item = Result<JobInfo, Error>> + Send + 'static {
        scan(
            self.clone(),
            move |cursor| {
                let mut cmd = redis::cmd("JSCAN");
                cmd.arg(cursor);
                options.append_args(&mut cmd, JobScanReply::All);
                cmd
            },
            reply::parse_jscan_all,
        )
    }

    /// How many jobs of `queue` are active (delivered, not yet acked):
    /// every page of `JSCAN QUEUE queue STATE active`, counted.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// client.add(b"x".as_slice(), "busy").await?;
    /// let job = client.get(&["busy"]).await?.expect("queued");
    /// assert_eq!(client.active_len("busy").await?, 1);
    /// job.ack().await?;
    /// assert_eq!(client.active_len("busy").await?, 0);
    /// # Ok(()) }
    /// ```
    pub async fn active_len(&self, queue: &str) -> Result<u64, Error> {
        use futures_util::TryStreamExt;
        let options = JobScanOptions::new()
            .queue(queue)
            .state(JobState::Active)
            .count(1000);
        self.scan_jobs(options)
            .try_fold(0u64, |n, _| async move { Ok(n + 1) })
            .await
    }
}
