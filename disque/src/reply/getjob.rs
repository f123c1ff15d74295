//! GETJOB and QPEEK: [`ReceivedJob`] entries `[queue, id, body, counters…]`.

use redis::Value;

use super::{array, bytes, parse_job_id, queue_name, unexpected, unsigned};
use crate::cluster::{value_of, Cursor, Reply};
use crate::{Error, JobId};

/// One job of a QPEEK reply ([`Client::peek`](crate::Client::peek)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceivedJob {
    /// The queue it came from.
    pub queue: String,
    /// Its id.
    pub id: JobId,
    /// Its body.
    pub body: Vec<u8>,
    /// How many times it was NACKed (only with WITHCOUNTERS).
    pub nacks: Option<u64>,
    /// How many times it was delivered again (only with WITHCOUNTERS).
    pub additional_deliveries: Option<u64>,
}

/// Parses a GETJOB reply, with or without WITHCOUNTERS; a null reply (timeout
/// or NOHANG with nothing to take) is an empty list.
pub(crate) fn parse_getjob(value: Value) -> Result<Vec<ReceivedJob>, Error> {
    entries(value, "GETJOB")
}

/// Reads a GETJOB reply as it came: from its bytes (the direct
/// connection) with [`parse_getjob_frame`], else as [`parse_getjob`] does.
pub(crate) fn read_getjob(reply: Reply<'_>) -> Result<Vec<ReceivedJob>, Error> {
    match reply {
        Reply::Frame(frame) => match parse_getjob_frame(frame) {
            Some(jobs) => Ok(jobs),
            None => parse_getjob(value_of(frame).map_err(Error::Protocol)?),
        },
        Reply::Value(value) => parse_getjob(value),
    }
}

/// Reads a whole GETJOB reply from its bytes into the jobs [`parse_getjob`]
/// would give, without building a [`Value`] first (which cost a worker
/// taking one job at a time about a third of its CPU per job). `None` for
/// anything but the usual shape — bulk strings, counters as integers —
/// which [`parse_getjob`] then reads, naming what is wrong if anything is.
fn parse_getjob_frame(frame: &[u8]) -> Option<Vec<ReceivedJob>> {
    let mut reply = Cursor::new(frame);
    let Some(n) = reply.array()? else {
        return reply.at_end().then(Vec::new);
    };
    // Each job takes more than 16 bytes: no allocation beyond the reply.
    let mut jobs = Vec::with_capacity(n.min(frame.len() / 16));
    for _ in 0..n {
        // `[queue, id, body]` then counter pairs (an even count leaves a
        // counter without its value, which the end check refuses).
        let pairs = reply.array()??.checked_sub(3)? / 2;
        let queue = reply.bulk()?;
        let id = JobId::parse(std::str::from_utf8(reply.bulk()?).ok()?).ok()?;
        let mut job = ReceivedJob {
            queue: String::from_utf8_lossy(queue).into_owned(),
            id,
            body: reply.bulk()?.to_vec(),
            nacks: None,
            additional_deliveries: None,
        };
        for _ in 0..pairs {
            let key = reply.bulk()?;
            let count = u64::try_from(reply.integer()?).ok()?;
            match key {
                b"nacks" => job.nacks = Some(count),
                b"additional-deliveries" => job.additional_deliveries = Some(count),
                _ => {} // a counter a newer Disque may add
            }
        }
        jobs.push(job);
    }
    reply.at_end().then_some(jobs)
}

/// Parses a QPEEK reply: the same `[queue, id, body]` entries as GETJOB,
/// without counters (`nacks` and `additional_deliveries` are `None`).
pub(crate) fn parse_qpeek(value: Value) -> Result<Vec<ReceivedJob>, Error> {
    entries(value, "QPEEK")
}

/// The entries of a GETJOB/QPEEK reply (nil: none).
fn entries(value: Value, what: &str) -> Result<Vec<ReceivedJob>, Error> {
    if value == Value::Nil {
        return Ok(Vec::new());
    }
    array(value, format_args!("{what} reply (an array of jobs)"))?
        .into_iter()
        .map(|entry| ReceivedJob::from_value(entry, what))
        .collect()
}

/// Bytes shown as text (lossily) only when formatted: error context.
struct Lossy<'a>(&'a [u8]);

impl std::fmt::Display for Lossy<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.0))
    }
}

impl ReceivedJob {
    /// Parses `[queue, id, body]` followed by counter pairs, read by name.
    fn from_value(value: Value, what: &str) -> Result<ReceivedJob, Error> {
        let mut it = array(value, format_args!("{what} job entry"))?.into_iter();
        let (Some(queue), Some(id), Some(body)) = (it.next(), it.next(), it.next()) else {
            return Err(Error::Protocol(format!(
                "{what}: a job entry needs [queue, id, body]"
            )));
        };
        let mut job = ReceivedJob {
            queue: queue_name(queue, format_args!("{what} queue"))?,
            id: parse_job_id(id)?,
            body: bytes(body, format_args!("{what} body"))?,
            nacks: None,
            additional_deliveries: None,
        };
        loop {
            match (it.next(), it.next()) {
                (None, _) => return Ok(job),
                (Some(key), Some(count)) => {
                    let key = bytes(key, format_args!("{what} counter name"))?;
                    let n = unsigned(count, format_args!("{what} {}", Lossy(&key)))?;
                    match key.as_slice() {
                        b"nacks" => job.nacks = Some(n),
                        b"additional-deliveries" => job.additional_deliveries = Some(n),
                        _ => {} // a counter a newer Disque may add
                    }
                }
                (Some(key), None) => {
                    return Err(unexpected(
                        format_args!("{what} counter with a value"),
                        &key,
                    ))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_values::*;
    use super::*;

    const J1: &str = "D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1";
    const J2: &str = "D-dcb833cf-9ZL1NT17e9+wsA/09NqxscQI-05a1";

    #[test]
    fn parses_the_golden_getjob_with_counters() {
        // golden/getjob_withcounters.json, second GETJOB (COUNT 2).
        let reply = arr(vec![
            arr(vec![
                bulk("getjob_withcounters"),
                bulk(J1),
                bulk("a"),
                bulk("nacks"),
                int(1),
                bulk("additional-deliveries"),
                int(0),
            ]),
            arr(vec![
                bulk("getjob_withcounters"),
                bulk(J2),
                bulk("b"),
                bulk("nacks"),
                int(0),
                bulk("additional-deliveries"),
                int(0),
            ]),
        ]);
        let jobs = parse_getjob(reply).unwrap();
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].queue, "getjob_withcounters");
        assert_eq!(jobs[0].id.as_str(), J1);
        assert_eq!(jobs[0].body, b"a");
        assert_eq!(
            (jobs[0].nacks, jobs[0].additional_deliveries),
            (Some(1), Some(0))
        );
        assert_eq!(jobs[1].id.as_str(), J2);
        assert_eq!(jobs[1].nacks, Some(0));
    }

    #[test]
    fn parses_getjob_without_counters() {
        // golden/qstat_fields.json: GETJOB FROM q.
        let reply = arr(vec![arr(vec![bulk("qstat_fields"), bulk(J1), bulk("a")])]);
        let jobs = parse_getjob(reply).unwrap();
        assert_eq!(jobs[0].body, b"a");
        assert_eq!((jobs[0].nacks, jobs[0].additional_deliveries), (None, None));
    }

    #[test]
    fn null_and_empty_replies_are_no_jobs() {
        // golden/getjob_nohang_empty.json (*-1) and qpeek.json (*0).
        assert!(parse_getjob(Value::Nil).unwrap().is_empty());
        assert!(parse_qpeek(arr(vec![])).unwrap().is_empty());
    }

    #[test]
    fn bodies_are_binary_and_counters_read_by_name() {
        let body = vec![0u8, 159, 146, 150, 255];
        let reply = arr(vec![arr(vec![
            bulk("q"),
            bulk(J1),
            Value::BulkString(body.clone()),
            bulk("additional-deliveries"),
            int(2),
            bulk("future"),
            int(9),
            bulk("nacks"),
            int(3),
        ])]);
        let job = parse_getjob(reply).unwrap().remove(0);
        assert_eq!(job.body, body);
        assert_eq!((job.nacks, job.additional_deliveries), (Some(3), Some(2)));
    }

    #[test]
    fn parses_the_golden_qpeek() {
        // golden/qpeek.json: QPEEK q -2 (newest first).
        let reply = arr(vec![
            arr(vec![bulk("qpeek"), bulk(J2), bulk("p4")]),
            arr(vec![bulk("qpeek"), bulk(J1), bulk("p3")]),
        ]);
        let jobs = parse_qpeek(reply).unwrap();
        let bodies: Vec<&[u8]> = jobs.iter().map(|j| j.body.as_slice()).collect();
        assert_eq!(bodies, [b"p4", b"p3"]);
    }

    #[test]
    fn bad_shapes_are_protocol_errors() {
        for reply in [
            int(0),
            bulk("x"),
            arr(vec![int(1)]),
            arr(vec![arr(vec![bulk("q"), bulk(J1)])]),
            arr(vec![arr(vec![bulk("q"), bulk("not-an-id"), bulk("b")])]),
            arr(vec![arr(vec![
                bulk("q"),
                bulk(J1),
                bulk("b"),
                bulk("nacks"),
            ])]),
            arr(vec![arr(vec![
                bulk("q"),
                bulk(J1),
                bulk("b"),
                bulk("nacks"),
                int(-1),
            ])]),
        ] {
            assert!(
                matches!(parse_getjob(reply.clone()), Err(Error::Protocol(_))),
                "{reply:?}"
            );
        }
    }

    #[test]
    fn an_error_names_what_was_being_read() {
        let entry = |counter: Value| {
            arr(vec![arr(vec![
                bulk("q"),
                bulk(J1),
                bulk("b"),
                bulk("nacks"),
                counter,
            ])])
        };
        let text = |reply: Value| match parse_getjob(reply) {
            Err(Error::Protocol(text)) => text,
            other => panic!("expected a protocol error, got {other:?}"),
        };
        assert!(text(entry(int(-1))).contains("GETJOB nacks out of range: -1"));
        assert!(text(entry(arr(vec![]))).contains("GETJOB nacks"));
        let bad_body = arr(vec![arr(vec![bulk("q"), bulk(J1), int(3)])]);
        assert!(text(bad_body).contains("GETJOB body"));
    }

    /// GETJOB replies as bytes: the usual shapes, then every way one can be
    /// odd or wrong.
    fn frames() -> Vec<Vec<u8>> {
        let entry = |q: &[u8], id: &str, body: &[u8], counters: &str| {
            let fields = 3 + counters.matches("\r\n:").count() * 2;
            let mut e = format!("*{fields}\r\n${}\r\n", q.len()).into_bytes();
            e.extend_from_slice(q);
            e.extend_from_slice(
                format!("\r\n${}\r\n{id}\r\n${}\r\n", id.len(), body.len()).as_bytes(),
            );
            e.extend_from_slice(body);
            e.extend_from_slice(b"\r\n");
            e.extend_from_slice(counters.as_bytes());
            e
        };
        let counters = "$5\r\nnacks\r\n:1\r\n$21\r\nadditional-deliveries\r\n:2\r\n";
        let one = entry(b"q", J1, b"hi", counters);
        let two = [
            entry(b"q", J1, b"\x00\r\n\xff", counters),
            entry(b"high", J2, b"", ""),
        ]
        .concat();
        let mut frames = vec![
            b"*-1\r\n".to_vec(),
            b"*0\r\n".to_vec(),
            [b"*1\r\n".to_vec(), one.clone()].concat(),
            [b"*2\r\n".to_vec(), two].concat(),
            [b"*1\r\n".to_vec(), entry(b"q", J1, b"b", "")].concat(),
            [b"*1\r\n".to_vec(), entry(b"bin\x00\xffq", J1, b"b", "")].concat(),
            [b"*1\r\n".to_vec(), entry(b"q", J1, b"b", "$6\r\nfuture\r\n:9\r\n")].concat(),
            [b"*1\r\n".to_vec(), entry(b"q", J1, b"b", "$5\r\nnacks\r\n:-1\r\n")].concat(),
            [b"*1\r\n".to_vec(), entry(b"q", J1, b"b", "$5\r\nnacks\r\n$1\r\n3\r\n")].concat(),
            [b"*1\r\n".to_vec(), entry(b"q", J1, b"b", "+nacks\r\n:3\r\n")].concat(),
            [b"*1\r\n".to_vec(), entry(b"q", "not-an-id", b"b", "")].concat(),
            b"*1\r\n*2\r\n$1\r\nq\r\n$1\r\nx\r\n".to_vec(),
            b"*1\r\n*4\r\n$1\r\nq\r\n$40\r\nD-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1\r\n$1\r\nb\r\n$5\r\nnacks\r\n".to_vec(),
            b"*1\r\n*3\r\n+q\r\n$40\r\nD-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1\r\n$1\r\nb\r\n".to_vec(),
            b"*1\r\n*3\r\n$1\r\nq\r\n$40\r\nD-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1\r\n:3\r\n".to_vec(),
            b"*1\r\n:5\r\n".to_vec(),
            b"*1\r\n*-1\r\n".to_vec(),
            b"$-1\r\n".to_vec(),
            b":0\r\n".to_vec(),
        ];
        // A job id that is not UTF-8.
        let mut bad_id = b"*1\r\n*3\r\n$1\r\nq\r\n$40\r\n".to_vec();
        bad_id.extend_from_slice(&J1.as_bytes()[..39]);
        bad_id.extend_from_slice(b"\xff\r\n$1\r\nb\r\n");
        frames.push(bad_id);
        frames
    }

    #[test]
    fn reading_the_bytes_gives_what_reading_the_value_gives() {
        for frame in frames() {
            let from_bytes = read_getjob(Reply::Frame(&frame));
            let from_value = parse_getjob(value_of(&frame).expect("a whole reply"));
            assert_eq!(
                format!("{from_bytes:?}"),
                format!("{from_value:?}"),
                "{:?}",
                String::from_utf8_lossy(&frame)
            );
        }
    }

    #[test]
    fn the_usual_replies_are_read_from_the_bytes() {
        let frames = frames();
        for frame in &frames[..7] {
            let jobs = parse_getjob_frame(frame);
            assert!(jobs.is_some(), "{:?}", String::from_utf8_lossy(frame));
        }
        let two = parse_getjob_frame(&frames[3]).expect("two jobs");
        assert_eq!(two.len(), 2);
        assert_eq!(two[0].body, b"\x00\r\n\xff");
        assert_eq!(
            (two[0].nacks, two[0].additional_deliveries),
            (Some(1), Some(2))
        );
        assert_eq!((two[1].queue.as_str(), two[1].id.as_str()), ("high", J2));
        assert_eq!((two[1].nacks, two[1].additional_deliveries), (None, None));
        assert_eq!(parse_getjob_frame(&frames[0]), Some(Vec::new()));
        // Cut short or followed by more: not a whole reply.
        let whole = &frames[2];
        for cut in 0..whole.len() {
            assert_eq!(parse_getjob_frame(&whole[..cut]), None, "cut at {cut}");
        }
        assert_eq!(parse_getjob_frame(&[&whole[..], b"+OK\r\n"].concat()), None);
    }

    #[test]
    fn reading_a_value_reply_is_parse_getjob() {
        let reply = arr(vec![arr(vec![bulk("q"), bulk(J1), bulk("b")])]);
        let jobs = read_getjob(Reply::Value(reply.clone())).unwrap();
        assert_eq!(jobs, parse_getjob(reply).unwrap());
        assert!(read_getjob(Reply::Value(int(1))).is_err());
    }

    // Examples that build replies from `redis::Value`s (not public API).
    #[test]
    fn doc_example_1() -> Result<(), crate::Error> {
        use redis::Value;
        let b = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let reply = Value::Array(vec![Value::Array(vec![
            b("emails"),
            b("D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1"),
            b("hi"),
            b("nacks"),
            Value::Int(1),
            b("additional-deliveries"),
            Value::Int(0),
        ])]);
        let jobs = crate::reply::parse_getjob(reply)?;
        assert_eq!(jobs[0].queue, "emails");
        assert_eq!(jobs[0].body, b"hi");
        assert_eq!(jobs[0].nacks, Some(1));
        Ok(())
    }

    #[test]
    fn doc_example_2() -> Result<(), crate::Error> {
        assert!(crate::reply::parse_getjob(redis::Value::Nil)?.is_empty());
        Ok(())
    }

    #[test]
    fn doc_example_3() -> Result<(), crate::Error> {
        use redis::Value;
        assert!(crate::reply::parse_qpeek(Value::Array(vec![]))?.is_empty());
        Ok(())
    }
}
