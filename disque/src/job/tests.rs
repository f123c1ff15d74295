use super::*;

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
struct Plain {
    n: u32,
}

impl Job for Plain {
    const QUEUE: &'static str = "plain";
    const PRIORITY: i64 = 0;
    const ACCEPTED_FINGERPRINTS: &'static [u64] = &[42];
    type Codec = codec::Bincode;
    fn options() -> JobOptions {
        JobOptions::new()
    }
}

fn reason(result: Result<Plain, PayloadError>) -> String {
    match result {
        Err(error) => {
            assert_eq!(error.expected_fingerprint, Plain::fingerprint());
            error.reason
        }
        other => panic!("expected a PayloadError, got {other:?}"),
    }
}

#[test]
fn round_trip() {
    let body = encode_payload(&Plain { n: 9 }).unwrap();
    assert_eq!(decode_payload::<Plain>(&body).unwrap(), Plain { n: 9 });
}

#[test]
fn missing_header_is_refused() {
    let reason = reason(decode_payload::<Plain>(b"hello"));
    assert!(reason.starts_with("expected a payload of `"), "{reason}");
    assert!(reason.ends_with("found a body of 5 bytes starting with \"hello\""));
}

#[test]
fn other_codec_is_refused() {
    let mut body = encode_payload(&Plain { n: 9 }).unwrap();
    body[3] = 2;
    let reason = reason(decode_payload::<Plain>(&body));
    assert!(reason.contains("codec bincode)"), "{reason}");
    assert!(reason.ends_with("found codec json (id 2)"), "{reason}");
}

#[test]
fn other_fingerprint_is_refused_unless_accepted() {
    let mut body = Vec::new();
    Header {
        codec: 1,
        fingerprint: 43,
    }
    .write(&mut body);
    body.push(9);
    assert_eq!(Plain::ACCEPTED_FINGERPRINTS, [42]);
    let reason = reason(decode_payload::<Plain>(&body));
    assert!(
        reason.contains("found fingerprint 0x000000000000002b"),
        "{reason}"
    );
    body[4] = 42;
    assert_eq!(decode_payload::<Plain>(&body).unwrap(), Plain { n: 9 });
}

#[test]
fn undecodable_bytes_are_refused() {
    let mut body = encode_payload(&Plain { n: 9 }).unwrap();
    body.truncate(payload::HEADER_LEN);
    let reason = reason(decode_payload::<Plain>(&body));
    assert!(reason.contains("codec bincode cannot decode"), "{reason}");
}

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
enum Shape {
    Unit,
    Tuple(i128, Option<String>),
    Named {
        bytes: Vec<u8>,
        map: std::collections::BTreeMap<u32, Vec<u64>>,
    },
}

impl Job for Shape {
    const QUEUE: &'static str = "shapes";
    const PRIORITY: i64 = 0;
    type Codec = codec::Bincode;
    fn options() -> JobOptions {
        JobOptions::new()
    }
}

/// Random and mutated bodies never panic a consumer: they decode or are
/// refused with `Decode`.
#[test]
fn arbitrary_bodies_never_panic() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let valid = [
        encode_payload(&Shape::Unit).unwrap(),
        encode_payload(&Shape::Tuple(i128::MIN, Some("s".repeat(300)))).unwrap(),
        encode_payload(&Shape::Named {
            bytes: vec![0, 13, 10],
            map: [(1, vec![u64::MAX, 0]), (2, vec![])].into(),
        })
        .unwrap(),
    ];
    for body in &valid {
        assert!(decode_payload::<Shape>(body).is_ok());
    }
    for round in 0..3_000 {
        let mut body = valid[round % valid.len()].clone();
        match rng.random_range(0..4) {
            // Flip some bytes after the header (the header is checked exactly).
            0 => {
                for _ in 0..rng.random_range(1..4) {
                    let at = rng.random_range(payload::HEADER_LEN..body.len().max(13));
                    if let Some(byte) = body.get_mut(at) {
                        *byte = rng.random();
                    }
                }
            }
            // Truncate.
            1 => body.truncate(rng.random_range(0..body.len())),
            // A valid header followed by random bytes.
            2 => {
                body.truncate(payload::HEADER_LEN);
                let extra = rng.random_range(0..64);
                body.extend((0..extra).map(|_| rng.random::<u8>()));
            }
            // Anything at all.
            _ => {
                let len = rng.random_range(0..64);
                body = (0..len).map(|_| rng.random::<u8>()).collect();
            }
        }
        match decode_payload::<Shape>(&body) {
            Ok(_) => {}
            Err(error) => assert_eq!(error.expected_fingerprint, Shape::fingerprint()),
        }
    }
}
