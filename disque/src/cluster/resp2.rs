//! RESP2 on the direct connection: commands packed into bytes, and whole
//! replies read back: where one ends, and its value.
//!
//! The `redis` crate's parser (`redis::parse_redis_value`, built on
//! `combine`) took about a fifth of the client's CPU time per job in a
//! one-at-a-time worker (`perf`, `benches/worker.rs`): it is made for
//! replies arriving in pieces, while these are parsed once they are whole.
//! [`parse`] reads the four kinds Disque answers with (simple string,
//! integer, bulk string, array) and gives the same [`Value`] as that parser;
//! anything else (an error reply, RESP3) is left to it. [`pack_header`] and
//! [`pack_arg`] write a command as `redis::Cmd` packs it, without building
//! one (a `Cmd` allocates for its arguments and again to pack them).

use redis::Value;

/// Deeper arrays than this are refused (Disque nests at most 3 deep): a
/// reply must not be able to exhaust the stack.
const MAX_DEPTH: usize = 64;

/// One reply as it came: the bytes of a whole RESP2 reply (the direct
/// connection, which reads them itself) or a value parsed by the `redis`
/// crate (the multiplexed connection). Readers of hot replies (GETJOB)
/// read the bytes without building a [`Value`].
pub(crate) enum Reply<'a> {
    /// A whole reply, as [`frame_end`] delimits it.
    Frame(&'a [u8]),
    /// A reply the `redis` crate parsed.
    Value(Value),
}

impl Reply<'_> {
    /// The reply as a [`Value`].
    pub(crate) fn into_value(self) -> Result<Value, String> {
        match self {
            Reply::Frame(frame) => value_of(frame),
            Reply::Value(value) => Ok(value),
        }
    }
}

/// The value of a whole reply: [`parse`], or the `redis` crate's parser
/// for the kinds it leaves (error replies, RESP3).
pub(crate) fn value_of(frame: &[u8]) -> Result<Value, String> {
    match parse(frame) {
        Some(value) => Ok(value),
        None => redis::parse_redis_value(frame).map_err(|e| e.to_string()),
    }
}

/// Reads the parts of one whole reply in order, for readers that know its
/// shape: each step gives `None` at anything else (then read it as a
/// [`Value`] instead, which also names what was wrong).
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `frame`.
    pub(crate) fn new(frame: &'a [u8]) -> Self {
        Cursor { buf: frame, at: 0 }
    }

    /// The line of a `kind` header (`*`, `:`, `$`) as a number.
    fn header(&mut self, kind: u8) -> Option<i64> {
        if *self.buf.get(self.at)? != kind {
            return None;
        }
        let (n, next) = header_at(self.buf, self.at)?;
        self.at = next;
        Some(n)
    }

    /// An array's length; `Some(None)` for a null array (`*-1`).
    pub(crate) fn array(&mut self) -> Option<Option<usize>> {
        let n = self.header(b'*')?;
        Some(usize::try_from(n).ok())
    }

    /// An integer reply.
    pub(crate) fn integer(&mut self) -> Option<i64> {
        self.header(b':')
    }

    /// A bulk string's bytes (not a null one).
    pub(crate) fn bulk(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.header(b'$')?).ok()?;
        let from = self.at;
        let end = from.checked_add(len)?;
        if self.buf.get(end..end.checked_add(2)?)? != b"\r\n" {
            return None;
        }
        self.at = end + 2;
        Some(&self.buf[from..end])
    }

    /// Whether the whole frame was read.
    pub(crate) fn at_end(&self) -> bool {
        self.at == self.buf.len()
    }
}

/// Where the reply starting at `at` ends: `Ok(None)` if it is not all in
/// `buf` yet, `Err` if it is not RESP2 (or nested too deep).
pub(crate) fn frame_end(buf: &[u8], at: usize) -> Result<Option<usize>, ()> {
    end_at(buf, at, 0)
}

fn end_at(buf: &[u8], at: usize, depth: usize) -> Result<Option<usize>, ()> {
    let Some(&kind) = buf.get(at) else {
        return Ok(None);
    };
    if kind == b'$' || kind == b'*' {
        if let Some((n, next)) = header_at(buf, at) {
            return sized_end(buf, kind, n, next, depth);
        }
    }
    let Some((line, next)) = line_at(buf, at) else {
        return Ok(None);
    };
    match kind {
        b'+' | b'-' | b':' => Ok(Some(next)),
        b'$' | b'*' => sized_end(buf, kind, number(line).ok_or(())?, next, depth),
        _ => Err(()),
    }
}

/// Where a bulk string (`$`) or array (`*`) of length `n` whose header ends
/// at `next` ends.
fn sized_end(buf: &[u8], kind: u8, n: i64, next: usize, depth: usize) -> Result<Option<usize>, ()> {
    match kind {
        b'$' => {
            if n < 0 {
                return Ok(Some(next));
            }
            let end = usize::try_from(n)
                .ok()
                .and_then(|n| next.checked_add(n)?.checked_add(2))
                .ok_or(())?;
            Ok((buf.len() >= end).then_some(end))
        }
        b'*' if depth < MAX_DEPTH => {
            let mut pos = next;
            for _ in 0..n.max(0) {
                match end_at(buf, pos, depth + 1)? {
                    Some(p) => pos = p,
                    None => return Ok(None),
                }
            }
            Ok(Some(pos))
        }
        _ => Err(()),
    }
}

/// The value of one whole reply (as [`frame_end`] delimits it), or `None`
/// for a kind this parser leaves to the `redis` crate.
pub(crate) fn parse(frame: &[u8]) -> Option<Value> {
    let (value, end) = value_at(frame, 0, 0)?;
    (end == frame.len()).then_some(value)
}

fn value_at(buf: &[u8], at: usize, depth: usize) -> Option<(Value, usize)> {
    let kind = *buf.get(at)?;
    let (line, next) = line_at(buf, at)?;
    match kind {
        b'+' => {
            let text = std::str::from_utf8(line).ok()?;
            let value = if text == "OK" {
                Value::Okay
            } else {
                Value::SimpleString(text.to_owned())
            };
            Some((value, next))
        }
        b':' => Some((Value::Int(number(line)?), next)),
        b'$' => {
            let Ok(len) = usize::try_from(number(line)?) else {
                return Some((Value::Nil, next));
            };
            let end = next.checked_add(len)?;
            (buf.get(end..end.checked_add(2)?)? == b"\r\n")
                .then(|| (Value::BulkString(buf[next..end].to_vec()), end + 2))
        }
        b'*' if depth < MAX_DEPTH => {
            let Ok(len) = usize::try_from(number(line)?) else {
                return Some((Value::Nil, next));
            };
            // Each item takes at least 3 bytes: no allocation beyond the reply.
            let mut items = Vec::with_capacity(len.min(buf.len() / 3));
            let mut pos = next;
            for _ in 0..len {
                let (item, end) = value_at(buf, pos, depth + 1)?;
                items.push(item);
                pos = end;
            }
            Some((Value::Array(items), pos))
        }
        _ => None,
    }
}

/// The number of the header line at `at` and where the next value starts.
fn header_at(buf: &[u8], at: usize) -> Option<(i64, usize)> {
    digits_header(buf, at).or_else(|| {
        let (line, next) = line_at(buf, at)?;
        Some((number(line)?, next))
    })
}

/// [`header_at`] for the common case, read in one pass: the type byte, 1 to
/// 18 digits (never an overflow), `\r\n`. `None` for anything else (a sign,
/// spaces, a longer number, a line not all there), which [`line_at`] and
/// [`number`] then read.
fn digits_header(buf: &[u8], at: usize) -> Option<(i64, usize)> {
    let mut n: i64 = 0;
    let first = at + 1;
    for (i, &c) in buf.get(first..)?.iter().enumerate().take(19) {
        match c {
            b'0'..=b'9' if i < 18 => n = n * 10 + i64::from(c - b'0'),
            b'\r' if i > 0 && buf.get(first + i + 1) == Some(&b'\n') => {
                return Some((n, first + i + 2));
            }
            _ => return None,
        }
    }
    None
}

/// The text after the type byte at `at` up to `\r\n`, and where the next
/// value starts.
fn line_at(buf: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(at + 1..)?;
    let mut from = 0;
    // The first `\r` followed by `\n` (a lone `\r` may be in a status line).
    loop {
        let cr = from + rest.get(from..)?.iter().position(|&b| b == b'\r')?;
        if *rest.get(cr + 1)? == b'\n' {
            return Some((&rest[..cr], at + 1 + cr + 2));
        }
        from = cr + 1;
    }
}

/// A length or integer, as the `redis` crate reads it (`str::trim` then
/// `i64::from_str`, for ASCII input), without a UTF-8 check or a `str`.
fn number(line: &[u8]) -> Option<i64> {
    let line = line.trim_ascii();
    let (negative, digits) = match line.split_first()? {
        (b'-', rest) => (true, rest),
        (b'+', rest) => (false, rest),
        _ => (false, line),
    };
    if digits.is_empty() {
        return None;
    }
    // Accumulated negative, so that i64::MIN fits.
    let mut n: i64 = 0;
    for &c in digits {
        let digit = i64::from(c.checked_sub(b'0').filter(|d| *d <= 9)?);
        n = n.checked_mul(10)?.checked_sub(digit)?;
    }
    if negative {
        Some(n)
    } else {
        n.checked_neg()
    }
}

/// Appends the header of a command of `args` arguments to `out`.
pub(crate) fn pack_header(out: &mut Vec<u8>, args: usize) {
    out.push(b'*');
    push_decimal(out, args as u64);
    out.extend_from_slice(b"\r\n");
}

/// Appends one argument of a command to `out`.
pub(crate) fn pack_arg(out: &mut Vec<u8>, arg: &[u8]) {
    out.push(b'$');
    push_decimal(out, arg.len() as u64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(arg);
    out.extend_from_slice(b"\r\n");
}

/// Appends an unsigned number's decimal digits to `out`.
pub(crate) fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replies Disque sends, and edge cases of each kind.
    const REPLIES: &[&[u8]] = &[
        b"+OK\r\n",
        b"+PONG\r\n",
        b"+a\rb\r\r\n",
        b"+\r\n",
        b":0\r\n",
        b":-12\r\n",
        b":9223372036854775807\r\n",
        b"$0\r\n\r\n",
        b"$-1\r\n",
        b"$4\r\na\r\nb\r\n",
        b"$3\r\n\x00\xff\x01\r\n",
        b"*0\r\n",
        b"*-1\r\n",
        b"*2\r\n$1\r\na\r\n:5\r\n",
        b"*1\r\n*7\r\n$1\r\nq\r\n$6\r\nD-0001\r\n$2\r\nhi\r\n$5\r\nnacks\r\n:0\r\n$21\r\nadditional-deliveries\r\n:1\r\n",
        b"*3\r\n$-1\r\n*0\r\n+OK\r\n",
    ];

    #[test]
    fn every_reply_parses_as_the_redis_crate_parses_it() {
        for reply in REPLIES {
            let ours = parse(reply);
            let theirs = redis::parse_redis_value(reply).ok();
            assert!(
                ours.is_some(),
                "{:?} left to the redis crate",
                String::from_utf8_lossy(reply)
            );
            assert_eq!(ours, theirs, "{:?}", String::from_utf8_lossy(reply));
            assert_eq!(frame_end(reply, 0), Ok(Some(reply.len())));
        }
    }

    #[test]
    fn error_replies_and_resp3_are_left_to_the_redis_crate() {
        for reply in [
            &b"-ERR no\r\n"[..],
            b"*2\r\n+OK\r\n-NOJOB x\r\n",
            b"%1\r\n+a\r\n+b\r\n",
            b"#t\r\n",
        ] {
            assert_eq!(parse(reply), None, "{:?}", String::from_utf8_lossy(reply));
        }
    }

    #[test]
    fn a_reply_cut_short_or_with_bytes_after_it_is_not_parsed() {
        for reply in REPLIES {
            for cut in 0..reply.len() {
                assert_eq!(parse(&reply[..cut]), None, "{:?} cut at {cut}", reply);
                assert_eq!(
                    frame_end(&reply[..cut], 0),
                    Ok(None),
                    "{reply:?} cut at {cut}"
                );
            }
            let mut longer = reply.to_vec();
            longer.extend_from_slice(b"+OK\r\n");
            assert_eq!(parse(&longer), None);
            assert_eq!(frame_end(&longer, 0), Ok(Some(reply.len())));
        }
    }

    #[test]
    fn finds_the_end_of_each_reply_kind() {
        assert_eq!(frame_end(b"+OK\r\n", 0), Ok(Some(5)));
        assert_eq!(frame_end(b"+OK\r", 0), Ok(None));
        assert_eq!(frame_end(b":12\r\n+x", 0), Ok(Some(5)));
        assert_eq!(frame_end(b"$3\r\nabc\r\n", 0), Ok(Some(9)));
        assert_eq!(frame_end(b"$3\r\nab", 0), Ok(None));
        assert_eq!(frame_end(b"$-1\r\n", 0), Ok(Some(5)));
        assert_eq!(frame_end(b"$0\r\n\r\n", 0), Ok(Some(6)));
        assert_eq!(frame_end(b"*-1\r\n", 0), Ok(Some(5)));
        let nested = b"*2\r\n*2\r\n$1\r\nq\r\n:1\r\n$2\r\nhi\r\n";
        assert_eq!(frame_end(nested, 0), Ok(Some(nested.len())));
        assert_eq!(frame_end(&nested[..nested.len() - 1], 0), Ok(None));
        assert_eq!(frame_end(b"?\r\n", 0), Err(()));
        assert_eq!(frame_end(b"$x\r\n", 0), Err(()));
    }

    #[test]
    fn numbers_read_as_str_trim_then_parse_reads_them() {
        for text in [
            "0",
            "7",
            "-7",
            "+7",
            " 12 ",
            "007",
            "-0",
            "",
            "-",
            "+",
            "1-2",
            "x",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "18446744073709551616",
            "\t5\t",
        ] {
            assert_eq!(
                number(text.as_bytes()),
                text.trim().parse::<i64>().ok(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn a_header_is_read_in_one_pass_as_line_and_number_read_it() {
        for text in [
            "0",
            "7",
            "40",
            "123456789012345678",
            "1234567890123456789",
            "9223372036854775807",
            "99999999999999999999",
            "-1",
            "+5",
            " 5",
            "5 ",
            "",
            "x",
            "5x",
        ] {
            // A byte before the header: it is read at 1.
            let line = format!("x${text}\r\n$1\r\n").into_bytes();
            let slow = line_at(&line, 1).and_then(|(l, next)| Some((number(l)?, next)));
            assert_eq!(header_at(&line, 1), slow, "{text:?}");
            let plain = (1..=18).contains(&text.len()) && text.bytes().all(|c| c.is_ascii_digit());
            let fast = digits_header(&line, 1);
            assert_eq!(fast.is_some(), plain, "{text:?} read in one pass");
            if plain {
                assert_eq!(fast, slow, "{text:?}");
            }
            let cut = &line[..text.len() + 3];
            assert_eq!(header_at(cut, 1), None, "{text:?} without its \\n");
            assert_eq!(digits_header(cut, 1), None, "{text:?} without its \\n");
        }
    }

    #[test]
    fn commands_are_packed_as_the_redis_crate_packs_them() {
        let args: [&[u8]; 5] = [b"GETJOB", b"", b"COUNT", b"\r\n\x00", &[b'q'; 300]];
        let mut cmd = redis::cmd("GETJOB");
        for a in &args[1..] {
            cmd.arg(*a);
        }
        let mut ours = Vec::new();
        pack_header(&mut ours, args.len());
        for a in args {
            pack_arg(&mut ours, a);
        }
        assert_eq!(ours, cmd.get_packed_command());
        for n in [0u64, 9, 10, 99, 100, 12345, u64::MAX] {
            let mut out = b"x".to_vec();
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}").into_bytes());
        }
    }

    #[test]
    fn a_cursor_reads_each_part_of_its_kind_only() {
        let mut c = Cursor::new(b"*2\r\n$2\r\na\r\r\n:-3\r\n");
        assert_eq!(c.array(), Some(Some(2)));
        assert!(!c.at_end());
        assert_eq!(c.bulk(), Some(&b"a\r"[..]));
        assert_eq!(c.integer(), Some(-3));
        assert!(c.at_end());
        assert_eq!(c.integer(), None, "nothing after the end");
        assert_eq!(Cursor::new(b"*-1\r\n").array(), Some(None));
        assert_eq!(Cursor::new(b"$-1\r\n").bulk(), None);
        assert_eq!(Cursor::new(b"$2\r\nabc\r\n").bulk(), None);
        assert_eq!(Cursor::new(b"$3\r\nab").bulk(), None);
        assert_eq!(Cursor::new(b":1\r\n").array(), None);
        assert_eq!(Cursor::new(b"$1\r\n1\r\n").integer(), None);
        assert_eq!(Cursor::new(b"*1\r\n").bulk(), None);
        assert_eq!(Cursor::new(b":x\r\n").integer(), None);
        assert_eq!(Cursor::new(b":1\r").integer(), None);
    }

    #[test]
    fn a_reply_is_read_as_a_value_from_bytes_or_as_it_is() {
        assert_eq!(Reply::Frame(b":7\r\n").into_value(), Ok(Value::Int(7)));
        assert_eq!(Reply::Value(Value::Okay).into_value(), Ok(Value::Okay));
        assert!(matches!(
            value_of(b"-ERR no\r\n"),
            Ok(Value::ServerError(_))
        ));
        assert!(value_of(b"?\r\n").is_err());
    }

    #[test]
    fn a_bulk_string_without_its_crlf_is_refused() {
        assert_eq!(parse(b"$2\r\nabXY"), None);
        assert_eq!(parse(b"$2\r\nab\rX"), None);
    }

    #[test]
    fn garbage_lengths_are_malformed_not_a_panic() {
        for reply in [
            &b"$x\r\n"[..],
            b"*x\r\n",
            b"$99999999999999999999\r\n",
            b"!3\r\n",
        ] {
            assert_eq!(parse(reply), None);
            assert_eq!(
                frame_end(reply, 0),
                Err(()),
                "{:?}",
                String::from_utf8_lossy(reply)
            );
        }
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_malformed_not_a_stack_overflow() {
        let deep = b"*1\r\n".repeat(100_000);
        assert_eq!(frame_end(&deep, 0), Err(()));
        assert_eq!(parse(&deep), None);
        let mut ok = b"*1\r\n".repeat(MAX_DEPTH);
        ok.extend_from_slice(b":1\r\n");
        assert_eq!(frame_end(&ok, 0), Ok(Some(ok.len())));
        assert!(parse(&ok).is_some());
        let mut one_more = b"*1\r\n".repeat(MAX_DEPTH + 1);
        one_more.extend_from_slice(b":1\r\n");
        assert_eq!(frame_end(&one_more, 0), Err(()));
        assert_eq!(parse(&one_more), None);
    }
}
