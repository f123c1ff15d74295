use disque::{Delivery, Job, JobSet};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "urgent", priority = 10)]
struct Urgent;

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "low")]
struct Low;

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "low", priority = 3)]
struct AlsoLow;

#[derive(JobSet)]
enum Work {
    Urgent(Delivery<Urgent>),
    Low(Delivery<Low>),
    AlsoLow(Delivery<AlsoLow>),
}

fn main() {}
