//! Building ADDJOB/GETJOB commands from options, and reading their replies.

use std::time::Duration;

use redis::Value;

use super::Client;
use crate::{ConsumeOptions, Delivery, Error, JobId, JobOptions};

/// `ADDJOB queue body <timeout> [options]`, and how long the server may take
/// on purpose (the replication timeout).
pub(crate) fn addjob(
    queue: &str,
    body: &[u8],
    opts: &JobOptions,
) -> Result<(redis::Cmd, Duration), Error> {
    let mut cmd = redis::cmd("ADDJOB");
    cmd.arg(queue).arg(body);
    opts.append_addjob_args(&mut cmd)?;
    Ok((cmd, opts.replication_timeout.unwrap_or(Duration::ZERO)))
}

/// A GETJOB ready to send.
pub(crate) struct GetJob {
    pub(crate) cmd: redis::Cmd,
    /// NOHANG: never blocks, so it may share the multiplexed connection.
    pub(crate) nohang: bool,
    /// How long the server may block (`None`: until a job comes).
    pub(crate) timeout: Option<Duration>,
}

/// `GETJOB [options] WITHCOUNTERS FROM queues…` (WITHCOUNTERS always, so
/// deliveries carry their counters).
pub(crate) fn getjob(queues: &[&str], opts: &ConsumeOptions) -> Result<GetJob, Error> {
    if queues.is_empty() {
        return Err(Error::InvalidOptions(
            "GETJOB needs at least one queue".into(),
        ));
    }
    let mut cmd = redis::cmd("GETJOB");
    opts.append_getjob_args(&mut cmd)?;
    cmd.arg("FROM");
    for q in queues {
        cmd.arg(*q);
    }
    Ok(GetJob {
        cmd,
        nohang: opts.is_nohang(),
        timeout: opts.server_wait(),
    })
}

/// ADDJOB's reply: the new job's id (a status reply from Disque).
pub(crate) fn job_id_reply(v: Value) -> Result<JobId, Error> {
    let text = match v {
        Value::SimpleString(s) => s,
        Value::BulkString(b) => String::from_utf8(b)
            .map_err(|_| Error::Protocol("ADDJOB: job id is not UTF-8".into()))?,
        other => {
            return Err(Error::Protocol(format!(
                "ADDJOB: expected a job id, got {other:?}"
            )))
        }
    };
    JobId::parse(&text).map_err(|_| Error::Protocol(format!("ADDJOB: bad job id {text:?}")))
}

/// GETJOB's reply as deliveries through `client`, from `node` (empty on a null reply).
pub(crate) fn deliveries(
    client: &Client,
    v: Value,
    node: &std::sync::Arc<super::NodeAddr>,
) -> Result<Vec<Delivery>, Error> {
    Ok(crate::reply::parse_getjob(v)?
        .into_iter()
        .map(|j| {
            Delivery::new(
                client.clone(),
                j.id,
                j.queue,
                j.body,
                j.nacks.unwrap_or(0),
                j.additional_deliveries.unwrap_or(0),
            )
            .delivered_by(std::sync::Arc::clone(node))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::test_args;

    #[test]
    fn getjob_always_asks_for_counters_and_lists_queues_last() {
        let g = getjob(&["a", "b"], &ConsumeOptions::new().count(3)).unwrap();
        assert_eq!(
            test_args(&g.cmd),
            ["GETJOB", "COUNT", "3", "WITHCOUNTERS", "FROM", "a", "b"]
        );
        assert!(!g.nohang);
        assert_eq!(g.timeout, None);
    }

    #[test]
    fn getjob_nohang_and_timeout() {
        let g = getjob(&["a"], &ConsumeOptions::new().nohang(true)).unwrap();
        assert!(g.nohang);
        let t = Duration::from_millis(250);
        let g = getjob(&["a"], &ConsumeOptions::new().timeout(t)).unwrap();
        assert_eq!(g.timeout, Some(t));
        assert!(matches!(
            getjob(&[], &ConsumeOptions::new()),
            Err(Error::InvalidOptions(_))
        ));
    }

    #[test]
    fn addjob_refuses_bad_options_before_sending() {
        let bad = JobOptions::new().retry(Duration::from_millis(10));
        assert!(matches!(
            addjob("q", b"x", &bad),
            Err(Error::InvalidOptions(_))
        ));
        let (cmd, extra) = addjob(
            "q",
            b"x",
            &JobOptions::new().replication_timeout(Duration::from_secs(2)),
        )
        .unwrap();
        assert_eq!(test_args(&cmd), ["ADDJOB", "q", "x", "2000"]);
        assert_eq!(extra, Duration::from_secs(2));
    }

    #[test]
    fn addjob_reply_is_a_job_id() {
        let id = "D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1";
        assert_eq!(
            job_id_reply(Value::SimpleString(id.into()))
                .unwrap()
                .as_str(),
            id
        );
        assert!(matches!(
            job_id_reply(Value::Int(1)),
            Err(Error::Protocol(_))
        ));
        assert!(matches!(
            job_id_reply(Value::SimpleString("nope".into())),
            Err(Error::Protocol(_))
        ));
    }
}
