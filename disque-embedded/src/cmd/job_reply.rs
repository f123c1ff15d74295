//! The wire form of what the state tells about jobs: GETJOB/QPEEK's
//! `[queue, id, body]` and SHOW's description. The state returns plain data
//! ([`Delivered`], [`JobDescription`]); only `cmd` speaks RESP.

use bytes::Bytes;

use crate::frame::Reply;
use crate::replies::Replies;
use crate::state::{Delivered, DeliveryView, JobDescription};

fn bulk_str(s: &'static str) -> Reply {
    Reply::Bulk(Bytes::from_static(s.as_bytes()))
}

fn bulk(b: &[u8]) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(b))
}

fn int(n: impl Into<i64>) -> Reply {
    Reply::Integer(n.into())
}

fn opt_int(n: Option<u64>) -> Reply {
    n.map_or(Reply::NilBulk, |n| Reply::Integer(n as i64))
}

/// `[queue, id, body]`, plus the counters with WITHCOUNTERS.
pub fn delivered(job: &Delivered, withcounters: bool) -> Reply {
    let mut v = Vec::with_capacity(if withcounters { 7 } else { 3 });
    v.push(bulk(&job.queue));
    v.push(bulk(&job.id));
    v.push(Reply::Bulk(job.body.clone()));
    if withcounters {
        v.push(bulk_str("nacks"));
        v.push(int(job.nacks));
        v.push(bulk_str("additional-deliveries"));
        v.push(int(job.additional_deliveries));
    }
    Reply::Array(v)
}

/// [`delivered`], encoded straight into `out` (the same bytes).
pub fn encode_delivered(out: &mut Replies, job: &DeliveryView<'_>, withcounters: bool) {
    out.array(if withcounters { 7 } else { 3 });
    out.bulk(job.queue);
    out.job_id(&job.id);
    out.body(job.body);
    if !withcounters {
        return;
    }
    out.encoded(b"$5\r\nnacks\r\n");
    out.integer(job.nacks.into());
    out.encoded(b"$21\r\nadditional-deliveries\r\n");
    out.integer(job.additional_deliveries.into());
}

/// What a blocked GETJOB answers: `[[queue, id, body…]]`, or a null array
/// when it was released without a job.
pub fn waited(job: Option<Delivered>, withcounters: bool) -> Reply {
    match job {
        Some(job) => Reply::Array(vec![delivered(&job, withcounters)]),
        None => Reply::NilArray,
    }
}

/// SHOW's (and JSCAN REPLY ALL's) flat key/value array.
pub fn description(d: &JobDescription<'_>) -> Reply {
    Reply::Array(vec![
        bulk_str("id"),
        bulk(&d.id),
        bulk_str("queue"),
        bulk(d.queue),
        bulk_str("state"),
        bulk_str(d.state.name()),
        bulk_str("repl"),
        int(d.repl),
        bulk_str("ttl"),
        int(d.ttl),
        bulk_str("ctime"),
        Reply::Integer(d.ctime as i64),
        bulk_str("delay"),
        int(d.delay),
        bulk_str("retry"),
        int(d.retry),
        bulk_str("nacks"),
        int(d.nacks),
        bulk_str("additional-deliveries"),
        int(d.additional_deliveries),
        bulk_str("nodes-delivered"),
        Reply::Array(vec![bulk(d.node_id.as_bytes())]),
        bulk_str("nodes-confirmed"),
        Reply::Array(vec![]),
        bulk_str("next-requeue-within"),
        opt_int(d.requeue_within),
        bulk_str("next-awake-within"),
        opt_int(d.awake_within),
        bulk_str("body"),
        Reply::Bulk(d.body.clone()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_directly_as_the_reply_tree_is() {
        let job = Delivered {
            queue: std::sync::Arc::from(&b"q1"[..]),
            id: *b"D-0123abcd-AAAAAAAAAAAAAAAAAAAAAAAA-05a1",
            body: Bytes::from_static(b"body\r\n"),
            nacks: 3,
            additional_deliveries: 12,
        };
        let view = DeliveryView {
            queue: &job.queue,
            id: job.id,
            body: &job.body,
            nacks: job.nacks,
            additional_deliveries: job.additional_deliveries,
        };
        for (nacks, additional_deliveries) in [(3, 12), (0, 0), (9, 9), (10, 0), (0, 10)] {
            let job = Delivered {
                nacks,
                additional_deliveries,
                ..job.clone()
            };
            let view = DeliveryView {
                nacks,
                additional_deliveries,
                ..view
            };
            for withcounters in [false, true] {
                let (mut tree, mut direct) = (Replies::default(), Replies::default());
                tree.push(&delivered(&job, withcounters));
                encode_delivered(&mut direct, &view, withcounters);
                assert_eq!(
                    tree.buf, direct.buf,
                    "{withcounters} {nacks} {additional_deliveries}"
                );
            }
        }
    }
}
