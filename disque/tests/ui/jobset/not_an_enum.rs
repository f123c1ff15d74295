use disque::{Delivery, Job, JobSet};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "urgent", priority = 10)]
struct Urgent;

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "low")]
struct Low;

#[derive(JobSet)]
struct Work {
    urgent: Delivery<Urgent>,
}

fn main() {}
