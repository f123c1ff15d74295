use disque::{decode_payload, encode_payload};
use disque::Job;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::fmt::Debug;

#[derive(Serialize, Deserialize, Job, Debug, PartialEq)]
#[job(queues(Resize<u8> = "resize-u8", Resize<u16> = "resize-u16"), priority = 2)]
struct Resize<P> {
    pixels: Vec<P>,
}

#[derive(Serialize, Deserialize, Job, Debug, PartialEq)]
#[serde(bound = "T: Serialize + DeserializeOwned")]
#[job(queues(Batch<String, 3> = "batch-s3", Batch<u8, 1> = "batch-1", Batch<u8, 2> = "batch-2"))]
struct Batch<T, const N: usize>
where
    T: Debug,
{
    items: Vec<T>,
}

fn round_trip<J: Job + Debug + PartialEq>(job: J) {
    let body = encode_payload(&job).unwrap();
    assert_eq!(decode_payload::<J>(&body).unwrap(), job);
}

fn main() {
    round_trip(Resize {
        pixels: vec![1u8, 2],
    });
    round_trip(Batch::<String, 3> {
        items: vec!["x".into()],
    });
    assert_ne!(Resize::<u8>::fingerprint(), Resize::<u16>::fingerprint());
    assert_eq!((Resize::<u8>::QUEUE, Resize::<u16>::PRIORITY), ("resize-u8", 2));
    // `N` is not part of the serde shape: both write the same bytes.
    assert_eq!(Batch::<u8, 1>::fingerprint(), Batch::<u8, 2>::fingerprint());
    let body = encode_payload(&Resize { pixels: vec![1u8] }).unwrap();
    assert!(decode_payload::<Resize<u16>>(&body).is_err());
}
