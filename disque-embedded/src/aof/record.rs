//! The file format: a header, then records, each framed by its length and
//! a CRC-32 (see the crate docs, "Persistence", for the layout).

use crate::state::id::{JobKey, NODE_ID_LEN};
use crate::state::job::{Job, JobState};

/// The first 8 bytes of every file.
pub const MAGIC: &[u8; 8] = b"DQEAOF\r\n";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;
/// Bytes of the header: magic, version, node id, CRC-32.
pub const HEADER_LEN: usize = 8 + 4 + NODE_ID_LEN + 4;
/// Bytes before a record's payload: length, CRC-32.
pub const FRAME_LEN: usize = 8;
/// Largest payload accepted when reading (a job body is at most 3 GiB).
pub const MAX_PAYLOAD: u32 = u32::MAX - 1024;

/// A job was added (ADDJOB), or written whole by a rewrite.
pub const KIND_ADD: u8 = 1;
/// A job changed state or counters (delivery, NACK, WORKING, ENQUEUE,
/// DEQUEUE, re-queue after RETRY).
pub const KIND_UPDATE: u8 = 2;
/// A job is gone (ACKJOB, FASTACK, DELJOB, expiry).
pub const KIND_DEL: u8 = 3;
/// Every job is gone (DEBUG FLUSHALL).
pub const KIND_FLUSHALL: u8 = 4;

/// The header of a new file for node `node_id`.
pub fn header(node_id: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&VERSION.to_le_bytes());
    let mut id = [b'0'; NODE_ID_LEN];
    let n = node_id.len().min(NODE_ID_LEN);
    id[..n].copy_from_slice(&node_id[..n]);
    h.extend_from_slice(&id);
    let crc = crc32fast::hash(&h);
    h.extend_from_slice(&crc.to_le_bytes());
    h
}

/// Why a header is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// Not our magic (e.g. a real Disque's AOF, which is RESP text).
    NotOurs,
    /// A version this build cannot read.
    Version(u32),
    /// The header's checksum does not match.
    Checksum,
}

/// Checks a header and returns the node id it holds.
pub fn parse_header(h: &[u8; HEADER_LEN]) -> Result<String, HeaderError> {
    if &h[..8] != MAGIC {
        return Err(HeaderError::NotOurs);
    }
    let version = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
    let body = &h[..HEADER_LEN - 4];
    let crc = u32::from_le_bytes([h[52], h[53], h[54], h[55]]);
    if crc32fast::hash(body) != crc {
        return Err(HeaderError::Checksum);
    }
    if version != VERSION {
        return Err(HeaderError::Version(version));
    }
    let id = &h[12..12 + NODE_ID_LEN];
    if !id.iter().all(|c| c.is_ascii_hexdigit()) {
        return Err(HeaderError::Checksum);
    }
    Ok(String::from_utf8_lossy(id).into_owned())
}

/// Appends one framed record whose payload `fill` writes.
fn frame(out: &mut Vec<u8>, fill: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0u8; FRAME_LEN]);
    fill(out);
    let len = (out.len() - start - FRAME_LEN) as u32;
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    let mut h = crc32fast::Hasher::new();
    h.update(&len.to_le_bytes());
    h.update(&out[start + FRAME_LEN..]);
    out[start + 4..start + 8].copy_from_slice(&h.finalize().to_le_bytes());
}

/// The checksum a record of this payload carries.
pub fn checksum(len: u32, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&len.to_le_bytes());
    h.update(payload);
    h.finalize()
}

fn state_code(s: JobState) -> u8 {
    match s {
        JobState::WaitRepl => 0,
        JobState::Active => 1,
        JobState::Queued => 2,
        JobState::Acked => 3,
    }
}

fn state_of(code: u8) -> Option<JobState> {
    Some(match code {
        0 => JobState::WaitRepl,
        1 => JobState::Active,
        2 => JobState::Queued,
        3 => JobState::Acked,
        _ => return None,
    })
}

/// Appends an ADD record: the whole job.
pub fn add(out: &mut Vec<u8>, key: &JobKey, job: &Job) {
    frame(out, |p| {
        p.reserve(73 + job.queue.len() + job.body.len());
        p.push(KIND_ADD);
        p.extend_from_slice(&key.hi().to_le_bytes());
        p.extend_from_slice(&key.lo().to_le_bytes());
        p.extend_from_slice(&job.tail.to_le_bytes());
        p.extend_from_slice(&job.ttl_field.to_le_bytes());
        p.extend_from_slice(&job.ctime.to_le_bytes());
        p.extend_from_slice(&job.etime.to_le_bytes());
        p.extend_from_slice(&job.qtime.to_le_bytes());
        p.extend_from_slice(&job.retry.to_le_bytes());
        p.extend_from_slice(&job.delay.to_le_bytes());
        p.extend_from_slice(&job.nacks.to_le_bytes());
        p.extend_from_slice(&job.deliv.to_le_bytes());
        p.extend_from_slice(&job.repl.to_le_bytes());
        p.push(state_code(job.state));
        p.push(job.flags);
        p.extend_from_slice(&(job.queue.len() as u32).to_le_bytes());
        p.extend_from_slice(&job.queue);
        p.extend_from_slice(&(job.body.len() as u32).to_le_bytes());
        p.extend_from_slice(&job.body);
    });
}

/// Appends an UPDATE record: the job's state, flags, counters and next
/// queueing time.
pub fn update(out: &mut Vec<u8>, key: &JobKey, job: &Job) {
    frame(out, |p| {
        p.push(KIND_UPDATE);
        p.extend_from_slice(&key.hi().to_le_bytes());
        p.extend_from_slice(&key.lo().to_le_bytes());
        p.push(state_code(job.state));
        p.push(job.flags);
        p.extend_from_slice(&job.nacks.to_le_bytes());
        p.extend_from_slice(&job.deliv.to_le_bytes());
        p.extend_from_slice(&job.qtime.to_le_bytes());
    });
}

/// Appends a DEL record.
pub fn del(out: &mut Vec<u8>, key: &JobKey) {
    frame(out, |p| {
        p.push(KIND_DEL);
        p.extend_from_slice(&key.hi().to_le_bytes());
        p.extend_from_slice(&key.lo().to_le_bytes());
    });
}

/// Appends a FLUSHALL record.
pub fn flushall(out: &mut Vec<u8>) {
    frame(out, |p| p.push(KIND_FLUSHALL));
}

/// A job as an ADD record holds it.
#[derive(Debug)]
pub struct AddedJob<'a> {
    /// Its key.
    pub key: JobKey,
    /// The last 16 random bits of the id.
    pub tail: u16,
    /// The TTL field of the id.
    pub ttl_field: u16,
    /// Creation time (ms × 1 000 000).
    pub ctime: u64,
    /// Expire time, unix seconds.
    pub etime: u64,
    /// Next queueing, ms (0 = never).
    pub qtime: u64,
    /// RETRY, seconds.
    pub retry: u32,
    /// DELAY, seconds.
    pub delay: u32,
    /// NACKs.
    pub nacks: u32,
    /// Additional deliveries.
    pub deliv: u32,
    /// REPLICATE.
    pub repl: u16,
    /// State.
    pub state: JobState,
    /// Flags.
    pub flags: u8,
    /// Queue name.
    pub queue: &'a [u8],
    /// Body.
    pub body: &'a [u8],
}

/// The change an UPDATE record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Update {
    /// Its key.
    pub key: JobKey,
    /// New state.
    pub state: JobState,
    /// New flags.
    pub flags: u8,
    /// NACKs.
    pub nacks: u32,
    /// Additional deliveries.
    pub deliv: u32,
    /// Next queueing, ms.
    pub qtime: u64,
}

/// One decoded record.
#[derive(Debug)]
pub enum Record<'a> {
    /// ADD.
    Add(AddedJob<'a>),
    /// UPDATE.
    Update(Update),
    /// DEL.
    Del(JobKey),
    /// FLUSHALL.
    FlushAll,
}

/// A little-endian reader over a payload.
struct Cursor<'a> {
    b: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            return None;
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Option<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(u64::from_le_bytes(a))
    }
    fn key(&mut self) -> Option<JobKey> {
        let hi = self.u64()?;
        let lo = self.u64()?;
        Some(JobKey::from_parts(hi, lo))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

/// Decodes a payload whose checksum matched; `None` if it is not a record
/// this version knows (wrong kind, wrong length, bad state code).
pub fn decode(payload: &[u8]) -> Option<Record<'_>> {
    let mut c = Cursor { b: payload };
    let rec = match c.u8()? {
        KIND_ADD => Record::Add(AddedJob {
            key: c.key()?,
            tail: c.u16()?,
            ttl_field: c.u16()?,
            ctime: c.u64()?,
            etime: c.u64()?,
            qtime: c.u64()?,
            retry: c.u32()?,
            delay: c.u32()?,
            nacks: c.u32()?,
            deliv: c.u32()?,
            repl: c.u16()?,
            state: state_of(c.u8()?)?,
            flags: c.u8()?,
            queue: c.bytes()?,
            body: c.bytes()?,
        }),
        KIND_UPDATE => Record::Update(Update {
            key: c.key()?,
            state: state_of(c.u8()?)?,
            flags: c.u8()?,
            nacks: c.u32()?,
            deliv: c.u32()?,
            qtime: c.u64()?,
        }),
        KIND_DEL => Record::Del(c.key()?),
        KIND_FLUSHALL => Record::FlushAll,
        _ => return None,
    };
    c.b.is_empty().then_some(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn job() -> Job {
        Job {
            queue: Arc::from(&b"q1"[..]),
            body: bytes::Bytes::from_static(b"hello"),
            ctime: 1_700_000_000_000_000_000,
            etime: 1_700_086_400,
            qtime: 1_700_000_300_000,
            awake: 99,
            retry: 300,
            delay: 0,
            nacks: 2,
            deliv: 3,
            repl: 1,
            ttl_field: 0x05a1,
            tail: 0xbeef,
            state: JobState::Queued,
            flags: 3,
        }
    }

    #[test]
    fn records_round_trip() {
        let key = JobKey::from_parts(1, 2);
        let j = job();
        let mut out = Vec::new();
        add(&mut out, &key, &j);
        update(&mut out, &key, &j);
        del(&mut out, &key);
        flushall(&mut out);
        let mut pos = 0;
        let mut kinds = Vec::new();
        while pos < out.len() {
            let len = u32::from_le_bytes(out[pos..pos + 4].try_into().unwrap());
            let crc = u32::from_le_bytes(out[pos + 4..pos + 8].try_into().unwrap());
            let payload = &out[pos + 8..pos + 8 + len as usize];
            assert_eq!(checksum(len, payload), crc);
            match decode(payload).unwrap() {
                Record::Add(a) => {
                    assert_eq!(a.key, key);
                    assert_eq!((a.queue, a.body), (&b"q1"[..], &b"hello"[..]));
                    assert_eq!((a.ctime, a.etime, a.qtime), (j.ctime, j.etime, j.qtime));
                    assert_eq!((a.retry, a.nacks, a.deliv, a.tail), (300, 2, 3, 0xbeef));
                    assert_eq!(
                        (a.state, a.flags, a.ttl_field),
                        (JobState::Queued, 3, 0x05a1)
                    );
                    kinds.push(1);
                }
                Record::Update(u) => {
                    assert_eq!(
                        (u.key, u.state, u.nacks, u.deliv),
                        (key, JobState::Queued, 2, 3)
                    );
                    kinds.push(2);
                }
                Record::Del(k) => {
                    assert_eq!(k, key);
                    kinds.push(3);
                }
                Record::FlushAll => kinds.push(4),
            }
            pos += 8 + len as usize;
        }
        assert_eq!(kinds, [1, 2, 3, 4]);
    }

    #[test]
    fn header_round_trips_and_rejects_others() {
        let id = b"0123456789abcdef0123456789abcdef01234567";
        let h: [u8; HEADER_LEN] = header(id).try_into().unwrap();
        assert_eq!(parse_header(&h).unwrap().as_bytes(), id);
        let mut bad = h;
        bad[20] ^= 1;
        assert_eq!(parse_header(&bad), Err(HeaderError::Checksum));
        let mut resp = [0u8; HEADER_LEN];
        resp[..8].copy_from_slice(b"*2\r\n$7\r\n");
        assert_eq!(parse_header(&resp), Err(HeaderError::NotOurs));
    }

    #[test]
    fn trailing_bytes_or_unknown_kinds_are_refused() {
        assert!(decode(&[9]).is_none());
        assert!(decode(&[KIND_FLUSHALL, 0]).is_none());
        assert!(decode(&[KIND_DEL, 1, 2]).is_none());
    }
}
