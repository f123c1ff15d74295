//! A producer and a consumer that disagree about a job type fail loudly: the
//! consumer gets `Error::Decode` naming the job, its queue, what was expected
//! and what was found — and the job is not lost: left active, it comes back
//! after its retry time for a consumer of the right type.
//!
//! Job queues are constants, so these are fixed names private to this file;
//! against an external Disque each test first drains its queue.

mod common;

use common::Target;
use disque::{Client, ConsumeOptions, Error, Job};
use std::time::Duration;

/// How long to wait for a job that should come back after RETRY 1 s.
const COMES_BACK_WITHIN: Duration = Duration::from_secs(10);

/// Version 1 of an order, as an old producer still sends it.
mod v1 {
    #[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
    #[job(queue = "disque-rs-typed-mismatch-orders", retry = "1s")]
    pub struct Order {
        pub id: u64,
    }
}

/// Version 2 of the same order: a field more, bincode, so v1 bytes are refused.
mod v2 {
    #[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
    #[job(queue = "disque-rs-typed-mismatch-orders", retry = "1s")]
    pub struct Order {
        pub id: u64,
        pub coupon: String,
    }
}

/// Same shape as `v1::Order`, but JSON: the codec differs.
mod json {
    #[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
    #[job(queue = "disque-rs-typed-mismatch-codec", retry = "1s", codec = disque::Json)]
    pub struct Order {
        pub id: u64,
    }
}

mod bin {
    #[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
    #[job(queue = "disque-rs-typed-mismatch-codec", retry = "1s")]
    pub struct Order {
        pub id: u64,
    }
}

/// A JSON job as first written…
mod legacy {
    #[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
    #[job(queue = "disque-rs-typed-mismatch-evolve", codec = disque::Json)]
    pub struct Order {
        pub id: u64,
    }
}

/// …and the same JSON job evolved compatibly: `note` has a default. JSON is
/// self-describing, so serde decides: accepted without ceremony.
mod evolved {
    #[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
    #[job(queue = "disque-rs-typed-mismatch-evolve", codec = disque::Json)]
    pub struct Order {
        pub id: u64,
        #[serde(default)]
        pub note: String,
    }
}

async fn connect(target: &Target, queue: &str) -> Client {
    let client = Client::connect(target.addr()).await.unwrap();
    if target.is_external() {
        for _ in 0..10_000 {
            match client
                .get_with(&[queue], ConsumeOptions::new().nohang(true))
                .await
                .unwrap()
            {
                Some(stale) => {
                    client.fast_ack([stale.id()]).await.unwrap();
                }
                None => break,
            }
        }
    }
    client
}

/// The parts of a `Decode` error, or a panic naming what came instead.
fn decode_error<T: std::fmt::Debug>(result: Result<T, Error>) -> (String, String, String) {
    match result {
        Err(Error::Decode(failure)) => (
            failure.id.as_str().to_owned(),
            failure.queue,
            failure.reason,
        ),
        other => panic!("expected Error::Decode, got {other:?}"),
    }
}

#[tokio::test]
async fn payload_of_another_type_is_refused_and_comes_back() {
    let target = Target::start().await;
    let client = connect(&target, v1::Order::QUEUE).await;
    let id = client.enqueue(&v1::Order { id: 42 }).await.unwrap();

    let (err_id, queue, reason) = decode_error(client.consume::<v2::Order>().await);
    assert_eq!(err_id, id.as_str());
    assert_eq!(queue, v1::Order::QUEUE);
    assert!(
        reason.contains(&format!(
            "expected a payload of `typed_mismatch::v2::Order` (fingerprint {:#018x}",
            v2::Order::fingerprint()
        )),
        "{reason}"
    );
    assert!(
        reason.contains(&format!(
            "found fingerprint {:#018x}",
            v1::Order::fingerprint()
        )),
        "{reason}"
    );

    // Not lost: left active, neither acked nor nacked…
    let info = client.show(&id).await.unwrap().unwrap();
    assert_eq!(info.state.as_str(), "active");
    assert_eq!(info.nacks, 0);

    // …so it is delivered again after its retry, to a consumer of the right type.
    let again = client
        .consume_with::<v1::Order>(ConsumeOptions::new().timeout(COMES_BACK_WITHIN))
        .await
        .unwrap()
        .expect("the refused job comes back after its 1 s retry");
    assert_eq!(again.id(), &id);
    assert_eq!(again.value(), &v1::Order { id: 42 });
    assert_eq!(again.additional_deliveries(), 1);
    again.ack().await.unwrap();
}

#[tokio::test]
async fn other_codec_and_untyped_bodies_are_refused() {
    let target = Target::start().await;
    let client = connect(&target, json::Order::QUEUE).await;

    let id = client.enqueue(&json::Order { id: 7 }).await.unwrap();
    let (err_id, _, reason) = decode_error(client.consume::<bin::Order>().await);
    assert_eq!(err_id, id.as_str());
    assert!(reason.ends_with("found codec json (id 2)"), "{reason}");
    client.fast_ack([&id]).await.unwrap();

    let raw = client
        .add(br#"{"id":7}"#.as_slice(), json::Order::QUEUE)
        .await
        .unwrap();
    let (err_id, _, reason) = decode_error(client.consume::<json::Order>().await);
    assert_eq!(err_id, raw.as_str());
    assert!(
        reason.ends_with(r#"found a body of 8 bytes starting with "{\"id\":7}""#),
        "{reason}"
    );
    client.fast_ack([&raw]).await.unwrap();
}

#[test]
fn fingerprint_is_stable() {
    // Pinned: a change of the traced shape's description, of the tracer or
    // of the hash would make every payload already queued by older
    // producers undecodable.
    assert_eq!(v1::Order::fingerprint(), PINNED_V1);
    assert_eq!(legacy::Order::fingerprint(), PINNED_JSON);
    // A self-describing codec's fingerprint is its version only.
    assert_eq!(legacy::Order::fingerprint(), evolved::Order::fingerprint());
}

const PINNED_V1: u64 = 0x9d96_90ea_8d6f_986c;
const PINNED_JSON: u64 = 0x774a_20e5_c63b_1ad9;

#[tokio::test]
async fn accepted_older_fingerprint_decodes() {
    let target = Target::start().await;
    let client = connect(&target, legacy::Order::QUEUE).await;
    let id = client.enqueue(&legacy::Order { id: 9 }).await.unwrap();
    let job = client.consume::<evolved::Order>().await.unwrap();
    assert_eq!(job.id(), &id);
    assert_eq!(
        job.value(),
        &evolved::Order {
            id: 9,
            note: String::new()
        }
    );
    job.ack().await.unwrap();
}
