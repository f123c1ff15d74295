//! Takes `MakeThumbnail` jobs, "works" on them and acknowledges each; stops
//! after 10 s without a job. See `producer.rs` for how to run the pair.

#[path = "shared/jobs.rs"]
mod jobs;

use std::time::Duration;

use jobs::MakeThumbnail;

#[tokio::main]
async fn main() -> Result<(), disque::Error> {
    let client = disque::Client::connect(jobs::addrs().as_str()).await?;
    let mut done = 0;
    // Each wait is bounded; an idle queue for 10 s ends the example.
    while let Some(job) = client
        .consume_with::<MakeThumbnail>(
            disque::ConsumeOptions::new().timeout(Duration::from_secs(10)),
        )
        .await?
    {
        println!(
            "resizing {} to {} px (id {}, delivered again {} times)",
            job.path,
            job.width,
            job.id(),
            job.additional_deliveries()
        );
        job.ack().await?;
        done += 1;
    }
    println!("no job for 10 s: {done} done, bye");
    Ok(())
}
