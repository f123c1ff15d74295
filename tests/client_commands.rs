//! Every raw command of the client, end to end.

mod common;

use std::time::Duration;

use common::{unique_queue, Target};
use disque::{Client, ConsumeOptions};
use disque::{JobState, PauseState};
use futures_util::TryStreamExt;

async fn client(target: &Target) -> Client {
    Client::connect(target.addr()).await.unwrap()
}

#[tokio::test]
async fn connect_accepts_every_address_form_and_skips_dead_nodes() {
    let target = Target::start().await;
    let addr = target.addr().to_string();
    Client::connect(addr.as_str())
        .await
        .unwrap()
        .ping()
        .await
        .unwrap();
    Client::connect(addr.clone())
        .await
        .unwrap()
        .ping()
        .await
        .unwrap();
    Client::connect(vec![addr.clone()])
        .await
        .unwrap()
        .ping()
        .await
        .unwrap();
    let list = format!("127.0.0.1:1,{addr}");
    let c = Client::connect(list.as_str()).await.unwrap();
    assert_eq!(c.node(), addr, "the first node that answers");
    let c = Client::connect(&["127.0.0.1:1", addr.as_str()][..])
        .await
        .unwrap();
    c.ping().await.unwrap();
}

#[tokio::test]
async fn add_and_show_report_every_field() {
    let target = Target::start().await;
    let client = client(&target).await;
    let q = unique_queue("show");
    let body = b"\x00binary\r\nbody\xff".to_vec();
    let id = client.add(&body, &q).await.unwrap();
    let info = client.show(&id).await.unwrap().unwrap();
    assert_eq!(info.id, id);
    assert_eq!(info.queue.as_deref(), Some(q.as_str()));
    assert_eq!(info.state, JobState::Queued);
    assert_eq!(info.body.as_deref(), Some(&body[..]));
    assert_eq!((info.nacks, info.additional_deliveries), (0, 0));
    let job = client.get(&[&q]).await.unwrap().unwrap();
    assert_eq!(job.body(), &body[..]);
    assert_eq!(
        client.show(&id).await.unwrap().unwrap().state,
        JobState::Active
    );
    job.ack().await.unwrap();
}

#[tokio::test]
async fn get_on_empty_queues_with_nohang_is_none() {
    let target = Target::start().await;
    let client = client(&target).await;
    let q = unique_queue("nohang");
    assert!(client
        .get_with(&[&q], ConsumeOptions::new().nohang(true))
        .await
        .unwrap()
        .is_none());
    assert!(client
        .get_many_with(&[&q], ConsumeOptions::new().count(5).nohang(true))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn pipelined_adds_then_get_many_and_one_multi_id_ack() {
    let target = Target::start().await;
    let client = client(&target).await;
    let q = unique_queue("batch");
    let bodies: Vec<Vec<u8>> = (0..20).map(|i| format!("job-{i}").into_bytes()).collect();
    let ids = client
        .add_many(&bodies, &q)
        .await
        .unwrap()
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    assert_eq!(ids.len(), 20);
    assert_eq!(client.len(&q).await.unwrap(), 20);
    let jobs = client.get_many(&[&q], 20).await.unwrap();
    assert_eq!(jobs.len(), 20);
    assert_eq!(client.ack(jobs.iter().map(|j| j.id())).await.unwrap(), 20);
    assert_eq!(client.len(&q).await.unwrap(), 0);
}

#[tokio::test]
async fn add_many_reports_each_refusal_in_place() {
    let target = Target::start().await;
    let client = client(&target).await;
    let q = unique_queue("batchfull");
    let results = client
        .maxlen(2)
        .add_many(&[b"a", b"b", b"c"], &q)
        .await
        .unwrap();
    assert!(results[0].is_ok() && results[1].is_ok());
    assert!(
        matches!(results[2], Err(disque::Error::QueueFull(_))),
        "{results:?}"
    );
    let none: [&[u8]; 0] = [];
    let results = client.add_many(&none, &q).await.unwrap();
    assert!(results.is_empty(), "no body, no command");
}

#[tokio::test]
async fn fast_ack_nack_working_enqueue_dequeue_del_job() {
    let target = Target::start().await;
    let client = client(&target).await;
    let q = unique_queue("family");
    let a = client
        .retry(Duration::from_secs(30))
        .add(b"a", &q)
        .await
        .unwrap();
    // DELJOB removes a job from the node it is sent to only: in a cluster,
    // `b` has a single copy so that it is gone from every node after it.
    let b = client.replicate(1).add(b"b", &q).await.unwrap();

    assert_eq!(client.dequeue([&a]).await.unwrap(), 1);
    assert_eq!(client.len(&q).await.unwrap(), 1);
    assert_eq!(client.requeue([&a]).await.unwrap(), 1);
    assert_eq!(client.len(&q).await.unwrap(), 2);

    let job = client.get(&[&q]).await.unwrap().unwrap();
    assert_eq!(job.id(), &a);
    assert_eq!(job.working().await.unwrap(), Duration::from_secs(30));
    assert_eq!(client.nack([&a]).await.unwrap(), 1);
    assert_eq!(client.show(&a).await.unwrap().unwrap().nacks, 1);

    assert_eq!(client.fast_ack([&a]).await.unwrap(), 1);
    assert!(client.show(&a).await.unwrap().is_none());
    assert_eq!(client.delete([&b]).await.unwrap(), 1);
    assert!(client.show(&b).await.unwrap().is_none());
    assert_eq!(client.len(&q).await.unwrap(), 0);
    // Zero ids: one command, nothing done.
    assert_eq!(client.ack(Vec::<disque::JobId>::new()).await.unwrap(), 0);
}

#[tokio::test]
async fn peek_shows_without_taking() {
    let target = Target::start().await;
    let client = client(&target).await;
    let q = unique_queue("peek");
    let first = client.add(b"1", &q).await.unwrap();
    let last = client.add(b"2", &q).await.unwrap();
    let oldest = client.peek(&q, 5).await.unwrap();
    assert_eq!(
        oldest.iter().map(|j| &j.id).collect::<Vec<_>>(),
        [&first, &last]
    );
    let newest = client.peek(&q, -1).await.unwrap();
    assert_eq!(newest[0].id, last);
    assert_eq!(client.len(&q).await.unwrap(), 2);
    assert!(client
        .peek(&unique_queue("nopeek"), 3)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn queue_stats_and_pause() {
    let target = Target::start().await;
    let client = client(&target).await;
    let q = unique_queue("qstat");
    assert!(client.queue_stats(&q).await.unwrap().is_none());
    client.add(b"x", &q).await.unwrap();
    let stats = client.queue_stats(&q).await.unwrap().unwrap();
    assert_eq!((stats.name.as_str(), stats.len), (q.as_str(), 1));
    assert_eq!(stats.pause, PauseState::None);

    assert_eq!(
        client.pause(&q, PauseState::Out, false).await.unwrap(),
        PauseState::Out
    );
    assert_eq!(client.pause_state(&q).await.unwrap(), PauseState::Out);
    assert!(
        client
            .get_with(&[&q], ConsumeOptions::new().nohang(true))
            .await
            .unwrap()
            .is_none(),
        "paused for output"
    );
    assert_eq!(
        client.queue_stats(&q).await.unwrap().unwrap().pause,
        PauseState::Out
    );
    client.pause(&q, PauseState::None, false).await.unwrap();
    assert!(client
        .get_with(&[&q], ConsumeOptions::new().nohang(true))
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn active_len_counts_every_active_job() {
    let target = Target::start().await;
    let client = client(&target).await;
    let q = unique_queue("active");
    let bodies: Vec<Vec<u8>> = (0..30).map(|i| vec![i as u8]).collect();
    client.add_many(&bodies, &q).await.unwrap();
    let taken = client.get_many(&[&q], 25).await.unwrap();
    assert_eq!(taken.len(), 25);
    assert_eq!(client.active_len(&q).await.unwrap(), 25);
    assert_eq!(client.len(&q).await.unwrap(), 5);
    client.ack(taken.iter().map(|j| j.id())).await.unwrap();
    assert_eq!(client.active_len(&q).await.unwrap(), 0);
}

#[tokio::test]
async fn scans_follow_the_cursor_to_the_end() {
    let target = Target::start().await;
    let client = client(&target).await;
    let q = unique_queue("scan");
    let bodies: Vec<Vec<u8>> = (0..50).map(|i| vec![i as u8]).collect();
    let ids: Vec<_> = client
        .add_many(&bodies, &q)
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();

    let opts = disque::JobScanOptions::new().queue(&q).count(7);
    let mut seen: Vec<_> = client.scan_jobs(opts).try_collect().await.unwrap();
    seen.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    seen.dedup();
    let mut want = ids.clone();
    want.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!(seen, want);

    let queues: Vec<String> = client
        .scan_queues(disque::QueueScanOptions::new().count(2))
        .try_collect()
        .await
        .unwrap();
    assert!(queues.contains(&q), "{q} not in {queues:?}");
}

#[tokio::test]
async fn hello_info_ping() {
    let target = Target::start().await;
    let client = client(&target).await;
    client.ping().await.unwrap();
    let hello = client.hello().await.unwrap();
    assert!(hello.nodes.iter().any(|n| n.id == hello.id));
    assert_eq!(hello.id.len(), 40);
    let info = client.info(None).await.unwrap();
    assert!(info.get("registered_jobs").is_some());
    let jobs = client.info(Some("jobs")).await.unwrap();
    assert!(jobs.section("jobs").is_some());
    assert!(jobs.section("server").is_none());
}

#[tokio::test]
async fn wait_resolves_once_the_job_is_acked() {
    let target = Target::start().await;
    let client = client(&target).await;
    let q = unique_queue("wait");
    let id = client.add(b"x", &q).await.unwrap();
    let worker = client.clone();
    let q2 = q.clone();
    let consumer = tokio::spawn(async move {
        let job = worker.get(&[&q2]).await.unwrap().unwrap();
        job.ack().await.unwrap();
    });
    client
        .wait(&id, Some(Duration::from_secs(5)))
        .await
        .unwrap();
    consumer.await.unwrap();
    // A job that never existed is done at once.
    let gone = disque::JobId::parse("D-deadbeef-AAAAAAAAAAAAAAAAAAAAAAAA-05a1").unwrap();
    client
        .wait(&gone, Some(Duration::from_millis(100)))
        .await
        .unwrap();
}

#[tokio::test]
async fn many_tasks_share_one_client_while_consumers_block() {
    let target = Target::start().await;
    let client = Client::builder()
        .blocking_connections(2)
        .connect(target.addr())
        .await
        .unwrap();
    let q = unique_queue("shared");
    // Two consumers block on GETJOB (dedicated connections) …
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let c = client.clone();
            let q = q.clone();
            tokio::spawn(async move {
                let job = c
                    .get_with(&[&q], ConsumeOptions::new().timeout(Duration::from_secs(5)))
                    .await
                    .unwrap()
                    .expect("a job within 5 s");
                job.ack().await.unwrap();
            })
        })
        .collect();
    // … while producers share the multiplexed connection undisturbed.
    let producers: Vec<_> = (0..10)
        .map(|i| {
            let c = client.clone();
            let q = q.clone();
            tokio::spawn(async move { c.add(format!("p{i}"), &q).await.unwrap() })
        })
        .collect();
    for p in producers {
        p.await.unwrap();
    }
    for c in consumers {
        c.await.unwrap();
    }
    assert_eq!(client.len(&q).await.unwrap(), 8);
}

#[tokio::test]
async fn a_cancelled_blocking_get_takes_no_job_with_it() {
    let target = Target::start().await;
    if target.is_external() {
        common::skip(
            "a_cancelled_blocking_get_takes_no_job_with_it",
            "counts blocked clients, which other users of a shared Disque change",
        );
        return;
    }
    let client = client(&target).await;
    let q = unique_queue("cancel");
    let blocked_clients = || async {
        client
            .info(Some("clients"))
            .await
            .unwrap()
            .get_as::<u64>("blocked_clients")
            .unwrap()
    };
    // Block a GETJOB (dedicated connection), wait until the node sees it blocked, then cancel it.
    let queues = [q.as_str()];
    let mut get = Box::pin(client.get(&queues));
    let mut polls = 0;
    loop {
        tokio::select! {
            got = &mut get => panic!("an empty queue gave {:?}", got.map(|d| d.map(|j| j.id().clone()))),
            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
        if blocked_clients().await == 1 {
            break;
        }
        polls += 1;
        assert!(polls < 500, "the GETJOB never blocked");
    }
    drop(get); // cancels it
               // Its connection is closed: the node stops counting it …
    let mut polls = 0;
    while blocked_clients().await != 0 {
        polls += 1;
        assert!(
            polls < 500,
            "the cancelled GETJOB is still blocked on the node"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // … so the next job goes to the next consumer.
    let id = client.add(b"x", &q).await.unwrap();
    let job = client
        .get_with(&[&q], ConsumeOptions::new().nohang(true))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.id(), &id);
    job.ack().await.unwrap();
}

#[tokio::test]
async fn a_consumer_without_timeout_waits_past_the_redis_crates_500_ms_default() {
    let target = Target::start().await;
    if target.is_external() {
        common::skip(
            "a_consumer_without_timeout_waits_past_the_redis_crates_500_ms_default",
            "counts blocked clients, which other users of a shared Disque change",
        );
        return;
    }
    let client = client(&target).await;
    let q = unique_queue("patient");
    let consumer = {
        let client = client.clone();
        let q = q.clone();
        tokio::spawn(async move { client.get(&[&q]).await })
    };
    let mut polls = 0;
    while client
        .info(Some("clients"))
        .await
        .unwrap()
        .get_as::<u64>("blocked_clients")
        != Some(1)
    {
        polls += 1;
        assert!(polls < 500, "the consumer never blocked");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The behaviour under test is a duration: blocked longer than 500 ms.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!consumer.is_finished(), "the blocking GETJOB was cut short");
    let id = client.add(b"x", &q).await.unwrap();
    let job = consumer.await.unwrap().unwrap().unwrap();
    assert_eq!(job.id(), &id);
    job.ack().await.unwrap();
}
