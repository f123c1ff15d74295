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
/// | `queue = "emails"` | non-empty string | the queue jobs of this type go to (required) |
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
/// | `accept = [0x0123456789abcdef]` | list of 64-bit fingerprints | older payload fingerprints still decoded |
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
/// Every payload starts with a header holding the type's fingerprint, a hash
/// of its name, its fields' names and types as written, and its `version`
/// (a header of 12 bytes: `DQ`, format version, codec id, fingerprint). A consumer refuses a payload with another
/// fingerprint with `disque::Error::Decode` (the job is left to come back
/// after its retry), so a producer and a consumer that disagree fail loudly.
///
/// The fingerprint covers names and type tokens as written: serde attributes
/// (`rename`, `default`, `skip`…) are not part of it, and `Vec<String>` and
/// `std::vec::Vec<String>` count as different.
///
/// To change a type on purpose:
/// - the change is compatible (say, a JSON job gained a `#[serde(default)]`
///   field): list the old fingerprint in `accept = [0x…]` — the decode error
///   and `T::fingerprint()` both show it;
/// - the meaning changed but not the shape (say, seconds became
///   milliseconds): bump `version`, so old payloads are refused.
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
/// A generic job type is a job for every parameter that makes it
/// (de)serializable; the type names of its parameters are part of its
/// fingerprint, so `Resize<u8>` does not decode a `Resize<u16>`.
///
/// ```
/// use disque::Job;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Job)]
/// #[job(queue = "resize")]
/// struct Resize<P> {
///     pixels: Vec<P>,
/// }
///
/// assert_ne!(Resize::<u8>::fingerprint(), Resize::<u16>::fingerprint());
/// ```
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
