use disque::Job;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "emails", retry = "30s")]
#[job(queue = "mails", retry = "1m", retry = "2m")]
struct SendEmail {
    to: String,
}

fn main() {}
