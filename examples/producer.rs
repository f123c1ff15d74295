//! Enqueues a few `MakeThumbnail` jobs. Start a node first, then a consumer:
//!
//! ```sh
//! cargo run --release -p disque-embedded          # terminal 1 (or a real Disque on 7711)
//! cargo run --example consumer                    # terminal 2
//! cargo run --example producer                    # terminal 3
//! ```

#[path = "shared/jobs.rs"]
mod jobs;

use jobs::MakeThumbnail;

#[tokio::main]
async fn main() -> Result<(), disque::Error> {
    let client = disque::Client::connect(jobs::addrs().as_str()).await?;
    for (i, width) in [64, 128, 256].into_iter().enumerate() {
        let job = MakeThumbnail {
            path: format!("uploads/photo-{i}.jpg"),
            width,
        };
        let id = client.enqueue(&job).await?;
        println!("enqueued {id}: {job:?}");
    }
    Ok(())
}
