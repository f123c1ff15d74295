//! Connections that heal (issue 12 item 5): a connection on which a call
//! timed out is replaced, a consumer blocked on a dead link notices it and
//! reconnects without losing the job, `connect` to a server that never
//! answers fails within the connect timeout.

mod cluster_support;
mod common;

use std::time::{Duration, Instant};

use cluster_support::{Proxy, Silent};
use common::{skip, unique_queue};
use disque::{Client, Error};

/// An embedded node and a [`Proxy`] in front of it; `None`, the test
/// skipped, against an external Disque (`DISQUE_ADDRS`).
async fn proxied_node(test: &str) -> Option<(disque_embedded::Node, Proxy)> {
    if common::external_addrs().is_some() {
        skip(test, "needs an embedded node behind a proxy");
        return None;
    }
    let node = disque_embedded::Node::start_ephemeral().await.unwrap();
    let proxy = Proxy::start(node.addr()).await;
    Some((node, proxy))
}

#[tokio::test]
async fn a_connection_on_which_a_call_timed_out_is_replaced() {
    let Some((_node, proxy)) =
        proxied_node("a_connection_on_which_a_call_timed_out_is_replaced").await
    else {
        return;
    };
    let client = Client::builder()
        .response_timeout(Duration::from_millis(300))
        .connect(proxy.addr())
        .await
        .unwrap();
    client.ping().await.unwrap();
    let before = proxy.accepted();
    proxy.stall();
    let got = client.ping().await;
    assert!(matches!(got, Err(Error::Timeout(_))), "{got:?}");
    // The next call does not reuse the stalled connection: it opens another.
    client.ping().await.unwrap();
    assert!(proxy.accepted() > before);
    let q = unique_queue("healed");
    client.add(b"after", &q).await.unwrap();
    assert_eq!(client.len(&q).await.unwrap(), 1);
}

#[tokio::test]
async fn a_consumer_blocked_on_a_dead_link_reconnects_and_gets_the_job() {
    let Some((node, proxy)) =
        proxied_node("a_consumer_blocked_on_a_dead_link_reconnects_and_gets_the_job").await
    else {
        return;
    };
    let consumer = Client::builder()
        .link_check_interval(Duration::from_millis(200))
        .response_timeout(Duration::from_millis(500))
        .connect(proxy.addr())
        .await
        .unwrap();
    let producer = Client::connect(node.addr()).await.unwrap();
    let q = unique_queue("deadlink");
    let queue = q.clone();
    let waiting = tokio::spawn(async move { consumer.get(&[queue.as_str()]).await });
    // Stall only once the consumer's GETJOB is blocked on the node.
    common::wait_blocked_clients(&producer, 1, Duration::from_secs(5)).await;
    let before = proxy.accepted();
    proxy.stall();
    let stalled_at = Instant::now();
    // Added at once, the job may be handed to the GETJOB blocked behind the
    // dead link: it is not lost, Disque delivers it again after RETRY 1 s.
    let id = producer
        .retry(Duration::from_secs(1))
        .add(b"survives", &q)
        .await
        .unwrap();
    let job = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the consumer got the job within 10 s")
        .unwrap()
        .unwrap()
        .expect("a job, not a timeout");
    assert_eq!(job.id(), &id);
    assert_eq!(job.body(), b"survives");
    assert!(proxy.accepted() > before, "the consumer reconnected");
    println!("job received {:?} after the stall", stalled_at.elapsed());
    assert!(stalled_at.elapsed() < Duration::from_secs(10));
    job.ack().await.unwrap();
}

#[tokio::test]
async fn connecting_to_a_server_that_never_answers_fails_within_the_connect_timeout() {
    let silent = Silent::start().await;
    let started = Instant::now();
    let got = Client::builder()
        .connect_timeout(Duration::from_millis(300))
        .connect(silent.addr())
        .await;
    let took = started.elapsed();
    assert!(got.is_err(), "{got:?}");
    let err = got.unwrap_err();
    assert!(
        err.to_string()
            .contains("no answer within the connect timeout"),
        "{err}"
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
}
