//! Property tests of the request parser: arbitrary bytes and mutated valid
//! requests never panic, always make progress, and give the same requests
//! whether they arrive in one read or split at arbitrary points.
//!
//! The mutated requests start from the seed corpus shared with the cargo-fuzz
//! target (`fuzz/corpus/parse_request/`). `PROPTEST_CASES=n` runs more cases.

use std::path::Path;

use bytes::{Bytes, BytesMut};
use disque_embedded::frame::{parse_request, Limits, ParseError, Reply, RequestParser};
use proptest::prelude::*;

type Outcome = Result<Vec<Bytes>, ParseError>;

fn seeds() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/parse_request");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 10, "seed corpus missing in {dir:?}");
    seeds
}

/// Parses everything in `buf` with `parser` (`None`: the stateless
/// `parse_request`), checking progress; stops at the first error or
/// incomplete request.
fn drain(
    buf: &mut BytesMut,
    limits: &Limits,
    mut parser: Option<&mut RequestParser>,
    out: &mut Vec<Outcome>,
) -> bool {
    // Each request consumes at least one byte: len + 1 rounds suffice.
    for _ in 0..=buf.len() {
        let before = buf.clone();
        let parsed = match parser.as_deref_mut() {
            Some(parser) => parser.parse(buf, limits),
            None => parse_request(buf, limits),
        };
        match parsed {
            Ok(Some(args)) => {
                let consumed = before.len() - buf.len();
                assert!(consumed > 0, "no progress on {before:?}");
                assert_eq!(&before[consumed..], &buf[..]);
                for arg in &args {
                    assert!(arg.len() < consumed);
                }
                out.push(Ok(args));
            }
            Ok(None) => {
                assert_eq!(before, *buf, "an incomplete request consumed bytes");
                return true;
            }
            Err(e) => {
                let ParseError::Protocol(text) = &e;
                assert!(text.starts_with("ERR Protocol error: "), "{text}");
                out.push(Err(e));
                return false;
            }
        }
    }
    panic!("parser did not stop on {buf:?}");
}

fn parse_whole(input: &[u8], limits: &Limits) -> (Vec<Outcome>, BytesMut) {
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    drain(&mut buf, limits, None, &mut out);
    (out, buf)
}

/// Parses `input` delivered in pieces cut at `cuts`, with one `RequestParser`
/// for the whole stream, as a connection does.
fn parse_split(input: &[u8], cuts: &[usize], limits: &Limits) -> (Vec<Outcome>, BytesMut) {
    let mut parser = RequestParser::new();
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.push(input.len());
    cuts.sort_unstable();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut from = 0;
    for cut in cuts {
        buf.extend_from_slice(&input[from..cut]);
        from = cut;
        if !drain(&mut buf, limits, Some(&mut parser), &mut out) {
            break;
        }
    }
    (out, buf)
}

fn check_split_invariance(input: &[u8], cuts: &[usize]) -> Result<(), TestCaseError> {
    let limits = Limits::default();
    let (whole, whole_rest) = parse_whole(input, &limits);
    let (split, split_rest) = parse_split(input, cuts, &limits);
    prop_assert_eq!(&whole, &split);
    if !matches!(whole.last(), Some(Err(_))) {
        prop_assert_eq!(whole_rest, split_rest);
    }
    Ok(())
}

/// A few mutations of a seed: overwrite, insert or delete a byte, with a bias
/// towards the bytes the protocol gives a meaning to.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let seeds = seeds();
    let interesting = prop_oneof![
        any::<u8>(),
        prop::sample::select(&b"*$\r\n\"'\\-0912 x:+\0"[..]),
    ];
    let mutation = (any::<prop::sample::Index>(), interesting, 0..3u8);
    (
        prop::sample::select(seeds.clone()),
        prop::sample::select(seeds),
        any::<bool>(),
        prop::collection::vec(mutation, 0..6),
    )
        .prop_map(|(first, second, concat, mutations)| {
            let mut input = first;
            if concat {
                input.extend_from_slice(&second);
            }
            for (at, byte, kind) in mutations {
                let at = at.index(input.len() + 1);
                match kind {
                    0 if at < input.len() => input[at] = byte,
                    1 => input.insert(at, byte),
                    _ if at < input.len() => {
                        input.remove(at);
                    }
                    _ => input.push(byte),
                }
            }
            input
        })
}

fn multibulk(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A minimal RESP2 reader, independent of the encoder under test.
fn read_reply(input: &mut &[u8]) -> Reply {
    let line_end = input.windows(2).position(|w| w == b"\r\n").unwrap();
    let line = std::str::from_utf8(&input[1..line_end]).unwrap().to_owned();
    let kind = input[0];
    *input = &input[line_end + 2..];
    match kind {
        b'+' => Reply::Status(line.into()),
        b'-' => Reply::Error(line.into()),
        b':' => Reply::Integer(line.parse().unwrap()),
        b'$' if line == "-1" => Reply::NilBulk,
        b'$' => {
            let len: usize = line.parse().unwrap();
            let body = Bytes::copy_from_slice(&input[..len]);
            assert_eq!(&input[len..len + 2], b"\r\n");
            *input = &input[len + 2..];
            Reply::Bulk(body)
        }
        b'*' if line == "-1" => Reply::NilArray,
        b'*' => {
            let len: usize = line.parse().unwrap();
            Reply::Array((0..len).map(|_| read_reply(input)).collect())
        }
        other => panic!("unexpected reply type {other}"),
    }
}

fn reply() -> impl Strategy<Value = Reply> {
    let text = "[^\r\n]{0,20}";
    let leaf = prop_oneof![
        text.prop_map(|s| Reply::Status(s.into())),
        text.prop_map(|s| Reply::Error(s.into())),
        any::<i64>().prop_map(Reply::Integer),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(|b| Reply::Bulk(b.into())),
        Just(Reply::NilBulk),
        Just(Reply::NilArray),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop::collection::vec(inner, 0..6).prop_map(Reply::Array)
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_and_split_the_same(
        input in prop::collection::vec(any::<u8>(), 0..256),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        check_split_invariance(&input, &cuts)?;
    }

    #[test]
    fn arbitrary_bytes_after_a_star_never_panic(
        input in prop::collection::vec(any::<u8>(), 0..256),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut input = input;
        input.insert(0, b'*');
        check_split_invariance(&input, &cuts)?;
    }

    #[test]
    fn mutated_requests_never_panic_and_split_the_same(
        input in mutated(),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        check_split_invariance(&input, &cuts)?;
    }

    #[test]
    fn tight_limits_never_panic(
        input in mutated(),
        max in 0..12usize,
    ) {
        let limits = Limits {
            max_bulk_len: max,
            max_multibulk_len: max,
            max_inline_len: max,
            max_query_buffer: max,
        };
        let mut buf = BytesMut::from(&input[..]);
        drain(&mut buf, &limits, None, &mut Vec::new());
    }

    #[test]
    fn multibulk_round_trips(
        args in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 1..8),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let input = multibulk(&args);
        let expected: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let (split, rest) = parse_split(&input, &cuts, &Limits::default());
        prop_assert_eq!(split, vec![Ok(expected)]);
        prop_assert!(rest.is_empty());
    }

    #[test]
    fn inline_hex_escapes_round_trip(
        args in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..32), 1..8),
    ) {
        let mut line = Vec::new();
        for arg in &args {
            line.push(b'"');
            for byte in arg {
                line.extend_from_slice(format!("\\x{byte:02x}").as_bytes());
            }
            line.extend_from_slice(b"\" ");
        }
        line.extend_from_slice(b"\r\n");
        let expected: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let (whole, rest) = parse_whole(&line, &Limits::default());
        prop_assert_eq!(whole, vec![Ok(expected)]);
        prop_assert!(rest.is_empty());
    }

    #[test]
    fn replies_decode_to_themselves(reply in reply()) {
        let mut out = BytesMut::new();
        reply.encode(&mut out);
        let mut input = &out[..];
        prop_assert_eq!(read_reply(&mut input), reply);
        prop_assert!(input.is_empty());
    }
}

/// A parser given a buffer it was not following (a broken contract) may be
/// wrong but never panics.
#[test]
fn a_parser_handed_unrelated_buffers_never_panics() {
    let seeds = seeds();
    let mut parser = RequestParser::new();
    for first in &seeds {
        for second in &seeds {
            for cut in [1, 3, 7] {
                let mut buf = BytesMut::from(&first[..cut.min(first.len())]);
                let _ = parser.parse(&mut buf, &Limits::default());
                let mut other = BytesMut::from(&second[..]);
                let _ = parser.parse(&mut other, &Limits::default());
            }
        }
    }
}

#[test]
fn the_seed_corpus_parses_without_panicking() {
    for seed in seeds() {
        check_split_invariance(&seed, &[1, 5, 9]).unwrap();
    }
}
