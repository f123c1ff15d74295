use disque::Job;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Job)]
#[job(
    queue = emails,
    priority = "high",
    replicate = 2.5,
    maxlen = true,
    async = "yes",
    codec = "json",
    version = "2",
    accept = 0x1234
)]
struct Everything;

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "q", accept = [0x1234, "old"])]
struct BadFingerprint;

fn main() {}
