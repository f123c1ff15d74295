//! A worker serving two job types while a producer feeds them: a progress
//! line every second, a summary at the end. Stops on Ctrl-C, or once every
//! job produced is done.
//!
//! ```sh
//! cargo run --example worker                              # embedded node
//! DISQUE_ADDRS=127.0.0.1:7711 cargo run --example worker  # a real Disque
//! ```
//!
//! One resize in fifty fails on its first attempt (the worker retries it
//! after a backoff); a report for "day 0" always fails and ends in the
//! dead-letter queue `examples.worker.reports.dead` after three attempts.

use std::time::Duration;

use disque::{Client, Delivery, Job, RetryPolicy, Worker};
use serde::{Deserialize, Serialize};

/// Resize an uploaded image: served first.
#[derive(Debug, Serialize, Deserialize, Job)]
#[job(
    queue = "examples.worker.resize",
    priority = 10,
    retry = "30s",
    ttl = "1h"
)]
struct Resize {
    image: u32,
    width: u32,
}

/// Rebuild a daily report: whenever there is nothing better to do.
#[derive(Debug, Serialize, Deserialize, Job)]
#[job(
    queue = "examples.worker.reports",
    priority = 1,
    retry = "1m",
    ttl = "1h"
)]
struct Report {
    day: u32,
}

const RESIZES: u32 = 2_000;
const REPORTS: u32 = 200;

async fn resize(job: Delivery<Resize>) -> Result<(), String> {
    // Pretend to work: a few milliseconds of I/O.
    tokio::time::sleep(Duration::from_millis(2)).await;
    if job.image % 50 == 7 && job.nacks() == 0 {
        return Err(format!("image {} is still uploading", job.image));
    }
    Ok(())
}

async fn report(job: Delivery<Report>) -> Result<(), std::io::Error> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    if job.day == 0 {
        return Err(std::io::Error::other("there is no day 0"));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), disque::Error> {
    // A real Disque if DISQUE_ADDRS names one, else an embedded node on a free port.
    let (addrs, _node) = match std::env::var("DISQUE_ADDRS") {
        Ok(addrs) => (addrs, None),
        Err(_) => {
            let node = disque_embedded::Node::start_ephemeral().await?;
            println!("started an embedded Disque node on {}", node.addr());
            (node.addr().to_string(), Some(node))
        }
    };
    let client = Client::connect(addrs.as_str()).await?;

    // The producer: a burst of resizes and a trickle of reports.
    let producer = {
        let client = client.clone();
        tokio::spawn(async move {
            for image in 0..RESIZES {
                client.enqueue(&Resize { image, width: 320 }).await?;
                if image % 10 == 0 {
                    client.enqueue(&Report { day: image / 10 }).await?;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            Ok::<(), disque::Error>(())
        })
    };

    let worker = Worker::builder(client.clone())
        .concurrency(32)
        .retry(
            RetryPolicy::new()
                .initial_delay(Duration::from_millis(200))
                .max_attempts(3),
        )
        .handle(resize)
        .handle(report)
        .build()?;
    println!(
        "serving {:?} (highest priority first); Ctrl-C stops",
        worker.queues()
    );

    let counters = worker.counters();
    let stop = async move {
        let total = u64::from(RESIZES + REPORTS);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let all_done = async {
            loop {
                tick.tick().await;
                let s = counters.snapshot();
                println!("{s}");
                // Every job produced is acked or dead-lettered.
                if s.acked + s.dead_lettered >= total {
                    break;
                }
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => println!("Ctrl-C: draining"),
            () = all_done => println!("all {total} jobs done"),
        }
    };
    let summary = worker.run_until(stop).await?;
    println!("summary: {summary}");
    producer.abort();
    Ok(())
}
