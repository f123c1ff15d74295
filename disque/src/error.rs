//! The one error type of the crate, [`Error`], and how `redis` errors map onto it.

use std::io;

use crate::id::JobId;

/// Everything that can go wrong talking to Disque.
///
/// Match on the variants, or use the predicates ([`Error::is_retryable`],
/// [`Error::should_switch_node`], [`Error::is_timeout`],
/// [`Error::is_connection`]). Server errors keep the server's text, so
/// `NoReplication` still says whether replication was refused or timed out.
///
/// ```
/// use disque::{Error, JobId};
///
/// let err = JobId::parse("nope").unwrap_err();
/// assert!(matches!(err, Error::BadId(_)));
/// assert!(!err.is_retryable());
/// ```
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
    /// Authentication failed or is required (`-NOAUTH`, `-ERR invalid password`,
    /// a password sent to a server that has none).
    #[error("authentication failed: {0}")]
    Auth(String),
    /// Options or settings Disque would refuse, caught before anything was sent.
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// Any other error reply of the server (`-ERR …`), with its full text.
    #[error("server error: {0}")]
    Server(String),
    /// Connecting or waiting for a reply took longer than allowed.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The connection could not be made or was lost.
    #[error("connection error: {0}")]
    Connection(String),
    /// An I/O error (its text is the [source](std::error::Error::source)).
    #[error("i/o error")]
    Io(#[from] std::io::Error),
    /// A reply of unexpected shape (the text says what came).
    #[error("unexpected reply: {0}")]
    Protocol(String),
    /// A payload could not be encoded for a job type.
    #[error("job payload could not be encoded: {0}")]
    Encode(String),
    /// A typed payload could not be decoded as the job type the consumer
    /// asked for. The job was left as it is (active: it comes back after its
    /// retry time); the [`DecodeFailure`] carries it (id, queue, body,
    /// counters) and can move it to its dead-letter queue in one call.
    #[error("job {} from queue {:?} could not be decoded: {}", .0.id, .0.queue, .0.reason)]
    Decode(Box<DecodeFailure>),
}

/// A job that could not be decoded as the consumer's job type: everything
/// needed to move it aside (`dead_letter`), give it back (`nack` through
/// `into_delivery`) or look at it, including its body — for an at-most-once
/// job (RETRY 0) the only copy left.
///
#[cfg_attr(feature = "derive", doc = "```")]
#[cfg_attr(not(feature = "derive"), doc = "```ignore")]
/// # use serde::{Deserialize, Serialize};
/// # #[derive(Serialize, Deserialize, disque::Job, Debug)]
/// # #[job(queue = "failure-doc")]
/// # struct Resize { width: u32 }
/// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
/// # let node = disque_embedded::Node::start_ephemeral().await?;
/// # let client = disque::Client::connect(node.addr()).await?;
/// client.add(b"not a payload".as_slice(), "failure-doc").await?;
/// match client.consume::<Resize>().await {
///     Err(disque::Error::Decode(failure)) => {
///         assert_eq!(failure.body, b"not a payload");
///         assert_eq!(failure.found_fingerprint, None);
///         let dead = failure.dead_letter(&client, "not a Resize").await?;
///         assert_eq!(client.len("failure-doc.dead").await?, 1);
///         # let _ = dead;
///     }
///     other => panic!("{other:?}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeFailure {
    /// The job's id.
    pub id: JobId,
    /// The queue it came from.
    pub queue: String,
    /// Its body as received (payload header included).
    pub body: Vec<u8>,
    /// Its NACK count.
    pub nacks: u64,
    /// Its additional-deliveries count.
    pub additional_deliveries: u64,
    /// The fingerprint of the job type the consumer asked for (0 when the
    /// job came from a queue none of the consumer's types takes).
    pub expected_fingerprint: u64,
    /// The fingerprint in the body's header, if it has one.
    pub found_fingerprint: Option<u64>,
    /// What was expected and what was found, in words.
    pub reason: String,
    /// The node that delivered the job, where [`DecodeFailure::dead_letter`]
    /// and [`DecodeFailure::into_delivery`] acknowledge or give it back.
    pub(crate) delivered_by: Option<std::sync::Arc<crate::client::NodeAddr>>,
}

impl std::fmt::Debug for DecodeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const PREVIEW: usize = 32;
        let shown = &self.body[..self.body.len().min(PREVIEW)];
        f.debug_struct("DecodeFailure")
            .field("id", &self.id)
            .field("queue", &self.queue)
            .field(
                "body",
                &format_args!(
                    "{} bytes \"{}{}\"",
                    self.body.len(),
                    shown.escape_ascii(),
                    if self.body.len() > PREVIEW { "…" } else { "" }
                ),
            )
            .field("nacks", &self.nacks)
            .field("additional_deliveries", &self.additional_deliveries)
            .field("expected_fingerprint", &self.expected_fingerprint)
            .field("found_fingerprint", &self.found_fingerprint)
            .field("reason", &self.reason)
            .finish()
    }
}

impl Error {
    /// Whether the same request may succeed if tried again later, unchanged
    /// (possibly on another node):
    ///
    /// - `QueueFull`, `Paused`: yes, once consumers caught up / the queue is
    ///   resumed;
    /// - `Leaving`, and a `NoReplication` because this node cannot hold a
    ///   copy (`… reason: I'm leaving the cluster` or `I'm out of memory`):
    ///   yes, on another node;
    /// - `NoReplication` because the replication timeout passed: yes;
    /// - `NoReplication` because the cluster has too few reachable nodes for
    ///   the requested REPLICATE (`Not enough reachable nodes for the
    ///   requested replication level`): **no** — ask for fewer copies; nor
    ///   one whose job expired before it was replicated (`job removed
    ///   (expired?) …`);
    /// - `Timeout`, `Connection`, `Io`: yes (beware: after one of these an
    ///   ADDJOB may have been stored anyway, so retrying it can add the job
    ///   twice; the client's own error says so);
    /// - `Server` with `LOADING` (the node is loading its data) or `OOM`
    ///   (over its memory limit): yes;
    /// - everything else (`NoJob`, `BadId`, `TooLate`, `Auth`, bad options,
    ///   other `-ERR`s, decoding): no.
    ///
    /// ```
    /// use disque::Error;
    ///
    /// assert!(Error::Paused("Queue paused in input, try later".into()).is_retryable());
    /// assert!(!Error::NoJob("Job not known in the context of this node.".into()).is_retryable());
    /// let too_small = "Not enough reachable nodes for the requested replication level";
    /// assert!(!Error::NoReplication(too_small.into()).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::NoReplication(text) => !is_cluster_too_small(text),
            Error::Server(text) => is_transient_server_error(text),
            Error::QueueFull(_)
            | Error::Paused(_)
            | Error::Leaving(_)
            | Error::Timeout(_)
            | Error::Connection(_)
            | Error::Io(_) => true,
            _ => false,
        }
    }

    /// Whether another node of the cluster should be used: this one is
    /// leaving (`Leaving`, or `NoReplication` saying `I'm leaving the
    /// cluster` or `I'm out of memory`), cannot be reached or did not answer in time (`Connection`,
    /// `Io`, `Timeout`), or is loading its data (`Server` `LOADING`). A
    /// `NoReplication` because the cluster is too small, or because the
    /// replication timeout passed, is not a reason to switch: every node
    /// would answer the same. The client switches by itself on these; the
    /// predicate is for callers that manage nodes of their own.
    ///
    /// ```
    /// use disque::Error;
    ///
    /// assert!(Error::Leaving("the node is leaving".into()).should_switch_node());
    /// assert!(!Error::Paused("Queue paused in input, try later".into()).should_switch_node());
    /// let too_small = "Not enough reachable nodes for the requested replication level";
    /// assert!(!Error::NoReplication(too_small.into()).should_switch_node());
    /// ```
    pub fn should_switch_node(&self) -> bool {
        match self {
            Error::NoReplication(text) => is_leaving_text(text),
            Error::Server(text) => text.starts_with("LOADING"),
            Error::Leaving(_) | Error::Connection(_) | Error::Io(_) | Error::Timeout(_) => true,
            _ => false,
        }
    }

    /// Whether the client gave up waiting (connect or reply timeout). A
    /// replication timeout reported by the server is a `NoReplication`, not this.
    ///
    /// ```
    /// assert!(disque::Error::Timeout("no reply within 500ms".into()).is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout(_))
    }

    /// Whether the connection could not be made or was lost (`Connection`, `Io`).
    ///
    /// ```
    /// assert!(disque::Error::Connection("connection refused".into()).is_connection());
    /// ```
    pub fn is_connection(&self) -> bool {
        matches!(self, Error::Connection(_) | Error::Io(_))
    }

    /// Maps an error of the `redis` crate: server error replies by their code
    /// (first word), then timeouts, lost or refused connections, other I/O
    /// errors, authentication and parse failures.
    pub(crate) fn from_redis(err: redis::RedisError) -> Error {
        use redis::ErrorKind;

        if let Some(server) = err.clone().into_server_errors() {
            if let Some((_, first)) = server.first() {
                return Error::from_server_error(first);
            }
        }
        if err.is_timeout() {
            return Error::Timeout(err.to_string());
        }
        if err.is_connection_refusal() || err.is_connection_dropped() {
            return Error::Connection(err.to_string());
        }
        match err.kind() {
            ErrorKind::AuthenticationFailed => Error::Auth(err.to_string()),
            ErrorKind::Parse | ErrorKind::UnexpectedReturnType | ErrorKind::Client => {
                Error::Protocol(err.to_string())
            }
            ErrorKind::InvalidClientConfig => Error::InvalidOptions(err.to_string()),
            // `redis` does not hand out its inner io::Error: keep its text.
            ErrorKind::Io => Error::Io(io::Error::other(err.to_string())),
            _ => Error::Server(err.to_string()),
        }
    }

    /// Maps an error reply of the server by its code (the first word).
    pub(crate) fn from_server_error(err: &redis::ServerError) -> Error {
        let code = err.code();
        let detail = err.details().unwrap_or("");
        let text = || detail.to_owned();
        match code {
            "NOREPL" => Error::NoReplication(text()),
            "MAXLEN" => Error::QueueFull(text()),
            "PAUSED" => Error::Paused(text()),
            "LEAVING" => Error::Leaving(text()),
            "NOJOB" => Error::NoJob(text()),
            "BADID" => Error::BadId(text()),
            "TOOLATE" => Error::TooLate(text()),
            "NOAUTH" | "WRONGPASS" => Error::Auth(text()),
            "ERR" if is_auth_failure(detail) => Error::Auth(text()),
            _ if detail.is_empty() => Error::Server(code.to_owned()),
            _ => Error::Server(format!("{code} {detail}")),
        }
    }
}

/// A `-NOREPL` text that another try (anywhere) would get again: the
/// cluster has fewer reachable nodes than the REPLICATE asked for, or the
/// job's TTL ran out before its replication.
fn is_cluster_too_small(text: &str) -> bool {
    (text.starts_with("Not enough reachable nodes") && !text.contains("I'm unable"))
        || text.starts_with("job removed")
}

/// A `-NOREPL` text saying this node cannot hold a copy itself (it is
/// leaving the cluster, or out of memory): another node can.
pub(crate) fn is_leaving_text(text: &str) -> bool {
    text.contains("I'm leaving the cluster") || text.contains("I'm out of memory")
}

/// Server errors outside Disque's own codes that pass by themselves.
fn is_transient_server_error(text: &str) -> bool {
    text.starts_with("LOADING") || text.starts_with("OOM") || text.starts_with("TRYAGAIN")
}

/// `-ERR` texts that are about authentication.
fn is_auth_failure(detail: &str) -> bool {
    let lower = detail.to_ascii_lowercase();
    lower.contains("invalid password") || lower.starts_with("client sent auth")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    /// The error `redis` returns for the raw reply `line` (without `-`/CRLF).
    fn server(line: &str) -> redis::RedisError {
        redis::parse_redis_value(format!("-{line}\r\n").as_bytes())
            .unwrap()
            .extract_error()
            .unwrap_err()
    }

    /// A check of a mapped error.
    type Check = fn(&Error) -> bool;

    #[test]
    fn each_disque_error_code_maps_to_its_variant_keeping_the_text() {
        // Texts from shared/protocol/README.md and golden/*.json.
        let cases: [(&str, Check); 8] = [
            ("NOREPL Not enough reachable nodes for the requested replication level", |e| matches!(e, Error::NoReplication(t) if t == "Not enough reachable nodes for the requested replication level")),
            ("MAXLEN Queue is already longer than the specified MAXLEN count", |e| matches!(e, Error::QueueFull(t) if t.starts_with("Queue is already"))),
            ("PAUSED Queue paused in input, try later", |e| matches!(e, Error::Paused(t) if t == "Queue paused in input, try later")),
            ("LEAVING Node is leaving the cluster", |e| matches!(e, Error::Leaving(_))),
            ("NOJOB Job not known in the context of this node.", |e| matches!(e, Error::NoJob(t) if t.ends_with("node."))),
            ("BADID Invalid Job ID format.", |e| matches!(e, Error::BadId(t) if t == "Invalid Job ID format.")),
            ("TOOLATE Half of job TTL already elapsed, you are no longer allowed to postpone the next delivery.", |e| matches!(e, Error::TooLate(_))),
            ("NOAUTH Authentication required.", |e| matches!(e, Error::Auth(_))),
        ];
        for (line, check) in cases {
            let err = Error::from_redis(server(line));
            assert!(check(&err), "{line:?} -> {err:?}");
        }
    }

    #[test]
    fn auth_texts_under_err_are_auth() {
        for line in [
            "ERR invalid password",
            "ERR Client sent AUTH, but no password is set",
        ] {
            assert!(
                matches!(Error::from_redis(server(line)), Error::Auth(_)),
                "{line}"
            );
        }
    }

    #[test]
    fn other_errors_are_server_errors_with_the_full_text() {
        let err = Error::from_redis(server(
            "ERR The specified DELAY is greater than TTL. Job refused since would never be delivered",
        ));
        assert!(
            matches!(&err, Error::Server(t) if t == "ERR The specified DELAY is greater than TTL. Job refused since would never be delivered"),
            "{err:?}"
        );
        assert!(
            matches!(Error::from_redis(server("ERR syntax error")), Error::Server(t) if t == "ERR syntax error")
        );
        assert!(matches!(Error::from_redis(server("WEIRD")), Error::Server(t) if t == "WEIRD"));
    }

    #[test]
    fn io_timeouts_are_timeouts() {
        // redis' response and connect timeouts are io::ErrorKind::TimedOut.
        let err = Error::from_redis(io::Error::from(io::ErrorKind::TimedOut).into());
        assert!(err.is_timeout(), "{err:?}");
        assert!(err.is_retryable());
    }

    #[test]
    fn refused_and_dropped_connections_are_connection_errors() {
        for kind in [
            io::ErrorKind::ConnectionRefused,
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::BrokenPipe,
            io::ErrorKind::UnexpectedEof,
        ] {
            let err = Error::from_redis(io::Error::from(kind).into());
            assert!(matches!(err, Error::Connection(_)), "{kind:?} -> {err:?}");
            assert!(err.is_connection() && err.should_switch_node() && err.is_retryable());
        }
        // The multiplexed connection's "driver gone" error is a general Io error.
        let err = Error::from_redis(
            (
                redis::ErrorKind::Io,
                "Multiplexed connection driver unexpectedly terminated",
            )
                .into(),
        );
        assert!(matches!(err, Error::Connection(_)), "{err:?}");
    }

    #[test]
    fn other_io_errors_keep_their_text() {
        let err = Error::from_redis(io::Error::from(io::ErrorKind::PermissionDenied).into());
        match &err {
            Error::Io(e) => assert_eq!(e.to_string(), "permission denied"),
            other => panic!("{other:?}"),
        }
        assert!(err.is_connection());
    }

    #[test]
    fn client_side_failures_map_to_auth_protocol_and_options() {
        let auth = redis::RedisError::from((
            redis::ErrorKind::AuthenticationFailed,
            "Password authentication failed",
        ));
        assert!(matches!(Error::from_redis(auth), Error::Auth(_)));
        let parse = redis::RedisError::from((redis::ErrorKind::Parse, "bad frame"));
        assert!(matches!(Error::from_redis(parse), Error::Protocol(_)));
        let ty = redis::RedisError::from((redis::ErrorKind::UnexpectedReturnType, "not an int"));
        assert!(matches!(Error::from_redis(ty), Error::Protocol(_)));
        let cfg = redis::RedisError::from((redis::ErrorKind::InvalidClientConfig, "bad url"));
        assert!(matches!(Error::from_redis(cfg), Error::InvalidOptions(_)));
    }

    #[test]
    fn predicates_classify_every_variant() {
        let s = || String::from("x");
        let all = [
            (Error::NoReplication(s()), true, false, false, false),
            (
                Error::NoReplication(
                    "Not enough reachable nodes for the requested replication level".into(),
                ),
                false,
                false,
                false,
                false,
            ),
            (
                Error::NoReplication(
                    "Not enough reachable nodes for the requested replication level, since I'm unable to hold a copy of the message for the following reason: I'm leaving the cluster".into(),
                ),
                true,
                true,
                false,
                false,
            ),
            (
                Error::NoReplication(
                    "Timeout reached before replicating to the requested number of nodes".into(),
                ),
                true,
                false,
                false,
                false,
            ),
            (
                Error::Server("LOADING Disque is loading the dataset in memory".into()),
                true,
                true,
                false,
                false,
            ),
            (Error::Server("OOM command not allowed".into()), true, false, false, false),
            (
                Error::NoReplication(
                    "job removed (expired?) before the requested replication level was achieved"
                        .into(),
                ),
                false,
                false,
                false,
                false,
            ),
            (Error::QueueFull(s()), true, false, false, false),
            (Error::Paused(s()), true, false, false, false),
            (Error::Leaving(s()), true, true, false, false),
            (Error::NoJob(s()), false, false, false, false),
            (Error::BadId(s()), false, false, false, false),
            (Error::TooLate(s()), false, false, false, false),
            (Error::Auth(s()), false, false, false, false),
            (Error::InvalidOptions(s()), false, false, false, false),
            (Error::Server(s()), false, false, false, false),
            (Error::Timeout(s()), true, true, true, false),
            (Error::Connection(s()), true, true, false, true),
            (Error::Io(io::Error::other("x")), true, true, false, true),
            (Error::Protocol(s()), false, false, false, false),
            (Error::Encode(s()), false, false, false, false),
            (
                Error::Decode(Box::new(DecodeFailure {
                    id: JobId::parse("D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1").unwrap(),
                    queue: s(),
                    body: vec![],
                    nacks: 0,
                    additional_deliveries: 0,
                    expected_fingerprint: 1,
                    found_fingerprint: None,
                    reason: s(),
                    delivered_by: None,
                })),
                false,
                false,
                false,
                false,
            ),
        ];
        for (err, retry, switch, timeout, conn) in all {
            assert_eq!(err.is_retryable(), retry, "{err:?}");
            assert_eq!(err.should_switch_node(), switch, "{err:?}");
            assert_eq!(err.is_timeout(), timeout, "{err:?}");
            assert_eq!(err.is_connection(), conn, "{err:?}");
        }
    }

    #[test]
    fn display_does_not_repeat_the_source() {
        let err = Error::Io(io::Error::other("disk on fire"));
        assert_eq!(err.to_string(), "i/o error");
        assert_eq!(err.source().unwrap().to_string(), "disk on fire");
        let err = Error::from_redis(server("PAUSED Queue paused in input, try later"));
        assert_eq!(
            err.to_string(),
            "queue is paused: Queue paused in input, try later"
        );
        assert!(err.source().is_none());
    }
}
