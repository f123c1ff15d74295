//! The typed API end to end: enqueue/consume, consume_timeout, consume_set
//! priority, options layering, and what a decode failure leaves behind.

mod common;

use std::time::Duration;

use common::Target;
use disque::{Client, ConsumeOptions, Delivery, Error, Job, JobOptions, JobSet, JobState};
use serde::{Deserialize, Serialize};

// Each job type has its own queue; every test starts its own embedded node,
// so queues are not shared between tests (against a shared external Disque
// the tests drain what they find).

#[derive(Debug, PartialEq, Serialize, Deserialize, Job)]
#[job(queue = "typed-urgent", priority = 10)]
struct Urgent {
    n: u32,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, Job)]
#[job(queue = "typed-normal", priority = 5)]
struct Normal {
    n: u32,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, Job)]
#[job(queue = "typed-low", priority = 1)]
struct Low {
    n: u32,
}

#[derive(JobSet)]
enum Work {
    Urgent(Delivery<Urgent>),
    Normal(Delivery<Normal>),
    Low(Delivery<Low>),
}

#[derive(Debug, Serialize, Deserialize, Job)]
#[job(queue = "typed-options", retry = "30s", ttl = "1h")]
struct WithOptions;

#[derive(Debug, Serialize, Deserialize, Job)]
#[job(queue = "typed-decode")]
struct Expected {
    text: String,
}

#[derive(Debug, Serialize, Deserialize, Job)]
#[job(queue = "typed-decode-other")]
struct Other {
    a: u64,
    b: u64,
}

async fn client(target: &Target) -> Client {
    Client::connect(target.addr()).await.unwrap()
}

/// Acks whatever is queued in `queue` (a shared external Disque may hold leftovers).
async fn drain(client: &Client, queue: &str) {
    for _ in 0..1000 {
        let jobs = client
            .get_many_with(&[queue], ConsumeOptions::new().count(100).nohang(true))
            .await
            .unwrap();
        if jobs.is_empty() {
            return;
        }
        client.ack(jobs.iter().map(|j| j.id())).await.unwrap();
    }
}

#[tokio::test]
async fn consume_set_takes_the_highest_priority_first() {
    let target = Target::start().await;
    let client = client(&target).await;
    assert_eq!(
        Work::queues(),
        ["typed-urgent", "typed-normal", "typed-low"]
    );
    for q in Work::queues() {
        drain(&client, q).await;
    }
    client.enqueue(&Low { n: 1 }).await.unwrap();
    client.enqueue(&Normal { n: 2 }).await.unwrap();
    client.enqueue(&Urgent { n: 3 }).await.unwrap();
    client.enqueue(&Low { n: 4 }).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        match client.consume_set::<Work>().await.unwrap() {
            Work::Urgent(d) => {
                seen.push(("urgent", d.n));
                d.ack().await.unwrap();
            }
            Work::Normal(d) => {
                seen.push(("normal", d.n));
                d.ack().await.unwrap();
            }
            Work::Low(d) => {
                seen.push(("low", d.n));
                d.ack().await.unwrap();
            }
        }
    }
    assert_eq!(seen, [("urgent", 3), ("normal", 2), ("low", 1), ("low", 4)]);
    let none = client
        .consume_set_with::<Work>(ConsumeOptions::new().timeout(Duration::from_millis(100)))
        .await
        .unwrap();
    assert!(none.is_none());
}

#[tokio::test]
async fn consume_timeout_is_none_then_some() {
    let target = Target::start().await;
    let client = client(&target).await;
    drain(&client, Urgent::QUEUE).await;
    assert!(client
        .consume_with::<Urgent>(ConsumeOptions::new().timeout(Duration::from_millis(100)))
        .await
        .unwrap()
        .is_none());
    assert!(client
        .consume_with::<Urgent>(ConsumeOptions::new().timeout(Duration::ZERO))
        .await
        .unwrap()
        .is_none());
    let id = client.enqueue(&Urgent { n: 9 }).await.unwrap();
    let got = client
        .consume_with::<Urgent>(ConsumeOptions::new().timeout(Duration::from_secs(2)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got.id(), got.n), (&id, 9));
    assert_eq!(got.into_inner(), Urgent { n: 9 });
    client.ack([&id]).await.unwrap();
}

#[tokio::test]
async fn typed_options_sit_between_client_defaults_and_the_call() {
    let target = Target::start().await;
    let client = Client::builder()
        .job_defaults(JobOptions::new().retry(Duration::from_secs(5)).maxlen(1000))
        .connect(target.addr())
        .await
        .unwrap();
    // The type's retry (30 s) wins over the client's (5 s).
    let id = client.enqueue(&WithOptions).await.unwrap();
    let info = client.show(&id).await.unwrap().unwrap();
    assert_eq!(info.retry, Duration::from_secs(30));
    assert!(info.ttl <= Duration::from_secs(3600) && info.ttl > Duration::from_secs(3590));
    // The call's retry wins over the type's.
    let id = client
        .retry(Duration::from_secs(7))
        .enqueue(&WithOptions)
        .await
        .unwrap();
    assert_eq!(
        client.show(&id).await.unwrap().unwrap().retry,
        Duration::from_secs(7)
    );
    let id2 = client
        .enqueue_with(
            &WithOptions,
            JobOptions::new().retry(Duration::from_secs(8)),
        )
        .await
        .unwrap();
    assert_eq!(
        client.show(&id2).await.unwrap().unwrap().retry,
        Duration::from_secs(8)
    );
    // FASTACK, not DELJOB: in a cluster DELJOB leaves the other copies.
    client.fast_ack([&id, &id2]).await.unwrap();
}

#[tokio::test]
async fn a_payload_of_another_type_is_a_decode_error_and_the_job_stays() {
    let target = Target::start().await;
    let client = client(&target).await;
    drain(&client, Expected::QUEUE).await;
    // A job of another type lands in Expected's queue: its payload, as
    // `enqueue` wrote it in its own queue, added raw to Expected's.
    drain(&client, Other::QUEUE).await;
    client.enqueue(&Other { a: 1, b: 2 }).await.unwrap();
    let other = client.get(&[Other::QUEUE]).await.unwrap().unwrap();
    let body = other.body().to_vec();
    other.ack().await.unwrap();
    let id = client
        .retry(Duration::from_secs(60))
        .add(&body, Expected::QUEUE)
        .await
        .unwrap();
    match client.consume::<Expected>().await {
        Err(Error::Decode(failure)) => {
            assert_eq!(failure.id, id);
            assert_eq!(failure.queue, Expected::QUEUE);
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    // Not acked, not lost: active, to be re-delivered after its retry.
    let info = client.show(&id).await.unwrap().expect("the job is kept");
    assert_eq!(info.state, JobState::Active);
    // Raw bytes that are no payload at all: the same.
    let junk = client.add(b"not a payload", Expected::QUEUE).await.unwrap();
    let err = client.consume::<Expected>().await.unwrap_err();
    assert!(
        matches!(&err, Error::Decode(failure) if failure.id == junk),
        "{err:?}"
    );
    client.fast_ack([&id, &junk]).await.unwrap();
}
