//! Several job types consumed together through a `#[derive(JobSet)]` enum are
//! served highest priority first, whatever order they were enqueued in.
//!
//! Job queues are constants, so these are fixed names private to this file;
//! against an external Disque the test first drains them.

mod common;

use common::Target;
use disque::{Client, ConsumeOptions, Delivery, Job, JobSet};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Job, Debug)]
#[job(queue = "disque-rs-typed-priority-low", priority = -10)]
struct Cleanup {
    n: u32,
}

#[derive(Serialize, Deserialize, Job, Debug)]
#[job(queue = "disque-rs-typed-priority-normal")]
struct Report {
    n: u32,
}

#[derive(Serialize, Deserialize, Job, Debug)]
#[job(queue = "disque-rs-typed-priority-urgent", priority = 100)]
struct Alert {
    n: u32,
}

/// Declared in neither priority nor enqueue order on purpose.
#[derive(JobSet)]
enum Work {
    Report(Delivery<Report>),
    Cleanup(Delivery<Cleanup>),
    Alert(Delivery<Alert>),
}

#[tokio::test]
async fn three_job_types_served_highest_priority_first() {
    let target = Target::start().await;
    let client = Client::connect(target.addr()).await.unwrap();
    assert_eq!(
        Work::queues(),
        [Alert::QUEUE, Report::QUEUE, Cleanup::QUEUE]
    );
    if target.is_external() {
        for _ in 0..10_000 {
            match client
                .get_with(&Work::queues(), ConsumeOptions::new().nohang(true))
                .await
                .unwrap()
            {
                Some(stale) => {
                    client.fast_ack([stale.id()]).await.unwrap();
                }
                None => break,
            }
        }
    }

    // Shuffled: low, urgent, normal, low, normal, urgent, …
    for n in 0..3 {
        client.enqueue(&Cleanup { n }).await.unwrap();
        client.enqueue(&Alert { n }).await.unwrap();
        client.enqueue(&Report { n }).await.unwrap();
    }

    let mut served = Vec::new();
    for _ in 0..9 {
        // The compiler checks this match covers every job type of `Work`.
        let label = match client.consume_set::<Work>().await.unwrap() {
            Work::Alert(job) => {
                let label = format!("alert {}", job.n);
                job.ack().await.unwrap();
                label
            }
            Work::Report(job) => {
                let label = format!("report {}", job.n);
                job.ack().await.unwrap();
                label
            }
            Work::Cleanup(job) => {
                let label = format!("cleanup {}", job.n);
                job.ack().await.unwrap();
                label
            }
        };
        served.push(label);
    }
    let kinds: Vec<&str> = served
        .iter()
        .map(|label| label.split(' ').next().unwrap_or_default())
        .collect();
    assert_eq!(
        kinds,
        [
            "alert", "alert", "alert", "report", "report", "report", "cleanup", "cleanup",
            "cleanup"
        ],
        "served: {served:?}"
    );
    for queue in Work::queues() {
        assert_eq!(client.len(queue).await.unwrap(), 0);
    }
}
