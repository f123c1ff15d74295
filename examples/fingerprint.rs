//! Prints the fingerprint and payload header of a job type (what a producer
//! in another language writes in front of a bincode or JSON body), and
//! measures what fingerprints cost: the first call per type traces its serde
//! shape, later calls read a cache; encoding checks the bytes decode back.
//!
//! ```text
//! cargo run --release --example fingerprint
//! ```

use disque::{Codec, Job};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "emails")]
struct SendEmail {
    to: String,
    subject: String,
}

#[derive(Serialize, Deserialize)]
enum Fit {
    Cover,
    Contain,
    Fill,
    Exact { w: u32, h: u32 },
}

#[derive(Serialize, Deserialize)]
struct Dims {
    w: u32,
    h: u32,
}

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "thumbnails")]
struct Thumbnail {
    source: String,
    sizes: Vec<Dims>,
    fit: Fit,
    fallback: Option<Fit>,
    tags: BTreeMap<String, Vec<u64>>,
    crop: (u32, u32, u32, u32),
}

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "webhooks", codec = disque::Json)]
struct Webhook {
    url: String,
}

fn show<J: Job>(name: &str) {
    let started = Instant::now();
    let fingerprint = J::fingerprint();
    let first = started.elapsed();
    const CALLS: u32 = 1_000_000;
    let started = Instant::now();
    for _ in 0..CALLS {
        black_box(J::fingerprint());
    }
    let cached = started.elapsed() / CALLS;
    let mut header = b"DQ\x01".to_vec();
    header.push(J::Codec::ID);
    header.extend_from_slice(&fingerprint.to_le_bytes());
    println!(
        "{name:<10} fingerprint {fingerprint:#018x}  header {}  first call {first:?}, cached {cached:?}",
        header.escape_ascii()
    );
}

fn main() {
    show::<SendEmail>("SendEmail");
    show::<Thumbnail>("Thumbnail");
    show::<Webhook>("Webhook");

    // Encoding: the payload (header + bincode + the decode-back check)
    // against bincode alone, for the same value, in the same run.
    let job = SendEmail {
        to: "ada@example.com".into(),
        subject: "hello".into(),
    };
    const ROUNDS: u32 = 200_000;
    let started = Instant::now();
    for _ in 0..ROUNDS {
        let mut out = Vec::with_capacity(64);
        <SendEmail as Job>::Codec::encode(black_box(&job), &mut out).unwrap_or_default();
        black_box(out);
    }
    let bare = started.elapsed() / ROUNDS;
    let started = Instant::now();
    for _ in 0..ROUNDS {
        black_box(disque::encode_payload(black_box(&job)).unwrap_or_default());
    }
    let payload = started.elapsed() / ROUNDS;
    println!(
        "encode SendEmail: bincode alone {bare:?}, encode_payload {payload:?} ({:.1}x)",
        payload.as_secs_f64() / bare.as_secs_f64()
    );
}
