use disque::Job;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "emails", prority = 10, retries(3), urgent)]
struct SendEmail {
    to: String,
}

fn main() {}
