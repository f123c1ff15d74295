//! A job type's options are its defaults; a call can override some of them,
//! and what Disque stored is visible in SHOW.
//!
//! Job queues are constants, so this is a fixed name private to this file;
//! jobs are deleted by id, so a shared external Disque is left clean.

mod common;

use common::Target;
use disque::{Client, Job, JobOptions};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Serialize, Deserialize, Job)]
#[job(
    queue = "disque-rs-typed-options",
    retry = "30s",
    ttl = "1h",
    delay = "10m"
)]
struct Invoice {
    number: u32,
}

/// SHOW's TTL is the time left: allow for the seconds the test takes.
fn assert_ttl_about(ttl: Duration, expected_secs: u64) {
    let secs = ttl.as_secs();
    assert!(
        secs <= expected_secs && secs + 5 >= expected_secs,
        "ttl {secs}s, expected about {expected_secs}s"
    );
}

#[tokio::test]
async fn type_defaults_and_per_call_overrides_show_in_show() {
    let target = Target::start().await;
    let client = Client::connect(target.addr()).await.unwrap();
    assert_eq!(
        Invoice::options(),
        JobOptions::new()
            .retry(Duration::from_secs(30))
            .ttl(Duration::from_secs(3_600))
            .delay(Duration::from_secs(600))
    );

    let defaults = client.enqueue(&Invoice { number: 1 }).await.unwrap();
    let info = client.show(&defaults).await.unwrap().unwrap();
    assert_eq!(info.retry, Duration::from_secs(30));
    assert_eq!(info.delay, Duration::from_secs(600));
    assert_ttl_about(info.ttl, 3_600);

    // enqueue_with: the call's retry and ttl win, the type's delay stays.
    let overridden = client
        .enqueue_with(
            &Invoice { number: 2 },
            JobOptions::new()
                .retry(Duration::from_secs(5))
                .ttl(Duration::from_secs(1_200)),
        )
        .await
        .unwrap();
    let info = client.show(&overridden).await.unwrap().unwrap();
    assert_eq!(info.retry, Duration::from_secs(5));
    assert_eq!(info.delay, Duration::from_secs(600));
    assert_ttl_about(info.ttl, 1_200);

    // The chained form does the same for one call.
    let chained = client
        .retry(Duration::from_secs(7))
        .delay(Duration::ZERO)
        .enqueue(&Invoice { number: 3 })
        .await
        .unwrap();
    let info = client.show(&chained).await.unwrap().unwrap();
    assert_eq!(info.retry, Duration::from_secs(7));
    assert_eq!(info.delay, Duration::ZERO);
    assert_ttl_about(info.ttl, 3_600);

    // FASTACK, not DELJOB: in a cluster DELJOB leaves the other copies.
    assert_eq!(
        client
            .fast_ack([&defaults, &overridden, &chained])
            .await
            .unwrap(),
        3
    );
}
