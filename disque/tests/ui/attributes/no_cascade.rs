use disque::Job;
use serde::{Deserialize, Serialize};

// One attribute mistake is one error: the stand-in impl keeps every use of
// the type as a job compiling, so no trait-bound errors follow.
#[derive(Serialize, Deserialize, Job)]
#[job(queue = "emails", retry = "soon")]
struct SendEmail {
    to: String,
}

fn send<J: Job>(job: &J) -> Vec<u8> {
    disque::encode_payload(job).unwrap()
}

fn main() {
    let _ = SendEmail::QUEUE;
    let _ = SendEmail::options();
    let _ = send(&SendEmail { to: String::new() });
}
