//! Against a real Disque cluster only: kill -9 of the node the client is
//! connected to, under load, with REPLICATE 2. Prints how many acknowledged
//! jobs were lost (must be 0) and how long the client saw no successful ADDJOB.
//!
//! ```sh
//! DISQUE_ADDRS=127.0.0.1:7791,127.0.0.1:7792,127.0.0.1:7793 DISQUE_KILL_CONNECTED=1 \
//!     cargo test -p disque-suite --test cluster_real -- --nocapture
//! ```
//!
//! It sends `kill -9` to the connected node's pid (from `INFO server`), so
//! it runs only when `DISQUE_KILL_CONNECTED=1` and the node is on loopback.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{skip, unique_queue};
use disque::{Client, ConsumeOptions, JobId};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_the_connected_node_under_load() {
    let name = "kill_the_connected_node_under_load";
    let Some(addrs) = common::external_addrs() else {
        skip(name, "needs DISQUE_ADDRS naming a real 3-node cluster");
        return;
    };
    if addrs.len() < 3 || std::env::var("DISQUE_KILL_CONNECTED").as_deref() != Ok("1") {
        skip(
            name,
            "needs 3 nodes in DISQUE_ADDRS and DISQUE_KILL_CONNECTED=1",
        );
        return;
    }
    let producer = Client::builder()
        .response_timeout(Duration::from_secs(2))
        .connect(addrs.as_slice())
        .await
        .unwrap();
    let consumer = Client::builder()
        .response_timeout(Duration::from_secs(2))
        .link_check_interval(Duration::from_millis(500))
        .connect(addrs.as_slice())
        .await
        .unwrap();
    let victim = producer.node();
    assert!(
        victim.starts_with("127.0.0.1:"),
        "only a loopback node is killed"
    );
    let info = producer.info(Some("server")).await.unwrap();
    let pid = info
        .get("process_id")
        .expect("INFO server has process_id")
        .to_owned();
    let q = unique_queue("kill");

    let acked: Arc<Mutex<Vec<(JobId, Instant)>>> = Arc::default();
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let prod = {
        let (acked, errors, stop, q) = (acked.clone(), errors.clone(), stop.clone(), q.clone());
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                n += 1;
                let body = n.to_string();
                match producer
                    .replicate(2)
                    .retry(Duration::from_secs(2))
                    .add(body.as_bytes(), &q)
                    .await
                {
                    Ok(id) => acked.lock().unwrap().push((id, Instant::now())),
                    Err(e) => errors.lock().unwrap().push(e.to_string()),
                }
            }
            producer
        })
    };
    let received: Arc<Mutex<HashSet<JobId>>> = Arc::default();
    let cons = {
        let (received, stop, q) = (received.clone(), stop.clone(), q.clone());
        tokio::spawn(async move {
            let mut errors = 0u64;
            let opts = ConsumeOptions::new().timeout(Duration::from_millis(500));
            loop {
                match consumer.get_with(&[q.as_str()], opts.clone()).await {
                    Ok(Some(job)) => {
                        received.lock().unwrap().insert(job.id().clone());
                        let _ = job.ack().await;
                    }
                    Ok(None) if stop.load(std::sync::atomic::Ordering::SeqCst) => break,
                    Ok(None) => {}
                    Err(_) => errors += 1,
                }
            }
            errors
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let killed_at = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-9", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let producer = prod.await.unwrap();
    // Let the replicas requeue what the dead node held (RETRY 2 s), then drain.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let missing = {
            let got = received.lock().unwrap();
            acked
                .lock()
                .unwrap()
                .iter()
                .filter(|(id, _)| !got.contains(id))
                .count()
        };
        if missing == 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let consumer_errors = cons.await.unwrap();
    let acked = acked.lock().unwrap();
    let got = received.lock().unwrap();
    let lost = acked.iter().filter(|(id, _)| !got.contains(id)).count();
    let before = acked
        .iter()
        .rev()
        .find(|(_, t)| *t < killed_at)
        .map(|(_, t)| *t);
    let after = acked.iter().find(|(_, t)| *t > killed_at).map(|(_, t)| *t);
    let outage = match (before, after) {
        (Some(b), Some(a)) => a.duration_since(b),
        _ => Duration::MAX,
    };
    let errors = errors.lock().unwrap();
    println!(
        "killed {victim} (pid {pid}); now on {}; acknowledged {} jobs, received {}, lost {lost}; \
         producer outage {} ms, producer errors {} ({:?}), consumer errors {consumer_errors}",
        producer.node(),
        acked.len(),
        got.len(),
        outage.as_millis(),
        errors.len(),
        errors.first()
    );
    assert_eq!(lost, 0, "acknowledged jobs lost");
    assert!(outage < Duration::from_secs(2), "outage {outage:?}");
}
