//! SLOWLOG GET [n] | LEN | RESET and LATENCY LATEST | HISTORY | RESET |
//! GRAPH | DOCTOR, with Disque's reply shapes.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::parse::{err, ok, parse_ll, syntax_error};
use super::{reply, Ctx, Outcome};
use crate::frame::Reply;
use crate::monitor::Series;

pub(super) fn slowlog(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    let m = &ctx.shared.monitor;
    let sub = &args[1];
    if args.len() == 2 && sub.eq_ignore_ascii_case(b"reset") {
        m.slow_reset();
        reply(ok())
    } else if args.len() == 2 && sub.eq_ignore_ascii_case(b"len") {
        reply(Reply::Integer(m.slow_len() as i64))
    } else if (args.len() == 2 || args.len() == 3) && sub.eq_ignore_ascii_case(b"get") {
        let count = match args.get(2).map(|a| parse_ll(a)) {
            None => Some(10),
            Some(None) => return reply(err("ERR value is not an integer or out of range")),
            // Negative: no limit (Disque's count-- never reaches 0).
            Some(Some(n)) if n < 0 => None,
            Some(Some(n)) => Some(n as usize),
        };
        let entries = m
            .slow_entries(count)
            .into_iter()
            .map(|e| {
                Reply::Array(vec![
                    Reply::Integer(e.id as i64),
                    Reply::Integer(e.time as i64),
                    Reply::Integer(e.micros as i64),
                    Reply::Array(e.args.into_iter().map(Reply::Bulk).collect()),
                ])
            })
            .collect();
        reply(Reply::Array(entries))
    } else {
        reply(err(
            "ERR Unknown SLOWLOG subcommand or wrong # of args. Try GET, RESET, LEN.",
        ))
    }
}

/// A one-line summary per event, for LATENCY DOCTOR.
fn doctor(threshold: u64, events: &std::collections::BTreeMap<&'static str, Series>) -> String {
    let mut out = String::new();
    if threshold == 0 {
        out.push_str(
            "Latency monitoring is disabled. Enable it with CONFIG SET latency-monitor-threshold <milliseconds>.\n",
        );
        return out;
    }
    if events.is_empty() {
        let _ = writeln!(
            out,
            "No latency spike over the {threshold} ms threshold was observed."
        );
        return out;
    }
    let _ = writeln!(out, "Latency spikes over the {threshold} ms threshold:\n");
    for (i, (event, s)) in events.iter().enumerate() {
        let n = s.samples.len() as u64;
        let avg = s.samples.iter().map(|x| x.millis).sum::<u64>() / n.max(1);
        let _ = writeln!(
            out,
            "{}. {event}: {n} latency spikes (average {avg}ms). Worst all time event {}ms.",
            i + 1,
            s.max
        );
    }
    out
}

/// A small ASCII graph of an event's samples, newest on the right.
fn graph(event: &str, s: &Series) -> String {
    let mut out = format!(
        "{event} - high {} ms, low {} ms (all time high {} ms)\n",
        s.samples.iter().map(|x| x.millis).max().unwrap_or(0),
        s.samples.iter().map(|x| x.millis).min().unwrap_or(0),
        s.max
    );
    let high = s.max.max(1);
    for row in (1..=4u64).rev() {
        for x in &s.samples {
            out.push(if x.millis * 4 >= row * high { '#' } else { ' ' });
        }
        out.push('\n');
    }
    out
}

pub(super) fn latency(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    let m = &ctx.shared.monitor;
    let sub = &args[1];
    let is = |name: &str| sub.eq_ignore_ascii_case(name.as_bytes());
    if is("history") && args.len() == 3 {
        let events = m.latency();
        let samples = events
            .iter()
            .find(|(name, _)| name.as_bytes() == &args[2][..])
            .map(|(_, s)| {
                s.samples
                    .iter()
                    .map(|x| {
                        Reply::Array(vec![
                            Reply::Integer(x.time as i64),
                            Reply::Integer(x.millis as i64),
                        ])
                    })
                    .collect()
            })
            .unwrap_or_default();
        reply(Reply::Array(samples))
    } else if is("graph") && args.len() == 3 {
        let events = m.latency();
        match events
            .iter()
            .find(|(name, _)| name.as_bytes() == &args[2][..])
        {
            Some((name, s)) => reply(Reply::Bulk(Bytes::from(graph(name, s)))),
            None => reply(Reply::Error(Cow::Owned(format!(
                "ERR No samples available for event '{}'",
                String::from_utf8_lossy(&args[2])
            )))),
        }
    } else if is("latest") && args.len() == 2 {
        let events = m.latency();
        let items = events
            .iter()
            .filter_map(|(name, s)| {
                let last = s.samples.back()?;
                Some(Reply::Array(vec![
                    Reply::Bulk(Bytes::from_static(name.as_bytes())),
                    Reply::Integer(last.time as i64),
                    Reply::Integer(last.millis as i64),
                    Reply::Integer(s.max as i64),
                ]))
            })
            .collect();
        reply(Reply::Array(items))
    } else if is("doctor") && args.len() == 2 {
        let threshold = m.latency_threshold_ms.load(Ordering::Relaxed);
        reply(Reply::Bulk(Bytes::from(doctor(threshold, &m.latency()))))
    } else if is("reset") {
        let mut events = m.latency();
        let before = events.len();
        if args.len() == 2 {
            events.clear();
        } else {
            for name in &args[2..] {
                events.retain(|e, _| !e.as_bytes().eq_ignore_ascii_case(name));
            }
        }
        reply(Reply::Integer((before - events.len()) as i64))
    } else {
        reply(syntax_error())
    }
}
