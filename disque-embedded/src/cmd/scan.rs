//! QSCAN and JSCAN: cursor-based iteration over queues and jobs.
//!
//! The cursor is a position in the walk (the queue or job table's order); 0
//! starts and ends a walk, and COUNT is a hint of the work done per call, as
//! in Disque. Unlike Disque's reverse-binary cursor, a position shifts when
//! elements are removed before it (or the table grows) during a walk, so
//! such a walk may repeat or skip elements; a walk over a stable node
//! returns each element once. A call costs O(cursor + COUNT).

use std::borrow::Cow;

use bytes::Bytes;

use super::parse::{err, parse_cursor, parse_ll, syntax_error};
use super::{reply, Ctx, Outcome};
use crate::frame::Reply;
use crate::state::job::JobState;

const DEFAULT_COUNT: i64 = 100;

/// Walks `items` (the elements from position `cursor` on), examining at
/// most `count * 10` and stopping once `count` matched; returns the next
/// cursor, 0 when the walk is complete.
fn walk<T>(
    items: impl Iterator<Item = T>,
    cursor: u64,
    count: i64,
    busyloop: bool,
    mut visit: impl FnMut(T) -> bool,
) -> u64 {
    let mut items = items.peekable();
    let mut pos = cursor;
    let mut matched: i64 = 0;
    let mut budget: i64 = count.saturating_mul(10);
    for item in items.by_ref() {
        if visit(item) {
            matched += 1;
        }
        pos = pos.saturating_add(1);
        budget = budget.saturating_sub(1);
        if !busyloop && count > 0 && (matched >= count || budget <= 0) {
            break;
        }
    }
    if items.peek().is_none() {
        0
    } else {
        pos
    }
}

fn scan_reply(cursor: u64, items: Vec<Reply>) -> Outcome {
    reply(Reply::Array(vec![
        Reply::Bulk(Bytes::from(cursor.to_string())),
        Reply::Array(items),
    ]))
}

pub(super) fn qscan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    let mut count = DEFAULT_COUNT;
    let mut busyloop = false;
    let (mut minlen, mut maxlen, mut importrate) = (-1i64, -1i64, -1i64);
    let mut cursor = None;
    let mut j = 1;
    while j < args.len() {
        let opt = &args[j][..];
        let remaining = j + 1 < args.len();
        let is = |name: &str| opt.eq_ignore_ascii_case(name.as_bytes());
        let value = || {
            parse_ll(&args[j + 1]).ok_or_else(|| err("ERR value is not an integer or out of range"))
        };
        if is("count") && remaining {
            match value() {
                Ok(v) => count = v,
                Err(e) => return reply(e),
            }
            j += 1;
        } else if is("busyloop") {
            busyloop = true;
        } else if is("minlen") && remaining {
            match value() {
                Ok(v) => minlen = v,
                Err(e) => return reply(e),
            }
            j += 1;
        } else if is("maxlen") && remaining {
            match value() {
                Ok(v) => maxlen = v,
                Err(e) => return reply(e),
            }
            j += 1;
        } else if is("importrate") && remaining {
            match value() {
                Ok(v) => importrate = v,
                Err(e) => return reply(e),
            }
            j += 1;
        } else {
            if cursor.is_some() {
                return reply(syntax_error());
            }
            match parse_cursor(opt) {
                Some(c) => cursor = Some(c),
                None => return reply(err("ERR invalid cursor or option name")),
            }
        }
        j += 1;
    }
    let db = &*ctx.db;
    let mut items = Vec::new();
    let cursor = cursor.unwrap_or(0);
    let start = usize::try_from(cursor).unwrap_or(usize::MAX);
    let next = walk(db.queues().skip(start), cursor, count, busyloop, |q| {
        let len = q.len() as i64;
        if (minlen != -1 && len < minlen) || (maxlen != -1 && len > maxlen) || importrate > 0 {
            return false;
        }
        items.push(Reply::Bulk(Bytes::copy_from_slice(&q.name)));
        true
    });
    scan_reply(next, items)
}

pub(super) fn jscan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    let mut count = DEFAULT_COUNT;
    let mut busyloop = false;
    let mut queue: Option<&[u8]> = None;
    let mut states: Vec<JobState> = Vec::new();
    let mut reply_all = false;
    let mut cursor = None;
    let mut j = 1;
    while j < args.len() {
        let opt = &args[j][..];
        let remaining = j + 1 < args.len();
        let is = |name: &str| opt.eq_ignore_ascii_case(name.as_bytes());
        if is("count") && remaining {
            match parse_ll(&args[j + 1]) {
                Some(v) => count = v,
                None => return reply(err("ERR value is not an integer or out of range")),
            }
            j += 1;
        } else if is("busyloop") {
            busyloop = true;
        } else if is("queue") && remaining {
            queue = Some(&args[j + 1]);
            j += 1;
        } else if is("state") && remaining {
            match JobState::parse(&args[j + 1]) {
                Some(s) => states.push(s),
                None => return reply(err("ERR Invalid job state name")),
            }
            j += 1;
        } else if is("reply") && remaining {
            let v = &args[j + 1];
            if v.eq_ignore_ascii_case(b"id") {
                reply_all = false;
            } else if v.eq_ignore_ascii_case(b"all") {
                reply_all = true;
            } else {
                return reply(err("ERR Invalid REPLY type, try ID or ALL"));
            }
            j += 1;
        } else {
            if cursor.is_some() {
                return reply(syntax_error());
            }
            match parse_cursor(opt) {
                Some(c) => cursor = Some(c),
                None => return reply(err("ERR invalid cursor or option name")),
            }
        }
        j += 1;
    }
    let db = &*ctx.db;
    let cursor = cursor.unwrap_or(0);
    let start = usize::try_from(cursor).unwrap_or(usize::MAX);
    let mut items = Vec::new();
    let next = walk(db.job_keys().skip(start), cursor, count, busyloop, |key| {
        let Some(job) = db.job(key) else {
            return false;
        };
        if queue.is_some_and(|q| q != &job.queue[..]) {
            return false;
        }
        if !states.is_empty() && !states.contains(&job.state) {
            return false;
        }
        if reply_all {
            items.push(db.job_info(key, ctx.now));
        } else if let Some(id) = db.job_id(key) {
            items.push(Reply::Status(Cow::Owned(
                String::from_utf8_lossy(&id).into_owned(),
            )));
        }
        true
    });
    scan_reply(next, items)
}
