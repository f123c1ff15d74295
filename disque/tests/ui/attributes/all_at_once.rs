use disque::Job;
use serde::{Deserialize, Serialize};

// Every mistake is reported, not only the first.
#[derive(Serialize, Deserialize, Job)]
#[job(queue = "", bogus = 1, priority = "high", replicate = 0, ttl = "0s", delay = "soon")]
struct Mess;

fn main() {}
