use disque::{decode_payload, encode_payload};
use disque::Job;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Job, Debug, PartialEq)]
#[job(queue = "ops")]
enum Op {
    Add { key: String, by: i64 },
    Clear,
    Rename(String, String),
}

#[derive(Serialize, Deserialize, Job, Debug, PartialEq)]
#[job(queue = "ticks")]
struct Tick;

#[derive(Serialize, Deserialize, Job, Debug, PartialEq)]
#[job(queue = "pairs")]
struct Pair(u32, String);

fn main() {
    let body = encode_payload(&Op::Rename("a".into(), "b".into())).unwrap();
    assert_eq!(
        decode_payload::<Op>(&body).unwrap(),
        Op::Rename("a".into(), "b".into())
    );
    let body = encode_payload(&Tick).unwrap();
    assert_eq!(
        decode_payload::<Tick>(&body).unwrap(),
        Tick
    );
    let body = encode_payload(&Pair(1, "one".into())).unwrap();
    assert_eq!(
        decode_payload::<Pair>(&body).unwrap(),
        Pair(1, "one".into())
    );
}
