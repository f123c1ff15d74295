//! Options three ways: client defaults, per call, chained per operation —
//! a chain never changes the client it came from, and job options (ADDJOB)
//! never change how a consumer waits (GETJOB).

mod common;

use std::time::Duration;

use common::{unique_queue, Target};
use disque::{Client, ConsumeOptions, Error, JobOptions};

#[tokio::test]
async fn a_chain_never_changes_the_clients_defaults() {
    let target = Target::start().await;
    let defaults = JobOptions::new().ttl(Duration::from_secs(600));
    let client = Client::builder()
        .job_defaults(defaults.clone())
        .connect(target.addr())
        .await
        .unwrap();
    let q = unique_queue("chain");

    let chained = client
        .retry(Duration::from_secs(45))
        .maxlen(1000)
        .add(b"a", &q)
        .await
        .unwrap();
    assert_eq!(
        client.job_defaults(),
        &defaults,
        "the chain leaked into the client"
    );
    let clone = client.clone();
    assert_eq!(clone.job_defaults(), &defaults);

    let plain = client.add(b"b", &q).await.unwrap();
    let chained = client.show(&chained).await.unwrap().unwrap();
    let plain = client.show(&plain).await.unwrap().unwrap();
    assert_eq!(chained.retry, Duration::from_secs(45));
    // Disque's default RETRY is TTL / 10: 60 s for the default 600 s TTL.
    assert_eq!(
        plain.retry,
        Duration::from_secs(60),
        "chain options reached a later call"
    );
    // Both keep the client's default TTL (600 s; SHOW's ttl is what is left).
    assert!(chained.ttl <= Duration::from_secs(600) && chained.ttl > Duration::from_secs(590));
    assert!(plain.ttl <= Duration::from_secs(600) && plain.ttl > Duration::from_secs(590));
}

#[tokio::test]
async fn per_call_options_win_over_defaults_for_that_call_only() {
    let target = Target::start().await;
    let client = Client::builder()
        .job_defaults(JobOptions::new().retry(Duration::from_secs(40)))
        .connect(target.addr())
        .await
        .unwrap();
    let q = unique_queue("percall");
    let with = client
        .add_with(b"a", &q, JobOptions::new().retry(Duration::from_secs(20)))
        .await
        .unwrap();
    let without = client.add(b"b", &q).await.unwrap();
    assert_eq!(
        client.show(&with).await.unwrap().unwrap().retry,
        Duration::from_secs(20)
    );
    assert_eq!(
        client.show(&without).await.unwrap().unwrap().retry,
        Duration::from_secs(40)
    );
}

#[tokio::test]
async fn every_addjob_option_reaches_the_server() {
    let target = Target::start().await;
    let client = Client::connect(target.addr()).await.unwrap();
    let q = unique_queue("allopts");
    let id = client
        .replication_timeout(Duration::from_secs(1))
        .replicate(1)
        .delay(Duration::from_secs(30))
        .retry(Duration::from_secs(45))
        .ttl(Duration::from_secs(120))
        .maxlen(10)
        .asynchronous(false)
        .add(b"x", &q)
        .await
        .unwrap();
    let info = client.show(&id).await.unwrap().unwrap();
    assert_eq!(info.repl, 1);
    assert_eq!(info.delay, Duration::from_secs(30));
    assert_eq!(info.retry, Duration::from_secs(45));
    assert!(info.ttl <= Duration::from_secs(120) && info.ttl > Duration::from_secs(110));
    assert_eq!(id.ttl_minutes(), 3);
    assert_eq!(client.len(&q).await.unwrap(), 0, "delayed, not queued");
    client.delete([&id]).await.unwrap();
}

#[tokio::test]
async fn refused_options_are_caught_before_sending() {
    let target = Target::start().await;
    let client = Client::connect(target.addr()).await.unwrap();
    let q = unique_queue("invalid");
    let cases = [
        JobOptions::new().retry(Duration::from_millis(1500)),
        JobOptions::new()
            .delay(Duration::from_secs(60))
            .ttl(Duration::from_secs(60)),
        JobOptions::new().retry(Duration::ZERO).replicate(2),
        JobOptions::new().maxlen(0),
        JobOptions::new().ttl(Duration::ZERO),
    ];
    for opts in cases {
        let got = client.add_with(b"x", &q, opts.clone()).await;
        assert!(
            matches!(got, Err(Error::InvalidOptions(_))),
            "{opts:?}: {got:?}"
        );
    }
    let got = client
        .get_many_with(&[&q], ConsumeOptions::new().count(0))
        .await;
    assert!(matches!(got, Err(Error::InvalidOptions(_))), "{got:?}");
    assert_eq!(client.len(&q).await.unwrap(), 0, "nothing was added");
}

#[tokio::test]
async fn a_replication_timeout_never_shortens_a_consumers_wait() {
    let target = Target::start().await;
    let replication = Duration::from_millis(200);
    let client = Client::builder()
        .job_defaults(JobOptions::new().replication_timeout(replication))
        .connect(target.addr())
        .await
        .unwrap();
    let q = unique_queue("repl-wait");
    let consumer = client.clone();
    let consumer_q = q.clone();
    let mut get = tokio::spawn(async move { consumer.get(&[&consumer_q]).await });
    // When one timeout served both, this GETJOB carried TIMEOUT 200 and gave
    // up with nothing after 200 ms. It must still be waiting well after that.
    let early = tokio::time::timeout(replication * 3, &mut get).await;
    assert!(
        early.is_err(),
        "get returned within 3x the replication timeout: {early:?}"
    );
    // … and it is served the next job added (with that replication timeout).
    let id = client.add(b"x", &q).await.unwrap();
    let job = tokio::time::timeout(Duration::from_secs(10), get)
        .await
        .expect("the waiting get is served the new job")
        .unwrap()
        .unwrap()
        .expect("a job, not a timeout");
    assert_eq!(job.id(), &id);
    job.ack().await.unwrap();
    assert_eq!(client.job_defaults().replication_timeout, Some(replication));
    assert_eq!(client.consume_defaults(), &ConsumeOptions::new());
}

#[tokio::test]
async fn consume_defaults_apply_to_every_get_and_one_call_overrides_them() {
    let target = Target::start().await;
    let wait = Duration::from_millis(100);
    let client = Client::builder()
        .consume_defaults(ConsumeOptions::new().timeout(wait))
        .connect(target.addr())
        .await
        .unwrap();
    let q = unique_queue("consume-defaults");
    // The default timeout ends an empty wait with nothing (a guard of 10 s
    // turns a wait that would never end into a failure).
    let got = tokio::time::timeout(Duration::from_secs(10), client.get(&[&q]))
        .await
        .expect("the default consume timeout ended the wait")
        .unwrap();
    assert!(got.is_none());
    // One call's options win over the defaults: NOHANG returns at once, and
    // COUNT takes several jobs.
    for body in ["a", "b", "c"] {
        client.add(body, &q).await.unwrap();
    }
    let jobs = client
        .get_many_with(&[&q], ConsumeOptions::new().count(3).nohang(true))
        .await
        .unwrap();
    assert_eq!(jobs.len(), 3);
    client.ack(jobs.iter().map(|j| j.id())).await.unwrap();
    assert!(client
        .get_with(&[&q], ConsumeOptions::new().nohang(true))
        .await
        .unwrap()
        .is_none());
}
