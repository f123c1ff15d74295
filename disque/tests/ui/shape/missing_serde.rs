use disque::Job;
use serde::Serialize;

// A job's payload is (de)serialized with serde: both derives are needed.
#[derive(Serialize, Job)]
#[job(queue = "q")]
struct OnlySerialize {
    n: u32,
}

fn main() {}
