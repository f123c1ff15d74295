//! SHOW: [`JobInfo`] and [`JobState`].

use std::{fmt, str::FromStr, time::Duration};

use redis::Value;

use super::{bytes, integer, millis, queue_name, secs, strings, text, unsigned, Fields};
use crate::{Error, JobId};

/// The state of a job, as SHOW reports it and JSCAN `STATE` filters it.
///
/// ```
/// use disque::JobState;
///
/// assert_eq!("queued".parse::<JobState>(), Ok(JobState::Queued));
/// assert_eq!(JobState::WaitRepl.as_str(), "wait-repl");
/// assert_eq!("later".parse::<JobState>(), Ok(JobState::Unknown("later".into())));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Waiting to be replicated (`wait-repl`).
    WaitRepl,
    /// Delivered (or delayed), not queued (`active`).
    Active,
    /// In its queue, ready to be delivered (`queued`).
    Queued,
    /// Acknowledged (`acked`): done, about to be removed.
    Acked,
    /// A state this client does not know (a newer Disque).
    Unknown(String),
}

impl JobState {
    /// The name Disque uses.
    ///
    /// ```
    /// assert_eq!(disque::JobState::Acked.as_str(), "acked");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            JobState::WaitRepl => "wait-repl",
            JobState::Active => "active",
            JobState::Queued => "queued",
            JobState::Acked => "acked",
            JobState::Unknown(s) => s,
        }
    }
}

impl FromStr for JobState {
    type Err = std::convert::Infallible;

    /// Never fails: unknown names (case-insensitive) become [`JobState::Unknown`].
    fn from_str(s: &str) -> Result<JobState, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "wait-repl" => JobState::WaitRepl,
            "active" => JobState::Active,
            "queued" => JobState::Queued,
            "acked" => JobState::Acked,
            _ => JobState::Unknown(s.to_owned()),
        })
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything SHOW tells about a job ([`Client::show`](crate::Client::show),
/// [`Client::scan_jobs_info`](crate::Client::scan_jobs_info)).
///
/// Times are typed: `ttl`, `delay` and `retry` in seconds, the `next_*` fields
/// in milliseconds (a time already past reads as zero).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobInfo {
    /// The job's id.
    pub id: JobId,
    /// Its queue (`None` for the placeholder of an acknowledgement this node
    /// only heard about).
    pub queue: Option<String>,
    /// Its state.
    pub state: JobState,
    /// Its replication level.
    pub repl: u16,
    /// How long it still has to live.
    pub ttl: Duration,
    /// Its creation time: milliseconds since the Unix epoch × 1 000 000, plus
    /// a counter for jobs created in the same millisecond (it orders queues).
    pub ctime: u64,
    /// Its DELAY.
    pub delay: Duration,
    /// Its RETRY period (zero: at most once).
    pub retry: Duration,
    /// How many times it was NACKed.
    pub nacks: u64,
    /// How many times it was delivered again (after RETRY, or ENQUEUE).
    pub additional_deliveries: u64,
    /// Ids of the nodes it was sent to.
    pub nodes_delivered: Vec<String>,
    /// Ids of the nodes that confirmed holding it (or its acknowledgement).
    pub nodes_confirmed: Vec<String>,
    /// When it will be queued again if not acknowledged (`None` if Disque
    /// sends null).
    pub next_requeue_within: Option<Duration>,
    /// When the node will next look at it (`None` if Disque sends null).
    pub next_awake_within: Option<Duration>,
    /// Its body (`None` when Disque sends null).
    pub body: Option<Vec<u8>>,
}

impl JobInfo {
    /// Parses a SHOW reply: `None` for an unknown job (a null reply).
    pub(crate) fn from_value(value: Value) -> Result<Option<JobInfo>, Error> {
        match value {
            Value::Nil => Ok(None),
            other => JobInfo::from_fields(other).map(Some),
        }
    }

    /// Parses one SHOW-like key/value array (also the entries of JSCAN REPLY ALL).
    pub(crate) fn from_fields(value: Value) -> Result<JobInfo, Error> {
        let mut f = Fields::new(value, "SHOW")?;
        let id = f.take("id")?;
        let id = JobId::parse(&text(id, &f.label("id"))?)
            .map_err(|e| Error::Protocol(format!("SHOW id: {e}")))?;
        let queue = nullable(f.take("queue")?, |v| queue_name(v, &f.label("queue")))?;
        let state = text(f.take("state")?, &f.label("state"))?
            .parse()
            .unwrap_or_else(|never| match never {});
        Ok(JobInfo {
            id,
            queue,
            state,
            repl: unsigned(f.take("repl")?, &f.label("repl"))?,
            ttl: secs(f.take("ttl")?, &f.label("ttl"))?,
            ctime: u64::try_from(integer(f.take("ctime")?, &f.label("ctime"))?).unwrap_or(0),
            delay: secs(f.take("delay")?, &f.label("delay"))?,
            retry: secs(f.take("retry")?, &f.label("retry"))?,
            nacks: unsigned(f.take("nacks")?, &f.label("nacks"))?,
            additional_deliveries: unsigned(
                f.take("additional-deliveries")?,
                &f.label("additional-deliveries"),
            )?,
            nodes_delivered: strings(f.take("nodes-delivered")?, &f.label("nodes-delivered"))?,
            nodes_confirmed: strings(f.take("nodes-confirmed")?, &f.label("nodes-confirmed"))?,
            next_requeue_within: nullable(f.take("next-requeue-within")?, |v| {
                millis(v, &f.label("next-requeue-within"))
            })?,
            next_awake_within: nullable(f.take("next-awake-within")?, |v| {
                millis(v, &f.label("next-awake-within"))
            })?,
            body: nullable(f.take("body")?, |v| bytes(v, &f.label("body")))?,
        })
    }
}

/// `None` for a null value, else `parse(value)`.
fn nullable<T>(
    value: Value,
    parse: impl FnOnce(Value) -> Result<T, Error>,
) -> Result<Option<T>, Error> {
    match value {
        Value::Nil => Ok(None),
        other => parse(other).map(Some),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::test_values::*;
    use super::*;

    pub(crate) const J1: &str = "D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1";
    const N1: &str = "dcb833cfd6c5ad00e55ea0b5e5fc8bf3fcdd5c9a";
    const N2: &str = "0f3ac4a3e5b5e9b2b5a1c0dd6f5e33d2b1a0c9e8";

    /// golden/show_queued.json's SHOW reply (volatile values filled in).
    pub(crate) fn show_queued() -> Value {
        arr(vec![
            bulk("id"),
            bulk(J1),
            bulk("queue"),
            bulk("show_queued"),
            bulk("state"),
            bulk("queued"),
            bulk("repl"),
            int(1),
            bulk("ttl"),
            int(3599),
            bulk("ctime"),
            int(1_764_213_000_123_000_000),
            bulk("delay"),
            int(0),
            bulk("retry"),
            int(60),
            bulk("nacks"),
            int(0),
            bulk("additional-deliveries"),
            int(0),
            bulk("nodes-delivered"),
            arr(vec![bulk(N1)]),
            bulk("nodes-confirmed"),
            arr(vec![]),
            bulk("next-requeue-within"),
            int(60000),
            bulk("next-awake-within"),
            int(59_873),
            bulk("body"),
            bulk("show me"),
        ])
    }

    #[test]
    fn parses_the_golden_show_of_a_queued_job() {
        let info = JobInfo::from_value(show_queued()).unwrap().unwrap();
        assert_eq!(info.id.as_str(), J1);
        assert_eq!(info.queue.as_deref(), Some("show_queued"));
        assert_eq!(info.state, JobState::Queued);
        assert_eq!(info.repl, 1);
        assert_eq!(info.ttl, Duration::from_secs(3599));
        assert_eq!(info.ctime, 1_764_213_000_123_000_000);
        assert_eq!(info.delay, Duration::ZERO);
        assert_eq!(info.retry, Duration::from_secs(60));
        assert_eq!((info.nacks, info.additional_deliveries), (0, 0));
        assert_eq!(info.nodes_delivered, [N1]);
        assert!(info.nodes_confirmed.is_empty());
        assert_eq!(info.next_requeue_within, Some(Duration::from_secs(60)));
        assert_eq!(info.next_awake_within, Some(Duration::from_millis(59_873)));
        assert_eq!(info.body.as_deref(), Some(&b"show me"[..]));
    }

    #[test]
    fn unknown_job_is_none() {
        // golden/show_unknown_badid.json: SHOW of an unknown id -> $-1.
        assert_eq!(JobInfo::from_value(Value::Nil).unwrap(), None);
    }

    #[test]
    fn dummy_ack_has_null_queue_and_body() {
        // golden/cluster_dummy_ack.json: queue and body are null, repl/delay/retry
        // and next-requeue-within are uninitialised (any integer).
        let reply = arr(vec![
            bulk("id"),
            bulk("D-deadbeef-AAAAAAAAAAAAAAAAAAAAAAAA-0001"),
            bulk("queue"),
            Value::Nil,
            bulk("state"),
            bulk("acked"),
            bulk("repl"),
            int(21845),
            bulk("ttl"),
            int(60),
            bulk("ctime"),
            int(1_764_213_000_123_000_000),
            bulk("delay"),
            int(4_294_967_295),
            bulk("retry"),
            int(0),
            bulk("nacks"),
            int(0),
            bulk("additional-deliveries"),
            int(0),
            bulk("nodes-delivered"),
            arr(vec![]),
            bulk("nodes-confirmed"),
            arr(vec![bulk(N1)]),
            bulk("next-requeue-within"),
            int(-1_764_213_000_123),
            bulk("next-awake-within"),
            int(1200),
            bulk("body"),
            Value::Nil,
        ]);
        let info = JobInfo::from_value(reply).unwrap().unwrap();
        assert_eq!(info.state, JobState::Acked);
        assert_eq!(info.queue, None);
        assert_eq!(info.body, None);
        assert_eq!(info.next_requeue_within, Some(Duration::ZERO));
        assert_eq!(info.nodes_confirmed, [N1]);
    }

    #[test]
    fn fields_are_read_by_key_in_any_order_and_unknown_keys_are_ignored() {
        let Value::Array(items) = show_queued() else {
            unreachable!()
        };
        let mut pairs: Vec<Vec<Value>> = items.chunks(2).map(<[Value]>::to_vec).collect();
        pairs.reverse();
        pairs.insert(3, vec![bulk("future-field"), arr(vec![int(1)])]);
        let reply = arr(pairs.into_iter().flatten().collect());
        let info = JobInfo::from_value(reply).unwrap().unwrap();
        assert_eq!(info, JobInfo::from_value(show_queued()).unwrap().unwrap());
    }

    #[test]
    fn null_times_are_none_and_nodes_are_kept() {
        let Value::Array(mut items) = show_queued() else {
            unreachable!()
        };
        items[25] = Value::Nil; // next-requeue-within
        items[27] = Value::Nil; // next-awake-within
        items[21] = arr(vec![bulk(N1), bulk(N2)]);
        let info = JobInfo::from_value(arr(items)).unwrap().unwrap();
        assert_eq!(info.next_requeue_within, None);
        assert_eq!(info.next_awake_within, None);
        assert_eq!(info.nodes_delivered, [N1, N2]);
    }

    #[test]
    fn bad_shapes_are_protocol_errors() {
        let Value::Array(items) = show_queued() else {
            unreachable!()
        };
        let mut missing = items.clone();
        missing.drain(6..8); // no "repl"
        let mut bad_state = items.clone();
        bad_state[5] = int(3);
        let mut bad_id = items.clone();
        bad_id[1] = bulk("D-short");
        let mut odd = items;
        odd.pop();
        for (reply, needle) in [
            (arr(missing), "repl"),
            (arr(bad_state), "state"),
            (arr(bad_id), "id"),
            (arr(odd), "pairs"),
            (int(1), "SHOW"),
            (bulk("hello"), "SHOW"),
        ] {
            match JobInfo::from_value(reply) {
                Err(Error::Protocol(m)) => assert!(m.contains(needle), "{m}"),
                other => panic!("expected a protocol error about {needle}, got {other:?}"),
            }
        }
    }

    #[test]
    fn every_state_name_round_trips() {
        for s in [
            JobState::WaitRepl,
            JobState::Active,
            JobState::Queued,
            JobState::Acked,
        ] {
            assert_eq!(s.as_str().parse::<JobState>().unwrap(), s);
            assert_eq!(s.to_string(), s.as_str());
        }
        assert_eq!("QUEUED".parse::<JobState>().unwrap(), JobState::Queued);
    }

    // Examples that build replies from `redis::Value`s (not public API).
    #[test]
    fn doc_example_1() -> Result<(), crate::Error> {
        use crate::reply::{JobInfo, JobState};
        use redis::Value;

        let b = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let reply = Value::Array(vec![
            b("id"),
            b("D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1"),
            b("queue"),
            b("emails"),
            b("state"),
            b("queued"),
            b("repl"),
            Value::Int(1),
            b("ttl"),
            Value::Int(3599),
            b("ctime"),
            Value::Int(1_700_000_000_000_000_000),
            b("delay"),
            Value::Int(0),
            b("retry"),
            Value::Int(60),
            b("nacks"),
            Value::Int(0),
            b("additional-deliveries"),
            Value::Int(0),
            b("nodes-delivered"),
            Value::Array(vec![]),
            b("nodes-confirmed"),
            Value::Array(vec![]),
            b("next-requeue-within"),
            Value::Int(60000),
            b("next-awake-within"),
            Value::Int(-5),
            b("body"),
            b("hello"),
        ]);
        let info = JobInfo::from_value(reply)?.expect("the job exists");
        assert_eq!(info.state, JobState::Queued);
        assert_eq!(info.body.as_deref(), Some(&b"hello"[..]));
        assert_eq!(JobInfo::from_value(Value::Nil)?, None); // unknown job
        Ok(())
    }
}
