//! GETJOB [NOHANG] [TIMEOUT ms] [COUNT n] [WITHCOUNTERS] FROM q1 … qN

use bytes::Bytes;
use tokio::sync::oneshot;

use super::parse::{err, parse_ll, syntax_error};
use super::{job_reply, reply, Ctx, Outcome};
use crate::frame::Reply;

/// GETJOB's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetJobArgs {
    /// NOHANG.
    pub nohang: bool,
    /// TIMEOUT in ms, 0 = forever.
    pub timeout_ms: u64,
    /// COUNT.
    pub count: u64,
    /// WITHCOUNTERS.
    pub withcounters: bool,
    /// Index of the first queue name in the arguments.
    pub first_queue: usize,
}

/// Parses GETJOB's arguments; the error is Disque's exact reply.
pub fn parse_getjob(args: &[Bytes]) -> Result<GetJobArgs, Reply> {
    let mut a = GetJobArgs {
        nohang: false,
        timeout_ms: 0,
        count: 1,
        withcounters: false,
        first_queue: 0,
    };
    let mut j = 1;
    while j < args.len() {
        let opt = &args[j][..];
        let last = j == args.len() - 1;
        let is = |name: &str| opt.eq_ignore_ascii_case(name.as_bytes());
        if is("nohang") {
            a.nohang = true;
        } else if is("withcounters") {
            a.withcounters = true;
        } else if is("timeout") && !last {
            match parse_ll(&args[j + 1]) {
                None => return Err(err("ERR timeout is not an integer or out of range")),
                Some(t) if t < 0 => return Err(err("ERR timeout is negative")),
                Some(t) => a.timeout_ms = t as u64,
            }
            j += 1;
        } else if is("count") && !last {
            match parse_ll(&args[j + 1]) {
                Some(c) if c > 0 => a.count = c as u64,
                _ => return Err(err("ERR COUNT must be a number greater than zero")),
            }
            j += 1;
        } else if is("from") {
            a.first_queue = j + 1;
            break;
        } else {
            return Err(syntax_error());
        }
        j += 1;
    }
    if a.first_queue == 0 || a.first_queue >= args.len() {
        return Err(syntax_error());
    }
    Ok(a)
}

pub(super) fn getjob(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    let a = match parse_getjob(args) {
        Ok(a) => a,
        Err(e) => return reply(e),
    };
    let queues = &args[a.first_queue..];
    let db = &mut *ctx.db;
    // The keys go in a vector the connection keeps: no allocation per call.
    let mut keys = std::mem::take(&mut ctx.session.fetched);
    keys.clear();
    db.fetch_jobs(queues, a.count, ctx.now, &mut keys);
    let found = !keys.is_empty();
    if found {
        ctx.out.array(keys.len());
        for job in keys.iter().filter_map(|key| db.delivery(key)) {
            job_reply::encode_delivered(ctx.out, &job, a.withcounters);
        }
    }
    ctx.session.fetched = keys;
    if found {
        return Outcome::Encoded;
    }
    if a.nohang {
        return reply(Reply::NilArray);
    }
    if let Some(refused) = super::cluster::getjob_refusal(ctx.shared) {
        return reply(refused);
    }
    let (tx, rx) = oneshot::channel();
    let id = db.block(queues, tx, ctx.now);
    Outcome::Wait {
        id,
        rx,
        withcounters: a.withcounters,
        timeout_ms: a.timeout_ms,
    }
}
