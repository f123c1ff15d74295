//! Server commands: AUTH, PING, INFO, SHUTDOWN, DEBUG, CONFIG, TIME,
//! COMMAND, HELLO, and the administrative ones a single embedded node does
//! not support.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::parse::{err, ok, syntax_error};
use super::{lookup, reply, Ctx, Outcome, Spec, COMMANDS};
use crate::frame::Reply;

fn bulk_string(s: String) -> Reply {
    Reply::Bulk(Bytes::from(s))
}

pub(super) fn auth(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    match ctx.shared.password() {
        None => reply(err("ERR Client sent AUTH, but no password is set")),
        Some(pass) if pass.as_bytes() == &args[1][..] => {
            ctx.session.authenticated = true;
            reply(ok())
        }
        Some(_) => {
            ctx.session.authenticated = false;
            reply(err("ERR invalid password"))
        }
    }
}

pub(super) fn ping(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    match args.len() {
        1 => reply(Reply::Status(Cow::Borrowed("PONG"))),
        2 => reply(Reply::Bulk(args[1].clone())),
        _ => reply(err("ERR wrong number of arguments for 'ping' command")),
    }
}

pub(super) fn time(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Outcome {
    let now = ctx.now;
    reply(Reply::Array(vec![
        bulk_string((now / 1000).to_string()),
        bulk_string(((now % 1000) * 1000).to_string()),
    ]))
}

pub(super) fn shutdown(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    for opt in &args[1..] {
        if !(opt.eq_ignore_ascii_case(b"nosave")
            || opt.eq_ignore_ascii_case(b"save")
            || opt.eq_ignore_ascii_case(b"rewrite-aof"))
        {
            return reply(syntax_error());
        }
    }
    Outcome::Shutdown
}

pub(super) fn unsupported(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
    reply(Reply::Error(Cow::Owned(format!(
        "ERR {name} is not supported by the embedded node"
    ))))
}

pub(super) fn debug(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    if args[1].eq_ignore_ascii_case(b"flushall") {
        ctx.db.flush_all();
        reply(ok())
    } else {
        reply(err("ERR Syntax error, try DEBUG FLUSHALL"))
    }
}

/// The parameters CONFIG GET knows, with their current values.
fn config_params(ctx: &Ctx<'_>) -> Vec<(&'static str, String)> {
    let mut params = vec![
        ("port", ctx.shared.port.to_string()),
        ("requirepass", ctx.shared.password().unwrap_or_default()),
        ("maxclients", ctx.shared.max_clients.to_string()),
        ("maxmemory", ctx.db.maxmemory().to_string()),
        (
            "slowlog-log-slower-than",
            ctx.shared
                .monitor
                .slower_than_us
                .load(Ordering::Relaxed)
                .to_string(),
        ),
        (
            "slowlog-max-len",
            ctx.shared
                .monitor
                .slowlog_max_len
                .load(Ordering::Relaxed)
                .to_string(),
        ),
        (
            "latency-monitor-threshold",
            ctx.shared
                .monitor
                .latency_threshold_ms
                .load(Ordering::Relaxed)
                .to_string(),
        ),
        ("save", String::new()),
    ];
    params.extend(super::persistence::config_params(ctx.shared));
    params
}

/// Glob match supporting `*` and `?`, case-insensitively.
///
/// Iterative, backtracking only to the last `*` seen: O(pattern × text) in the
/// worst case, so a pattern of many stars cannot hold a worker thread.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, text index it matched up to).
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p + 1, t));
                p += 1;
            }
            Some(b'?') => {
                p += 1;
                t += 1;
            }
            Some(c) if c.eq_ignore_ascii_case(&text[t]) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                // Let the last star swallow one more byte and retry from there.
                Some((after_star, matched)) => {
                    p = after_star;
                    t = matched + 1;
                    star = Some((after_star, matched + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// CONFIG SET of the slow log's and latency monitor's parameters; `None`
/// for another parameter.
fn set_monitor_param(ctx: &Ctx<'_>, name: &[u8], value: &[u8]) -> Option<Outcome> {
    let m = &ctx.shared.monitor;
    let n = super::parse::parse_ll(value);
    let done = if name.eq_ignore_ascii_case(b"slowlog-log-slower-than") {
        n.map(|n| m.slower_than_us.store(n, Ordering::Relaxed))
    } else if name.eq_ignore_ascii_case(b"slowlog-max-len") {
        n.filter(|n| *n >= 0)
            .map(|n| m.slowlog_max_len.store(n as u64, Ordering::Relaxed))
    } else if name.eq_ignore_ascii_case(b"latency-monitor-threshold") {
        n.filter(|n| *n >= 0)
            .map(|n| m.latency_threshold_ms.store(n as u64, Ordering::Relaxed))
    } else {
        return None;
    };
    Some(match done {
        Some(()) => reply(ok()),
        None => reply(Reply::Error(Cow::Owned(format!(
            "ERR Invalid argument '{}' for CONFIG SET '{}'",
            String::from_utf8_lossy(value),
            String::from_utf8_lossy(name)
        )))),
    })
}

pub(super) fn config(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    let sub = &args[1];
    if sub.eq_ignore_ascii_case(b"get") && args.len() == 3 {
        let pattern = &args[2];
        let mut out = Vec::new();
        for (name, value) in config_params(ctx) {
            if glob(pattern, name.as_bytes()) {
                out.push(Reply::Bulk(Bytes::from_static(name.as_bytes())));
                out.push(bulk_string(value));
            }
        }
        reply(Reply::Array(out))
    } else if sub.eq_ignore_ascii_case(b"set") && args.len() == 4 {
        if args[2].eq_ignore_ascii_case(b"requirepass") {
            let pass = String::from_utf8_lossy(&args[3]).into_owned();
            ctx.shared.set_password((!pass.is_empty()).then_some(pass));
            reply(ok())
        } else if let Some(r) =
            super::persistence::config_set(ctx.shared, ctx.db, &args[2], &args[3])
        {
            reply(r)
        } else if let Some(outcome) = set_monitor_param(ctx, &args[2], &args[3]) {
            outcome
        } else if args[2].eq_ignore_ascii_case(b"maxmemory") {
            match std::str::from_utf8(&args[3])
                .ok()
                .and_then(crate::config::parse_memory)
            {
                Some(bytes) => {
                    ctx.db.set_maxmemory(bytes);
                    if bytes != 0 {
                        if bytes < ctx.db.used_memory() as u64 {
                            tracing::warn!(
                                maxmemory = bytes,
                                used = ctx.db.used_memory(),
                                "the new maxmemory is smaller than the memory in use: new jobs will be refused"
                            );
                        }
                        ctx.db.free_memory_if_needed(ctx.now);
                    }
                    reply(ok())
                }
                None => reply(Reply::Error(Cow::Owned(format!(
                    "ERR Invalid argument '{}' for CONFIG SET 'maxmemory'",
                    String::from_utf8_lossy(&args[3])
                )))),
            }
        } else {
            reply(Reply::Error(Cow::Owned(format!(
                "ERR Unsupported CONFIG parameter: {}",
                String::from_utf8_lossy(&args[2])
            ))))
        }
    } else if sub.eq_ignore_ascii_case(b"resetstat") && args.len() == 2 {
        reply(ok())
    } else {
        reply(err(
            "ERR CONFIG subcommand must be one of GET, SET, RESETSTAT, REWRITE",
        ))
    }
}

fn command_entry(spec: &Spec) -> Reply {
    let names = [
        ('w', "write"),
        ('r', "readonly"),
        ('m', "denyoom"),
        ('a', "admin"),
        ('R', "random"),
        ('l', "loading"),
        ('M', "skip_monitor"),
        ('F', "fast"),
    ];
    let flags = names
        .iter()
        .filter(|(c, _)| spec.flags.contains(*c))
        .map(|(_, n)| Reply::Status(Cow::Borrowed(*n)))
        .collect();
    Reply::Array(vec![
        Reply::Bulk(Bytes::from_static(spec.name.as_bytes())),
        Reply::Integer(i64::from(spec.arity)),
        Reply::Array(flags),
        Reply::Integer(0),
        Reply::Integer(0),
        Reply::Integer(0),
    ])
}

pub(super) fn command(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    if args.len() == 1 {
        return reply(Reply::Array(COMMANDS.iter().map(command_entry).collect()));
    }
    let sub = &args[1];
    if sub.eq_ignore_ascii_case(b"info") {
        let items = args[2..]
            .iter()
            .map(|name| lookup(name).map_or(Reply::NilBulk, command_entry))
            .collect();
        reply(Reply::Array(items))
    } else if sub.eq_ignore_ascii_case(b"count") && args.len() == 2 {
        reply(Reply::Integer(COMMANDS.len() as i64))
    } else {
        reply(err("ERR Unknown subcommand or wrong number of arguments."))
    }
}

const SECTIONS: [&str; 8] = [
    "server",
    "clients",
    "memory",
    "jobs",
    "queues",
    "persistence",
    "stats",
    "cpu",
];

/// Disque's `bytesToHuman`: `512B`, `1.50K`, `2.00M`, `1.00G`…
fn bytes_to_human(n: u64) -> String {
    let n_f = n as f64;
    match n {
        0..=1023 => format!("{n}B"),
        1024..=1_048_575 => format!("{:.2}K", n_f / 1024.0),
        1_048_576..=1_073_741_823 => format!("{:.2}M", n_f / 1_048_576.0),
        1_073_741_824..=1_099_511_627_775 => format!("{:.2}G", n_f / 1_073_741_824.0),
        _ => format!("{:.2}T", n_f / 1_099_511_627_776.0),
    }
}

fn section(ctx: &Ctx<'_>, name: &str, out: &mut String) {
    let st = &ctx.shared.stats;
    let uptime = ctx.shared.started.elapsed().as_secs();
    let (jobs, queues, blocked, node_id) = {
        let db = &*ctx.db;
        (
            db.job_count(),
            db.queue_count(),
            db.blocked_count(),
            db.node_id().to_owned(),
        )
    };
    // used_memory is what the node accounts for its jobs and queues (what
    // maxmemory is compared with), like Disque's allocator count.
    let used = ctx.db.used_memory() as u64;
    let peak = ctx.db.peak_memory() as u64;
    let rss = if name == "memory" {
        crate::trim::rss_bytes()
    } else {
        0
    };
    let fragmentation = if used == 0 {
        0.0
    } else {
        rss as f64 / used as f64
    };
    let lines: Vec<(&str, String)> = match name {
        "server" => vec![
            ("disque_version", "1.0-rc1".into()),
            ("disque_git_sha1", "00000000".into()),
            ("disque_git_dirty", "0".into()),
            ("disque_build_id", "embedded".into()),
            ("os", std::env::consts::OS.into()),
            ("arch_bits", (usize::BITS).to_string()),
            ("multiplexing_api", "tokio".into()),
            ("gcc_version", "0.0.0".into()),
            ("process_id", std::process::id().to_string()),
            ("run_id", node_id),
            ("tcp_port", ctx.shared.port.to_string()),
            ("uptime_in_seconds", uptime.to_string()),
            ("uptime_in_days", (uptime / 86400).to_string()),
            ("hz", "10".into()),
            (
                "executable",
                std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            ),
            ("config_file", String::new()),
        ],
        "clients" => vec![
            (
                "connected_clients",
                st.connected_clients.load(Ordering::Relaxed).to_string(),
            ),
            ("client_longest_output_list", "0".into()),
            ("client_biggest_input_buf", "0".into()),
            ("blocked_clients", blocked.to_string()),
        ],
        "memory" => vec![
            ("used_memory", used.to_string()),
            ("used_memory_human", bytes_to_human(used)),
            ("used_memory_rss", rss.to_string()),
            ("used_memory_peak", peak.to_string()),
            ("used_memory_peak_human", bytes_to_human(peak)),
            ("mem_fragmentation_ratio", format!("{fragmentation:.2}")),
            ("mem_allocator", "libc".into()),
        ],
        "jobs" => vec![("registered_jobs", jobs.to_string())],
        "queues" => vec![("registered_queues", queues.to_string())],
        "persistence" => super::persistence::info(ctx.shared),
        "stats" => vec![
            (
                "total_connections_received",
                st.connections_received.load(Ordering::Relaxed).to_string(),
            ),
            (
                "total_commands_processed",
                st.commands_processed.load(Ordering::Relaxed).to_string(),
            ),
            ("instantaneous_ops_per_sec", "0".into()),
            (
                "total_net_input_bytes",
                st.net_input_bytes.load(Ordering::Relaxed).to_string(),
            ),
            (
                "total_net_output_bytes",
                st.net_output_bytes.load(Ordering::Relaxed).to_string(),
            ),
            ("instantaneous_input_kbps", "0.00".into()),
            ("instantaneous_output_kbps", "0.00".into()),
            (
                "rejected_connections",
                st.rejected_connections.load(Ordering::Relaxed).to_string(),
            ),
            ("latest_fork_usec", "0".into()),
        ],
        _ => vec![
            ("used_cpu_sys", "0.00".into()),
            ("used_cpu_user", "0.00".into()),
            ("used_cpu_sys_children", "0.00".into()),
            ("used_cpu_user_children", "0.00".into()),
        ],
    };
    let title = match name {
        "cpu" => "CPU".to_owned(),
        other => {
            let mut t = other.to_owned();
            t[..1].make_ascii_uppercase();
            t
        }
    };
    if !out.is_empty() {
        out.push_str("\r\n");
    }
    let _ = write!(out, "# {title}\r\n");
    for (k, v) in lines {
        let _ = write!(out, "{k}:{v}\r\n");
    }
}

pub(super) fn info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    if args.len() > 2 {
        return reply(syntax_error());
    }
    let wanted = args
        .get(1)
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase());
    let mut out = String::new();
    for name in SECTIONS {
        let all = matches!(wanted.as_deref(), None | Some("default") | Some("all"));
        if all || wanted.as_deref() == Some(name) {
            section(ctx, name, &mut out);
        }
    }
    reply(bulk_string(out))
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn glob_matches_like_redis_for_star_and_question_mark() {
        assert!(glob(b"*", b"maxclients"));
        assert!(glob(b"max*", b"maxclients"));
        assert!(glob(b"*clients", b"maxclients"));
        assert!(glob(b"m?x*s", b"MAXCLIENTS"));
        assert!(glob(b"*a*e*", b"appendonly"));
        assert!(glob(b"port", b"port"));
        assert!(glob(b"", b""));
        assert!(!glob(b"", b"port"));
        assert!(!glob(b"port?", b"port"));
        assert!(!glob(b"*x", b"port"));
        assert!(!glob(b"p*q", b"port"));
    }

    #[test]
    fn many_stars_are_answered_at_once() {
        let pattern = format!("{}zz", "*".repeat(1_000));
        assert!(!glob(pattern.as_bytes(), "a".repeat(1_000).as_bytes()));
        assert!(glob(pattern.as_bytes(), b"abczz"));
    }
}
