use serde::{Deserialize, Serialize};

// One queue for every instantiation: Resize<u8> and Resize<f32> consumers
// would keep taking each other's jobs.
#[derive(Serialize, Deserialize, disque::Job)]
#[job(queue = "resize")]
struct Resize<P> {
    pixels: Vec<P>,
}

// Two instantiations on one queue: the same.
#[derive(Serialize, Deserialize, disque::Job)]
#[job(queues(Crop<u8> = "crop", Crop<u16> = "crop"))]
struct Crop<P> {
    pixels: Vec<P>,
}

fn main() {}
