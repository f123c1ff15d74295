#[derive(serde::Serialize, serde::Deserialize, disque::Job)]
#[job(queue = "q", crate = "disque")]
struct StringCrate;

#[derive(serde::Serialize, serde::Deserialize, disque::Job)]
#[job(queue = "q")]
struct Plain;

#[derive(disque::JobSet)]
#[job_set(crate = disque, queue = "q")]
enum Work {
    Plain(disque::Delivery<Plain>),
}

fn main() {}
