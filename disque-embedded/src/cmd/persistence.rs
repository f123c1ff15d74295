//! Persistence commands: BGREWRITEAOF, the `appendonly` family of CONFIG
//! parameters, and INFO's Persistence section — with Disque's replies.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::parse::{err, parse_ll};
use super::{reply, Ctx, Outcome};
use crate::aof::{self, AppendFsync};
use crate::frame::Reply;
use crate::shared::Shared;
use crate::state::Db;

pub(super) fn bgrewriteaof(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Outcome {
    if ctx.shared.aof.request_rewrite() {
        reply(Reply::Status(Cow::Borrowed(
            "Background append only file rewriting started",
        )))
    } else {
        reply(err(
            "ERR Background append only file rewriting already in progress",
        ))
    }
}

/// CONFIG GET's persistence parameters, with their current values.
pub(super) fn config_params(shared: &Shared) -> Vec<(&'static str, String)> {
    let s = shared.aof.settings();
    let dir = std::fs::canonicalize(&s.dir).unwrap_or(s.dir.clone());
    vec![
        (
            "appendonly",
            if s.enabled { "yes" } else { "no" }.to_owned(),
        ),
        ("appendfsync", s.fsync.as_str().to_owned()),
        ("appendfilename", s.filename.clone()),
        ("dir", dir.display().to_string()),
        ("auto-aof-rewrite-percentage", s.auto_percentage.to_string()),
        ("auto-aof-rewrite-min-size", s.auto_min_size.to_string()),
    ]
}

fn bad_format(value: &[u8], name: &[u8]) -> Reply {
    Reply::Error(Cow::Owned(format!(
        "ERR Invalid argument '{}' for CONFIG SET '{}'",
        String::from_utf8_lossy(value),
        String::from_utf8_lossy(name)
    )))
}

/// CONFIG SET of a persistence parameter: `None` if `name` is not one.
pub(super) fn config_set(shared: &Shared, db: &mut Db, name: &[u8], value: &[u8]) -> Option<Reply> {
    let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
    let ok = Reply::Status(Cow::Borrowed("OK"));
    if is("appendonly") {
        let enable = if value.eq_ignore_ascii_case(b"yes") {
            true
        } else if value.eq_ignore_ascii_case(b"no") {
            false
        } else {
            return Some(bad_format(value, name));
        };
        if !enable {
            aof::disable(shared, db);
        } else if let Err(e) = aof::enable(shared, db) {
            return Some(Reply::Error(Cow::Owned(format!("ERR {e}"))));
        }
        Some(ok)
    } else if is("appendfsync") {
        match String::from_utf8_lossy(value).parse::<AppendFsync>() {
            Ok(mode) => {
                shared.aof.update_settings(|s| s.fsync = mode);
                Some(ok)
            }
            Err(_) => Some(bad_format(value, name)),
        }
    } else if is("dir") {
        let dir = PathBuf::from(String::from_utf8_lossy(value).into_owned());
        if let Err(e) = std::fs::read_dir(&dir) {
            let msg = match e.kind() {
                std::io::ErrorKind::NotFound => "No such file or directory".to_owned(),
                _ => e.to_string(),
            };
            return Some(Reply::Error(Cow::Owned(format!(
                "ERR Changing directory: {msg}"
            ))));
        }
        shared.aof.update_settings(|s| s.dir = dir);
        Some(ok)
    } else if is("auto-aof-rewrite-percentage") || is("auto-aof-rewrite-min-size") {
        match parse_ll(value) {
            Some(v) if v >= 0 && !value.is_empty() => {
                let percentage = is("auto-aof-rewrite-percentage");
                shared.aof.update_settings(|s| {
                    if percentage {
                        s.auto_percentage = v as u64;
                    } else {
                        s.auto_min_size = v as u64;
                    }
                });
                Some(ok)
            }
            _ => Some(bad_format(value, name)),
        }
    } else {
        None
    }
}

/// INFO's Persistence section, with Disque's fields.
pub(super) fn info(shared: &Shared) -> Vec<(&'static str, String)> {
    let aof = &shared.aof;
    let st = &aof.stats;
    let yes = |b: bool| if b { "1" } else { "0" }.to_owned();
    let status = |ok: bool| if ok { "ok" } else { "err" }.to_owned();
    let mut lines = vec![
        ("loading", yes(aof.loading.load(Ordering::Relaxed))),
        ("aof_enabled", yes(aof.enabled())),
        ("aof_state", aof.state_name().to_owned()),
        ("aof_rewrite_in_progress", yes(aof.rewriting())),
        ("aof_rewrite_scheduled", "0".into()),
        (
            "aof_last_rewrite_time_sec",
            st.last_rewrite_secs.load(Ordering::Relaxed).to_string(),
        ),
        (
            "aof_current_rewrite_time_sec",
            aof.current_rewrite_secs().to_string(),
        ),
        (
            "aof_last_bgrewrite_status",
            status(st.last_rewrite_ok.load(Ordering::Relaxed)),
        ),
        (
            "aof_last_write_status",
            status(st.last_write_ok.load(Ordering::Relaxed)),
        ),
    ];
    if aof.enabled() {
        lines.extend([
            (
                "aof_current_size",
                st.current_size.load(Ordering::Relaxed).to_string(),
            ),
            (
                "aof_base_size",
                st.base_size.load(Ordering::Relaxed).to_string(),
            ),
            ("aof_pending_rewrite", "0".into()),
            ("aof_buffer_length", aof.pending_len().to_string()),
            (
                "aof_rewrite_buffer_length",
                st.rewrite_buffer_length.load(Ordering::Relaxed).to_string(),
            ),
            ("aof_pending_bio_fsync", "0".into()),
            ("aof_delayed_fsync", "0".into()),
        ]);
    }
    lines
}
