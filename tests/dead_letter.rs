//! Poison jobs have a way out: one call moves a job to `<queue>.dead` with
//! the reason kept, and acknowledges the original — from a raw delivery, a
//! typed one, or straight from the `Decode` error.

mod common;

use common::{unique_queue, Target};
use disque::{Client, DeadLetter, Error, Job, JobOptions};
use std::time::Duration;

#[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
#[job(queue = "disque-rs-dead-letter-invoice")]
struct Invoice {
    total: u64,
}

async fn client(target: &Target) -> Client {
    Client::connect(target.addr()).await.unwrap()
}

/// The one job of `queue`'s dead-letter queue, taken apart.
async fn only_dead_letter(client: &Client, queue: &str) -> DeadLetter {
    let dead_queue = format!("{queue}.dead");
    assert_eq!(client.len(&dead_queue).await.unwrap(), 1);
    let dead = client
        .get_with(&[&dead_queue], disque::ConsumeOptions::new().nohang(true))
        .await
        .unwrap()
        .expect("one dead letter");
    let letter = DeadLetter::parse(dead.body()).expect("a dead-letter envelope");
    dead.ack().await.unwrap();
    letter
}

#[tokio::test]
async fn a_raw_delivery_moves_with_its_reason_counters_and_body() {
    let target = Target::start().await;
    let client = client(&target).await;
    let queue = unique_queue("dead-raw");
    let id = client.add(b"\x00poison\r\n", &queue).await.unwrap();
    client
        .get(&[&queue])
        .await
        .unwrap()
        .expect("queued")
        .nack()
        .await
        .unwrap();
    let job = client.get(&[&queue]).await.unwrap().expect("nacked back");
    assert_eq!(job.nacks(), 1);

    let dead_id = job.dead_letter("handler gave up:\ntwice").await.unwrap();

    assert_ne!(dead_id, id);
    assert!(common::is_acked(&client, &id).await, "original acked");
    assert_eq!(client.len(&queue).await.unwrap(), 0);
    let letter = only_dead_letter(&client, &queue).await;
    assert_eq!(letter.queue, queue);
    assert_eq!(letter.id, id.as_str());
    assert_eq!(letter.reason, "handler gave up:\ntwice");
    assert_eq!((letter.nacks, letter.additional_deliveries), (1, 0));
    assert_eq!(letter.body, b"\x00poison\r\n");
}

#[tokio::test]
async fn an_undecodable_job_moves_in_one_call_from_the_error() {
    let target = Target::start().await;
    let client = client(&target).await;
    let queue = unique_queue("dead-decode");
    let id = client.add(b"{\"total\": 5}", &queue).await.unwrap();
    let raw = client.get(&[&queue]).await.unwrap().expect("queued");

    let failure = match raw.decode::<Invoice>() {
        Err(Error::Decode(failure)) => failure,
        other => panic!("expected a decode error, got {other:?}"),
    };
    assert_eq!(failure.id, id);
    assert_eq!(failure.queue, queue);
    assert_eq!(failure.body, b"{\"total\": 5}");
    assert_eq!(failure.expected_fingerprint, Invoice::fingerprint());
    assert_eq!(failure.found_fingerprint, None);
    assert_eq!((failure.nacks, failure.additional_deliveries), (0, 0));

    failure.dead_letter(&client, "undecodable").await.unwrap();

    assert!(common::is_acked(&client, &id).await, "original acked");
    let letter = only_dead_letter(&client, &queue).await;
    assert!(
        letter
            .reason
            .starts_with("undecodable: expected a payload of `dead_letter::Invoice`"),
        "{}",
        letter.reason
    );
    assert_eq!(letter.body, b"{\"total\": 5}");
}

#[tokio::test]
async fn a_typed_delivery_moves_as_its_payload() {
    let target = Target::start().await;
    let client = client(&target).await;
    let queue = unique_queue("dead-typed");
    let body = disque::encode_payload(&Invoice { total: 12 }).unwrap();
    let id = client.add(&body, &queue).await.unwrap();
    let job = client
        .get(&[&queue])
        .await
        .unwrap()
        .expect("queued")
        .decode::<Invoice>()
        .unwrap();
    job.dead_letter("delivered too often").await.unwrap();
    assert!(common::is_acked(&client, &id).await, "original acked");
    let letter = only_dead_letter(&client, &queue).await;
    assert_eq!(letter.body, body);
    assert_eq!(
        disque::decode_payload::<Invoice>(&letter.body).unwrap(),
        Invoice { total: 12 }
    );
}

#[tokio::test]
async fn an_at_most_once_job_that_cannot_be_decoded_hands_its_body_back() {
    let target = Target::start().await;
    let client = client(&target).await;
    let queue = unique_queue("dead-once");
    let once = JobOptions::new().retry(Duration::ZERO).replicate(1);
    let id = client.add_with(b"v0 bytes", &queue, once).await.unwrap();
    assert!(id.is_at_most_once());
    let raw = client.get(&[&queue]).await.unwrap().expect("queued");
    match raw.decode::<Invoice>() {
        Err(Error::Decode(failure)) => {
            // Disque will never deliver it again: the body is with the caller.
            assert_eq!(failure.body, b"v0 bytes");
            assert_eq!(failure.id, id);
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_eq!(client.len(&queue).await.unwrap(), 0);
}

#[tokio::test]
async fn a_failure_can_also_be_given_back() {
    let target = Target::start().await;
    let client = client(&target).await;
    let queue = unique_queue("dead-back");
    client.add(b"?", &queue).await.unwrap();
    let raw = client.get(&[&queue]).await.unwrap().expect("queued");
    let Err(Error::Decode(failure)) = raw.decode::<Invoice>() else {
        panic!("expected a decode error")
    };
    failure.into_delivery(&client).nack().await.unwrap();
    let again = client.get(&[&queue]).await.unwrap().expect("given back");
    assert_eq!(again.nacks(), 1);
    again.ack().await.unwrap();
}
