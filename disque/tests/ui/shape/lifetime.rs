use serde::{Deserialize, Serialize};

// A job is decoded from bytes into a value of its own: it cannot borrow.
#[derive(Serialize, Deserialize, disque::Job)]
#[job(queue = "names")]
struct Name<'a> {
    first: &'a str,
}

fn main() {}
