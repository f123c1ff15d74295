//! A connection's replies on their way out: encoded into one buffer, with
//! large bodies shared rather than copied. Most commands return a [`Reply`]
//! that is encoded here; GETJOB writes its jobs here directly, which spares
//! building (and freeing) a tree of replies per job.

use bytes::{BufMut, Bytes, BytesMut};

use crate::frame::{encode_number, Reply};
use crate::state::id::JOB_ID_LEN;

/// Bulk replies this long or longer are written from the job's own bytes
/// rather than copied into the buffer.
pub const SHARE_BULK_FROM: usize = 64 * 1024;

/// Encoded replies not yet written: `chunks` first, then `buf`.
#[derive(Debug, Default)]
pub struct Replies {
    /// Replies encoded after the last chunk.
    pub buf: BytesMut,
    /// Replies already encoded, before `buf`: large bodies are shared, not
    /// copied (see [`Reply::encode_sharing`]).
    pub chunks: Vec<Bytes>,
}

impl Replies {
    /// Empty, with `capacity` bytes of buffer.
    pub fn with_capacity(capacity: usize) -> Replies {
        Replies {
            buf: BytesMut::with_capacity(capacity),
            chunks: Vec::new(),
        }
    }

    /// Forgets every reply encoded.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.chunks.clear();
    }

    /// Encodes `reply`.
    pub fn push(&mut self, reply: &Reply) {
        reply.encode_sharing(&mut self.buf, SHARE_BULK_FROM, &mut self.chunks);
    }

    /// `*n`: an array of the `n` replies encoded next.
    pub fn array(&mut self, n: usize) {
        encode_number(&mut self.buf, b'*', n as i64);
    }

    /// Bytes already in RESP (e.g. a constant bulk), as they are.
    pub fn encoded(&mut self, resp: &[u8]) {
        self.buf.extend_from_slice(resp);
    }

    /// `:n`.
    pub fn integer(&mut self, n: i64) {
        encode_number(&mut self.buf, b':', n);
    }

    /// A bulk string, copied.
    pub fn bulk(&mut self, bytes: &[u8]) {
        self.buf.reserve(bytes.len() + 16);
        encode_number(&mut self.buf, b'$', bytes.len() as i64);
        self.buf.put_slice(bytes);
        self.buf.put_slice(b"\r\n");
    }

    /// A job id as a bulk string (the same bytes as [`Replies::bulk`]), in
    /// one fixed-size write.
    pub fn job_id(&mut self, id: &[u8; JOB_ID_LEN]) {
        const HEADER: &[u8; 5] = b"$40\r\n";
        const _: () = assert!(JOB_ID_LEN == 40);
        let mut line = [0u8; HEADER.len() + JOB_ID_LEN + 2];
        line[..HEADER.len()].copy_from_slice(HEADER);
        line[HEADER.len()..HEADER.len() + JOB_ID_LEN].copy_from_slice(id);
        line[HEADER.len() + JOB_ID_LEN..].copy_from_slice(b"\r\n");
        self.buf.extend_from_slice(&line);
    }

    /// A bulk string, shared when large (the same bytes as
    /// `push(&Reply::Bulk(body.clone()))`).
    pub fn body(&mut self, body: &Bytes) {
        if body.len() < SHARE_BULK_FROM {
            return self.bulk(body);
        }
        encode_number(&mut self.buf, b'$', body.len() as i64);
        self.chunks.push(self.buf.split().freeze());
        self.chunks.push(body.clone());
        self.buf.put_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the connection writes: the chunks, then the buffer.
    fn sent(r: &Replies) -> Vec<u8> {
        let mut out = r.chunks.concat();
        out.extend_from_slice(&r.buf);
        out
    }

    #[test]
    fn cleared_replies_are_gone() {
        // The connection clears the replies of a muted client (CLIENT REPLY
        // OFF) after every command: kept, they would grow without end.
        let mut r = Replies::default();
        r.bulk(b"x");
        r.push(&Reply::Bulk(vec![7; SHARE_BULK_FROM].into()));
        assert!(!sent(&r).is_empty() && !r.chunks.is_empty());
        r.clear();
        assert!(sent(&r).is_empty());
        assert!(r.chunks.is_empty());
    }

    #[test]
    fn direct_encoding_matches_the_reply_tree() {
        for len in [
            0,
            17,
            SHARE_BULK_FROM - 1,
            SHARE_BULK_FROM,
            SHARE_BULK_FROM + 5,
        ] {
            let body = Bytes::from(vec![b'x'; len]);
            let tree = Reply::Array(vec![
                Reply::Bulk(Bytes::from_static(b"q")),
                Reply::Bulk(body.clone()),
                Reply::Integer(-7),
            ]);
            let mut a = Replies::default();
            a.push(&tree);
            let mut b = Replies::default();
            b.array(3);
            b.bulk(b"q");
            b.body(&body);
            b.integer(-7);
            assert_eq!(sent(&a), sent(&b), "{len}");
            assert_eq!(a.chunks.len(), b.chunks.len(), "{len}");
        }
        let id: [u8; JOB_ID_LEN] = std::array::from_fn(|i| b'a' + i as u8);
        let mut a = Replies::default();
        a.bulk(&id);
        let mut b = Replies::default();
        b.job_id(&id);
        assert_eq!(sent(&a), sent(&b));
    }
}
