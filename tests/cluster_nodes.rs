//! The client in a cluster (issue 12 items 1–4), against several embedded
//! nodes presenting a membership to HELLO (they do not replicate), and a
//! scripted fake node where a real cluster's federation is needed (a node
//! handing out jobs created elsewhere).

mod cluster_support;
mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use cluster_support::{bulk, hello_reply, FakeNode};
use common::{skip, unique_queue};
use disque::{Client, Error, JobId};
use disque_embedded::Node;

/// `n` embedded nodes, each presenting the others as its peers.
async fn cluster(n: usize) -> Option<Vec<Node>> {
    if common::external_addrs().is_some() {
        return None;
    }
    let mut nodes = Vec::new();
    for _ in 0..n {
        nodes.push(Node::start_ephemeral().await.expect("node starts"));
    }
    for (i, node) in nodes.iter().enumerate() {
        let peers: Vec<_> = nodes
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, p)| p.peer())
            .collect();
        node.set_peers(peers);
    }
    Some(nodes)
}

macro_rules! embedded_cluster {
    ($name:literal, $n:expr) => {
        match cluster($n).await {
            Some(nodes) => nodes,
            None => {
                skip($name, "needs embedded nodes presenting a membership");
                return;
            }
        }
    };
}

#[tokio::test]
async fn one_seed_is_enough_to_learn_every_node() {
    let nodes = embedded_cluster!("one_seed_is_enough_to_learn_every_node", 3);
    let client = Client::connect(nodes[0].addr()).await.unwrap();
    let known = client.nodes();
    assert_eq!(known.len(), 3, "{known:?}");
    for node in &nodes {
        let entry = known
            .iter()
            .find(|k| k.address == node.addr().to_string())
            .unwrap_or_else(|| panic!("{} missing from {known:?}", node.addr()));
        assert_eq!(entry.id.as_deref(), Some(node.node_id().as_str()));
        assert_eq!(entry.priority, 1);
    }
    assert!(known.iter().filter(|k| k.serves_commands).count() == 1);
    assert_eq!(client.node(), nodes[0].addr().to_string());
}

#[tokio::test]
async fn a_leaving_seed_is_passed_over_for_a_healthy_node() {
    let nodes = embedded_cluster!("a_leaving_seed_is_passed_over_for_a_healthy_node", 2);
    nodes[0].set_leaving(true);
    // The leaving node is given first.
    let client = Client::connect([nodes[0].addr(), nodes[1].addr()].map(|a| a.to_string()))
        .await
        .unwrap();
    assert_eq!(client.node(), nodes[1].addr().to_string());
    // Even when it is the only seed: HELLO names the healthy one.
    let client = Client::connect(nodes[0].addr()).await.unwrap();
    assert_eq!(client.node(), nodes[1].addr().to_string());
    let q = unique_queue("prio");
    client.add(b"x", &q).await.unwrap();
    let on_b = Client::connect(nodes[1].addr()).await.unwrap();
    assert_eq!(on_b.len(&q).await.unwrap(), 1);
    let leaving = client
        .nodes()
        .into_iter()
        .find(|n| n.address == nodes[0].addr().to_string())
        .unwrap();
    assert_eq!(leaving.priority, 100);
    assert!(!leaving.serves_commands && !leaving.serves_consumers);
}

#[tokio::test]
async fn a_node_that_starts_leaving_loses_its_producers_and_consumers() {
    let nodes = embedded_cluster!(
        "a_node_that_starts_leaving_loses_its_producers_and_consumers",
        2
    );
    let client = Client::builder()
        .hello_interval(None)
        .connect(nodes[0].addr())
        .await
        .unwrap();
    let q = unique_queue("leaving");
    let queue = q.clone();
    let consumer = client.clone();
    let waiting = tokio::spawn(async move { consumer.get(&[queue.as_str()]).await });
    let direct_a = Client::connect(nodes[0].addr()).await.unwrap();
    common::wait_blocked_clients(&direct_a, 1, Duration::from_secs(5)).await;
    nodes[0].set_leaving(true);
    // The blocked GETJOB is answered -LEAVING: the consumer moves to the
    // other node, without an error.
    let direct_b = Client::connect(nodes[1].addr()).await.unwrap();
    common::wait_blocked_clients(&direct_b, 1, Duration::from_secs(5)).await;
    let id = direct_b.add(b"on b", &q).await.unwrap();
    let job = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("served within 10 s")
        .unwrap()
        .unwrap()
        .expect("a job");
    assert_eq!(job.id(), &id);
    job.ack().await.unwrap();
    let follows = client.nodes().into_iter().find(|n| n.serves_consumers);
    assert_eq!(
        follows.map(|n| n.address),
        Some(nodes[1].addr().to_string())
    );
}

#[tokio::test]
async fn addjob_refused_by_a_leaving_node_goes_to_the_next_node() {
    let nodes = embedded_cluster!("addjob_refused_by_a_leaving_node_goes_to_the_next_node", 2);
    let client = Client::builder()
        .hello_interval(None)
        .connect(nodes[0].addr())
        .await
        .unwrap();
    let q = unique_queue("leaving-add");
    nodes[0].set_leaving(true);
    let id = client.add(b"x", &q).await.unwrap();
    assert!(nodes[1].node_id().starts_with(id.node_prefix()));
    assert_eq!(client.node(), nodes[1].addr().to_string());
}

#[tokio::test]
async fn the_periodic_hello_moves_the_client_off_a_leaving_node() {
    let nodes = embedded_cluster!("the_periodic_hello_moves_the_client_off_a_leaving_node", 2);
    let client = Client::builder()
        .hello_interval(Some(Duration::from_millis(50)))
        .connect(nodes[0].addr())
        .await
        .unwrap();
    nodes[0].set_leaving(true);
    let started = Instant::now();
    while client.node() != nodes[1].addr().to_string() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still on {}",
            client.node()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    client.ping().await.unwrap();
}

#[tokio::test]
async fn a_stopped_node_is_replaced_by_the_next_within_a_bounded_time() {
    let mut nodes = embedded_cluster!(
        "a_stopped_node_is_replaced_by_the_next_within_a_bounded_time",
        3
    );
    let client = Client::connect(nodes[0].addr()).await.unwrap();
    let q = unique_queue("stop");
    client.add(b"before", &q).await.unwrap();
    let first = nodes.remove(0);
    first.shutdown().await;
    let started = Instant::now();
    // Not an ADDJOB: retried on the next node, so no error at all.
    let mut errors = 0;
    loop {
        match client.len(&q).await {
            Ok(_) => break,
            Err(e) => {
                assert!(e.is_connection() || e.is_timeout(), "{e:?}");
                errors += 1;
                assert!(errors <= 1, "more than one error for one switch: {e}");
            }
        }
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let now_on = client.node();
    assert!(
        nodes.iter().any(|n| n.addr().to_string() == now_on),
        "{now_on}"
    );
    client.add(b"after", &q).await.unwrap();
}

#[tokio::test]
async fn working_nack_and_show_go_to_the_node_that_holds_the_job() {
    let nodes = embedded_cluster!("working_nack_and_show_go_to_the_node_that_holds_the_job", 2);
    // The client works through node 0; the job lives on node 1 only.
    let client = Client::connect(nodes[0].addr()).await.unwrap();
    let on_b = Client::connect(nodes[1].addr()).await.unwrap();
    let q = unique_queue("routed");
    let id = on_b
        .retry(Duration::from_secs(60))
        .add(b"x", &q)
        .await
        .unwrap();
    // Node 0 itself does not hold it (QLEN is not routed) …
    let raw_a = Client::connect(nodes[0].addr()).await.unwrap();
    assert_eq!(raw_a.len(&q).await.unwrap(), 0);
    assert_eq!(on_b.len(&q).await.unwrap(), 1);
    // … and the client finds it on node 1 by the id's node prefix.
    let info = client.show(&id).await.unwrap().expect("found on node 1");
    assert_eq!(info.queue.as_deref(), Some(q.as_str()));
    let job = on_b.get(&[q.as_str()]).await.unwrap().expect("queued");
    assert_eq!(client.working(&id).await.unwrap(), Duration::from_secs(60));
    assert_eq!(client.nack([&id]).await.unwrap(), 1);
    assert_eq!(on_b.len(&q).await.unwrap(), 1);
    drop(job);
    // An id no node knows: "not here" is never success.
    let unknown = JobId::parse(&format!(
        "D-{}-AAAAAAAAAAAAAAAAAAAAAAAA-05a1",
        &nodes[1].node_id()[..8]
    ))
    .unwrap();
    assert!(matches!(
        client.working(&unknown).await,
        Err(Error::NoJob(_))
    ));
    assert_eq!(client.nack([&unknown]).await.unwrap(), 0);
    assert!(client.show(&unknown).await.unwrap().is_none());
}

#[tokio::test]
async fn a_delivery_nacked_after_its_job_is_gone_is_an_error() {
    let target = common::Target::start().await;
    let client = Client::connect(target.addr()).await.unwrap();
    let q = unique_queue("gone");
    client.add(b"x", &q).await.unwrap();
    let job = client.get(&[q.as_str()]).await.unwrap().expect("queued");
    client.ack([job.id()]).await.unwrap();
    assert!(matches!(job.nack().await, Err(Error::NoJob(_))));
}

/// A fake node "F" that hands out jobs created by `origin` (as a real node
/// does after federation) and answers WORKING and NACK for them.
async fn federating_fake(origin: &Node) -> (FakeNode, String) {
    const F_ID: &str = "f0f0f0f0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let origin_id = origin.node_id();
    let origin_port = origin.addr().port();
    let prefix = origin_id[..8].to_owned();
    let me: Arc<OnceLock<u16>> = Arc::default();
    let port = Arc::clone(&me);
    let n = AtomicU64::new(0);
    let fake = FakeNode::start(move |cmd| {
        let name = String::from_utf8_lossy(&cmd[0]).to_ascii_uppercase();
        let my_port = *port.get().unwrap_or(&0);
        Some(match name.as_str() {
            "HELLO" => hello_reply(
                F_ID,
                &[
                    (F_ID, "127.0.0.1", my_port, 1),
                    (&origin_id, "127.0.0.1", origin_port, 1),
                ],
            ),
            "PING" => "+PONG\r\n".into(),
            "GETJOB" => {
                let queue = String::from_utf8_lossy(&cmd[cmd.len() - 1]).into_owned();
                let k = n.fetch_add(1, Ordering::SeqCst);
                let id = format!("D-{prefix}-{k:024}-05a1");
                format!(
                    "*1\r\n*7\r\n{}{}{}{}:0\r\n{}:0\r\n",
                    bulk(&queue),
                    bulk(&id),
                    bulk("body"),
                    bulk("nacks"),
                    bulk("additional-deliveries")
                )
            }
            "WORKING" => ":42\r\n".into(),
            "NACK" | "ACKJOB" | "FASTACK" => format!(":{}\r\n", cmd.len() - 1),
            _ => "-ERR unknown command\r\n".into(),
        })
    })
    .await;
    let _ = me.set(fake.addr().port());
    (fake, F_ID.to_owned())
}

#[tokio::test]
async fn nack_and_working_of_a_delivery_go_to_the_node_that_delivered_it() {
    let Some(nodes) = cluster(1).await else {
        skip(
            "nack_and_working_of_a_delivery_go_to_the_node_that_delivered_it",
            "needs embedded nodes",
        );
        return;
    };
    let (fake, _) = federating_fake(&nodes[0]).await;
    let client = Client::builder()
        .consumer_affinity(false)
        .connect(fake.addr())
        .await
        .unwrap();
    assert_eq!(client.nodes().len(), 2);
    let job = client.get(&["fed"]).await.unwrap().expect("a job");
    // Created on the real node, which does not hold it: only the node that
    // delivered it can answer.
    assert!(nodes[0].node_id().starts_with(job.id().node_prefix()));
    assert_eq!(job.working().await.unwrap(), Duration::from_secs(42));
    job.nack().await.unwrap();
    let seen = fake.commands();
    assert!(seen.contains(&"WORKING".to_string()), "{seen:?}");
    assert!(seen.contains(&"NACK".to_string()), "{seen:?}");
}

#[tokio::test]
async fn consumers_follow_the_node_producing_most_of_their_jobs() {
    let Some(nodes) = cluster(1).await else {
        skip(
            "consumers_follow_the_node_producing_most_of_their_jobs",
            "needs embedded nodes",
        );
        return;
    };
    let (fake, _) = federating_fake(&nodes[0]).await;
    let client = Client::connect(fake.addr()).await.unwrap();
    let producer = Client::connect(nodes[0].addr()).await.unwrap();
    let follows = |c: &Client| {
        c.nodes()
            .into_iter()
            .find(|n| n.serves_consumers)
            .map(|n| n.address)
    };
    assert_eq!(follows(&client), Some(fake.addr().to_string()));
    // Every job F hands out was created on the real node: after one round
    // (32 jobs) the consumer moves there.
    for _ in 0..32 {
        let job = client.get(&["fed"]).await.unwrap().expect("a job");
        job.ack().await.unwrap();
    }
    assert_eq!(follows(&client), Some(nodes[0].addr().to_string()));
    // Non-blocking commands stay on the main node.
    assert_eq!(client.node(), fake.addr().to_string());
    let q = unique_queue("follow");
    let id = producer.add(b"local", &q).await.unwrap();
    let job = client
        .get(&[q.as_str()])
        .await
        .unwrap()
        .expect("taken on the real node");
    assert_eq!(job.id(), &id);
    job.ack().await.unwrap();
    assert_eq!(producer.len(&q).await.unwrap(), 0);
    // Off by choice: no move.
    let fixed = Client::builder()
        .consumer_affinity(false)
        .connect(fake.addr())
        .await
        .unwrap();
    for _ in 0..40 {
        fixed
            .get(&["fed"])
            .await
            .unwrap()
            .expect("a job")
            .ack()
            .await
            .unwrap();
    }
    assert_eq!(follows(&fixed), Some(fake.addr().to_string()));
}

/// A job for the dead-letter routing tests.
#[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
#[job(queue = "disque-rs-cluster-dead-letter")]
struct Parcel {
    weight: u32,
}

/// Two nodes, and a client that took a job (body `body`, queue `q`) from
/// node A and whose main connection has since moved to node B, A still
/// holding the job, active. Returns the nodes, the client, the raw
/// delivery and the job's id.
async fn delivered_by_a_main_on_b(
    name: &str,
    q: &str,
    body: &[u8],
) -> Option<(Vec<Node>, Client, disque::Delivery, JobId)> {
    let Some(nodes) = cluster(2).await else {
        skip(name, "needs embedded nodes presenting a membership");
        return None;
    };
    let client = Client::builder()
        .hello_interval(None)
        .consumer_affinity(false)
        .connect(nodes[0].addr())
        .await
        .unwrap();
    let id = client
        .retry(Duration::from_secs(60))
        .add(body, q)
        .await
        .unwrap();
    let job = client.get(&[q]).await.unwrap().expect("queued on A");
    assert_eq!(job.id(), &id);
    // A refuses ADDJOB while leaving: the main connection moves to B, and
    // stays there once A is back (no periodic HELLO).
    nodes[0].set_leaving(true);
    client
        .add(b"elsewhere", &unique_queue("move"))
        .await
        .unwrap();
    nodes[0].set_leaving(false);
    assert_eq!(client.node(), nodes[1].addr().to_string());
    // A holds the job, B does not.
    let on_b = Client::connect(nodes[1].addr()).await.unwrap();
    assert!(on_b.show(&id).await.unwrap().is_some(), "found on A");
    Some((nodes, client, job, id))
}

/// The original is gone from A (and every node), and the dead letter is
/// in `<q>.dead`.
async fn moved_to_dead_letter(nodes: &[Node], client: &Client, q: &str, id: &JobId, dead: &JobId) {
    let on_a = Client::builder()
        .hello_interval(None)
        .connect(nodes[0].addr())
        .await
        .unwrap();
    assert_eq!(on_a.node(), nodes[0].addr().to_string());
    assert!(on_a.show(id).await.unwrap().is_none(), "acked on A");
    assert_eq!(on_a.len(q).await.unwrap(), 0);
    let dead_q = format!("{q}.dead");
    assert_eq!(client.len(&dead_q).await.unwrap(), 1);
    let letter = client
        .get(&[dead_q.as_str()])
        .await
        .unwrap()
        .expect("the dead letter");
    assert_eq!(letter.id(), dead);
    let envelope = disque::DeadLetter::parse(letter.body()).expect("an envelope");
    assert_eq!(envelope.id, id.as_str());
    letter.ack().await.unwrap();
}

#[tokio::test]
async fn dead_letter_of_a_raw_delivery_acks_on_the_node_that_delivered_it() {
    let name = "dead_letter_of_a_raw_delivery_acks_on_the_node_that_delivered_it";
    let q = unique_queue("dead-routed-raw");
    let Some((nodes, client, job, id)) = delivered_by_a_main_on_b(name, &q, b"poison").await else {
        return;
    };
    let dead = job.dead_letter("gave up").await.unwrap();
    moved_to_dead_letter(&nodes, &client, &q, &id, &dead).await;
}

#[tokio::test]
async fn dead_letter_of_a_typed_delivery_acks_on_the_node_that_delivered_it() {
    let name = "dead_letter_of_a_typed_delivery_acks_on_the_node_that_delivered_it";
    let q = unique_queue("dead-routed-typed");
    let body = disque::encode_payload(&Parcel { weight: 3 }).unwrap();
    let Some((nodes, client, job, id)) = delivered_by_a_main_on_b(name, &q, &body).await else {
        return;
    };
    let job = job.decode::<Parcel>().unwrap();
    assert_eq!(job.weight, 3);
    let dead = job.dead_letter("too heavy").await.unwrap();
    moved_to_dead_letter(&nodes, &client, &q, &id, &dead).await;
}

#[tokio::test]
async fn dead_letter_of_a_decode_failure_acks_on_the_node_that_delivered_it() {
    let name = "dead_letter_of_a_decode_failure_acks_on_the_node_that_delivered_it";
    let q = unique_queue("dead-routed-undecodable");
    let Some((nodes, client, job, id)) = delivered_by_a_main_on_b(name, &q, b"not json").await
    else {
        return;
    };
    let Err(Error::Decode(failure)) = job.decode::<Parcel>() else {
        panic!("decoded a body that is not a Parcel");
    };
    let dead = failure.dead_letter(&client, "undecodable").await.unwrap();
    moved_to_dead_letter(&nodes, &client, &q, &id, &dead).await;
}

#[tokio::test]
async fn a_decode_failure_given_back_nacks_on_the_node_that_delivered_it() {
    let name = "a_decode_failure_given_back_nacks_on_the_node_that_delivered_it";
    let q = unique_queue("nack-routed-undecodable");
    let Some((nodes, client, job, id)) = delivered_by_a_main_on_b(name, &q, b"not json").await
    else {
        return;
    };
    let Err(Error::Decode(failure)) = job.decode::<Parcel>() else {
        panic!("decoded a body that is not a Parcel");
    };
    failure.into_delivery(&client).nack().await.unwrap();
    let on_a = Client::builder()
        .hello_interval(None)
        .connect(nodes[0].addr())
        .await
        .unwrap();
    assert_eq!(on_a.len(&q).await.unwrap(), 1, "queued again on A");
    let again = on_a.get(&[q.as_str()]).await.unwrap().expect("nacked back");
    assert_eq!((again.id(), again.nacks()), (&id, 1));
    again.ack().await.unwrap();
}
