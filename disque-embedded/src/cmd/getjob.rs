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

/// GETJOB's option names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opt {
    NoHang,
    WithCounters,
    Timeout,
    Count,
    From,
}

/// The option `arg` names, case-insensitively. The names' lengths differ,
/// so the length picks the one name to compare.
fn option(arg: &[u8]) -> Option<Opt> {
    let (matches, opt) = match arg.len() {
        6 => (letters_eq(arg, b"nohang"), Opt::NoHang),
        12 => (letters_eq(arg, b"withcounters"), Opt::WithCounters),
        7 => (letters_eq(arg, b"timeout"), Opt::Timeout),
        5 => (letters_eq(arg, b"count"), Opt::Count),
        4 => (letters_eq(arg, b"from"), Opt::From),
        _ => return None,
    };
    matches.then_some(opt)
}

/// Whether `arg` is `name` (lower-case letters) in any case: a byte matches
/// a letter, in either case, exactly when it equals it with the case bit
/// (0x20) set. The length is known, so the bytes are compared without a
/// branch each.
fn letters_eq<const N: usize>(arg: &[u8], name: &[u8; N]) -> bool {
    <&[u8; N]>::try_from(arg).is_ok_and(|arg| {
        arg.iter()
            .zip(name)
            .fold(0, |diff, (&b, &l)| diff | ((b | 0x20) ^ l))
            == 0
    })
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
        match option(opt) {
            Some(Opt::NoHang) => a.nohang = true,
            Some(Opt::WithCounters) => a.withcounters = true,
            Some(Opt::Timeout) if !last => {
                match parse_ll(&args[j + 1]) {
                    None => return Err(err("ERR timeout is not an integer or out of range")),
                    Some(t) if t < 0 => return Err(err("ERR timeout is negative")),
                    Some(t) => a.timeout_ms = t as u64,
                }
                j += 1;
            }
            Some(Opt::Count) if !last => {
                match parse_ll(&args[j + 1]) {
                    Some(c) if c > 0 => a.count = c as u64,
                    _ => return Err(err("ERR COUNT must be a number greater than zero")),
                }
                j += 1;
            }
            Some(Opt::From) => {
                a.first_queue = j + 1;
                break;
            }
            _ => return Err(syntax_error()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_match_their_names_in_any_case_and_nothing_else() {
        let names: [(&[u8], Opt); 5] = [
            (b"nohang", Opt::NoHang),
            (b"withcounters", Opt::WithCounters),
            (b"timeout", Opt::Timeout),
            (b"count", Opt::Count),
            (b"from", Opt::From),
        ];
        for (name, opt) in names {
            assert_eq!(option(name), Some(opt));
            assert_eq!(option(&name.to_ascii_uppercase()), Some(opt));
            for at in 0..name.len() {
                for b in 0..=255u8 {
                    let mut arg = name.to_vec();
                    arg[at] = b;
                    let same = b.eq_ignore_ascii_case(&name[at]);
                    assert_eq!(option(&arg), same.then_some(opt), "{arg:?}");
                }
            }
        }
        assert_eq!(option(b""), None);
        assert_eq!(option(b"fromx"), None);
    }
}
