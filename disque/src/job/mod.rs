//! Typed jobs: the [`Job`] trait implemented by `#[derive(Job)]`, the payload
//! contract between producers and consumers, and [`JobSet`] for consuming
//! several job types.
//!
//! Layering (no import circle): [`payload`] (header, fingerprint hashing,
//! the consumer's checks), [`codec`] and `dead_letter` import nothing of the
//! crate; `shape` traces a type's serde shape; this module glues them to the
//! [`Job`] trait; `delivery.rs` uses this module, and `set.rs` (the
//! [`JobSet`] trait, whose values hold deliveries) uses `delivery.rs`.

use std::any::type_name;

use crate::{error::Error, options::JobOptions};

pub mod codec;
pub(crate) mod dead_letter;
pub mod payload;
mod set;
pub(crate) mod shape;

pub use codec::Codec;
pub use set::{support, JobSet};

use payload::{Contract, Header, PayloadError};
use shape::Traced;

/// A job type: its queue, priority, default options, codec and fingerprint.
///
/// Derive it (see the `Job` derive macro for every key):
///
#[cfg_attr(feature = "derive", doc = "```")]
#[cfg_attr(not(feature = "derive"), doc = "```ignore")]
/// use disque::Job;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Job)]
/// #[job(queue = "emails", priority = 10, retry = "30s", ttl = "1d")]
/// struct SendEmail {
///     to: String,
/// }
///
/// assert_eq!(SendEmail::QUEUE, "emails");
/// assert_eq!(SendEmail::PRIORITY, 10);
/// ```
///
/// A hand-written implementation must name its codec; its fingerprint is
/// the same deep shape fingerprint the derive's types get.
///
/// ```
/// use disque::{Bincode, Job, JobOptions};
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Ping;
///
/// impl Job for Ping {
///     const QUEUE: &'static str = "pings";
///     const PRIORITY: i64 = 0;
///     type Codec = Bincode;
///     fn options() -> JobOptions {
///         JobOptions::new()
///     }
/// }
/// # assert_ne!(Ping::fingerprint(), 0);
/// ```
pub trait Job: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static {
    /// The queue jobs of this type go to.
    const QUEUE: &'static str;
    /// Higher is served first when several job types are consumed together.
    const PRIORITY: i64;
    /// Older fingerprints whose payloads this type still decodes (`#[job(accept = […])]`).
    const ACCEPTED_FINGERPRINTS: &'static [u64] = &[];
    /// The contract version (`#[job(version = N)]`, 1 by default): part of
    /// the fingerprint, bumped to refuse older payloads on purpose.
    const VERSION: u32 = 1;
    /// The type's declaration as the derive saw it, hashed in place of the
    /// traced shape when the shape cannot be traced. Not public API.
    #[doc(hidden)]
    const DECLARATION: &'static str = "";
    /// The codec of the payload (`#[job(codec = …)]`, bincode by default).
    type Codec: Codec;
    /// Default `ADDJOB` options of this type.
    fn options() -> JobOptions;
    /// The fingerprint written in every payload header: see "Fingerprint and
    /// evolution" on the `Job` derive. Computed on the first call for each
    /// type (a trace of its serde shape), then read from a cache.
    ///
    /// From another language: the header of a payload of this type is
    /// `b"DQ" + [1, Codec::ID] + fingerprint.to_le_bytes()`; print the value
    /// once (`println!("{:#018x}", T::fingerprint())`) and hard-code it there.
    fn fingerprint() -> u64 {
        facts::<Self>().fingerprint
    }
}

/// What encoding and decoding a `J` need from its shape, worked out on the
/// first use of the type and then read from a cache (one lookup per job).
struct TypeFacts {
    /// `J`'s fingerprint at `J::VERSION`.
    fingerprint: u64,
    /// Why the codec cannot carry `J` (a serde call that needs a
    /// self-describing codec, which `J::Codec` is not), if it cannot.
    needs_self_describing: Option<String>,
}

fn facts<J: Job>() -> &'static TypeFacts {
    static CACHE: shape::PerType<TypeFacts> = std::sync::OnceLock::new();
    shape::per_type(&CACHE, std::any::TypeId::of::<J>(), || TypeFacts {
        fingerprint: fingerprint_for::<J>(J::VERSION),
        needs_self_describing: match shape::traced::<J>() {
            Traced::NeedsSelfDescribing(call) if !J::Codec::SELF_DESCRIBING => Some(call.clone()),
            _ => None,
        },
    })
}

/// The hash of `J`'s shape without its version: the traced serde shape, or
/// its declaration when the shape cannot be traced.
fn shape_hash<J: Job>() -> u64 {
    match shape::traced::<J>() {
        Traced::Shape(hash) => *hash,
        Traced::NeedsSelfDescribing(_) | Traced::Untraceable(_) => {
            let declaration = match J::DECLARATION {
                "" => type_name::<J>(),
                declared => declared,
            };
            payload::fingerprint_extend(payload::fingerprint("disque-declaration-1"), declaration)
        }
    }
}

/// The fingerprint of `J` at `version`: for a self-describing codec the
/// version only (serde decides what else is compatible), else the deep
/// shape and the version.
fn fingerprint_for<J: Job>(version: u32) -> u64 {
    let base = if J::Codec::SELF_DESCRIBING {
        payload::fingerprint("disque-self-describing-1")
    } else {
        shape_hash::<J>()
    };
    payload::fingerprint_extend(base, &format!("v{version}"))
}

/// Which other version of `J`'s own shape has `fingerprint`, if any (a
/// bounded search: versions 1 to `J::VERSION + 1000`).
fn same_shape_version<J: Job>(fingerprint: u64) -> Option<u32> {
    (1..=J::VERSION.saturating_add(1000))
        .filter(|&v| v != J::VERSION)
        .find(|&v| fingerprint_for::<J>(v) == fingerprint)
}

fn contract<J: Job>() -> Contract<'static> {
    Contract {
        type_name: type_name::<J>(),
        codec: J::Codec::ID,
        codec_name: J::Codec::NAME,
        header: J::Codec::HEADER,
        self_describing: J::Codec::SELF_DESCRIBING,
        fingerprint: J::fingerprint(),
        accepted: J::ACCEPTED_FINGERPRINTS,
    }
}

/// Encodes a job value into the bytes sent as the ADDJOB body: the payload
/// header (magic, version, codec id, fingerprint) followed by the codec's bytes (only the codec's
/// bytes for a codec without header, such as `PlainJson`).
///
/// Nothing is encoded that no consumer could decode: with a codec that is
/// not self-describing (bincode), a type whose serde format needs one
/// (untagged or internally tagged enums, `flatten` — found when its shape
/// is traced, once per type) is refused, and so is a value whose bytes do
/// not decode back (a field skipped with `skip_serializing_if`, say): both
/// with [`Error::Encode`] saying why.
///
#[cfg_attr(feature = "derive", doc = "```")]
#[cfg_attr(not(feature = "derive"), doc = "```ignore")]
/// use disque::{encode_payload, Job};
///
/// #[derive(serde::Serialize, serde::Deserialize, Job)]
/// #[job(queue = "thumbnails")]
/// struct Thumbnail { width: u32 }
///
/// let body = encode_payload(&Thumbnail { width: 64 }).unwrap();
/// assert_eq!(&body[..2], b"DQ");
/// assert_eq!(body[4..12], Thumbnail::fingerprint().to_le_bytes());
/// ```
pub fn encode_payload<J: Job>(job: &J) -> Result<Vec<u8>, Error> {
    let refuse = |why: String| {
        Error::Encode(format!(
            "`{}` with codec {}: {why}",
            type_name::<J>(),
            J::Codec::NAME
        ))
    };
    if let Some(call) = &facts::<J>().needs_self_describing {
        return Err(refuse(format!(
            "its serde format needs a self-describing codec (it calls `{call}`: an untagged \
             or internally tagged enum, `flatten`, …), which {} is not, so no consumer could \
             decode it; nothing was sent. Use `#[job(codec = disque::Json)]`, or \
             drop that serde attribute",
            J::Codec::NAME
        )));
    }
    let header = J::Codec::HEADER.then(|| Header {
        codec: J::Codec::ID,
        fingerprint: J::fingerprint(),
    });
    let body = payload::encode(header, |out| J::Codec::encode(job, out))
        .map_err(|e| refuse(e.to_string()))?;
    if !J::Codec::SELF_DESCRIBING {
        let start = if header.is_some() {
            payload::HEADER_LEN
        } else {
            0
        };
        if let Err(e) = J::Codec::decode::<J>(&body[start..]) {
            return Err(refuse(format!(
                "this value's bytes do not decode back ({e}): {} is not self-describing, so \
                 every field must always be written (no `skip_serializing_if` or \
                 `skip_serializing` on its own); nothing was sent",
                J::Codec::NAME
            )));
        }
    }
    Ok(body)
}

/// Decodes `body` as a `J`, refusing, with a [`PayloadError`] saying what
/// was expected and what was found, a body without a payload header,
/// written with another codec, with a fingerprint `J` does not take (see
/// "Fingerprint and evolution" on the `Job` derive), or that the codec
/// cannot decode.
///
/// Consumers get this through [`Delivery::decode`](crate::Delivery::decode)
/// and `Client::consume`, as an [`Error::Decode`] that also carries the job.
///
#[cfg_attr(feature = "derive", doc = "```")]
#[cfg_attr(not(feature = "derive"), doc = "```ignore")]
/// use disque::{decode_payload, encode_payload, Job};
///
/// #[derive(serde::Serialize, serde::Deserialize, Job, Debug, PartialEq)]
/// #[job(queue = "a")]
/// struct A { n: u32 }
///
/// #[derive(serde::Serialize, serde::Deserialize, Job, Debug)]
/// #[job(queue = "b")]
/// struct B { m: String }
///
/// let body = encode_payload(&A { n: 1 }).unwrap();
/// assert_eq!(decode_payload::<A>(&body).unwrap(), A { n: 1 });
/// let refused = decode_payload::<B>(&body).unwrap_err();
/// assert_eq!(refused.found_fingerprint, Some(A::fingerprint()));
/// assert!(refused.reason.contains("fingerprint"));
/// ```
pub fn decode_payload<J: Job>(body: &[u8]) -> Result<J, PayloadError> {
    let contract = contract::<J>();
    let (bytes, found) = contract.check(body, same_shape_version::<J>)?;
    J::Codec::decode(bytes).map_err(|e| contract.undecodable(found, &e))
}

#[cfg(test)]
mod tests;
