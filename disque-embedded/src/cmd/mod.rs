//! Command dispatch: look the name up in Disque's command table, check the
//! arity and authentication, then run the command family's handler.

mod client;
pub mod cluster;
mod getjob;
pub mod job_reply;
mod jobs;
mod monitor;
pub mod parse;
mod persistence;
mod queues;
mod scan;
mod server;
pub mod timing;

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::clients::ClientEntry;
use crate::frame::Reply;
use crate::replies::Replies;
use crate::shared::Shared;
use crate::state::id::JobKey;
use crate::state::{Db, Served};
use timing::Timing;

/// What the connection must do after a command.
#[derive(Debug)]
pub enum Outcome {
    /// Send this reply.
    Reply(Reply),
    /// The reply is already encoded, in [`Ctx::out`].
    Encoded,
    /// GETJOB blocked: wait for `rx`, or for `timeout_ms` (0 = forever),
    /// then unblock `id` and reply with a null array; the reply is
    /// [`job_reply::waited`].
    Wait {
        /// Waiter id in the state.
        id: u64,
        /// Receives the job once one is delivered.
        rx: oneshot::Receiver<Option<Served>>,
        /// WITHCOUNTERS.
        withcounters: bool,
        /// Milliseconds, 0 for no timeout.
        timeout_ms: u64,
    },
    /// QUIT: reply `+OK` and close.
    Quit,
    /// SHUTDOWN: stop the node.
    Shutdown,
}

/// Per-connection state commands can see.
#[derive(Debug, Default)]
pub struct Session {
    /// Whether AUTH succeeded.
    pub authenticated: bool,
    /// This connection in the client table (None in unit tests).
    pub client: Option<Arc<ClientEntry>>,
    /// CLIENT REPLY OFF: replies are not sent.
    pub reply_off: bool,
    /// CLIENT REPLY SKIP: the next command's reply is not sent.
    pub skip_next: bool,
    /// The current command's reply is not sent.
    pub skip_current: bool,
    /// The keys of the jobs a GETJOB fetched (kept to reuse its memory).
    pub fetched: Vec<JobKey>,
}

/// What a handler gets.
pub struct Ctx<'a> {
    /// The node.
    pub shared: &'a Shared,
    /// The state, locked for the command's duration.
    pub db: &'a mut Db,
    /// The connection.
    pub session: &'a mut Session,
    /// Current time, ms.
    pub now: u64,
    /// Where a handler may encode its reply itself (and return
    /// [`Outcome::Encoded`]).
    pub out: &'a mut Replies,
}

type Handler = fn(&mut Ctx<'_>, &[Bytes]) -> Outcome;

/// One entry of the command table.
pub struct Spec {
    /// Lower-case name.
    pub name: &'static str,
    /// Redis-style arity: exact if positive, minimum if negative.
    pub arity: i32,
    /// Disque's flag letters.
    pub flags: &'static str,
    handler: Handler,
}

macro_rules! spec {
    ($name:literal, $arity:expr, $flags:literal, $h:expr) => {
        Spec {
            name: $name,
            arity: $arity,
            flags: $flags,
            handler: $h,
        }
    };
}

/// Disque 1.0-rc1's command table (32 commands), in its order.
pub static COMMANDS: [Spec; 32] = [
    spec!("auth", 2, "rlF", server::auth),
    spec!("ping", -1, "rF", server::ping),
    spec!("info", -1, "rl", server::info),
    spec!("shutdown", -1, "arl", server::shutdown),
    spec!("monitor", 1, "ar", server::unsupported),
    spec!("debug", -2, "a", server::debug),
    spec!("config", -2, "ar", server::config),
    spec!("cluster", -2, "ar", cluster::cluster),
    spec!("client", -2, "ar", client::client),
    spec!("slowlog", -2, "r", monitor::slowlog),
    spec!("time", 1, "rF", server::time),
    spec!("command", 0, "rl", server::command),
    spec!("latency", -2, "arl", monitor::latency),
    spec!("hello", 1, "rF", cluster::hello),
    spec!("addjob", -4, "wmF", jobs::addjob),
    spec!("getjob", -2, "wF", getjob::getjob),
    spec!("ackjob", -1, "wF", jobs::ackjob),
    spec!("fastack", -1, "wF", jobs::fastack),
    spec!("deljob", -1, "wF", jobs::deljob),
    spec!("show", 2, "rF", jobs::show),
    spec!("loadjob", 2, "w", jobs::loadjob),
    spec!("bgrewriteaof", 1, "ar", persistence::bgrewriteaof),
    spec!("qlen", 2, "rF", queues::qlen),
    spec!("qpeek", 3, "r", queues::qpeek),
    spec!("qstat", 2, "rF", queues::qstat),
    spec!("qscan", -1, "r", scan::qscan),
    spec!("jscan", -1, "r", scan::jscan),
    spec!("enqueue", -1, "mwF", jobs::enqueue),
    spec!("nack", -1, "mwF", jobs::nack),
    spec!("dequeue", -1, "wF", jobs::dequeue),
    spec!("working", 2, "wF", jobs::working),
    spec!("pause", -3, "rF", queues::pause),
];

/// Looks a command up by name, case-insensitively.
pub fn lookup(name: &[u8]) -> Option<&'static Spec> {
    lookup_index(name).map(|i| &COMMANDS[i])
}

/// The index in [`COMMANDS`] of a command, case-insensitively.
pub fn lookup_index(name: &[u8]) -> Option<usize> {
    let key = pack(name);
    PACKED_NAMES.iter().position(|&p| p == key)
}

/// A command name as one integer, to compare names with one comparison:
/// its first 15 bytes lower-cased, and its length in the last byte; 0 (no
/// name's) if it is longer than that.
const fn pack(name: &[u8]) -> u128 {
    if name.len() > 15 {
        return 0;
    }
    let mut bytes = [0u8; 16];
    let mut i = 0;
    while i < name.len() {
        bytes[i] = name[i].to_ascii_lowercase();
        i += 1;
    }
    bytes[15] = name.len() as u8;
    u128::from_le_bytes(bytes)
}

/// The names of [`COMMANDS`], [`pack`]ed, in the same order.
static PACKED_NAMES: [u128; COMMANDS.len()] = {
    let mut packed = [0; COMMANDS.len()];
    let mut i = 0;
    while i < COMMANDS.len() {
        packed[i] = pack(COMMANDS[i].name.as_bytes());
        i += 1;
    }
    packed
};

/// Runs one request (`args` is never empty) with the state locked. The
/// reply is returned, or encoded into `out` ([`Outcome::Encoded`]).
pub fn execute(
    shared: &Shared,
    db: &mut Db,
    session: &mut Session,
    args: &[Bytes],
    out: &mut Replies,
    time: &mut Timing,
) -> Outcome {
    let Some(name) = args.first() else {
        return Outcome::Reply(Reply::Status(Cow::Borrowed("OK")));
    };
    if name.eq_ignore_ascii_case(b"quit") {
        return Outcome::Quit;
    }
    let Some(index) = lookup_index(name) else {
        let shown: String = String::from_utf8_lossy(name)
            .chars()
            .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
            .collect();
        return Outcome::Reply(Reply::Error(Cow::Owned(format!(
            "ERR unknown command '{shown}'"
        ))));
    };
    let spec = &COMMANDS[index];
    if let Some(client) = &session.client {
        client.touch(time.at, index);
    }
    let argc = args.len() as i64;
    let arity = i64::from(spec.arity);
    if (arity > 0 && arity != argc) || argc < -arity {
        return Outcome::Reply(Reply::Error(Cow::Owned(format!(
            "ERR wrong number of arguments for '{}' command",
            spec.name
        ))));
    }
    // Like Disque 1.0-rc1 (checked on the real server): only AUTH passes
    // before authentication — PING too is refused; QUIT is handled above.
    if !session.authenticated && shared.auth_required() && spec.name != "auth" {
        return Outcome::Reply(Reply::Error(Cow::Borrowed(
            "NOAUTH Authentication required.",
        )));
    }
    // Disque's processCommand: over 95 % of maxmemory, commands that may
    // add memory ('m': ADDJOB, ENQUEUE, NACK) are refused unless enough
    // can be freed first.
    let now = time.now_ms;
    if spec.flags.contains('m') && !db.free_memory_if_needed(now) {
        return Outcome::Reply(Reply::Error(Cow::Borrowed(
            "OOM command not allowed when used memory > 'maxmemory'.",
        )));
    }
    let mut ctx = Ctx {
        shared,
        db,
        session,
        now,
        out,
    };
    let outcome = (spec.handler)(&mut ctx, args);
    // Since the previous command: what ran in between (this request's
    // parsing and checks) is microseconds.
    let took = time.lap(&shared.clock);
    if shared.monitor.wants(took) {
        let fast = spec.flags.contains('F');
        shared.monitor.command(args, fast, took, now / 1000);
    }
    outcome
}

/// Shorthand for `Outcome::Reply`.
fn reply(r: Reply) -> Outcome {
    Outcome::Reply(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_each_command_in_any_case_and_nothing_else() {
        for (i, spec) in COMMANDS.iter().enumerate() {
            let upper = spec.name.to_ascii_uppercase();
            assert_eq!(lookup_index(spec.name.as_bytes()), Some(i));
            assert_eq!(lookup_index(upper.as_bytes()), Some(i));
            let mut longer = spec.name.as_bytes().to_vec();
            longer.push(0);
            assert_eq!(lookup_index(&longer), None, "{}", spec.name);
            assert_eq!(lookup_index(&longer[..longer.len() - 2]), None);
        }
        for name in [
            &b""[..],
            b"\0",
            b"getjobgetjobgetjob",
            b"g\xc5tjob",
            b"quit",
        ] {
            assert_eq!(lookup_index(name), None, "{name:?}");
        }
    }
}
