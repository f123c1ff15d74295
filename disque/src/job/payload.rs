//! The typed payload contract: a 12-byte header in front of every typed job
//! body (except plain contracts, see below), and the checks a consumer makes.
//!
//! This module imports nothing of the crate: it works on bytes, codec ids and
//! fingerprints; `job/mod.rs` glues it to the [`Job`](crate::Job) trait.
//!
//! ```text
//! offset 0  2 bytes  magic "DQ"
//! offset 2  1 byte   format version (1)
//! offset 3  1 byte   codec id (1: bincode, 2: json, 128–255: your own codecs)
//! offset 4  8 bytes  fingerprint of the job type, little-endian
//! offset 12 …        the codec's bytes
//! ```
//!
//! How the fingerprint is made, what changes it and when a consumer accepts
//! a payload is described on the `Job` derive ("Fingerprint and evolution").
//! A job type whose codec writes no header (`disque::PlainJson`) has a
//! body that is exactly the codec's bytes, as another language writes them.

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

/// What a consumer expects of a body: its job type's contract.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Contract<'a> {
    /// The Rust type name, for messages.
    pub type_name: &'a str,
    /// The codec id and name.
    pub codec: u8,
    pub codec_name: &'a str,
    /// Whether bodies start with a [`Header`].
    pub header: bool,
    /// Whether the codec is self-describing (then serde decides compatibility).
    pub self_describing: bool,
    /// The type's own fingerprint and the older ones it accepts.
    pub fingerprint: u64,
    pub accepted: &'a [u64],
}

/// Why a body is not a payload of the expected job type: what was expected
/// and what was found. [`Error::Decode`](crate::Error::Decode) carries the
/// same fields together with the job.
///
#[cfg_attr(feature = "derive", doc = "```")]
#[cfg_attr(not(feature = "derive"), doc = "```ignore")]
/// # use serde::{Deserialize, Serialize};
/// #[derive(Serialize, Deserialize, disque::Job, Debug)]
/// #[job(queue = "a")]
/// struct A { n: u32 }
///
/// let error = disque::decode_payload::<A>(b"not a payload").unwrap_err();
/// assert_eq!(error.found_fingerprint, None);
/// assert_eq!(error.expected_fingerprint, <A as disque::Job>::fingerprint());
/// assert!(error.reason.contains("found a body of 13 bytes"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PayloadError {
    /// The fingerprint of the consumer's job type.
    pub expected_fingerprint: u64,
    /// The fingerprint in the body's header (`None`: no header, or a plain contract).
    pub found_fingerprint: Option<u64>,
    /// What was expected and what was found, in words.
    pub reason: String,
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for PayloadError {}

/// The bytes a codec is to decode, and the header's fingerprint if there is one.
pub(crate) type Check<'a> = (&'a [u8], Option<u64>);

impl Contract<'_> {
    fn expected(&self) -> String {
        if self.header {
            format!(
                "expected a payload of `{}` (fingerprint {:#018x}, codec {})",
                self.type_name, self.fingerprint, self.codec_name
            )
        } else {
            format!(
                "expected a plain {} body of `{}`",
                self.codec_name, self.type_name
            )
        }
    }

    fn refuse(&self, found: Option<u64>, what: String) -> PayloadError {
        PayloadError {
            expected_fingerprint: self.fingerprint,
            found_fingerprint: found,
            reason: format!("{}, found {what}", self.expected()),
        }
    }

    /// Checks the header of `body` against this contract; on success the
    /// bytes to hand to the codec.
    ///
    /// `same_shape_version` answers, for a fingerprint that is not accepted,
    /// which version of this very shape wrote it (if any): a deliberately
    /// bumped version is never suggested for `accept`.
    pub fn check<'b>(
        &self,
        body: &'b [u8],
        same_shape_version: impl FnOnce(u64) -> Option<u32>,
    ) -> Result<Check<'b>, PayloadError> {
        if !self.header {
            return Ok((body, None));
        }
        let (header, bytes) = Header::parse(body).map_err(|e| self.refuse(None, e.to_string()))?;
        let found = Some(header.fingerprint);
        if header.codec != self.codec {
            let name = crate_codec_name(header.codec).unwrap_or("unknown");
            return Err(self.refuse(found, format!("codec {name} (id {})", header.codec)));
        }
        if header.fingerprint == self.fingerprint || self.accepted.contains(&header.fingerprint) {
            return Ok((bytes, found));
        }
        let fp = header.fingerprint;
        let hint = match same_shape_version(fp) {
            Some(version) => format!(
                ": the producer wrote version {version} of this type; versions are bumped to \
                 refuse older payloads, so this one is not accepted"
            ),
            None if self.self_describing => {
                // The version matches nothing known and the codec can tell
                // by itself: serde decides (see `mismatch_after_decode`).
                return Ok((bytes, found));
            }
            None => format!(
                ": the producer's job type has another shape (or version), and {} is not \
                 self-describing, so its bytes would decode into wrong values. Only if the \
                 producer's type encodes exactly like this one (say only names changed): \
                 #[job(accept = [{fp:#018x}])]",
                self.codec_name
            ),
        };
        Err(self.refuse(found, format!("fingerprint {fp:#018x}{hint}")))
    }

    /// The refusal for bytes that passed the header check but that the codec
    /// could not decode.
    pub fn undecodable(&self, found: Option<u64>, error: &dyn fmt::Display) -> PayloadError {
        let what = match found {
            Some(fp) if fp != self.fingerprint && !self.accepted.contains(&fp) => format!(
                "fingerprint {fp:#018x} whose bytes codec {} cannot decode as this type: {error}",
                self.codec_name
            ),
            _ => format!(
                "bytes that codec {} cannot decode: {error}",
                self.codec_name
            ),
        };
        self.refuse(found, what)
    }
}

/// The names of the codecs of this crate by id (kept here so that this
/// module imports nothing; `codec::builtin_name` answers the same).
pub(crate) fn crate_codec_name(id: u8) -> Option<&'static str> {
    match id {
        1 => Some("bincode"),
        2 => Some("json"),
        _ => None,
    }
}

/// Encodes a payload: the header (if the contract has one), then what
/// `write_body` appends.
pub(crate) fn encode<E>(
    header: Option<Header>,
    write_body: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<Vec<u8>, E> {
    let mut body = Vec::with_capacity(HEADER_LEN + 32);
    if let Some(header) = header {
        header.write(&mut body);
    }
    write_body(&mut body)?;
    Ok(body)
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The 64-bit FNV-1a hash of `shape`. A `const fn`.
pub const fn fingerprint(shape: &str) -> u64 {
    hash_bytes(FNV_OFFSET, shape.as_bytes())
}

/// Folds `part` into the fingerprint `hash`, after a separator byte (so that
/// `("ab", "c")` and `("a", "bc")` differ).
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

    fn contract(self_describing: bool) -> Contract<'static> {
        Contract {
            type_name: "T",
            codec: 1,
            codec_name: "bincode",
            header: true,
            self_describing,
            fingerprint: 7,
            accepted: &[9],
        }
    }

    fn body(codec: u8, fingerprint: u64) -> Vec<u8> {
        encode(Some(Header { codec, fingerprint }), |out| {
            out.push(0xAA);
            Ok::<(), ()>(())
        })
        .unwrap()
    }

    #[test]
    fn own_and_accepted_fingerprints_pass() {
        for fp in [7, 9] {
            let b = body(1, fp);
            assert_eq!(
                contract(false).check(&b, |_| None),
                Ok((&[0xAA][..], Some(fp)))
            );
        }
    }

    #[test]
    fn a_bumped_version_is_never_suggested_for_accept() {
        let e = contract(true).check(&body(1, 8), |_| Some(3)).unwrap_err();
        assert!(e.reason.contains("version 3 of this type"), "{e}");
        assert!(!e.reason.contains("accept ="), "{e}");
        assert_eq!(e.found_fingerprint, Some(8));
    }

    #[test]
    fn other_shapes_are_refused_by_bincode_and_left_to_serde_by_json() {
        let e = contract(false).check(&body(1, 8), |_| None).unwrap_err();
        assert!(e.reason.contains("not self-describing"), "{e}");
        assert!(
            e.reason.contains("#[job(accept = [0x0000000000000008])]"),
            "{e}"
        );
        assert!(contract(true).check(&body(1, 8), |_| None).is_ok());
    }

    #[test]
    fn other_codecs_and_headerless_bodies_are_refused() {
        let e = contract(false).check(&body(2, 7), |_| None).unwrap_err();
        assert!(e.reason.ends_with("found codec json (id 2)"), "{e}");
        let e = contract(false).check(b"{}", |_| None).unwrap_err();
        assert_eq!(e.found_fingerprint, None);
        assert!(e
            .reason
            .ends_with("found a body of 2 bytes starting with \"{}\""));
    }

    #[test]
    fn plain_contracts_take_the_whole_body() {
        let plain = Contract {
            header: false,
            ..contract(true)
        };
        assert_eq!(plain.check(b"{}", |_| None), Ok((&b"{}"[..], None)));
    }
}
