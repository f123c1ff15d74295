use disque::Job;
use serde::{Deserialize, Serialize};

// Disque refuses RETRY 0 with REPLICATE > 1, and its default REPLICATE is up to 3.
#[derive(Serialize, Deserialize, Job)]
#[job(queue = "q", retry = "0s")]
struct DefaultReplicate;

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "q", retry = "0s", replicate = 2)]
struct TwoCopies;

fn main() {}
