//! `#[derive(Job)]` and `#[derive(JobSet)]` for the [`disque`] crate; use them
//! through `disque::Job` and `disque::JobSet`.
//!
//! [`disque`]: https://docs.rs/disque

mod ast;
mod attr;
mod ctxt;
mod duration;
mod expand;
mod jobset;
mod shape;
mod valid;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Derives `disque::Job`: a Rust type becomes a job type with its queue,
/// priority, default `ADDJOB` options, codec and fingerprint.
///
/// ```
/// use disque::{Job, JobOptions};
/// use serde::{Deserialize, Serialize};
/// use std::time::Duration;
///
/// #[derive(Serialize, Deserialize, Job)]
/// #[job(queue = "emails", priority = 10, retry = "30s", ttl = "1d", replicate = 1)]
/// struct SendEmail {
///     to: String,
///     subject: String,
/// }
///
/// assert_eq!(SendEmail::QUEUE, "emails");
/// assert_eq!(
///     SendEmail::options(),
///     JobOptions::new()
///         .replicate(1)
///         .retry(Duration::from_secs(30))
///         .ttl(Duration::from_secs(86_400))
/// );
/// ```
///
/// # Keys of `#[job(…)]`
///
/// Every key but `queue` is optional; a key left out leaves Disque's default.
/// Durations are strings of `<number><unit>` groups with the units `s`, `m`,
/// `h`, `d` (`"30s"`, `"5m"`, `"1h30m"`, `"0s"`); `timeout` also takes `ms`.
///
/// | key | value | meaning |
/// |---|---|---|
/// | `queue = "emails"` | non-empty string | the queue jobs of this type go to (required, unless generic) |
/// | `queues(Resize<u8> = "resize-u8", …)` | instantiations and distinct queues | a generic type: one queue per instantiation (required instead of `queue`) |
/// | `priority = 10` | integer, may be negative (default 0) | higher is served first by a [`JobSet`](derive@JobSet) consumer |
/// | `replicate = 2` | 1–65535 | `REPLICATE`: copies kept in the cluster |
/// | `delay = "5m"` | duration, whole seconds, shorter than the TTL | `DELAY`: queued only after this |
/// | `retry = "30s"` | duration, whole seconds, at most the TTL; `"0s"` (at most once) needs `replicate = 1` | `RETRY`: re-queued if not acknowledged by then |
/// | `ttl = "1d"` | duration, whole seconds, > 0 (default 1 day) | `TTL`: the job is deleted after this, whatever its state |
/// | `maxlen = 1000` | 1–4294967295 | `MAXLEN`: refused if the queue already holds more |
/// | `async` or `async = true` | flag or boolean | `ASYNC`: replicate in the background |
/// | `timeout = "1500ms"` | duration, milliseconds allowed | the `ADDJOB` replication timeout (`JobOptions::replication_timeout`; never how long a consumer waits) |
/// | `codec = disque::Json` | a type implementing `disque::Codec` (default `disque::Bincode`) | how the payload is encoded |
/// | `version = 2` | 1–4294967295 (default 1) | bump to break compatibility on purpose |
/// | `accept = [0x0123456789abcdef, v1::FP]` | 64-bit fingerprints: literals or paths to `u64` constants | older payload fingerprints still decoded |
///
/// Every key at work:
///
/// ```
/// use disque::{Job, JobOptions};
/// use serde::{Deserialize, Serialize};
/// use std::time::Duration;
///
/// #[derive(Serialize, Deserialize, Job)]
/// #[job(
///     queue = "reports",
///     priority = -1,
///     replicate = 1,
///     delay = "1m",
///     retry = "0s",
///     ttl = "2h",
///     maxlen = 500,
///     async,
///     timeout = "1500ms",
///     codec = disque::Bincode,
///     version = 2,
///     accept = [0x0123456789abcdef],
/// )]
/// struct Report {
///     month: u8,
/// }
///
/// assert_eq!(Report::PRIORITY, -1);
/// assert_eq!(Report::ACCEPTED_FINGERPRINTS, &[0x0123456789abcdef]);
/// assert_eq!(
///     Report::options(),
///     JobOptions::new()
///         .replicate(1)
///         .delay(Duration::from_secs(60))
///         .retry(Duration::ZERO)
///         .ttl(Duration::from_secs(7_200))
///         .maxlen(500)
///         .asynchronous(true)
///         .replication_timeout(Duration::from_millis(1_500))
/// );
/// ```
///
/// # Checked at compile time
///
/// Every mistake is a compile error at the offending token, all of them at
/// once: an unknown or duplicate key, a literal of the wrong type, a duration
/// that does not parse, a value Disque refuses (REPLICATE 0, TTL 0, MAXLEN 0…),
/// RETRY 0 without `replicate = 1`, DELAY not shorter than the TTL, RETRY
/// longer than the TTL, a union.
///
/// ```compile_fail
/// #[derive(serde::Serialize, serde::Deserialize, disque::Job)]
/// #[job(queue = "q", delay = "2d")] // DELAY (172800s) must be shorter than the default TTL (86400s)
/// struct TooLate;
/// ```
///
/// # Codecs
///
/// Payloads are bincode by default. With the cargo feature `json`,
/// `codec = disque::Json` makes them JSON (readable in `SHOW`, easy to
/// produce from other languages); any type implementing `disque::Codec` works.
///
/// ```
/// #[derive(serde::Serialize, serde::Deserialize, disque::Job)]
/// #[job(queue = "webhooks", codec = disque::Json)]
/// struct Webhook {
///     url: String,
/// }
///
/// let body = disque::encode_payload(&Webhook { url: "https://x".into() }).unwrap();
/// assert_eq!(&body[12..], br#"{"url":"https://x"}"#);
/// ```
///
/// # Fingerprint and evolution
///
/// Every payload starts with a 12-byte header (`DQ`, format version, codec
/// id, fingerprint), and a consumer refuses a payload its type does not take
/// with `disque::Error::Decode` (the job is left to come back after its
/// retry, or moved aside with `dead_letter`), never with a wrong value.
///
/// | codec | fingerprint covers | a payload of a changed type is decoded when |
/// |---|---|---|
/// | `disque::Bincode` (default) | the whole serde shape + `version` | the fingerprint is the consumer's, or listed in `accept` |
/// | `disque::Json` | `version` only | the version matches (or is accepted) and serde decodes it |
/// | `disque::PlainJson` (no header) | — | serde decodes it |
///
/// The serde shape is traced once per type (the first `fingerprint()`,
/// encode or decode) through the type's own `Deserialize`: container names
/// (after `rename`), field and variant names and their order, primitive
/// widths, options, sequences, maps, tuples, nested types all the way down,
/// and the actual types of generic parameters. Doc comments, derive order,
/// methods, Rust paths (`Vec` or `std::vec::Vec`), module moves and type
/// aliases that resolve to the same type do not change it; `BTreeMap` and
/// `HashMap`, or `[T; 3]` and `(T, T, T)`, are the same to serde and so to
/// the fingerprint. It depends on serde's data model and the pinned
/// `serde-reflection` 0.6 line, not on the compiler. A type whose
/// `Deserialize` refuses placeholder values (a `NonZeroU32`, a date parsed
/// from a string) cannot be traced: its fingerprint then falls back to the
/// job type's own declaration (field names and type tokens as written).
///
/// Types bincode cannot round-trip are never enqueued: serde attributes on
/// the job type that bincode cannot honour (`tag`, `untagged`, `flatten`,
/// `skip_serializing_if`, a lone `skip_serializing`…) are compile errors, and
/// the first encode of a type whose nested types need them is an
/// `Error::Encode`, before anything is sent.
///
/// To change a type on purpose:
/// - the change is compatible for a self-describing codec (a JSON job
///   gained a `#[serde(default)]` field): nothing to do;
/// - bincode, and the producer's type encodes exactly like the new one (say
///   only a field name changed): list its fingerprint in `accept` — the
///   decode error shows it and only suggests it then;
/// - the meaning changed but not the shape (say, seconds became
///   milliseconds): bump `version`, so old payloads are refused (the error
///   says which version wrote them, and never suggests `accept`).
///
/// ```
/// use disque::Job;
///
/// #[derive(serde::Serialize, serde::Deserialize, Job)]
/// #[job(queue = "resize")]
/// struct ResizeV1 { width: u32 }
///
/// #[derive(serde::Serialize, serde::Deserialize, Job)]
/// #[job(queue = "resize", version = 2)]
/// struct ResizeV2 { width: u32 }
///
/// assert_ne!(ResizeV1::fingerprint(), ResizeV2::fingerprint());
/// ```
///
/// # Generic job types
///
/// Two instantiations of a generic job type never share a queue (each
/// consumer would keep taking, and failing to decode, the other's jobs): a
/// generic type names one queue per instantiation with `queues(…)`, and is a
/// job for those instantiations only. One `queue` for a generic type, or two
/// instantiations on one queue, is a compile error.
///
/// ```
/// use disque::Job;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Job)]
/// #[job(queues(Resize<u8> = "resize-u8", Resize<u16> = "resize-u16"), retry = "30s")]
/// struct Resize<P> {
///     pixels: Vec<P>,
/// }
///
/// assert_eq!(Resize::<u8>::QUEUE, "resize-u8");
/// assert_ne!(Resize::<u8>::fingerprint(), Resize::<u16>::fingerprint());
/// ```
///
/// ```compile_fail
/// #[derive(serde::Serialize, serde::Deserialize, disque::Job)]
/// #[job(queue = "resize")] // one queue for every `Resize<P>`
/// struct Resize<P> { pixels: Vec<P> }
/// ```
///
/// A job owns its data: a lifetime parameter is a compile error saying so.
#[proc_macro_derive(Job, attributes(job))]
pub fn derive_job(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}

/// Derives `disque::JobSet` on an enum whose variants each hold one
/// `Delivery<J>` of a job type: a consumer of all of them, served highest
/// priority first (ties in declaration order), dispatched on the queue a job
/// came from.
///
/// ```
/// use disque::{Delivery, Job, JobSet};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Job)]
/// #[job(queue = "low", priority = -5)]
/// struct Cleanup;
///
/// #[derive(Serialize, Deserialize, Job)]
/// #[job(queue = "normal")]
/// struct Report;
///
/// #[derive(Serialize, Deserialize, Job)]
/// #[job(queue = "urgent", priority = 100)]
/// struct Alert { text: String }
///
/// #[derive(JobSet)]
/// enum Work {
///     Cleanup(Delivery<Cleanup>),
///     Report(Delivery<Report>),
///     Alert { job: Delivery<Alert> },
/// }
///
/// assert_eq!(Work::queues(), ["urgent", "normal", "low"]);
///
/// // A consumer handles what arrives with a `match`: the compiler refuses it
/// // if an arm is missing.
/// fn handle(work: Work) -> &'static str {
///     match work {
///         Work::Alert { .. } => "alert",
///         Work::Report(_) => "report",
///         Work::Cleanup(_) => "cleanup",
///     }
/// }
/// # let _ = handle;
/// ```
///
/// Each variant must hold exactly one `Delivery<J>`, and two variants may not
/// take from the same queue (checked at compile time for an enum without
/// generic parameters; in a generic one the first such variant would win).
///
/// ```compile_fail
/// # use disque::{Delivery, Job, JobSet};
/// #[derive(serde::Serialize, serde::Deserialize, Job)]
/// #[job(queue = "same")]
/// struct A;
/// #[derive(serde::Serialize, serde::Deserialize, Job)]
/// #[job(queue = "same")]
/// struct B;
/// #[derive(JobSet)]
/// enum Work { A(Delivery<A>), B(Delivery<B>) }
/// ```
#[proc_macro_derive(JobSet)]
pub fn derive_job_set(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    jobset::derive(&input).into()
}
