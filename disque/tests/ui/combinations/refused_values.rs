use disque::Job;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "q", replicate = 0, ttl = "0s", maxlen = 0, version = 0)]
struct Zeros;

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "q", replicate = 70000, maxlen = -1, priority = 9223372036854775808)]
struct OutOfRange;

fn main() {}
