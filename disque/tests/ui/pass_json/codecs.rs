use disque::{Codec, CodecError, Json};
use disque::{decode_payload, encode_payload};
use disque::Job;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Job, Debug, PartialEq)]
#[job(queue = "webhooks", codec = Json)]
struct Webhook {
    url: String,
}

/// A user codec: JSON, pretty-printed.
struct Pretty;

impl Codec for Pretty {
    const ID: u8 = 200;
    const NAME: &'static str = "pretty-json";
    fn encode<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), CodecError> {
        Json::encode(value, out)
    }
    fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
        Json::decode(bytes)
    }
}

#[derive(Serialize, Deserialize, Job, Debug, PartialEq)]
#[job(queue = "custom", codec = Pretty)]
struct Custom(u8);

fn main() {
    let body = encode_payload(&Webhook { url: "u".into() }).unwrap();
    assert_eq!(&body[12..], br#"{"url":"u"}"#);
    assert_eq!(
        decode_payload::<Webhook>(&body).unwrap(),
        Webhook { url: "u".into() }
    );
    let body = encode_payload(&Custom(5)).unwrap();
    assert_eq!(body[3], 200);
    assert_eq!(
        decode_payload::<Custom>(&body).unwrap(),
        Custom(5)
    );
}
