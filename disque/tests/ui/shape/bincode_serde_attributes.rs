use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, disque::Job)]
#[job(queue = "events")]
#[serde(tag = "type")]
enum Event {
    Click { x: u32 },
}

#[derive(Serialize, Deserialize)]
struct Meta {
    source: String,
}

#[derive(Serialize, Deserialize, disque::Job)]
#[job(queue = "mails")]
struct Mail {
    #[serde(skip_serializing_if = "Option::is_none")]
    cc: Option<String>,
    #[serde(flatten)]
    meta: Meta,
}

// The same with JSON (self-describing) compiles.
#[derive(Serialize, Deserialize, disque::Job)]
#[job(queue = "json-mails", codec = disque::Json)]
struct JsonMail {
    #[serde(skip_serializing_if = "Option::is_none")]
    cc: Option<String>,
    #[serde(flatten)]
    meta: Meta,
}

fn main() {}
