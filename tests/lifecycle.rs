//! A job's life end to end (issue 2): enqueue, consume, ack, nack, retry,
//! TTL, delay, priorities and GETJOB timeouts — against an embedded node, or
//! the Disque named by `DISQUE_ADDRS`.

mod common;

use std::time::{Duration, Instant};

use common::{unique_queue, Target};
use disque::{Client, ConsumeOptions, Delivery};
use serde::{Deserialize, Serialize};

/// A job type whose queue is chosen per test (the raw API carries the queue).
#[derive(Debug, PartialEq, Serialize, Deserialize, disque::Job)]
#[job(queue = "lifecycle-typed")]
struct Greeting {
    name: String,
}

async fn client(target: &Target) -> Client {
    Client::connect(target.addr()).await.unwrap()
}

/// Polls `check` every 50 ms until it returns `Some`, for at most `limit`.
async fn eventually<T, F, Fut>(limit: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(v) = check().await {
            return Some(v);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Takes the one job of `queue` without blocking.
async fn take(client: &Client, queue: &str) -> Option<Delivery> {
    client
        .get_with(&[queue], ConsumeOptions::new().nohang(true))
        .await
        .unwrap()
}

#[tokio::test]
async fn typed_job_enqueue_consume_ack_leaves_nothing() {
    let target = Target::start().await;
    let client = client(&target).await;
    // The derive fixes the queue: drain it first when a shared server is used.
    let id = client
        .enqueue(&Greeting { name: "ada".into() })
        .await
        .unwrap();
    let job = loop {
        let job = client.consume::<Greeting>().await.unwrap();
        if job.id() == &id {
            break job;
        }
        job.ack().await.unwrap();
    };
    assert_eq!(job.name, "ada");
    assert_eq!(job.queue(), "lifecycle-typed");
    assert_eq!((job.nacks(), job.additional_deliveries()), (0, 0));
    job.ack().await.unwrap();
    assert_eq!(client.len("lifecycle-typed").await.unwrap(), 0);
    assert!(common::is_acked(&client, &id).await);
}

#[tokio::test]
async fn raw_add_get_ack_leaves_qlen_zero_and_show_nil() {
    let target = Target::start().await;
    let client = client(&target).await;
    let q = unique_queue("ack");
    let id = client.add(b"body", &q).await.unwrap();
    assert_eq!(client.len(&q).await.unwrap(), 1);
    let job = client.get(&[&q]).await.unwrap().unwrap();
    assert_eq!((job.id(), job.body()), (&id, &b"body"[..]));
    job.ack().await.unwrap();
    assert_eq!(client.len(&q).await.unwrap(), 0);
    assert!(common::is_acked(&client, &id).await);
}

#[tokio::test]
async fn nack_redelivers_with_one_nack() {
    let target = Target::start().await;
    let client = client(&target).await;
    let q = unique_queue("nack");
    let id = client.add(b"x", &q).await.unwrap();
    client
        .get(&[&q])
        .await
        .unwrap()
        .unwrap()
        .nack()
        .await
        .unwrap();
    let again = client.get(&[&q]).await.unwrap().unwrap();
    assert_eq!(again.id(), &id);
    assert_eq!((again.nacks(), again.additional_deliveries()), (1, 0));
    again.ack().await.unwrap();
}

#[tokio::test]
async fn unacked_job_comes_back_after_its_retry() {
    let target = Target::start().await;
    let client = client(&target).await;
    let q = unique_queue("retry");
    let id = client
        .retry(Duration::from_secs(1))
        .add(b"x", &q)
        .await
        .unwrap();
    let first = client.get(&[&q]).await.unwrap().unwrap();
    assert_eq!(client.len(&q).await.unwrap(), 0, "active, not queued");
    drop(first); // neither acked nor nacked
    let again = client
        .get_with(&[&q], ConsumeOptions::new().timeout(Duration::from_secs(5)))
        .await
        .unwrap()
        .expect("re-queued after RETRY 1 s");
    assert_eq!(again.id(), &id);
    assert_eq!((again.nacks(), again.additional_deliveries()), (0, 1));
    again.ack().await.unwrap();
}

#[tokio::test]
async fn job_past_its_ttl_is_gone() {
    let target = Target::start().await;
    let client = client(&target).await;
    let q = unique_queue("ttl");
    let id = client
        .ttl(Duration::from_secs(1))
        .add(b"x", &q)
        .await
        .unwrap();
    assert!(client.show(&id).await.unwrap().is_some());
    let gone = eventually(Duration::from_secs(5), || async {
        client.show(&id).await.unwrap().is_none().then_some(())
    })
    .await;
    assert!(gone.is_some(), "still there 5 s after a 1 s TTL");
    assert_eq!(client.len(&q).await.unwrap(), 0);
}

#[tokio::test]
async fn delayed_job_is_invisible_until_its_delay_passes() {
    let target = Target::start().await;
    let client = client(&target).await;
    let q = unique_queue("delay");
    let added = Instant::now();
    let id = client
        .delay(Duration::from_secs(1))
        .add(b"x", &q)
        .await
        .unwrap();
    assert_eq!(client.len(&q).await.unwrap(), 0);
    assert!(
        take(&client, &q).await.is_none(),
        "delivered before its delay"
    );
    let job = client
        .get_with(&[&q], ConsumeOptions::new().timeout(Duration::from_secs(5)))
        .await
        .unwrap()
        .expect("queued once the delay passed");
    assert_eq!(job.id(), &id);
    // Disque counts delays in whole seconds; allow for its clock granularity.
    assert!(added.elapsed() >= Duration::from_millis(500));
    job.ack().await.unwrap();
}

#[tokio::test]
async fn queues_are_served_highest_priority_first() {
    let target = Target::start().await;
    let client = client(&target).await;
    let (high, normal, low) = (
        unique_queue("high"),
        unique_queue("normal"),
        unique_queue("low"),
    );
    for (q, body) in [
        (&low, "l1"),
        (&normal, "n1"),
        (&high, "h1"),
        (&low, "l2"),
        (&high, "h2"),
    ] {
        client.add(body, q).await.unwrap();
    }
    let mut order = Vec::new();
    for _ in 0..5 {
        let job = client.get(&[&high, &normal, &low]).await.unwrap().unwrap();
        order.push(String::from_utf8(job.body().to_vec()).unwrap());
        job.ack().await.unwrap();
    }
    assert_eq!(order, ["h1", "h2", "n1", "l1", "l2"]);
}

#[tokio::test]
async fn getjob_timeout_on_an_empty_queue_returns_nothing_after_that_time() {
    let target = Target::start().await;
    let client = client(&target).await;
    let q = unique_queue("empty");
    let started = Instant::now();
    let got = client
        .get_with(
            &[&q],
            ConsumeOptions::new().timeout(Duration::from_millis(300)),
        )
        .await
        .unwrap();
    assert!(got.is_none());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250),
        "returned after {waited:?}"
    );
}

#[tokio::test]
async fn getjob_longer_than_the_redis_crate_default_response_timeout_is_not_cut_short() {
    let target = Target::start().await;
    let client = client(&target).await;
    let q = unique_queue("long");
    // redis 1.x cuts replies after 500 ms by default; this GETJOB waits 800 ms.
    let got = client
        .get_with(
            &[&q],
            ConsumeOptions::new().timeout(Duration::from_millis(800)),
        )
        .await
        .unwrap();
    assert!(got.is_none());
}
