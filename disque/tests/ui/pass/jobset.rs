use disque::{Delivery, Job, JobSet};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "low", priority = -1)]
struct Low;

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "normal")]
struct Normal;

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "also-normal")]
struct AlsoNormal;

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "urgent", priority = 10)]
struct Urgent;

#[derive(JobSet)]
enum Work {
    Low(Delivery<Low>),
    Normal(disque::Delivery<Normal>),
    AlsoNormal { job: Delivery<AlsoNormal> },
    Urgent(Delivery<Urgent>),
}

#[derive(Serialize, Deserialize, Job)]
#[job(queues(Resize<u8> = "resize"))]
struct Resize<P> {
    pixels: Vec<P>,
}

#[derive(JobSet)]
enum Images<P: Send + Sync + 'static> {
    Resize(Delivery<Resize<P>>),
    Urgent(Delivery<Urgent>),
}

fn main() {
    assert_eq!(Work::queues(), ["urgent", "normal", "also-normal", "low"]);
    assert_eq!(Images::<u8>::queues(), ["urgent", "resize"]);
}
