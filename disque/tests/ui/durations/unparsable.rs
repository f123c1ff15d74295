use disque::Job;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Job)]
#[job(
    queue = "q",
    retry = "30",
    ttl = "1w",
    delay = "",
    timeout = "fast"
)]
struct Typos;

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "q", retry = "1500ms", ttl = "99999999999999999999s", delay = "-5s")]
struct Others;

fn main() {}
