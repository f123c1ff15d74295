use disque::Job;
use serde::{Deserialize, Serialize};

// An instantiation is a job only for parameters that make it (de)serializable.
#[derive(Serialize, Deserialize, Job)]
#[job(queues(Resize<NotSerde> = "resize-not-serde"))]
struct Resize<P> {
    pixels: Vec<P>,
}

struct NotSerde;

fn main() {
    let _ = <Resize<NotSerde> as Job>::QUEUE;
}
