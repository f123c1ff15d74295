use disque::{Delivery, Job, JobSet};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "urgent", priority = 10)]
struct Urgent;

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "low")]
struct Low;

#[derive(JobSet)]
enum Work {
    Idle,
    Both(Delivery<Urgent>, Delivery<Low>),
    Raw(Vec<u8>),
    Untyped(Delivery),
}

fn main() {}
