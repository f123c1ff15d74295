//! CLIENT LIST | KILL | GETNAME | SETNAME | REPLY | PAUSE, with Disque's
//! replies.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::parse::{err, ok, parse_ll, syntax_error};
use super::{reply, Ctx, Outcome, COMMANDS};
use crate::clients::ClientEntry;
use crate::frame::Reply;

const SYNTAX: &str =
    "ERR Syntax error, try CLIENT (LIST | KILL ip:port | GETNAME | SETNAME connection-name)";

/// One line of CLIENT LIST (without its newline).
fn describe(c: &ClientEntry, out: &mut String) {
    let name = c.name().unwrap_or_default();
    let flags = if c.blocked.load(Ordering::Relaxed) {
        "b"
    } else {
        "N"
    };
    let cmd = c.last_cmd().map_or("NULL", |i| COMMANDS[i].name);
    let _ = write!(
        out,
        "id={} addr={} fd={} name={} age={} idle={} flags={} qbuf={} qbuf-free={} obl=0 oll=0 omem=0 events=r cmd={}",
        c.id,
        c.addr,
        c.fd,
        name,
        c.created.elapsed().as_secs(),
        c.idle_secs(),
        flags,
        c.qbuf.load(Ordering::Relaxed),
        c.qbuf_free.load(Ordering::Relaxed),
        cmd,
    );
}

/// CLIENT KILL's filters.
struct Filter<'a> {
    addr: Option<&'a [u8]>,
    id: Option<u64>,
    skipme: bool,
}

fn parse_kill(args: &[Bytes]) -> Result<Filter<'_>, Reply> {
    if args.len() == 3 {
        // Old form: CLIENT KILL addr, which may name the caller.
        return Ok(Filter {
            addr: Some(&args[2]),
            id: None,
            skipme: false,
        });
    }
    if args.len() < 3 {
        return Err(syntax_error());
    }
    let mut f = Filter {
        addr: None,
        id: None,
        skipme: true,
    };
    let mut i = 2;
    while i < args.len() {
        let opt = &args[i];
        let Some(value) = args.get(i + 1) else {
            return Err(syntax_error());
        };
        if opt.eq_ignore_ascii_case(b"id") {
            match parse_ll(value) {
                Some(id) => f.id = (id != 0).then_some(id as u64),
                None => return Err(err("ERR value is not an integer or out of range")),
            }
        } else if opt.eq_ignore_ascii_case(b"type") {
            // Every client of a lone node is a normal one.
            let known = [&b"normal"[..], b"slave", b"pubsub"];
            if !known.iter().any(|k| value.eq_ignore_ascii_case(k)) {
                return Err(Reply::Error(Cow::Owned(format!(
                    "ERR Unknown client type '{}'",
                    String::from_utf8_lossy(value)
                ))));
            }
            if !value.eq_ignore_ascii_case(b"normal") {
                // No such clients: match none.
                f.id = Some(u64::MAX);
            }
        } else if opt.eq_ignore_ascii_case(b"addr") {
            f.addr = Some(value);
        } else if opt.eq_ignore_ascii_case(b"skipme") {
            if value.eq_ignore_ascii_case(b"yes") {
                f.skipme = true;
            } else if value.eq_ignore_ascii_case(b"no") {
                f.skipme = false;
            } else {
                return Err(syntax_error());
            }
        } else {
            return Err(syntax_error());
        }
        i += 2;
    }
    Ok(f)
}

fn kill(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    let f = match parse_kill(args) {
        Ok(f) => f,
        Err(e) => return reply(e),
    };
    let me = ctx.session.client.as_ref().map(|c| c.id);
    let mut killed = 0;
    for c in ctx.shared.clients.all() {
        if f.addr.is_some_and(|a| a != c.addr.to_string().as_bytes()) {
            continue;
        }
        if f.id.is_some_and(|id| id != c.id) {
            continue;
        }
        if f.skipme && me == Some(c.id) {
            continue;
        }
        // The caller's own connection closes after this reply.
        c.kill();
        killed += 1;
    }
    if args.len() == 3 {
        if killed == 0 {
            reply(err("ERR No such client"))
        } else {
            reply(ok())
        }
    } else {
        reply(Reply::Integer(killed))
    }
}

pub(super) fn client(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    let sub = &args[1];
    let is = |name: &str| sub.eq_ignore_ascii_case(name.as_bytes());
    if is("list") && args.len() == 2 {
        let mut out = String::new();
        for c in ctx.shared.clients.all() {
            describe(&c, &mut out);
            out.push('\n');
        }
        reply(Reply::Bulk(Bytes::from(out)))
    } else if is("kill") {
        kill(ctx, args)
    } else if is("setname") && args.len() == 3 {
        let name = &args[2];
        if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
            return reply(err(
                "ERR Client names cannot contain spaces, newlines or special characters.",
            ));
        }
        if let Some(c) = &ctx.session.client {
            // Checked printable ASCII above.
            let name = String::from_utf8_lossy(name).into_owned();
            c.set_name((!name.is_empty()).then_some(name));
        }
        reply(ok())
    } else if is("getname") && args.len() == 2 {
        match ctx.session.client.as_ref().and_then(|c| c.name()) {
            Some(name) => reply(Reply::Bulk(Bytes::from(name))),
            None => reply(Reply::NilBulk),
        }
    } else if is("reply") && args.len() == 3 {
        let mode = &args[2];
        if mode.eq_ignore_ascii_case(b"on") {
            ctx.session.reply_off = false;
            reply(ok())
        } else if mode.eq_ignore_ascii_case(b"off") {
            ctx.session.reply_off = true;
            reply(ok())
        } else if mode.eq_ignore_ascii_case(b"skip") {
            if !ctx.session.reply_off {
                ctx.session.skip_current = true;
                ctx.session.skip_next = true;
            }
            reply(ok())
        } else {
            reply(syntax_error())
        }
    } else if is("pause") && args.len() == 3 {
        match parse_ll(&args[2]) {
            None => reply(err("ERR timeout is not an integer or out of range")),
            Some(ms) if ms < 0 => reply(err("ERR timeout is negative")),
            Some(ms) => {
                let until = ctx.now.saturating_add(ms as u64);
                ctx.shared
                    .paused_until_ms
                    .fetch_max(until, Ordering::Relaxed);
                reply(ok())
            }
        }
    } else {
        reply(err(SYNTAX))
    }
}
