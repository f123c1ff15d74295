//! Feeds arbitrary bytes to the request parser: whole to the stateless
//! `parse_request`, and split in two at a point chosen by the first input byte
//! to one `RequestParser`, as a connection does. It must never panic, always
//! make progress, and give the same requests either way.
#![no_main]

use bytes::BytesMut;
use disque_embedded::frame::{parse_request, Limits, RequestParser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, input)) = data.split_first() else {
        return;
    };
    let limits = Limits::default();
    let whole = drain(&mut BytesMut::from(input), &mut |b| {
        parse_request(b, &limits)
    });
    let cut = usize::from(cut) % (input.len() + 1);
    let mut parser = RequestParser::new();
    let mut parse = |b: &mut BytesMut| parser.parse(b, &limits);
    let mut buf = BytesMut::from(&input[..cut]);
    let mut split = drain(&mut buf, &mut parse);
    if !matches!(split.last(), Some(Err(_))) {
        buf.extend_from_slice(&input[cut..]);
        split.extend(drain(&mut buf, &mut parse));
    }
    assert_eq!(whole, split);
});

type Outcome = Result<Vec<bytes::Bytes>, disque_embedded::frame::ParseError>;

fn drain(
    buf: &mut BytesMut,
    parse: &mut dyn FnMut(
        &mut BytesMut,
    )
        -> Result<Option<Vec<bytes::Bytes>>, disque_embedded::frame::ParseError>,
) -> Vec<Outcome> {
    let mut out = Vec::new();
    for _ in 0..=buf.len() {
        let before = buf.len();
        match parse(buf) {
            Ok(Some(args)) => {
                assert!(buf.len() < before, "no progress");
                out.push(Ok(args));
            }
            Ok(None) => {
                assert_eq!(buf.len(), before, "incomplete request consumed bytes");
                return out;
            }
            Err(e) => {
                out.push(Err(e));
                return out;
            }
        }
    }
    panic!("parser did not stop");
}
