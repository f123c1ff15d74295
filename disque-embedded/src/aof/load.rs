//! Reading the file back at start.
//!
//! A record that is cut short or fails its checksum with no valid record
//! after it is the torn tail of a crash in the middle of a write: the file
//! is truncated there, with a log line, and the node starts. A bad record
//! followed by valid ones is corruption: the node refuses to start with an
//! error naming its offset (truncating would silently drop the valid
//! records after it).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, ErrorKind, Read};
use std::path::Path;
use std::sync::Arc;

use super::record::{self, HeaderError, Record, FRAME_LEN, HEADER_LEN, MAX_PAYLOAD};
use super::{dir_of, sync_dir, Settings};
use crate::state::id::JobKey;
use crate::state::job::Job;
use crate::state::Db;
use bytes::Bytes;

fn invalid(path: &Path, msg: String) -> std::io::Error {
    std::io::Error::new(ErrorKind::InvalidData, format!("{}: {msg}", path.display()))
}

/// What reading the records found.
enum End {
    /// Every record was read.
    Clean,
    /// A bad record at this offset, for this reason.
    Bad(u64, &'static str),
}

/// Loads the file of `settings` into `db` (creating it, with a header
/// holding the node id, if it is missing or empty), truncates a torn tail,
/// and returns the file opened for appending and its size.
pub fn open(settings: &Settings, db: &mut Db, now: u64) -> std::io::Result<(File, u64)> {
    let path = settings.path();
    // A rewrite cut short by a crash leaves its snapshot: never used.
    let temp = settings.temp_path();
    match std::fs::remove_file(&temp) {
        Ok(()) => tracing::info!("{}: removed, left by a rewrite cut short", temp.display()),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => tracing::warn!("{}: cannot remove it: {e}", temp.display()),
    }
    let len = match std::fs::metadata(&path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == ErrorKind::NotFound => 0,
        Err(e) => return Err(e),
    };
    if len < HEADER_LEN as u64 {
        return create(&path, db, len);
    }
    let started = std::time::Instant::now();
    let mut reader = BufReader::with_capacity(1 << 20, File::open(&path)?);
    let mut header = [0u8; HEADER_LEN];
    reader.read_exact(&mut header)?;
    let node_id = record::parse_header(&header).map_err(|e| match e {
        HeaderError::NotOurs => invalid(
            &path,
            "not a disque-embedded append-only file (bad magic; a real Disque's AOF cannot be loaded)"
                .into(),
        ),
        HeaderError::Version(v) => invalid(
            &path,
            format!("append-only file format version {v}, this build reads version {}", record::VERSION),
        ),
        HeaderError::Checksum => invalid(&path, "corrupt header at offset 0".into()),
    })?;
    db.restore_node_id(node_id);
    let mut queues: HashMap<Vec<u8>, Arc<[u8]>> = HashMap::new();
    let mut last_queue: Option<Arc<[u8]>> = None;
    // The jobs, by key, until the whole file is read (then moved to the
    // state's table at once, sized for them).
    let mut jobs: HashMap<(u64, u64), Box<Job>> = HashMap::new();
    let mut payload = Vec::new();
    let mut pos = HEADER_LEN as u64;
    let mut records = 0u64;
    let end = loop {
        if pos == len {
            break End::Clean;
        }
        if len - pos < FRAME_LEN as u64 {
            break End::Bad(pos, "record header cut short");
        }
        let mut frame = [0u8; FRAME_LEN];
        reader.read_exact(&mut frame)?;
        let plen = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]);
        let crc = u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]);
        if plen == 0 || plen > MAX_PAYLOAD {
            break End::Bad(pos, "impossible record length");
        }
        if u64::from(plen) > len - pos - FRAME_LEN as u64 {
            break End::Bad(pos, "record cut short");
        }
        payload.resize(plen as usize, 0);
        reader.read_exact(&mut payload)?;
        if record::checksum(plen, &payload) != crc {
            break End::Bad(pos, "checksum mismatch");
        }
        let Some(rec) = record::decode(&payload) else {
            return Err(invalid(
                &path,
                format!("corrupt record at offset {pos}: checksum ok but not a record this version knows"),
            ));
        };
        match rec {
            Record::Add(a) => {
                // Consecutive jobs mostly share their queue.
                let queue = match &last_queue {
                    Some(q) if q[..] == *a.queue => q.clone(),
                    _ => match queues.get(a.queue) {
                        Some(q) => q.clone(),
                        None => {
                            let q: Arc<[u8]> = Arc::from(a.queue);
                            queues.insert(a.queue.to_vec(), q.clone());
                            q
                        }
                    },
                };
                last_queue = Some(queue.clone());
                let job = Box::new(Job {
                    queue,
                    body: Bytes::copy_from_slice(a.body),
                    ctime: a.ctime,
                    etime: a.etime,
                    qtime: a.qtime,
                    awake: 0,
                    retry: a.retry,
                    delay: a.delay,
                    nacks: a.nacks,
                    deliv: a.deliv,
                    repl: a.repl,
                    ttl_field: a.ttl_field,
                    tail: a.tail,
                    state: a.state,
                    flags: a.flags,
                });
                // The same job twice (a rewrite's snapshot, then the records
                // kept during it): the later one wins.
                jobs.insert((a.key.hi(), a.key.lo()), job);
            }
            Record::Update(u) => {
                // A job not known (e.g. one the file no longer holds) is
                // ignored.
                if let Some(job) = jobs.get_mut(&(u.key.hi(), u.key.lo())) {
                    job.state = u.state;
                    job.flags = u.flags;
                    job.nacks = u.nacks;
                    job.deliv = u.deliv;
                    job.qtime = u.qtime;
                }
            }
            Record::Del(key) => {
                jobs.remove(&(key.hi(), key.lo()));
            }
            Record::FlushAll => jobs.clear(),
        }
        records += 1;
        pos += (FRAME_LEN as u64) + u64::from(plen);
    };
    drop(reader);
    let mut size = len;
    if let End::Bad(at, why) = end {
        if valid_record_after(&path, at)? {
            return Err(invalid(
                &path,
                format!(
                    "corrupt record at offset {at} ({why}) with valid records after it; \
                     refusing to start (move the file away or cut it at offset {at} to start without them)"
                ),
            ));
        }
        let file = OpenOptions::new().write(true).open(&path)?;
        file.set_len(at)?;
        file.sync_all()?;
        tracing::warn!(
            "{}: torn last record at offset {at} ({why}), from a crash in the middle of a write: \
             truncated {} bytes",
            path.display(),
            len - at
        );
        size = at;
    }
    let loaded = jobs
        .into_iter()
        .map(|((hi, lo), job)| (JobKey::from_parts(hi, lo), job))
        .collect();
    let jobs = db.restore_finish(loaded, now);
    tracing::info!(
        "{}: loaded {records} records, {jobs} jobs, in {:.3} s",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    let file = OpenOptions::new().append(true).open(&path)?;
    Ok((file, size))
}

/// Whether a valid record starts anywhere after offset `at`.
fn valid_record_after(path: &Path, at: u64) -> std::io::Result<bool> {
    let mut f = File::open(path)?;
    let mut rest = Vec::new();
    std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(at))?;
    f.read_to_end(&mut rest)?;
    for i in 1..rest.len().saturating_sub(FRAME_LEN) {
        let b = &rest[i..];
        let plen = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        if plen == 0 || plen as usize > b.len() - FRAME_LEN {
            continue;
        }
        let crc = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
        let payload = &b[FRAME_LEN..FRAME_LEN + plen as usize];
        if record::checksum(plen, payload) == crc && record::decode(payload).is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A new file (or one whose header a crash cut short: it holds no record).
fn create(path: &Path, db: &Db, len: u64) -> std::io::Result<(File, u64)> {
    if len > 0 {
        let mut start = Vec::new();
        File::open(path)?.read_to_end(&mut start)?;
        if !record::MAGIC.starts_with(&start[..start.len().min(record::MAGIC.len())]) {
            return Err(invalid(
                path,
                "not a disque-embedded append-only file (bad magic)".into(),
            ));
        }
        tracing::warn!(
            "{}: header cut short ({len} bytes) by a crash: starting a new file",
            path.display()
        );
    }
    let header = record::header(db.node_id().as_bytes());
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)?;
    std::io::Write::write_all(&mut file, &header)?;
    file.sync_all()?;
    sync_dir(dir_of(path))?;
    drop(file);
    let file = OpenOptions::new().append(true).open(path)?;
    Ok((file, header.len() as u64))
}
