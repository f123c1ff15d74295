use disque::Job;
use serde::{Deserialize, Serialize};

// A generic job type is a job only for parameters that make it (de)serializable.
#[derive(Serialize, Deserialize, Job)]
#[job(queue = "resize")]
struct Resize<P> {
    pixels: Vec<P>,
}

struct NotSerde;

fn main() {
    let _ = <Resize<NotSerde> as Job>::QUEUE;
}
