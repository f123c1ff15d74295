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
    Urgent(Delivery<Urgent>),
    Low(Delivery<Low>),
}

// The consumer forgot the low-priority jobs it asked for.
fn handle(work: Work) {
    match work {
        Work::Urgent(_job) => {}
    }
}

fn main() {
    let _ = handle;
}
