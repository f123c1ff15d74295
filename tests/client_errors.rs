//! Every error variant a single node can produce, end to end.

mod common;

use std::time::{Duration, Instant};

use common::{skip, unique_queue, Target};
use disque::{Client, ConsumeOptions, Error, JobId};

async fn client(target: &Target) -> Client {
    Client::connect(target.addr()).await.unwrap()
}

/// A well-formed id no node has.
fn unknown_id() -> JobId {
    JobId::parse("D-deadbeef-AAAAAAAAAAAAAAAAAAAAAAAA-05a1").unwrap()
}

#[tokio::test]
async fn bad_id_is_refused_before_sending() {
    assert!(matches!(JobId::parse("not-a-job-id"), Err(Error::BadId(_))));
    assert!(matches!("D-1234".parse::<JobId>(), Err(Error::BadId(_))));
}

#[tokio::test]
async fn working_on_an_unknown_job_is_no_job() {
    let target = Target::start().await;
    let got = client(&target).await.working(&unknown_id()).await;
    assert!(matches!(got, Err(Error::NoJob(_))), "{got:?}");
}

#[tokio::test]
async fn maxlen_makes_queue_full() {
    let target = Target::start().await;
    let client = client(&target).await;
    let q = unique_queue("full");
    client.maxlen(1).add(b"a", &q).await.unwrap();
    let got = client.maxlen(1).add(b"b", &q).await;
    assert!(matches!(got, Err(Error::QueueFull(_))), "{got:?}");
}

#[tokio::test]
async fn a_queue_paused_in_input_refuses_jobs() {
    let target = Target::start().await;
    let client = client(&target).await;
    let q = unique_queue("paused");
    client
        .pause(&q, disque::PauseState::In, false)
        .await
        .unwrap();
    let got = client.add(b"a", &q).await;
    assert!(matches!(got, Err(Error::Paused(_))), "{got:?}");
    client
        .pause(&q, disque::PauseState::None, false)
        .await
        .unwrap();
    client.add(b"a", &q).await.unwrap();
}

#[tokio::test]
async fn working_after_half_the_ttl_is_too_late() {
    let target = Target::start().await;
    let client = client(&target).await;
    let q = unique_queue("toolate");
    let id = client
        .ttl(Duration::from_secs(2))
        .add(b"a", &q)
        .await
        .unwrap();
    let job = client.get(&[&q]).await.unwrap().unwrap();
    // Half of 2 s is 1 s: poll WORKING until Disque refuses it (bounded).
    let deadline = Instant::now() + Duration::from_secs(3);
    let err = loop {
        match job.working().await {
            Err(e) => break e,
            Ok(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Ok(_) => panic!("WORKING still accepted 3 s into a 2 s TTL"),
        }
    };
    match err {
        Error::TooLate(_) => {}
        // The job may already have expired on a slow machine.
        Error::NoJob(_) => assert!(client.show(&id).await.unwrap().is_none()),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn replicate_two_on_one_node_is_no_replication() {
    let target = Target::start().await;
    let client = client(&target).await;
    if target.is_external() {
        let nodes = client.hello().await.unwrap().nodes.len();
        if nodes > 1 {
            skip(
                "replicate_two_on_one_node_is_no_replication",
                "the external Disque is a cluster, REPLICATE 2 succeeds there",
            );
            return;
        }
    }
    let got = client.replicate(2).add(b"a", &unique_queue("norepl")).await;
    assert!(matches!(got, Err(Error::NoReplication(_))), "{got:?}");
}

#[tokio::test]
async fn wrong_or_missing_password_is_auth() {
    if common::external_addrs().is_some() {
        skip(
            "wrong_or_missing_password_is_auth",
            "needs a node started with a password",
        );
        return;
    }
    let node = disque_embedded::Node::start(
        disque_embedded::Config::default()
            .addr(([127, 0, 0, 1], 0))
            .requirepass("sesame"),
    )
    .await
    .unwrap();
    let wrong = Client::builder()
        .password("wrong")
        .connect(node.addr())
        .await;
    assert!(matches!(wrong, Err(Error::Auth(_))), "{wrong:?}");
    // `connect` checks that the node answers: without a password it says NOAUTH.
    let none = Client::connect(node.addr()).await;
    assert!(matches!(none, Err(Error::Auth(_))), "{none:?}");
    let right = Client::builder()
        .password("sesame")
        .connect(node.addr())
        .await
        .unwrap();
    right.ping().await.unwrap();
}

#[tokio::test]
async fn invalid_options_never_reach_the_server() {
    let target = Target::start().await;
    let got = client(&target)
        .await
        .delay(Duration::from_millis(10))
        .add(b"a", &unique_queue("inv"))
        .await;
    assert!(matches!(got, Err(Error::InvalidOptions(_))), "{got:?}");
}

#[tokio::test]
async fn a_wait_past_its_deadline_is_timeout() {
    let target = Target::start().await;
    let client = client(&target).await;
    let id = client.add(b"a", &unique_queue("wait")).await.unwrap();
    let got = client.wait(&id, Some(Duration::from_millis(200))).await;
    assert!(
        matches!(&got, Err(e @ Error::Timeout(_)) if e.is_timeout()),
        "{got:?}"
    );
}

#[tokio::test]
async fn nobody_listening_is_a_connection_error() {
    // Port 1 on loopback: nothing listens there.
    let got = Client::builder()
        .connect_timeout(Duration::from_millis(500))
        .connect("127.0.0.1:1")
        .await;
    assert!(
        matches!(&got, Err(e @ Error::Connection(_)) if e.is_connection()),
        "{got:?}"
    );
}

#[tokio::test]
async fn a_lost_connection_is_reported_then_re_established() {
    if common::external_addrs().is_some() {
        skip(
            "a_lost_connection_is_reported_then_re_established",
            "needs a node the test can stop and restart",
        );
        return;
    }
    let node = disque_embedded::Node::start_ephemeral().await.unwrap();
    let addr = node.addr();
    let client = Client::connect(addr).await.unwrap();
    client.ping().await.unwrap();
    // A blocking GETJOB leaves an idle dedicated connection in the pool.
    let q = unique_queue("reconnect");
    let short = Duration::from_millis(50);
    assert!(client
        .get_with(&[&q], ConsumeOptions::new().timeout(short))
        .await
        .unwrap()
        .is_none());
    node.shutdown().await;

    let lost = client.ping().await;
    assert!(matches!(&lost, Err(e) if e.is_connection()), "{lost:?}");

    let node = disque_embedded::Node::start(disque_embedded::Config::default().addr(addr))
        .await
        .unwrap();
    // Reconnects on a later call (after at most a short backoff).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match client.ping().await {
            Ok(()) => break,
            Err(e) if e.is_connection() && Instant::now() < deadline => {}
            Err(e) => panic!("not reconnected: {e:?}"),
        }
    }
    // The pool's connections to the old node are not reused.
    assert!(client
        .get_with(&[&q], ConsumeOptions::new().timeout(short))
        .await
        .unwrap()
        .is_none());
    drop(node);
}
