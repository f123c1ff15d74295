use disque::{Client, Delivery, Job, JobSet};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "urgent", priority = 10)]
struct Urgent;

// One mistake in the enum is one error: the stand-in impl keeps the consumer
// below compiling, so no trait-bound errors follow.
#[derive(JobSet)]
enum Work {
    Urgent(Delivery<Urgent>),
    Idle,
}

async fn consume(client: &Client) -> Result<Work, disque::Error> {
    client.consume_set::<Work>().await
}

fn main() {
    let _ = consume;
}
