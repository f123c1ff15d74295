//! Job commands: ADDJOB, ACKJOB, FASTACK, DELJOB, SHOW, WORKING, ENQUEUE,
//! NACK, DEQUEUE, LOADJOB.

use std::borrow::Cow;

use bytes::Bytes;

use super::parse::{bad_id, err, parse_ll, syntax_error};
use super::{job_reply, reply, Ctx, Outcome};
use crate::frame::Reply;
use crate::state::id::is_valid_job_id;
use crate::state::{AddError, NewJob, TooLate};

/// Seconds: the default TTL (one day).
const DEFAULT_TTL: i64 = 86_400;
/// Seconds: the cap of the default RETRY.
const DEFAULT_RETRY_MAX: i64 = 300;

/// ADDJOB's options, parsed and checked in Disque's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddJobArgs {
    /// REPLICATE.
    pub replicate: i64,
    /// TTL, seconds.
    pub ttl: i64,
    /// RETRY, seconds (defaulted).
    pub retry: i64,
    /// DELAY, seconds.
    pub delay: i64,
    /// MAXLEN, 0 for none.
    pub maxlen: i64,
    /// ASYNC.
    pub asynchronous: bool,
}

/// Parses `ADDJOB queue body timeout [options…]` (`args[0]` is the name);
/// the error is the exact reply Disque gives.
pub fn parse_addjob(args: &[Bytes]) -> Result<AddJobArgs, Reply> {
    let mut a = AddJobArgs {
        replicate: 1,
        ttl: DEFAULT_TTL,
        retry: -1,
        delay: 0,
        maxlen: 0,
        asynchronous: false,
    };
    let mut j = 4;
    while j < args.len() {
        let opt = &args[j][..];
        let value = args.get(j + 1).map(|v| parse_ll(v));
        let is = |name: &str| opt.eq_ignore_ascii_case(name.as_bytes());
        if is("replicate") && value.is_some() {
            match value.flatten() {
                Some(v) if (1..=65535).contains(&v) => a.replicate = v,
                _ => return Err(err("ERR REPLICATE must be between 1 and 65535")),
            }
            j += 1;
        } else if is("ttl") && value.is_some() {
            match value.flatten() {
                Some(v) if v > 0 => a.ttl = v,
                _ => return Err(err("ERR TTL must be a number > 0")),
            }
            j += 1;
        } else if is("retry") && value.is_some() {
            match value.flatten() {
                Some(v) if v >= 0 => a.retry = v,
                _ => return Err(err("ERR RETRY time must be a non negative number")),
            }
            j += 1;
        } else if is("delay") && value.is_some() {
            match value.flatten() {
                Some(v) if v >= 0 => a.delay = v,
                _ => return Err(err("ERR DELAY time must be a non negative number")),
            }
            j += 1;
        } else if is("maxlen") && value.is_some() {
            match value.flatten() {
                Some(v) if v > 0 => a.maxlen = v,
                _ => return Err(err("ERR MAXLEN must be a positive number")),
            }
            j += 1;
        } else if is("async") {
            a.asynchronous = true;
        } else {
            return Err(syntax_error());
        }
        j += 1;
    }
    match parse_ll(&args[3]) {
        None => return Err(err("ERR timeout is not an integer or out of range")),
        Some(t) if t < 0 => return Err(err("ERR timeout is negative")),
        Some(_) => {}
    }
    if a.replicate > 1 && a.retry == 0 {
        return Err(err(
            "ERR With RETRY set to 0 please explicitly set  REPLICATE to 1 (at-most-once delivery)",
        ));
    }
    if a.delay >= a.ttl {
        return Err(err(
            "ERR The specified DELAY is greater than TTL. Job refused since would never be delivered",
        ));
    }
    if a.retry == -1 {
        a.retry = (a.ttl / 10).clamp(1, DEFAULT_RETRY_MAX);
    }
    Ok(a)
}

pub(super) fn addjob(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    let a = match parse_addjob(args) {
        Ok(a) => a,
        Err(e) => return reply(e),
    };
    if let Some(refused) = super::cluster::addjob_refusal(ctx.shared, a.replicate) {
        return reply(refused);
    }
    let req = NewJob {
        queue: &args[1],
        body: &args[2],
        replicate: a.replicate.clamp(1, 65535) as u16,
        ttl: a.ttl,
        retry: a.retry,
        delay: a.delay,
        maxlen: a.maxlen,
    };
    let db = &mut *ctx.db;
    match db.add_job(&req, ctx.now) {
        Ok((_, id)) => {
            // The id is ASCII by construction.
            reply(Reply::Status(Cow::Owned(
                String::from_utf8_lossy(&id).into_owned(),
            )))
        }
        Err(AddError::NoRepl) => reply(err(
            "NOREPL Not enough reachable nodes for the requested replication level",
        )),
        Err(AddError::MaxLen) => reply(err(
            "MAXLEN Queue is already longer than the specified MAXLEN count",
        )),
        Err(AddError::Paused) => reply(err("PAUSED Queue paused in input, try later")),
        Err(AddError::OutOfMemory) => reply(err(
            "NOREPL Not enough reachable nodes for the requested replication level, since I'm unable to hold a copy of the message for the following reason: I'm out of memory",
        )),
    }
}

/// Checks every id first: one malformed id rejects the whole command.
fn all_valid(ids: &[Bytes]) -> bool {
    ids.iter().all(|id| is_valid_job_id(id))
}

/// Applies `f` to every known job named in `args[1..]`; replies the count
/// of `true` results.
fn for_each_job(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    mut f: impl FnMut(&mut crate::state::Db, &crate::state::id::JobKey, u64) -> bool,
) -> Outcome {
    let ids = &args[1..];
    if !all_valid(ids) {
        return reply(bad_id());
    }
    let db = &mut *ctx.db;
    let mut n = 0;
    for id in ids {
        if let Some(key) = db.lookup(id) {
            if f(db, &key, ctx.now) {
                n += 1;
            }
        }
    }
    reply(Reply::Integer(n))
}

pub(super) fn ackjob(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    for_each_job(ctx, args, |db, key, _| db.delete(key))
}

pub(super) fn fastack(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    for_each_job(ctx, args, |db, key, _| db.delete(key))
}

pub(super) fn deljob(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    for_each_job(ctx, args, |db, key, _| db.delete(key))
}

pub(super) fn enqueue(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    for_each_job(ctx, args, |db, key, now| db.enqueue(key, false, now))
}

pub(super) fn nack(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    for_each_job(ctx, args, |db, key, now| db.enqueue(key, true, now))
}

pub(super) fn dequeue(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    for_each_job(ctx, args, |db, key, _| db.dequeue(key))
}

pub(super) fn show(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    if !is_valid_job_id(&args[1]) {
        return reply(bad_id());
    }
    let db = &*ctx.db;
    match db.lookup(&args[1]) {
        Some(key) => reply(
            db.job_info(&key, ctx.now)
                .map_or(Reply::NilBulk, |d| job_reply::description(&d)),
        ),
        None => reply(Reply::NilBulk),
    }
}

pub(super) fn working(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    if !is_valid_job_id(&args[1]) {
        return reply(bad_id());
    }
    let db = &mut *ctx.db;
    let Some(key) = db.lookup(&args[1]) else {
        return reply(err("NOJOB Job not known in the context of this node."));
    };
    match db.working(&key, ctx.now) {
        Ok(retry) => reply(Reply::Integer(i64::from(retry))),
        Err(TooLate) => reply(err("TOOLATE Half of job TTL already elapsed, you are no longer allowed to postpone the next delivery.")),
    }
}

pub(super) fn loadjob(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Outcome {
    reply(err(
        "ERR LOADJOB is a special command only processed from AOF",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<Bytes> {
        s.iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    fn error_of(s: &[&str]) -> String {
        match parse_addjob(&args(s)) {
            Err(Reply::Error(e)) => e.into_owned(),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let a = parse_addjob(&args(&["ADDJOB", "q", "b", "0"])).unwrap();
        assert_eq!(
            (a.replicate, a.ttl, a.retry, a.delay, a.maxlen),
            (1, 86400, 300, 0, 0)
        );
        let a = parse_addjob(&args(&["ADDJOB", "q", "b", "", "TTL", "5"])).unwrap();
        assert_eq!(a.retry, 1);
        let a = parse_addjob(&args(&["ADDJOB", "q", "b", "0", "TTL", "100"])).unwrap();
        assert_eq!(a.retry, 10);
    }

    #[test]
    fn options_are_checked_before_the_timeout() {
        assert_eq!(
            error_of(&["ADDJOB", "q", "b", "notanumber", "TTL", "0"]),
            "ERR TTL must be a number > 0"
        );
        assert_eq!(
            error_of(&["ADDJOB", "q", "b", "notanumber"]),
            "ERR timeout is not an integer or out of range"
        );
        assert_eq!(
            error_of(&["ADDJOB", "q", "b", "-1"]),
            "ERR timeout is negative"
        );
        assert_eq!(
            error_of(&["ADDJOB", "q", "b", " 5"]),
            "ERR timeout is not an integer or out of range"
        );
    }

    #[test]
    fn exact_error_texts() {
        assert_eq!(
            error_of(&["ADDJOB", "q", "b", "0", "REPLICATE", "1.0"]),
            "ERR REPLICATE must be between 1 and 65535"
        );
        assert_eq!(
            error_of(&["ADDJOB", "q", "b", "0", "RETRY", "2.5"]),
            "ERR RETRY time must be a non negative number"
        );
        assert_eq!(
            error_of(&["ADDJOB", "q", "b", "0", "DELAY", "-1"]),
            "ERR DELAY time must be a non negative number"
        );
        assert_eq!(
            error_of(&["ADDJOB", "q", "b", "0", "MAXLEN", "0"]),
            "ERR MAXLEN must be a positive number"
        );
        assert_eq!(
            error_of(&["ADDJOB", "q", "b", "0", "TTL"]),
            "ERR syntax error"
        );
        assert_eq!(
            error_of(&["ADDJOB", "q", "b", "0", "ASYNC", "BAR"]),
            "ERR syntax error"
        );
        assert_eq!(
            error_of(&["ADDJOB", "q", "b", "0", "REPLICATE", "3", "RETRY", "0"]),
            "ERR With RETRY set to 0 please explicitly set  REPLICATE to 1 (at-most-once delivery)"
        );
        assert_eq!(
            error_of(&["ADDJOB", "q", "b", "0", "DELAY", "86400"]),
            "ERR The specified DELAY is greater than TTL. Job refused since would never be delivered"
        );
    }
}
