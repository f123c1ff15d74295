use disque::Job;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "q", retry = "2h", ttl = "1h")]
struct NeverRetried;

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "q", retry = "2d")]
struct DefaultTtl;

fn main() {}
