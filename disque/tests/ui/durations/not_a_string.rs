use disque::Job;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "q", ttl = 30, retry = 5s, timeout = 1500)]
struct Numbers;

fn main() {}
