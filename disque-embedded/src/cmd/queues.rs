//! Queue commands: QLEN, QPEEK, QSTAT, PAUSE.

use std::borrow::Cow;

use bytes::Bytes;

use super::parse::{err, parse_ll, syntax_error};
use super::{job_reply, reply, Ctx, Outcome};
use crate::frame::Reply;
use crate::state::queue::{Queue, PAUSED_IN, PAUSED_OUT};

fn bulk_str(s: &'static str) -> Reply {
    Reply::Bulk(Bytes::from_static(s.as_bytes()))
}

pub(super) fn qlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    let db = &*ctx.db;
    let n = db.queue(&args[1]).map_or(0, Queue::len);
    reply(Reply::Integer(n as i64))
}

pub(super) fn qpeek(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    let Some(count) = parse_ll(&args[2]) else {
        return reply(err("ERR value is not an integer or out of range"));
    };
    let newest_first = count < 0;
    let n = count.unsigned_abs() as usize;
    let db = &*ctx.db;
    let Some(q) = db.queue(&args[1]) else {
        return reply(Reply::Array(vec![]));
    };
    let keys: Vec<_> = if newest_first {
        q.jobs.values().rev().take(n).copied().collect()
    } else {
        q.jobs.values().take(n).copied().collect()
    };
    let items = keys
        .iter()
        .map(|k| {
            db.delivered(k)
                .map_or(Reply::NilBulk, |j| job_reply::delivered(&j, false))
        })
        .collect();
    reply(Reply::Array(items))
}

pub(super) fn qstat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    let db = &*ctx.db;
    let Some(q) = db.queue(&args[1]) else {
        return reply(Reply::NilArray);
    };
    let now_s = ctx.now / 1000;
    reply(Reply::Array(vec![
        bulk_str("name"),
        Reply::Bulk(Bytes::copy_from_slice(&q.name)),
        bulk_str("len"),
        Reply::Integer(q.len() as i64),
        bulk_str("age"),
        Reply::Integer(now_s.saturating_sub(q.ctime) as i64),
        bulk_str("idle"),
        Reply::Integer(now_s.saturating_sub(q.atime) as i64),
        bulk_str("blocked"),
        Reply::Integer(q.blocked.len() as i64),
        bulk_str("import-from"),
        Reply::Array(vec![]),
        bulk_str("import-rate"),
        Reply::Integer(0),
        bulk_str("jobs-in"),
        Reply::Integer(q.jobs_in as i64),
        bulk_str("jobs-out"),
        Reply::Integer(q.jobs_out as i64),
        bulk_str("pause"),
        bulk_str(Queue::pause_name(q.paused)),
    ]))
}

pub(super) fn pause(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    let mut flags: u8 = 0;
    let mut update = false;
    for opt in &args[2..] {
        let is = |name: &str| opt.eq_ignore_ascii_case(name.as_bytes());
        if is("none") {
            flags = 0;
            update = true;
        } else if is("in") {
            flags |= PAUSED_IN;
            update = true;
        } else if is("out") {
            flags |= PAUSED_OUT;
            update = true;
        } else if is("all") {
            flags |= PAUSED_IN | PAUSED_OUT;
            update = true;
        } else if is("state") || is("bcast") {
            // STATE only asks for the reply; BCAST has no peers to reach.
        } else {
            return reply(syntax_error());
        }
    }
    let state = ctx.db.pause(&args[1], update.then_some(flags), ctx.now);
    reply(Reply::Status(Cow::Borrowed(Queue::pause_name(state))))
}
