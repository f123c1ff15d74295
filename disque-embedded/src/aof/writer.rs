//! The writer thread: takes every pending record at once, writes them with
//! one `write`, and under `appendfsync always` makes them durable with one
//! `fsync` before publishing them as acknowledged (group commit: the
//! records of every client that arrived meanwhile share that `fsync`).
//! Under `everysec` it fsyncs once a second; under `no`, never (but at
//! shutdown). It also swaps in a finished rewrite.

use std::fs::File;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{dir_of, failed, sync_dir, Aof, AppendFsync, Swap};

/// How long a failed write waits before it is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// `everysec`'s period.
const SECOND: Duration = Duration::from_secs(1);
/// How often pending records are written when not under `always` (the
/// appenders do not wake the writer for each record then).
pub const LAZY_WRITE: Duration = Duration::from_millis(5);

/// Runs until [`super::Inner::stop`]; `file` is `None` while the first
/// rewrite of an AOF turned on at run time is still running.
pub fn run(aof: &Aof, mut file: Option<File>) {
    let mut buf: Vec<u8> = Vec::new();
    // The records kept for a running rewrite: (logical offset where it
    // began, the records from there on).
    let mut capture: Option<(u64, Vec<u8>)> = None;
    let mut last_sync = Instant::now();
    let mut dirty = false;
    loop {
        let (start, end, swap, stop, capture_from);
        {
            let mut inner = aof.lock_inner();
            let mut lazy_waited = false;
            loop {
                let always = aof.fsync_mode() == AppendFsync::Always;
                if (!inner.pending.is_empty() && (always || lazy_waited))
                    || inner.swap.is_some()
                    || inner.stop
                    || inner.capture_abort
                {
                    break;
                }
                let wait = if !inner.pending.is_empty() {
                    lazy_waited = true;
                    LAZY_WRITE
                } else if dirty && aof.fsync_mode() == AppendFsync::EverySec {
                    match (last_sync + SECOND).checked_duration_since(Instant::now()) {
                        Some(d) if !d.is_zero() => d.min(LAZY_WRITE),
                        _ => break,
                    }
                } else {
                    SECOND
                };
                inner = aof
                    .wake
                    .wait_timeout(inner, wait)
                    .map_or_else(|e| e.into_inner().0, |(g, _)| g);
            }
            start = inner.submitted - inner.pending.len() as u64;
            buf.clear();
            std::mem::swap(&mut buf, &mut inner.pending);
            end = inner.submitted;
            swap = inner.swap.take();
            stop = inner.stop;
            if inner.capture_abort {
                inner.capture_abort = false;
                inner.capture_from = None;
                capture = None;
            }
            capture_from = inner.capture_from;
        }
        if capture.is_none() {
            capture = capture_from.map(|from| (from, Vec::new()));
        }
        if let Some((from, kept)) = capture.as_mut() {
            let skip = usize::try_from(from.saturating_sub(start)).unwrap_or(usize::MAX);
            if skip < buf.len() {
                kept.extend_from_slice(&buf[skip..]);
            }
            aof.stats
                .rewrite_buffer_length
                .store(kept.len() as u64, Ordering::Relaxed);
        }
        if let Some(swap) = swap {
            let kept = capture.take().map(|(_, k)| k).unwrap_or_default();
            aof.lock_inner().capture_from = None;
            aof.stats.rewrite_buffer_length.store(0, Ordering::Relaxed);
            match finish_rewrite(swap, &kept) {
                Ok((new_file, size)) => {
                    aof.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
                    file = Some(new_file);
                    aof.stats.current_size.store(size, Ordering::Relaxed);
                    aof.stats.base_size.store(size, Ordering::Relaxed);
                    dirty = false;
                    last_sync = Instant::now();
                    aof.publish_acked(end);
                    aof.rewrite_done(true);
                    tracing::info!("AOF rewrite done: {size} bytes");
                    if stop {
                        return;
                    }
                    // `buf` is in the new file (as kept records) or older
                    // than the snapshot: nothing more to write.
                    continue;
                }
                Err(e) => {
                    tracing::error!("AOF rewrite failed at the swap: {e}");
                    aof.rewrite_done(false);
                }
            }
        }
        if let Some(f) = file.as_mut() {
            if !buf.is_empty() {
                let per_record = aof.no_group_commit && aof.fsync_mode() == AppendFsync::Always;
                write_with_retry(aof, f, &buf, start, per_record, stop);
                dirty = !per_record;
            }
            let mode = aof.fsync_mode();
            let due = match mode {
                AppendFsync::Always => true,
                AppendFsync::EverySec => last_sync.elapsed() >= SECOND,
                AppendFsync::No => false,
            };
            if dirty && (due || stop) {
                #[cfg(test)]
                aof.hooks.before_fsync();
                match f.sync_data() {
                    Ok(()) => {
                        aof.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
                        dirty = false;
                        last_sync = Instant::now();
                    }
                    Err(e) => {
                        tracing::error!("AOF fsync failed: {e}");
                        aof.stats.last_write_ok.store(false, Ordering::Relaxed);
                    }
                }
            }
            if mode != AppendFsync::Always || !dirty {
                aof.publish_acked(end);
            }
        }
        if stop {
            return;
        }
    }
}

/// Writes `buf` (records from logical offset `start`), retrying after a
/// failure (the file is cut back to its last good size first, so a failed
/// write never leaves half a record in the middle). `per_record`: one
/// write and one `fsync` per record (the benchmark's baseline).
fn write_with_retry(aof: &Aof, f: &mut File, buf: &[u8], start: u64, per_record: bool, stop: bool) {
    let good = aof.stats.current_size.load(Ordering::Relaxed);
    loop {
        let result = if per_record {
            write_each(aof, f, buf, start)
        } else {
            f.write_all(buf)
        };
        match result {
            Ok(()) => {
                aof.stats
                    .current_size
                    .store(good + buf.len() as u64, Ordering::Relaxed);
                aof.stats.last_write_ok.store(true, Ordering::Relaxed);
                return;
            }
            Err(e) => {
                tracing::error!("AOF write failed (retrying in 1 s): {e}");
                aof.stats.last_write_ok.store(false, Ordering::Relaxed);
                let _ = f.set_len(good);
                if stop {
                    return;
                }
                std::thread::sleep(RETRY_AFTER);
            }
        }
    }
}

/// Writes and fsyncs each record alone, publishing each as acknowledged.
fn write_each(aof: &Aof, f: &mut File, buf: &[u8], start: u64) -> std::io::Result<()> {
    let mut i = 0;
    while i + super::record::FRAME_LEN <= buf.len() {
        let len = u32::from_le_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]) as usize;
        let end = (i + super::record::FRAME_LEN + len).min(buf.len());
        f.write_all(&buf[i..end])?;
        f.sync_data()?;
        aof.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
        aof.publish_acked(start + end as u64);
        i = end;
    }
    if i < buf.len() {
        f.write_all(&buf[i..])?;
    }
    Ok(())
}

/// Appends the records kept during the rewrite to the snapshot, makes it
/// durable and renames it over the file.
fn finish_rewrite(swap: Swap, kept: &[u8]) -> std::io::Result<(File, u64)> {
    let Swap {
        mut file,
        temp,
        path,
        size,
    } = swap;
    let result = (|| {
        file.write_all(kept)
            .map_err(|e| failed(e, "appending the records kept during the rewrite to", &temp))?;
        file.sync_all().map_err(|e| failed(e, "fsync of", &temp))?;
        std::fs::rename(&temp, &path).map_err(|e| failed(e, "renaming to", &path))?;
        let dir = dir_of(&path);
        sync_dir(dir).map_err(|e| failed(e, "fsync of the directory", dir))
    })();
    match result {
        Ok(()) => Ok((file, size + kept.len() as u64)),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(e)
        }
    }
}
