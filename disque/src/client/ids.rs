//! Commands taking any number of job ids (ACKJOB, FASTACK, NACK, ENQUEUE, DEQUEUE, DELJOB).

use std::borrow::Borrow;

use redis::Value;

use super::Client;
use crate::{Error, JobId};

/// Builds `name id1 id2 …` (ids already validated by [`JobId`]).
pub(crate) fn multi_id_cmd<T: Borrow<JobId>>(name: &str, ids: &[T]) -> redis::Cmd {
    let mut cmd = redis::cmd(name);
    for id in ids {
        cmd.arg(id.borrow().as_str());
    }
    cmd
}

/// Reads the non-negative integer reply of command `name`.
pub(crate) fn int_reply(name: &str, v: Value) -> Result<u64, Error> {
    crate::reply::parse_count(v).map_err(|e| in_command(name, e))
}

/// `e` with the command's name in front of its text, if it is a protocol error.
pub(crate) fn in_command(name: &str, e: Error) -> Error {
    match e {
        Error::Protocol(m) => Error::Protocol(format!("{name}: {m}")),
        other => other,
    }
}

impl Client {
    /// Sends `name` with every id of `ids` in one command; returns the count Disque replies.
    pub(crate) async fn multi_id<I>(&self, name: &str, ids: I) -> Result<u64, Error>
    where
        I: IntoIterator,
        I::Item: Borrow<JobId>,
    {
        let ids: Vec<I::Item> = ids.into_iter().collect();
        let span = tracing::Span::current();
        span.record("jobs", ids.len());
        if let [one] = ids.as_slice() {
            span.record("job_id", tracing::field::display(one.borrow()));
        }
        let cmd = multi_id_cmd(name, &ids);
        let reply = self.conns().run(&cmd, std::time::Duration::ZERO).await?;
        int_reply(name, reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_command_for_all_ids() {
        let a = JobId::parse("D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1").unwrap();
        let b = JobId::parse("D-dcb833cf-9YL1NT17e9+wsA/09NqxscQI-05a1").unwrap();
        let packed = multi_id_cmd("ACKJOB", &[&a, &b]).get_packed_command();
        let text = String::from_utf8(packed).unwrap();
        assert!(text.starts_with("*3\r\n$6\r\nACKJOB\r\n"), "{text}");
        assert!(text.contains(a.as_str()) && text.contains(b.as_str()));
    }

    #[test]
    fn int_reply_refuses_other_shapes() {
        assert_eq!(int_reply("QLEN", Value::Int(3)).unwrap(), 3);
        assert!(matches!(
            int_reply("QLEN", Value::Nil),
            Err(Error::Protocol(_))
        ));
        assert!(matches!(
            int_reply("QLEN", Value::Int(-1)),
            Err(Error::Protocol(m)) if m.starts_with("QLEN: ")
        ));
    }
}
