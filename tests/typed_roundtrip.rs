//! Typed jobs travel producer → Disque → consumer unchanged: a plain struct,
//! a generic struct, an enum with data, and a JSON-codec job (whose raw body
//! a raw consumer still sees whole).
//!
//! A job type's queue is a constant, so these queues are fixed names private
//! to this file; against an external Disque each test first drains them.

mod common;

use common::Target;
use disque::{Client, ConsumeOptions, Job};
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

#[derive(Serialize, Deserialize, Job, Debug, PartialEq)]
#[job(queue = "disque-rs-typed-roundtrip-email", priority = 3, retry = "30s")]
struct SendEmail {
    to: String,
    subject: String,
    attachments: Vec<Vec<u8>>,
}

#[derive(Serialize, Deserialize, Job, Debug, PartialEq)]
#[job(queues(
    Resize<u16> = "disque-rs-typed-roundtrip-resize-u16",
    Resize<String> = "disque-rs-typed-roundtrip-resize-string",
))]
struct Resize<P> {
    width: u32,
    pixels: Vec<P>,
}

#[derive(Serialize, Deserialize, Job, Debug, PartialEq)]
#[job(queue = "disque-rs-typed-roundtrip-ops")]
enum Op {
    Add { key: String, by: i64 },
    Rename(String, String),
    Clear,
}

#[derive(Serialize, Deserialize, Job, Debug, PartialEq)]
#[job(queue = "disque-rs-typed-roundtrip-webhook", codec = disque::Json)]
struct Webhook {
    url: String,
    attempt: u8,
}

async fn connect(target: &Target, queues: &[&str]) -> Client {
    let client = Client::connect(target.addr()).await.unwrap();
    if target.is_external() {
        drain(&client, queues).await;
    }
    client
}

/// Acknowledges whatever an earlier, interrupted run left in `queues` (bounded).
async fn drain(client: &Client, queues: &[&str]) {
    for _ in 0..10_000 {
        match client
            .get_with(queues, ConsumeOptions::new().nohang(true))
            .await
            .unwrap()
        {
            Some(stale) => {
                client.fast_ack([stale.id()]).await.unwrap();
            }
            None => return,
        }
    }
}

/// Enqueues `job`, consumes it as a `J`, checks it is the same value and the
/// same job, acknowledges it and checks it is gone.
async fn round_trip<J: Job + Debug + PartialEq>(client: &Client, job: J) {
    let id = client.enqueue(&job).await.unwrap();
    let delivery = client.consume::<J>().await.unwrap();
    assert_eq!(delivery.id(), &id);
    assert_eq!(delivery.queue(), J::QUEUE);
    assert_eq!(delivery.value(), &job);
    delivery.ack().await.unwrap();
    assert!(common::is_acked(client, &id).await);
}

#[tokio::test]
async fn plain_struct_round_trip() {
    let target = Target::start().await;
    let client = connect(&target, &[SendEmail::QUEUE]).await;
    round_trip(
        &client,
        SendEmail {
            to: "ada@example.com".into(),
            subject: "Binary \0\r\n safe".into(),
            attachments: vec![vec![0, 13, 10, 255], vec![]],
        },
    )
    .await;
}

#[tokio::test]
async fn generic_struct_round_trip() {
    let target = Target::start().await;
    let client = connect(&target, &[Resize::<u16>::QUEUE, Resize::<String>::QUEUE]).await;
    assert_ne!(Resize::<u16>::QUEUE, Resize::<String>::QUEUE);
    round_trip(
        &client,
        Resize {
            width: 2,
            pixels: vec![0u16, 65_535],
        },
    )
    .await;
    round_trip(
        &client,
        Resize {
            width: 1,
            pixels: vec!["rgb".to_owned()],
        },
    )
    .await;
}

#[tokio::test]
async fn enum_with_data_round_trip() {
    let target = Target::start().await;
    let client = connect(&target, &[Op::QUEUE]).await;
    for op in [
        Op::Add {
            key: "visits".into(),
            by: -3,
        },
        Op::Rename("old".into(), "new".into()),
        Op::Clear,
    ] {
        round_trip(&client, op).await;
    }
}

#[tokio::test]
async fn json_codec_round_trip_and_raw_body() {
    let target = Target::start().await;
    let client = connect(&target, &[Webhook::QUEUE]).await;
    let hook = Webhook {
        url: "https://example.com/hook".into(),
        attempt: 1,
    };
    let id = client.enqueue(&hook).await.unwrap();

    // A raw consumer sees the whole body: the header, then readable JSON.
    let raw = client.get(&[Webhook::QUEUE]).await.unwrap().unwrap();
    assert_eq!(raw.id(), &id);
    // Header (12 bytes): "DQ", format version 1, codec id (2: JSON), the
    // fingerprint as 8 little-endian bytes.
    let body = raw.body();
    assert_eq!(&body[..4], b"DQ\x01\x02");
    let fingerprint: [u8; 8] = body[4..12].try_into().unwrap();
    assert_eq!(u64::from_le_bytes(fingerprint), Webhook::fingerprint());
    let json = &body[12..];
    assert_eq!(json, br#"{"url":"https://example.com/hook","attempt":1}"#);
    raw.nack().await.unwrap();

    let typed = client.consume::<Webhook>().await.unwrap();
    assert_eq!(typed.id(), &id);
    assert_eq!(typed.nacks(), 1);
    assert_eq!(typed.value(), &hook);
    typed.ack().await.unwrap();
}
