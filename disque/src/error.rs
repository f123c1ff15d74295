//! The one error type of the crate.

/// Everything that can go wrong talking to Disque.
///
/// Match on the variants, or use the predicates ([`Error::is_retryable`] …).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `-NOREPL`: not enough reachable nodes for the replication level
    /// (the server's text says whether it was refused or timed out).
    #[error("not enough replicas: {0}")]
    NoReplication(String),
    /// `-MAXLEN`: the queue is already longer than the MAXLEN option.
    #[error("queue is full: {0}")]
    QueueFull(String),
    /// `-PAUSED`: the queue is paused for input.
    #[error("queue is paused: {0}")]
    Paused(String),
    /// `-LEAVING`: the node is leaving the cluster; use another node.
    #[error("node is leaving the cluster: {0}")]
    Leaving(String),
    /// `-NOJOB`: the job is not known to this node.
    #[error("job not known: {0}")]
    NoJob(String),
    /// `-BADID`, or a job id refused by the client before sending.
    #[error("invalid job id: {0}")]
    BadId(String),
    /// `-TOOLATE`: half of the job's TTL has elapsed, WORKING is refused.
    #[error("too late to postpone: {0}")]
    TooLate(String),
    /// Authentication failed or is required (`-NOAUTH`, `-ERR invalid password`).
    #[error("authentication failed: {0}")]
    Auth(String),
    /// Options Disque would refuse, caught before anything was sent.
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// Any other error reply of the server (`-ERR …`).
    #[error("server error: {0}")]
    Server(String),
    /// Connecting or waiting for a reply took longer than allowed.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The connection could not be made or was lost.
    #[error("connection error: {0}")]
    Connection(String),
    /// An I/O error.
    #[error("i/o error")]
    Io(#[from] std::io::Error),
    /// A reply of unexpected shape.
    #[error("unexpected reply: {0}")]
    Protocol(String),
    /// A payload could not be encoded for a job type.
    #[error("job payload could not be encoded: {0}")]
    Encode(String),
    /// A typed payload could not be decoded as the job type the consumer asked for.
    #[error("job {id} from queue {queue:?} could not be decoded: {reason}")]
    Decode {
        /// The job's id.
        id: String,
        /// The queue it came from.
        queue: String,
        /// What was expected and what was found.
        reason: String,
    },
}
