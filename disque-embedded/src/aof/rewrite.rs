//! BGREWRITEAOF without blocking clients: the job table is walked a chunk
//! at a time (each chunk under the state's lock for a moment), its jobs
//! written whole as ADD records to a new file. The records logged from the
//! moment the walk began are kept by the writer; at the end it appends them
//! to the new file, fsyncs it and renames it over the old one. Replaying
//! them over the snapshot is harmless: every record states a job's whole
//! state or absence, so the last one for each job wins.

use std::fs::OpenOptions;
use std::io::Write;
use std::sync::atomic::Ordering;

use super::{dir_of, failed, record, sync_dir, Swap};
use crate::shared::Shared;

/// Entries of the job table walked per lock of the state.
const CHUNK: usize = 1024;

/// Runs one rewrite (on its own thread) and reports how it ended.
pub fn run(shared: &Shared) {
    let aof = &shared.aof;
    let settings = aof.settings();
    let temp = settings.temp_path();
    let path = settings.path();
    let logging;
    let node_id;
    {
        let db = shared.db();
        logging = aof.enabled();
        if logging {
            aof.begin_capture();
        }
        node_id = db.node_id().to_owned();
    }
    let result = (|| -> std::io::Result<Option<Swap>> {
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&temp)
            .map_err(|e| failed(e, "creating", &temp))?;
        let mut buf = record::header(node_id.as_bytes());
        let mut size = 0u64;
        let mut cursor = Some(0u64);
        while let Some(from) = cursor {
            if aof.cancel.load(Ordering::Acquire) {
                return Ok(None);
            }
            cursor = shared.db().snapshot(from, CHUNK, &mut buf);
            if buf.len() >= 1 << 20 || cursor.is_none() {
                file.write_all(&buf)
                    .map_err(|e| failed(e, "writing", &temp))?;
                size += buf.len() as u64;
                buf.clear();
            }
        }
        if logging {
            return Ok(Some(Swap {
                file,
                temp: temp.clone(),
                path: path.clone(),
                size,
            }));
        }
        file.sync_all().map_err(|e| failed(e, "fsync of", &temp))?;
        std::fs::rename(&temp, &path).map_err(|e| failed(e, "renaming to", &path))?;
        let dir = dir_of(&path);
        sync_dir(dir).map_err(|e| failed(e, "fsync of the directory", dir))?;
        Ok(None)
    })();
    match result {
        Ok(Some(swap)) => {
            // The writer finishes it (and reports it done).
            let mut inner = aof.lock_inner();
            if inner.stop {
                drop(inner);
                tracing::info!("AOF rewrite abandoned: the append-only file was closed");
                let _ = std::fs::remove_file(&temp);
                aof.rewrite_done(false);
                return;
            }
            inner.swap = Some(swap);
            drop(inner);
            aof.wake.notify_one();
        }
        Ok(None) if aof.cancel.load(Ordering::Acquire) => {
            tracing::info!("AOF rewrite abandoned (appendonly turned off or shutdown)");
            let _ = std::fs::remove_file(&temp);
            abandon(shared);
        }
        Ok(None) => {
            tracing::info!("AOF rewrite done (persistence off): {}", path.display());
            aof.rewrite_done(true);
        }
        Err(e) => {
            tracing::error!("AOF rewrite failed: {e}");
            let _ = std::fs::remove_file(&temp);
            abandon(shared);
        }
    }
}

fn abandon(shared: &Shared) {
    let aof = &shared.aof;
    {
        let mut inner = aof.lock_inner();
        inner.capture_abort = true;
    }
    aof.wake.notify_one();
    aof.rewrite_done(false);
}
