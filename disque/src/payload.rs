//! The typed payload contract: a 12-byte header in front of every typed job body.
//!
//! ```text
//! offset 0  2 bytes  magic "DQ"
//! offset 2  1 byte   format version (1)
//! offset 3  1 byte   codec id (1: bincode, 2: json, 128–255: your own codecs)
//! offset 4  8 bytes  fingerprint of the job type's shape, little-endian
//! offset 12 …        the codec's bytes
//! ```
//!
//! The fingerprint is a 64-bit FNV-1a hash of a canonical description of the
//! job type that `#[derive(Job)]` writes at compile time: its name, its field
//! names and their type tokens as written (variants too for enums), and its
//! `version` (1 unless `#[job(version = N)]` says otherwise). For a generic job
//! type the run-time [`std::any::type_name`] of each type parameter is hashed in
//! as well, so `Resize<Png>` and `Resize<Jpeg>` differ (those names may change
//! between compiler versions: build both sides with the same toolchain, or
//! list older fingerprints with `accept`).
//!
//! A consumer refuses (with [`Error::Decode`](crate::Error::Decode)) a payload
//! whose header is missing, whose codec differs from its own, or whose
//! fingerprint is neither its own nor one of the fingerprints its job type
//! accepts (`#[job(accept = [0x…])]`). A raw consumer sees the whole body,
//! header included; [`Header::parse`] splits it.

use std::fmt;

/// The first two bytes of every typed payload.
pub const MAGIC: [u8; 2] = *b"DQ";
/// The layout version of the header written by this crate.
pub const FORMAT_VERSION: u8 = 1;
/// Length of the header in bytes.
pub const HEADER_LEN: usize = 12;

/// The header of a typed payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The codec id of the bytes that follow.
    pub codec: u8,
    /// The fingerprint of the job type that wrote them.
    pub fingerprint: u64,
}

impl Header {
    /// Appends the header to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&MAGIC);
        out.push(FORMAT_VERSION);
        out.push(self.codec);
        out.extend_from_slice(&self.fingerprint.to_le_bytes());
    }

    /// Splits a body into its header and the codec's bytes.
    pub fn parse(body: &[u8]) -> Result<(Header, &[u8]), HeaderError> {
        let Some((head, rest)) = body.split_first_chunk::<HEADER_LEN>() else {
            return Err(HeaderError::new(body));
        };
        let [m0, m1, version, codec, fingerprint @ ..] = *head;
        if [m0, m1] != MAGIC || version != FORMAT_VERSION {
            return Err(HeaderError::new(body));
        }
        Ok((
            Header {
                codec,
                fingerprint: u64::from_le_bytes(fingerprint),
            },
            rest,
        ))
    }
}

/// A body that does not start with a typed payload header (version 1).
///
/// Its `Display` describes what was found instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderError {
    found: String,
}

impl HeaderError {
    fn new(body: &[u8]) -> Self {
        const PREVIEW: usize = 16;
        let shown = &body[..body.len().min(PREVIEW)];
        let more = if body.len() > PREVIEW { "…" } else { "" };
        let found = if body.len() >= 3 && body[..2] == MAGIC && body[2] != FORMAT_VERSION {
            format!("a payload header of unknown format version {}", body[2])
        } else {
            format!(
                "a body of {} bytes starting with \"{}{more}\"",
                body.len(),
                shown.escape_ascii()
            )
        };
        HeaderError { found }
    }
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.found)
    }
}

impl std::error::Error for HeaderError {}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The 64-bit FNV-1a hash of `shape`: the fingerprint of a job type whose
/// canonical description is `shape`. A `const fn`, evaluated at compile time
/// in the code `#[derive(Job)]` generates.
pub const fn fingerprint(shape: &str) -> u64 {
    hash_bytes(FNV_OFFSET, shape.as_bytes())
}

/// Folds `part` into the fingerprint `hash`, after a separator byte (so that
/// `("ab", "c")` and `("a", "bc")` differ). Generic job types fold in the
/// type names of their parameters this way.
pub const fn fingerprint_extend(hash: u64, part: &str) -> u64 {
    hash_bytes(hash_bytes(hash, &[0]), part.as_bytes())
}

const fn hash_bytes(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(FNV_PRIME);
        i += 1;
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        let header = Header {
            codec: 200,
            fingerprint: u64::MAX - 5,
        };
        let mut body = Vec::new();
        header.write(&mut body);
        body.extend_from_slice(b"\0\r\n");
        assert_eq!(Header::parse(&body), Ok((header, &b"\0\r\n"[..])));
    }

    #[test]
    fn short_or_foreign_bodies_are_refused() {
        assert!(Header::parse(b"").is_err());
        assert!(Header::parse(b"DQ\x01\x01short").is_err());
        let long = Header::parse(b"{\"json\": \"without header\"}").unwrap_err();
        assert_eq!(
            long.to_string(),
            "a body of 26 bytes starting with \"{\\\"json\\\": \\\"withou…\""
        );
    }

    #[test]
    fn unknown_format_version_is_named() {
        let error = Header::parse(b"DQ\x07\x01\0\0\0\0\0\0\0\0").unwrap_err();
        assert_eq!(
            error.to_string(),
            "a payload header of unknown format version 7"
        );
    }

    #[test]
    fn fnv1a_known_vectors() {
        assert_eq!(fingerprint("foobar"), 0x85944171f73967e8);
        assert_eq!(
            fingerprint_extend(FNV_OFFSET, ""),
            hash_bytes(FNV_OFFSET, &[0])
        );
    }

    #[test]
    fn extend_separates_parts() {
        let a = fingerprint_extend(fingerprint_extend(FNV_OFFSET, "ab"), "c");
        let b = fingerprint_extend(fingerprint_extend(FNV_OFFSET, "a"), "bc");
        assert_ne!(a, b);
    }

    // The examples of these crate-private items (formerly doc tests).
    #[test]
    fn doc_example_1() -> Result<(), crate::Error> {
        use crate::payload::Header;

        let mut body = Vec::new();
        Header {
            codec: 1,
            fingerprint: 0x0123_4567_89ab_cdef,
        }
        .write(&mut body);
        body.extend_from_slice(b"rest");
        let (header, rest) = Header::parse(&body).unwrap();
        assert_eq!(header.fingerprint, 0x0123_4567_89ab_cdef);
        assert_eq!(rest, b"rest");
        Ok(())
    }

    #[test]
    fn doc_example_2() -> Result<(), crate::Error> {
        use crate::payload::{Header, HEADER_LEN};

        let mut out = Vec::new();
        Header {
            codec: 2,
            fingerprint: 1,
        }
        .write(&mut out);
        assert_eq!(out.len(), HEADER_LEN);
        assert_eq!(&out[..4], b"DQ\x01\x02");
        Ok(())
    }

    #[test]
    fn doc_example_3() -> Result<(), crate::Error> {
        use crate::payload::Header;

        assert!(Header::parse(b"plain text").is_err());
        Ok(())
    }

    #[test]
    fn doc_example_4() -> Result<(), crate::Error> {
        let error = crate::payload::Header::parse(b"hi").unwrap_err();
        assert_eq!(error.to_string(), "a body of 2 bytes starting with \"hi\"");
        Ok(())
    }

    #[test]
    fn doc_example_5() -> Result<(), crate::Error> {
        // The FNV-1a test vectors.
        assert_eq!(crate::payload::fingerprint(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(crate::payload::fingerprint("a"), 0xaf63_dc4c_8601_ec8c);
        Ok(())
    }

    #[test]
    fn doc_example_6() -> Result<(), crate::Error> {
        use crate::payload::{fingerprint, fingerprint_extend};

        let base = fingerprint("struct Resize<T>{image:T}");
        assert_ne!(
            fingerprint_extend(base, "u8"),
            fingerprint_extend(base, "u16")
        );
        Ok(())
    }
}
