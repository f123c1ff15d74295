//! The main job: three job types of different priority travel from a producer
//! to a consumer through Disque, and come out highest priority first.
//!
//! ```sh
//! cargo run --example quickstart                              # embedded node
//! DISQUE_ADDRS=127.0.0.1:7711 cargo run --example quickstart  # a real Disque
//! RUST_LOG=disque=debug cargo run --example quickstart        # + the client's spans
//! ```

use std::time::Duration;

use disque::{Client, Delivery, Job, JobSet};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

/// Wake someone up: served before anything else.
#[derive(Debug, Serialize, Deserialize, Job)]
#[job(queue = "quickstart.urgent", priority = 30, retry = "30s", ttl = "1h")]
struct PageOnCall {
    service: String,
    message: String,
}

/// Ordinary work.
#[derive(Debug, Serialize, Deserialize, Job)]
#[job(queue = "quickstart.normal", priority = 20, retry = "1m", ttl = "1d")]
struct SendEmail {
    to: String,
    subject: String,
}

/// Whenever there is nothing better to do.
#[derive(Debug, Serialize, Deserialize, Job)]
#[job(queue = "quickstart.low", priority = 10, retry = "5m", ttl = "1d")]
struct RebuildReport {
    name: String,
    rows: u32,
}

/// What the consumer takes: one `GETJOB … FROM urgent normal low`.
#[derive(JobSet)]
enum Work {
    Urgent(Delivery<PageOnCall>),
    Normal(Delivery<SendEmail>),
    Low(Delivery<RebuildReport>),
}

/// One job to enqueue, whatever its type.
enum Produce {
    Urgent(PageOnCall),
    Normal(SendEmail),
    Low(RebuildReport),
}

const PER_TYPE: usize = 3;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // With RUST_LOG set (e.g. `disque=debug`), print the client's spans on
    // stderr as they close: one per enqueue, consume and ack, each with its
    // queue, job type and job id.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
    // A real Disque if DISQUE_ADDRS names one, else an embedded node on a free port.
    let (addrs, _node) = match std::env::var("DISQUE_ADDRS") {
        Ok(addrs) if !addrs.trim().is_empty() => (addrs, None),
        _ => {
            let node = disque_embedded::Node::start_ephemeral().await?;
            println!("started an embedded Disque node on {}", node.addr());
            (node.addr().to_string(), Some(node))
        }
    };
    let client = Client::connect(addrs.as_str()).await?;

    let mut batch = Vec::new();
    for i in 1..=PER_TYPE {
        batch.push(Produce::Urgent(PageOnCall {
            service: format!("db-{i}"),
            message: "replication lag above 30 s".into(),
        }));
        batch.push(Produce::Normal(SendEmail {
            to: format!("user{i}@example.com"),
            subject: "Your invoice".into(),
        }));
        batch.push(Produce::Low(RebuildReport {
            name: format!("monthly-{i}"),
            rows: 1_000 * i as u32,
        }));
    }
    batch.shuffle(&mut rand::rng());

    println!(
        "\nproducer: enqueuing {} jobs in shuffled order",
        batch.len()
    );
    for job in &batch {
        let (kind, id) = match job {
            Produce::Urgent(job) => ("urgent", client.enqueue(job).await?),
            Produce::Normal(job) => ("normal", client.enqueue(job).await?),
            Produce::Low(job) => ("low   ", client.enqueue(job).await?),
        };
        println!("  + {kind} {id}");
    }

    println!("\nconsumer: taking jobs highest priority first");
    let mut served = Vec::new();
    for _ in 0..batch.len() {
        let work = tokio::time::timeout(Duration::from_secs(10), client.consume_set::<Work>())
            .await
            .map_err(|_| "no job arrived within 10 s")??;
        match work {
            Work::Urgent(job) => {
                println!("  ! paging on-call for {}: {}", job.service, job.message);
                served.push(PageOnCall::PRIORITY);
                job.ack().await?;
            }
            Work::Normal(job) => {
                println!("  > emailing {}: {:?}", job.to, job.subject);
                served.push(SendEmail::PRIORITY);
                job.ack().await?;
            }
            Work::Low(job) => {
                println!("  . rebuilding report {} ({} rows)", job.name, job.rows);
                served.push(RebuildReport::PRIORITY);
                job.ack().await?;
            }
        }
    }

    let in_order = served.windows(2).all(|pair| pair[0] >= pair[1]);
    let count = |priority| served.iter().filter(|&&p| p == priority).count();
    println!(
        "\nsummary: {} jobs consumed and acknowledged ({} urgent, {} normal, {} low), {}",
        served.len(),
        count(PageOnCall::PRIORITY),
        count(SendEmail::PRIORITY),
        count(RebuildReport::PRIORITY),
        if in_order {
            "highest priority first"
        } else {
            "OUT OF PRIORITY ORDER"
        },
    );
    if !in_order {
        return Err("jobs were not served highest priority first".into());
    }
    Ok(())
}
