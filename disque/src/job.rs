//! Typed jobs: the [`Job`] trait implemented by `#[derive(Job)]`, the payload
//! functions the client uses, and [`JobSet`] for consuming several job types.
//!
//! The client calls only [`encode_payload`], [`decode_payload`] and the
//! [`JobSet`] trait's methods; see [`crate::payload`] for the bytes.

use std::any::type_name;

use crate::{
    codec::{self, Codec},
    error::Error,
    options::JobOptions,
    payload::{self, Header},
};

/// A job type: its queue, priority, default options, codec and fingerprint.
///
/// Derive it (see the `Job` derive macro for every key):
///
/// ```
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
/// A hand-written implementation must name its codec; its fingerprint
/// defaults to a hash of the type's name only (no fields), so the derive is
/// preferred.
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
    /// The codec of the payload after the header (`#[job(codec = …)]`, bincode by default).
    type Codec: Codec;
    /// Default `ADDJOB` options of this type.
    fn options() -> JobOptions;
    /// The fingerprint of this type's shape, written in every payload header.
    fn fingerprint() -> u64 {
        payload::fingerprint(type_name::<Self>())
    }
}

/// Encodes a job value into the bytes sent as the ADDJOB body: the payload
/// header (the `payload` module) followed by the codec's bytes.
///
/// ```
/// use disque::{__private::encode_payload, Job};
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
    let mut body = Vec::with_capacity(payload::HEADER_LEN + 32);
    Header {
        codec: J::Codec::ID,
        fingerprint: J::fingerprint(),
    }
    .write(&mut body);
    J::Codec::encode(job, &mut body).map_err(|e| {
        Error::Encode(format!(
            "`{}` with codec {}: {e}",
            type_name::<J>(),
            J::Codec::NAME
        ))
    })?;
    Ok(body)
}

/// Decodes the body of job `id` taken from `queue` as a `J`.
///
/// Refuses, with [`Error::Decode`] saying what was expected and what was
/// found, a body without a payload header, written with another codec, with a
/// fingerprint that is neither `J`'s nor one `J` accepts, or that the codec
/// cannot decode.
///
/// ```
/// use disque::{__private::{decode_payload, encode_payload}, Error, Job};
///
/// #[derive(serde::Serialize, serde::Deserialize, Job, Debug, PartialEq)]
/// #[job(queue = "a")]
/// struct A { n: u32 }
///
/// #[derive(serde::Serialize, serde::Deserialize, Job)]
/// #[job(queue = "b")]
/// struct B { m: u32 }
///
/// let body = encode_payload(&A { n: 1 }).unwrap();
/// assert_eq!(decode_payload::<A>("D-1", "a", &body).unwrap(), A { n: 1 });
/// match decode_payload::<B>("D-1", "a", &body) {
///     Err(Error::Decode { reason, .. }) => assert!(reason.contains("fingerprint")),
///     _ => unreachable!(),
/// }
/// ```
pub fn decode_payload<J: Job>(id: &str, queue: &str, body: &[u8]) -> Result<J, Error> {
    let refuse = |reason: String| Error::Decode {
        id: id.to_owned(),
        queue: queue.to_owned(),
        reason,
    };
    let expected = || {
        format!(
            "expected a payload of `{}` (fingerprint {:#018x}, codec {})",
            type_name::<J>(),
            J::fingerprint(),
            J::Codec::NAME
        )
    };
    let (header, bytes) =
        Header::parse(body).map_err(|found| refuse(format!("{}, found {found}", expected())))?;
    if header.codec != J::Codec::ID {
        let name = codec::builtin_name(header.codec).unwrap_or("unknown");
        return Err(refuse(format!(
            "{}, found codec {name} (id {})",
            expected(),
            header.codec
        )));
    }
    if header.fingerprint != J::fingerprint()
        && !J::ACCEPTED_FINGERPRINTS.contains(&header.fingerprint)
    {
        return Err(refuse(format!(
            "{}, found fingerprint {:#018x}: the producer's job type differs \
             (to accept it on purpose: #[job(accept = [{:#018x}])])",
            expected(),
            header.fingerprint,
            header.fingerprint
        )));
    }
    J::Codec::decode(bytes).map_err(|e| {
        refuse(format!(
            "{}, found bytes that codec {} cannot decode: {e}",
            expected(),
            J::Codec::NAME
        ))
    })
}

/// Several job types consumed together, highest priority first: an enum whose
/// variants each hold a `Delivery<J>` of one job type. Derive it:
///
/// ```
/// use disque::{Delivery, Job, JobSet};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Job)]
/// #[job(queue = "low", priority = 1)]
/// struct Low;
///
/// #[derive(Serialize, Deserialize, Job)]
/// #[job(queue = "urgent", priority = 10)]
/// struct Urgent;
///
/// #[derive(JobSet)]
/// enum Work {
///     Low(Delivery<Low>),
///     Urgent(Delivery<Urgent>),
/// }
///
/// assert_eq!(Work::queues(), ["urgent", "low"]);
/// ```
///
/// Consumers `match` on the enum, so the compiler refuses a consumer that
/// forgets one of the job types it takes:
///
/// ```compile_fail,E0004
/// # use disque::{Delivery, Job, JobSet};
/// # #[derive(serde::Serialize, serde::Deserialize, Job)]
/// # #[job(queue = "low", priority = 1)]
/// # struct Low;
/// # #[derive(serde::Serialize, serde::Deserialize, Job)]
/// # #[job(queue = "urgent", priority = 10)]
/// # struct Urgent;
/// # #[derive(JobSet)]
/// # enum Work { Low(Delivery<Low>), Urgent(Delivery<Urgent>) }
/// fn handle(work: Work) {
///     match work {
///         Work::Urgent(_job) => {}
///         // error[E0004]: non-exhaustive patterns: `Work::Low(_)` not covered
///     }
/// }
/// ```
pub trait JobSet: Sized + Send + 'static {
    /// The queues of the member types, highest priority first (the `GETJOB … FROM` order).
    fn queues() -> Vec<&'static str>;
    /// Decodes a raw delivery as the member type of the queue it came from.
    fn from_delivery(delivery: crate::delivery::Delivery<Vec<u8>>) -> Result<Self, Error>;
}

/// Helpers for the code `#[derive(JobSet)]` generates (reached through `disque::__private`).
#[doc(hidden)]
pub mod support {
    use crate::{delivery::Delivery, error::Error};

    /// The queues of `(priority, queue)` members, highest priority first, ties
    /// in declaration order.
    pub fn queues_by_priority(members: &[(i64, &'static str)]) -> Vec<&'static str> {
        let mut sorted = members.to_vec();
        sorted.sort_by_key(|&(priority, _)| std::cmp::Reverse(priority));
        sorted.into_iter().map(|(_, queue)| queue).collect()
    }

    /// The error for a delivery from a queue no member of the set takes from.
    pub fn foreign_queue(
        set: &str,
        delivery: &Delivery<Vec<u8>>,
        queues: &[&'static str],
    ) -> Error {
        Error::Decode {
            id: delivery.id().as_str().to_owned(),
            queue: delivery.queue().to_owned(),
            reason: format!("expected a job from one of the queues of `{set}` {queues:?}"),
        }
    }

    /// `a == b`, usable in constants (member queues must differ).
    pub const fn same_str(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::support::*;
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Plain {
        n: u32,
    }

    impl Job for Plain {
        const QUEUE: &'static str = "plain";
        const PRIORITY: i64 = 0;
        const ACCEPTED_FINGERPRINTS: &'static [u64] = &[42];
        type Codec = crate::codec::Bincode;
        fn options() -> JobOptions {
            JobOptions::new()
        }
    }

    fn reason(result: Result<Plain, Error>) -> String {
        match result {
            Err(Error::Decode { id, queue, reason }) => {
                assert_eq!((id.as_str(), queue.as_str()), ("D-x", "q"));
                reason
            }
            other => panic!("expected a Decode error, got {other:?}"),
        }
    }

    #[test]
    fn round_trip() {
        let body = encode_payload(&Plain { n: 9 }).unwrap();
        assert_eq!(
            decode_payload::<Plain>("D-x", "q", &body).unwrap(),
            Plain { n: 9 }
        );
    }

    #[test]
    fn missing_header_is_refused() {
        let reason = reason(decode_payload::<Plain>("D-x", "q", b"hello"));
        assert!(reason.starts_with("expected a payload of `"), "{reason}");
        assert!(reason.ends_with("found a body of 5 bytes starting with \"hello\""));
    }

    #[test]
    fn other_codec_is_refused() {
        let mut body = encode_payload(&Plain { n: 9 }).unwrap();
        body[3] = 2;
        let reason = reason(decode_payload::<Plain>("D-x", "q", &body));
        assert!(reason.contains("codec bincode)"), "{reason}");
        assert!(reason.ends_with("found codec json (id 2)"), "{reason}");
    }

    #[test]
    fn other_fingerprint_is_refused_unless_accepted() {
        let mut body = Vec::new();
        Header {
            codec: 1,
            fingerprint: 43,
        }
        .write(&mut body);
        body.push(9);
        let reason = reason(decode_payload::<Plain>("D-x", "q", &body));
        assert!(
            reason.contains("found fingerprint 0x000000000000002b"),
            "{reason}"
        );
        body[4] = 42;
        assert_eq!(
            decode_payload::<Plain>("D-x", "q", &body).unwrap(),
            Plain { n: 9 }
        );
    }

    #[test]
    fn undecodable_bytes_are_refused() {
        let mut body = encode_payload(&Plain { n: 9 }).unwrap();
        body.truncate(payload::HEADER_LEN);
        let reason = reason(decode_payload::<Plain>("D-x", "q", &body));
        assert!(reason.contains("codec bincode cannot decode"), "{reason}");
    }

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    enum Shape {
        Unit,
        Tuple(i128, Option<String>),
        Named {
            bytes: Vec<u8>,
            map: std::collections::BTreeMap<u32, Vec<u64>>,
        },
    }

    impl Job for Shape {
        const QUEUE: &'static str = "shapes";
        const PRIORITY: i64 = 0;
        type Codec = crate::codec::Bincode;
        fn options() -> JobOptions {
            JobOptions::new()
        }
    }

    /// Random and mutated bodies never panic a consumer: they decode or are
    /// refused with `Decode`.
    #[test]
    fn arbitrary_bodies_never_panic() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
        let valid = [
            encode_payload(&Shape::Unit).unwrap(),
            encode_payload(&Shape::Tuple(i128::MIN, Some("s".repeat(300)))).unwrap(),
            encode_payload(&Shape::Named {
                bytes: vec![0, 13, 10],
                map: [(1, vec![u64::MAX, 0]), (2, vec![])].into(),
            })
            .unwrap(),
        ];
        for body in &valid {
            assert!(decode_payload::<Shape>("D-x", "q", body).is_ok());
        }
        for round in 0..3_000 {
            let mut body = valid[round % valid.len()].clone();
            match rng.random_range(0..4) {
                // Flip some bytes after the header (the header is checked exactly).
                0 => {
                    for _ in 0..rng.random_range(1..4) {
                        let at = rng.random_range(payload::HEADER_LEN..body.len().max(13));
                        if let Some(byte) = body.get_mut(at) {
                            *byte = rng.random();
                        }
                    }
                }
                // Truncate.
                1 => body.truncate(rng.random_range(0..body.len())),
                // A valid header followed by random bytes.
                2 => {
                    body.truncate(payload::HEADER_LEN);
                    let extra = rng.random_range(0..64);
                    body.extend((0..extra).map(|_| rng.random::<u8>()));
                }
                // Anything at all.
                _ => {
                    let len = rng.random_range(0..64);
                    body = (0..len).map(|_| rng.random::<u8>()).collect();
                }
            }
            match decode_payload::<Shape>("D-x", "q", &body) {
                Ok(_) => {}
                Err(Error::Decode { id, .. }) => assert_eq!(id, "D-x"),
                Err(other) => panic!("expected Decode, got {other:?}"),
            }
        }
    }

    #[test]
    fn queues_sorted_by_priority_ties_in_order() {
        let queues = queues_by_priority(&[(1, "a"), (5, "b"), (1, "c"), (-3, "d"), (5, "e")]);
        assert_eq!(queues, ["b", "e", "a", "c", "d"]);
    }

    #[test]
    fn same_str_compares_bytes() {
        assert!(same_str("abc", "abc"));
        assert!(!same_str("abc", "abd"));
        assert!(!same_str("ab", "abc"));
    }
}
