use disque::Job;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "q", delay = "1d")]
struct DefaultTtl;

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "q", delay = "2h", ttl = "1h")]
struct ExplicitTtl;

fn main() {}
