//! The wire format: RESP2 requests in, RESP2 replies out.
//!
//! Requests are parsed the way Disque's `networking.c` does it (the protocol of
//! Redis 3.x), so a client sees the same replies and the same protocol errors:
//!
//! * a buffer starting with `*` is a multibulk request (`*2\r\n$4\r\nPING\r\n…`);
//! * anything else is an inline request, one line split like `sdssplitargs`
//!   (blanks separate arguments; `"…"` with `\n \r \t \b \a \xHH` escapes and
//!   `'…'` with `\'` group them).
//!
//! Two deliberate differences from the C code, both fixing its bugs: an inline
//! line ended by a bare `\n` consumes exactly that `\n` (Disque skips one byte
//! more), and the "too big bulk count string" limit counts the bytes after the
//! bulk header rather than the whole query buffer.
//!
//! The parser is stateless: [`parse_request`] looks at the front of the buffer
//! and either consumes one whole request or nothing at all. It never allocates
//! according to a length announced by the peer before those bytes have arrived.

use std::borrow::Cow;

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Size limits applied while parsing requests.
///
/// ```
/// use disque_embedded::frame::Limits;
///
/// let limits = Limits { max_bulk_len: 1024, ..Limits::default() };
/// assert_eq!(limits.max_multibulk_len, 1024 * 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest bulk argument (`$<len>`); Redis: 512 MiB.
    pub max_bulk_len: usize,
    /// Largest number of arguments (`*<count>`); Redis: 1024 * 1024.
    pub max_multibulk_len: usize,
    /// Longest inline request, and longest `*`/`$` header line; Redis: 64 KiB.
    pub max_inline_len: usize,
    /// Largest unparsed query buffer of one client; Redis: 1 GiB. The parser
    /// does not check it: the connection loop closes a client whose buffer
    /// grows past it (Redis closes it without a reply).
    pub max_query_buffer: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bulk_len: 512 * 1024 * 1024,
            max_multibulk_len: 1024 * 1024,
            max_inline_len: 64 * 1024,
            max_query_buffer: 1024 * 1024 * 1024,
        }
    }
}

/// A request the server cannot parse. The connection must be closed after
/// replying with the error text.
///
/// ```
/// use bytes::BytesMut;
/// use disque_embedded::frame::{parse_request, Limits, ParseError};
///
/// let mut buf = BytesMut::from(&b"*1\r\n$-5\r\n"[..]);
/// let err = parse_request(&mut buf, &Limits::default()).unwrap_err();
/// assert_eq!(err, ParseError::Protocol("ERR Protocol error: invalid bulk length".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A protocol error; the text is the error reply without the leading `-`,
    /// e.g. `ERR Protocol error: invalid bulk length`.
    #[error("{0}")]
    Protocol(String),
}

impl ParseError {
    fn new(what: &str) -> Self {
        ParseError::Protocol(format!("ERR Protocol error: {what}"))
    }
}

/// Parses one request from the front of `buf` and advances it; `Ok(None)` if
/// the request is incomplete (nothing is consumed then).
///
/// Both multibulk (`*2\r\n$4\r\nPING…`) and inline (`PING\r\n`, with quotes)
/// requests. An empty inline line, or a multibulk count `<= 0`, yields
/// `Ok(Some(vec![]))`, which the caller ignores.
///
/// Bulk arguments of a multibulk request are zero-copy slices of the read
/// buffer: they keep that buffer's allocation alive, so copy
/// ([`Bytes::copy_from_slice`]) what must be kept for long, e.g. job bodies.
///
/// ```
/// use bytes::BytesMut;
/// use disque_embedded::frame::{parse_request, Limits};
///
/// let limits = Limits::default();
/// let mut buf = BytesMut::from(&b"*2\r\n$4\r\nQLEN\r\n$1\r\nq\r\nPING \"a b\"\r\n*1\r\n$4"[..]);
/// let first = parse_request(&mut buf, &limits).unwrap().unwrap();
/// assert_eq!(first, vec![&b"QLEN"[..], &b"q"[..]]);
/// let second = parse_request(&mut buf, &limits).unwrap().unwrap();
/// assert_eq!(second, vec![&b"PING"[..], &b"a b"[..]]);
/// assert_eq!(parse_request(&mut buf, &limits).unwrap(), None);
/// assert_eq!(&buf[..], b"*1\r\n$4");
/// ```
pub fn parse_request(
    buf: &mut BytesMut,
    limits: &Limits,
) -> Result<Option<Vec<Bytes>>, ParseError> {
    RequestParser::new().parse(buf, limits)
}

/// [`parse_request`] for one connection, remembering how far it got in an
/// incomplete request so that a request arriving in many small reads is
/// scanned once overall, not once per read (as Disque's per-client state does).
///
/// Between calls the buffer may only grow at the end (more bytes read) or
/// lose the requests this parser returned; give each connection its own
/// parser. Results are the same as [`parse_request`]'s.
///
/// ```
/// use bytes::BytesMut;
/// use disque_embedded::frame::{Limits, RequestParser};
///
/// let limits = Limits::default();
/// let mut parser = RequestParser::new();
/// let mut buf = BytesMut::from(&b"*2\r\n$4\r\nQLEN\r\n"[..]);
/// assert_eq!(parser.parse(&mut buf, &limits).unwrap(), None);
/// buf.extend_from_slice(b"$1\r\nq\r\n");
/// let args = parser.parse(&mut buf, &limits).unwrap().unwrap();
/// assert_eq!(args, vec![&b"QLEN"[..], &b"q"[..]]);
/// assert!(buf.is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct RequestParser {
    resume: Resume,
    /// Where the arguments of the multibulk request being parsed are
    /// (start, length): found in one pass, sliced once it is complete.
    spans: Vec<(usize, usize)>,
}

/// What an earlier call learnt about the incomplete request at the front of
/// the buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Resume {
    /// Nothing yet.
    #[default]
    Start,
    /// Inline: there is no `\n` in the first `scanned` bytes.
    Inline { scanned: usize },
    /// Multibulk: `seen` of `count` arguments are complete, the next header
    /// starts at `pos`.
    Multibulk {
        count: usize,
        seen: usize,
        pos: usize,
    },
}

impl RequestParser {
    /// A parser for a new connection.
    ///
    /// ```
    /// let parser = disque_embedded::frame::RequestParser::new();
    /// # let _ = parser;
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// How many bytes `buf` must hold for the argument being received to be
    /// complete, once its `$len` header has arrived (None otherwise): lets
    /// the caller grow the buffer once to the right size for a large body
    /// instead of doubling it (and copying it) on the way.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use disque_embedded::frame::{Limits, RequestParser};
    ///
    /// let mut parser = RequestParser::new();
    /// let mut buf = BytesMut::from(&b"*2\r\n$4\r\nPING\r\n$1000\r\nabc"[..]);
    /// assert_eq!(parser.parse(&mut buf, &Limits::default()).unwrap(), None);
    /// assert_eq!(parser.wanted(&buf), Some(14 + 7 + 1000 + 2));
    /// ```
    pub fn wanted(&self, buf: &[u8]) -> Option<usize> {
        let Resume::Multibulk { pos, .. } = self.resume else {
            return None;
        };
        let header = buf.get(pos..)?;
        if header.first() != Some(&b'$') {
            return None;
        }
        let end = header.iter().take(24).position(|&b| b == b'\r')?;
        let len: usize = std::str::from_utf8(&header[1..end]).ok()?.parse().ok()?;
        pos.checked_add(end)?
            .checked_add(2)?
            .checked_add(len)?
            .checked_add(2)
    }

    /// Parses one request from the front of `buf` and advances it; `Ok(None)`
    /// if the request is incomplete (nothing is consumed then). See
    /// [`parse_request`].
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use disque_embedded::frame::{Limits, RequestParser};
    ///
    /// let mut parser = RequestParser::new();
    /// let mut buf = BytesMut::from(&b"PING\r\n"[..]);
    /// let args = parser.parse(&mut buf, &Limits::default()).unwrap().unwrap();
    /// assert_eq!(args, vec![&b"PING"[..]]);
    /// ```
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<Vec<Bytes>>, ParseError> {
        let mut args = Vec::new();
        Ok(self.parse_into(buf, limits, &mut args)?.then_some(args))
    }

    /// [`RequestParser::parse`] into `args` (cleared first), so that a
    /// connection reuses one vector: true if a whole request was parsed.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use disque_embedded::frame::{Limits, RequestParser};
    ///
    /// let (mut parser, mut args) = (RequestParser::new(), Vec::new());
    /// let mut buf = BytesMut::from(&b"*2\r\n$4\r\nQLEN\r\n$1\r\nq\r\nPING\r\n"[..]);
    /// assert!(parser.parse_into(&mut buf, &Limits::default(), &mut args).unwrap());
    /// assert_eq!(args, vec![&b"QLEN"[..], &b"q"[..]]);
    /// assert!(parser.parse_into(&mut buf, &Limits::default(), &mut args).unwrap());
    /// assert_eq!(args, vec![&b"PING"[..]]);
    /// assert!(!parser.parse_into(&mut buf, &Limits::default(), &mut args).unwrap());
    /// ```
    pub fn parse_into(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
        args: &mut Vec<Bytes>,
    ) -> Result<bool, ParseError> {
        args.clear();
        let resume = std::mem::take(&mut self.resume);
        let parsed = match buf.first() {
            None => Ok(Some(Resume::Start)),
            Some(b'*') => parse_multibulk(buf, limits, resume, &mut self.spans, args),
            Some(_) => parse_inline(buf, limits, resume, args),
        };
        match parsed? {
            None => {
                // A request of many arguments does not keep its memory.
                if self.spans.capacity() > MAX_KEPT_SPANS {
                    self.spans = Vec::new();
                }
                Ok(true)
            }
            Some(resume) => {
                self.resume = resume;
                Ok(false)
            }
        }
    }
}

/// Argument positions kept between requests (more are freed after use).
const MAX_KEPT_SPANS: usize = 1024;

/// Parses a multibulk request into `args`: `None` once complete, else
/// where to resume (its arguments so far are in `spans`).
fn parse_multibulk(
    buf: &mut BytesMut,
    limits: &Limits,
    resume: Resume,
    spans: &mut Vec<(usize, usize)>,
    args: &mut Vec<Bytes>,
) -> Result<Option<Resume>, ParseError> {
    let end = match scan_multibulk(buf, limits, resume, spans)? {
        Scan::Done { end } => end,
        Scan::Partial(resume) => return Ok(Some(resume)),
    };
    let frame = buf.split_to(end).freeze();
    args.extend(
        spans
            .iter()
            .map(|&(start, len)| frame.slice(start..start + len)),
    );
    Ok(None)
}

/// How far [`scan_multibulk`] got.
enum Scan {
    /// A whole request, `end` bytes long.
    Done { end: usize },
    /// Incomplete; where to resume.
    Partial(Resume),
}

/// Walks a multibulk request at the front of `buf`, from `resume` on,
/// appending the place of each argument it walks over to `spans` (which
/// holds those of the arguments before `resume`).
fn scan_multibulk(
    buf: &[u8],
    limits: &Limits,
    resume: Resume,
    spans: &mut Vec<(usize, usize)>,
) -> Result<Scan, ParseError> {
    let (count, seen, pos) = match resume {
        Resume::Multibulk { count, seen, pos }
            if pos <= buf.len() && seen < count && spans.len() == seen =>
        {
            (count, seen, pos)
        }
        _ => {
            spans.clear();
            if let Some((n, cr)) = plain_number(buf, 1) {
                // The common case, decided at once; the rest below.
                if n == 0 {
                    return Ok(Scan::Done { end: cr + 2 });
                }
                if n <= limits.max_multibulk_len as u64 {
                    return scan_bulks(buf, limits, n as usize, 0, cr + 2, spans);
                }
            }
            let Some(cr) = find_cr(buf, 0) else {
                if buf.len() > limits.max_inline_len {
                    return Err(ParseError::new("too big mbulk count string"));
                }
                return Ok(Scan::Partial(Resume::Start));
            };
            // Like Disque, the byte after '\r' is skipped without being checked.
            if cr + 1 >= buf.len() {
                return Ok(Scan::Partial(Resume::Start));
            }
            match string2ll(&buf[1..cr]) {
                Some(n) if n <= 0 => return Ok(Scan::Done { end: cr + 2 }),
                Some(n) if fits(n, limits.max_multibulk_len) => (n as usize, 0, cr + 2),
                _ => return Err(ParseError::new("invalid multibulk length")),
            }
        }
    };
    scan_bulks(buf, limits, count, seen, pos, spans)
}

/// Walks the bulk arguments `seen..count` of a multibulk request, the next
/// header starting at `pos`.
fn scan_bulks(
    buf: &[u8],
    limits: &Limits,
    count: usize,
    seen: usize,
    mut pos: usize,
    spans: &mut Vec<(usize, usize)>,
) -> Result<Scan, ParseError> {
    for seen in seen..count {
        let partial = Scan::Partial(Resume::Multibulk { count, seen, pos });
        // The common case, decided at once: `$<plain length>\r?`.
        if buf.get(pos) == Some(&b'$') {
            if let Some((len, cr)) = plain_number(buf, pos + 1) {
                if len <= limits.max_bulk_len as u64 {
                    let start = cr + 2;
                    let Some(next) = start
                        .checked_add(len as usize)
                        .and_then(|e| e.checked_add(2))
                    else {
                        return Err(ParseError::new("invalid bulk length"));
                    };
                    if next > buf.len() {
                        return Ok(partial);
                    }
                    spans.push((start, len as usize));
                    pos = next;
                    continue;
                }
            }
        }
        let Some(cr) = find_cr(buf, pos) else {
            if buf.len() - pos > limits.max_inline_len {
                return Err(ParseError::new("too big bulk count string"));
            }
            return Ok(partial);
        };
        if cr + 1 >= buf.len() {
            return Ok(partial);
        }
        if buf[pos] != b'$' {
            return Err(ParseError::Protocol(format!(
                "ERR Protocol error: expected '$', got '{}'",
                char::from(buf[pos])
            )));
        }
        let len = match string2ll(&buf[pos + 1..cr]) {
            Some(n) if n >= 0 && fits(n, limits.max_bulk_len) => n as usize,
            _ => return Err(ParseError::new("invalid bulk length")),
        };
        let start = cr + 2;
        // Like Disque, the two bytes after the body are skipped unchecked.
        let Some(next) = start.checked_add(len).and_then(|e| e.checked_add(2)) else {
            return Err(ParseError::new("invalid bulk length"));
        };
        if next > buf.len() {
            return Ok(partial);
        }
        spans.push((start, len));
        pos = next;
    }
    Ok(Scan::Done { end: pos })
}

/// The number of a header line whose text from `from` on is plain digits
/// (`0`, or up to 18 digits without a leading zero: no overflow) ended by
/// a `\r` with one more byte after it, and the place of that `\r`; `None`
/// for anything else (incomplete, a sign, an error…), which the careful
/// path then decides. What it accepts, `string2ll` reads the same way.
fn plain_number(buf: &[u8], from: usize) -> Option<(u64, usize)> {
    let digits = buf.get(from..)?;
    let mut n = 0u64;
    let mut i = 0;
    while i < digits.len() && i < 18 {
        let d = digits[i].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        n = n * 10 + u64::from(d);
        i += 1;
    }
    let plain = i > 0 && !(digits[0] == b'0' && i > 1);
    (plain && digits.get(i) == Some(&b'\r') && i + 1 < digits.len()).then_some((n, from + i))
}

/// Whether the non-negative `n` is at most `max`.
fn fits(n: i64, max: usize) -> bool {
    u64::try_from(n).is_ok_and(|n| n <= max as u64)
}

fn find_cr(buf: &[u8], from: usize) -> Option<usize> {
    buf[from..]
        .iter()
        .position(|&b| b == b'\r')
        .map(|i| i + from)
}

/// Redis' `string2ll`: an optional `-`, then digits without leading zeros
/// (`0` alone is fine, `-0` is not); nothing else, no overflow.
fn string2ll(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s {
        [b'0'] => return Some(0),
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        0i64.checked_sub_unsigned(v)
    } else {
        i64::try_from(v).ok()
    }
}

/// Parses an inline request into `args`: `None` once complete, else where
/// to resume.
fn parse_inline(
    buf: &mut BytesMut,
    limits: &Limits,
    resume: Resume,
    args: &mut Vec<Bytes>,
) -> Result<Option<Resume>, ParseError> {
    let from = match resume {
        Resume::Inline { scanned } if scanned <= buf.len() => scanned,
        _ => 0,
    };
    let Some(lf) = buf[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| i + from)
    else {
        if buf.len() > limits.max_inline_len {
            return Err(ParseError::new("too big inline request"));
        }
        return Ok(Some(Resume::Inline { scanned: buf.len() }));
    };
    let line_end = if lf > 0 && buf[lf - 1] == b'\r' {
        lf - 1
    } else {
        lf
    };
    *args = split_args(&buf[..line_end])
        .ok_or_else(|| ParseError::new("unbalanced quotes in request"))?;
    buf.advance(lf + 1);
    Ok(None)
}

/// C's `isspace` in the "C" locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `sdssplitargs`, dropping empty arguments as `processInlineBuffer` does.
/// `None` on unbalanced quotes (or a closing quote not followed by a blank).
/// The line is a C string there: a NUL byte ends it.
fn split_args(line: &[u8]) -> Option<Vec<Bytes>> {
    let line = match line.iter().position(|&b| b == 0) {
        Some(nul) => &line[..nul],
        None => line,
    };
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while p < line.len() && is_space(line[p]) {
            p += 1;
        }
        if p == line.len() {
            return Some(args);
        }
        let mut current = Vec::new();
        let (mut in_double, mut in_single) = (false, false);
        loop {
            let c = line.get(p).copied();
            let next = line.get(p + 1).copied();
            if in_double {
                match (c, next) {
                    (None, _) => return None,
                    (Some(b'\\'), Some(b'x'))
                        if p + 3 < line.len()
                            && line[p + 2].is_ascii_hexdigit()
                            && line[p + 3].is_ascii_hexdigit() =>
                    {
                        current.push(hex(line[p + 2]) * 16 + hex(line[p + 3]));
                        p += 3;
                    }
                    (Some(b'\\'), Some(e)) => {
                        current.push(match e {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                        p += 1;
                    }
                    (Some(b'"'), next) => {
                        if next.is_some_and(|n| !is_space(n)) {
                            return None;
                        }
                        p += 1;
                        break;
                    }
                    (Some(c), _) => current.push(c),
                }
            } else if in_single {
                match (c, next) {
                    (None, _) => return None,
                    (Some(b'\\'), Some(b'\'')) => {
                        current.push(b'\'');
                        p += 1;
                    }
                    (Some(b'\''), next) => {
                        if next.is_some_and(|n| !is_space(n)) {
                            return None;
                        }
                        p += 1;
                        break;
                    }
                    (Some(c), _) => current.push(c),
                }
            } else {
                match c {
                    None => break,
                    Some(b' ' | b'\n' | b'\r' | b'\t') => {
                        p += 1;
                        break;
                    }
                    Some(b'"') => in_double = true,
                    Some(b'\'') => in_single = true,
                    Some(c) => current.push(c),
                }
            }
            p += 1;
        }
        if !current.is_empty() {
            args.push(Bytes::from(current));
        }
    }
}

fn hex(d: u8) -> u8 {
    match d {
        b'0'..=b'9' => d - b'0',
        b'a'..=b'f' => d - b'a' + 10,
        _ => d - b'A' + 10,
    }
}

/// A RESP2 reply.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use disque_embedded::frame::Reply;
///
/// let mut out = BytesMut::new();
/// Reply::Array(vec![Reply::Bulk(Bytes::from_static(b"q")), Reply::Integer(-3)]).encode(&mut out);
/// assert_eq!(&out[..], b"*2\r\n$1\r\nq\r\n:-3\r\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+text` (line breaks in the text are sent as spaces).
    Status(Cow<'static, str>),
    /// `-text`, e.g. `ERR syntax error` (line breaks are sent as spaces).
    Error(Cow<'static, str>),
    /// `:n`.
    Integer(i64),
    /// `$len` and the bytes.
    Bulk(Bytes),
    /// `$-1`.
    NilBulk,
    /// `*-1`.
    NilArray,
    /// `*len` and the elements.
    Array(Vec<Reply>),
}

impl Reply {
    /// Appends the RESP2 encoding of this reply to `out`.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use disque_embedded::frame::Reply;
    ///
    /// let mut out = BytesMut::new();
    /// Reply::Status("PONG".into()).encode(&mut out);
    /// Reply::NilArray.encode(&mut out);
    /// assert_eq!(&out[..], b"+PONG\r\n*-1\r\n");
    /// ```
    pub fn encode(&self, out: &mut BytesMut) {
        self.encode_sharing(out, usize::MAX, &mut Vec::new());
    }

    /// Like [`Reply::encode`], but bulk strings of `share_from` bytes or
    /// more are not copied into `out`: what `out` holds so far is split off
    /// onto `chunks`, then the bulk's own bytes, and encoding goes on in
    /// `out`. Writing `chunks` in order and then `out` sends the same bytes
    /// as [`Reply::encode`] would, without copying large job bodies.
    ///
    /// ```
    /// use bytes::{Bytes, BytesMut};
    /// use disque_embedded::frame::Reply;
    ///
    /// let reply = Reply::Array(vec![Reply::Bulk(Bytes::from_static(b"big body"))]);
    /// let (mut out, mut chunks) = (BytesMut::new(), Vec::new());
    /// reply.encode_sharing(&mut out, 4, &mut chunks);
    /// let mut sent: Vec<u8> = chunks.concat();
    /// sent.extend_from_slice(&out);
    /// assert_eq!(sent, b"*1\r\n$8\r\nbig body\r\n");
    /// assert_eq!(chunks.len(), 2);
    /// ```
    pub fn encode_sharing(&self, out: &mut BytesMut, share_from: usize, chunks: &mut Vec<Bytes>) {
        match self {
            Reply::Status(text) => encode_line(out, b'+', text),
            Reply::Error(text) => encode_line(out, b'-', text),
            Reply::Integer(n) => encode_number(out, b':', *n),
            Reply::Bulk(body) if body.len() >= share_from => {
                encode_number(out, b'$', body.len() as i64);
                chunks.push(out.split().freeze());
                chunks.push(body.clone());
                out.put_slice(b"\r\n");
            }
            Reply::Bulk(body) => {
                out.reserve(body.len() + 16);
                encode_number(out, b'$', body.len() as i64);
                out.put_slice(body);
                out.put_slice(b"\r\n");
            }
            Reply::NilBulk => out.put_slice(b"$-1\r\n"),
            Reply::NilArray => out.put_slice(b"*-1\r\n"),
            Reply::Array(items) => {
                encode_number(out, b'*', items.len() as i64);
                for item in items {
                    item.encode_sharing(out, share_from, chunks);
                }
            }
        }
    }
}

fn encode_line(out: &mut BytesMut, kind: u8, text: &str) {
    out.reserve(text.len() + 3);
    out.put_u8(kind);
    let bytes = text.as_bytes();
    if bytes.iter().any(|&b| b == b'\r' || b == b'\n') {
        out.extend(
            bytes
                .iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
    } else {
        out.put_slice(bytes);
    }
    out.put_slice(b"\r\n");
}

/// `<kind><n>\r\n` without going through `fmt`: written backwards into a
/// small array, then appended at once.
pub(crate) fn encode_number(out: &mut BytesMut, kind: u8, n: i64) {
    // One or two digits (array lengths, GETJOB's counters, ACKJOB's count,
    // the lengths of queue names, short bodies): a fixed-size line.
    match u8::try_from(n) {
        Ok(digit @ 0..=9) => return out.extend_from_slice(&[kind, b'0' + digit, b'\r', b'\n']),
        Ok(n @ 10..=99) => {
            return out.extend_from_slice(&[kind, b'0' + n / 10, b'0' + n % 10, b'\r', b'\n'])
        }
        _ => {}
    }
    // kind, sign, 19 digits, CRLF.
    let mut line = [0u8; 23];
    let mut i = line.len() - 2;
    line[i..].copy_from_slice(b"\r\n");
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        line[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        line[i] = b'-';
    }
    i -= 1;
    line[i] = kind;
    out.extend_from_slice(&line[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8]) -> (Result<Option<Vec<Bytes>>, ParseError>, BytesMut) {
        let mut buf = BytesMut::from(input);
        let result = parse_request(&mut buf, &Limits::default());
        (result, buf)
    }

    fn args(list: &[&[u8]]) -> Vec<Bytes> {
        list.iter().map(|a| Bytes::copy_from_slice(a)).collect()
    }

    fn protocol(text: &str) -> ParseError {
        ParseError::Protocol(text.to_owned())
    }

    fn multibulk(list: &[&[u8]]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", list.len()).into_bytes();
        for a in list {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// Every strict prefix is incomplete and consumes nothing; the whole
    /// input parses to `expected` and consumes exactly itself.
    fn assert_all_cuts(input: &[u8], expected: &[&[u8]]) {
        for cut in 0..input.len() {
            let (result, rest) = parse(&input[..cut]);
            assert_eq!(result, Ok(None), "cut at {cut} of {input:?}");
            assert_eq!(&rest[..], &input[..cut]);
        }
        let (result, rest) = parse(input);
        assert_eq!(result, Ok(Some(args(expected))), "{input:?}");
        assert!(rest.is_empty());
    }

    #[test]
    fn multibulk_at_every_cut_point() {
        assert_all_cuts(b"*1\r\n$4\r\nPING\r\n", &[b"PING"]);
        assert_all_cuts(
            b"*3\r\n$6\r\nADDJOB\r\n$1\r\nq\r\n$0\r\n\r\n",
            &[b"ADDJOB", b"q", b""],
        );
        let big = vec![b'x'; 70_000];
        assert_all_cuts(&multibulk(&[b"ADDJOB", &big]), &[b"ADDJOB", &big]);
    }

    #[test]
    fn inline_at_every_cut_point() {
        assert_all_cuts(b"PING\r\n", &[b"PING"]);
        assert_all_cuts(b"ADDJOB q \"a b\" 0\r\n", &[b"ADDJOB", b"q", b"a b", b"0"]);
        assert_all_cuts(b"QLEN q\n", &[b"QLEN", b"q"]);
    }

    /// A connection's parser fed one byte at a time gives the same requests.
    #[test]
    fn a_request_parser_fed_byte_by_byte() {
        let stream: &[u8] =
            b"*2\r\n$4\r\nQLEN\r\n$1\r\nq\r\nPING \"a b\"\r\n*0\r\n*1\r\n$2\r\nhi\r\n";
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for &byte in stream {
            buf.extend_from_slice(&[byte]);
            while let Some(args) = parser.parse(&mut buf, &Limits::default()).unwrap() {
                got.push(args);
            }
        }
        assert!(buf.is_empty());
        let expected = vec![
            args(&[b"QLEN", b"q"]),
            args(&[b"PING", b"a b"]),
            vec![],
            args(&[b"hi"]),
        ];
        assert_eq!(got, expected);
    }

    #[test]
    fn a_request_parser_resumes_where_it_stopped() {
        let limits = Limits::default();
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::from(&b"*3\r\n$1\r\na\r\n$1\r\n"[..]);
        assert_eq!(parser.parse(&mut buf, &limits), Ok(None));
        assert_eq!(
            parser.resume,
            Resume::Multibulk {
                count: 3,
                seen: 1,
                pos: 11
            }
        );
        let mut buf = BytesMut::from(&b"PING"[..]);
        let mut parser = RequestParser::new();
        assert_eq!(parser.parse(&mut buf, &limits), Ok(None));
        assert_eq!(parser.resume, Resume::Inline { scanned: 4 });
        buf.extend_from_slice(b"\r\n");
        assert_eq!(parser.parse(&mut buf, &limits), Ok(Some(args(&[b"PING"]))));
        assert_eq!(parser.resume, Resume::Start);
    }

    #[test]
    fn binary_bodies_are_kept_intact() {
        let body: &[u8] = b"\0\r\n*1\r\n$3\r\n\xff\0";
        let frame = multibulk(&[b"ADDJOB", b"q", body, b"0"]);
        let (result, rest) = parse(&frame);
        assert_eq!(result, Ok(Some(args(&[b"ADDJOB", b"q", body, b"0"]))));
        assert!(rest.is_empty());
    }

    #[test]
    fn pipelined_requests_are_taken_one_at_a_time() {
        let mut buf = BytesMut::from(&b"*1\r\n$4\r\nPING\r\nPING\r\n*1\r\n$4\r\nQUIT\r\n"[..]);
        let limits = Limits::default();
        for expected in [b"PING", b"PING", b"QUIT"] {
            let got = parse_request(&mut buf, &limits);
            assert_eq!(got, Ok(Some(args(&[expected]))));
        }
        assert_eq!(parse_request(&mut buf, &limits), Ok(None));
    }

    #[test]
    fn empty_requests_are_empty_and_consumed() {
        for input in [
            &b"\r\n"[..],
            b"\n",
            b"   \t \r\n",
            b"*0\r\n",
            b"*-1\r\n",
            b"\"\"\r\n",
        ] {
            let (result, rest) = parse(input);
            assert_eq!(result, Ok(Some(vec![])), "{input:?}");
            assert!(rest.is_empty(), "{input:?}");
        }
        assert_eq!(parse(b"").0, Ok(None));
    }

    #[test]
    fn bad_multibulk_lengths() {
        let invalid = protocol("ERR Protocol error: invalid multibulk length");
        for input in [
            &b"*x\r\n"[..],
            b"*\r\n",
            b"*01\r\n",
            b"*-0\r\n",
            b"*+1\r\n",
            b"* 1\r\n",
            b"*1048577\r\n",
            b"*99999999999999999999\r\n",
        ] {
            assert_eq!(parse(input).0, Err(invalid.clone()), "{input:?}");
        }
        assert_eq!(parse(b"*1048576\r\n").0, Ok(None));
    }

    #[test]
    fn bad_bulk_lengths() {
        let invalid = protocol("ERR Protocol error: invalid bulk length");
        for input in [
            &b"*1\r\n$-5\r\n"[..],
            b"*1\r\n$-1\r\n",
            b"*1\r\n$\r\n",
            b"*1\r\n$abc\r\n",
            b"*1\r\n$536870913\r\n",
            b"*1\r\n$9223372036854775808\r\n",
            b"*2\r\n$1\r\na\r\n$1x\r\n",
        ] {
            assert_eq!(parse(input).0, Err(invalid.clone()), "{input:?}");
        }
        // The largest allowed length waits for its bytes without allocating them.
        let (result, rest) = parse(b"*1\r\n$536870912\r\nabc");
        assert_eq!(result, Ok(None));
        assert!(rest.capacity() < 1024);
    }

    #[test]
    fn expected_dollar() {
        assert_eq!(
            parse(b"*1\r\n:5\r\n").0,
            Err(protocol("ERR Protocol error: expected '$', got ':'"))
        );
        assert_eq!(
            parse(b"*2\r\n$1\r\na\r\n+x\r\n").0,
            Err(protocol("ERR Protocol error: expected '$', got '+'"))
        );
        // Only once the line is complete, as Disque does.
        assert_eq!(parse(b"*1\r\n:5").0, Ok(None));
    }

    #[test]
    fn header_lines_are_capped() {
        let limits = Limits {
            max_inline_len: 16,
            ..Limits::default()
        };
        let mut buf = BytesMut::from(&[b'*'; 17][..]);
        assert_eq!(
            parse_request(&mut buf, &limits),
            Err(protocol("ERR Protocol error: too big mbulk count string"))
        );
        let mut buf = BytesMut::from(&b"*1\r\n$11111111111111"[..]);
        assert_eq!(parse_request(&mut buf, &limits), Ok(None));
        buf.extend_from_slice(b"1111");
        assert_eq!(
            parse_request(&mut buf, &limits),
            Err(protocol("ERR Protocol error: too big bulk count string"))
        );
        let mut buf = BytesMut::from(&[b'a'; 17][..]);
        assert_eq!(
            parse_request(&mut buf, &limits),
            Err(protocol("ERR Protocol error: too big inline request"))
        );
        let mut buf = BytesMut::from(&[b'a'; 16][..]);
        assert_eq!(parse_request(&mut buf, &limits), Ok(None));
    }

    #[test]
    fn limits_are_configurable() {
        let limits = Limits {
            max_bulk_len: 3,
            max_multibulk_len: 2,
            ..Limits::default()
        };
        let mut ok = BytesMut::from(&b"*2\r\n$3\r\nabc\r\n$0\r\n\r\n"[..]);
        assert!(matches!(parse_request(&mut ok, &limits), Ok(Some(_))));
        let mut long = BytesMut::from(&b"*1\r\n$4\r\nabcd\r\n"[..]);
        assert_eq!(
            parse_request(&mut long, &limits),
            Err(protocol("ERR Protocol error: invalid bulk length"))
        );
        let mut many = BytesMut::from(&b"*3\r\n"[..]);
        assert_eq!(
            parse_request(&mut many, &limits),
            Err(protocol("ERR Protocol error: invalid multibulk length"))
        );
    }

    #[test]
    fn bytes_after_cr_and_body_are_skipped_like_disque() {
        // The count line runs up to the first CR, wherever it is.
        assert_eq!(
            parse(b"*1X$4\r\nPING\r\n").0,
            Err(protocol("ERR Protocol error: invalid multibulk length"))
        );
        let (result, rest) = parse(b"*1\rX$4\rYPINGxy+");
        assert_eq!(result, Ok(Some(args(&[b"PING"]))));
        assert_eq!(&rest[..], b"+");
    }

    #[test]
    fn inline_quotes_and_escapes() {
        let cases: &[(&[u8], &[&[u8]])] = &[
            (b"  SET  a   b \r\n", &[b"SET", b"a", b"b"]),
            (
                b"a \"x\\ny\\r\\t\\b\\a\\\\\\\"z\"\r\n",
                &[b"a", b"x\ny\r\t\x08\x07\\\"z"],
            ),
            (b"\"\\x41\\x6a\\xZZ\\x4\"\r\n", &[b"AjxZZx4"]),
            (b"'it\\'s' 'a\\b'\r\n", &[b"it's", b"a\\b"]),
            (b"ab\"c d\"\r\n", &[b"abc d"]),
            (b"a \"\" '' b\r\n", &[b"a", b"b"]),
            (b"a\x0bb c\r\n", &[b"a\x0bb", b"c"]),
            (b"\x0ba\r\n", &[b"a"]),
            (b"PING\0ignored\r\n", &[b"PING"]),
            (b"a\rb\r\n", &[b"a", b"b"]),
            (b"\"a\"\x0c\r\n", &[b"a"]),
        ];
        for (input, expected) in cases {
            let (result, rest) = parse(input);
            assert_eq!(
                result,
                Ok(Some(args(expected))),
                "{:?}",
                String::from_utf8_lossy(input)
            );
            assert!(rest.is_empty());
        }
    }

    #[test]
    fn unbalanced_quotes() {
        let unbalanced = protocol("ERR Protocol error: unbalanced quotes in request");
        for input in [
            &b"GET \"a\r\n"[..],
            b"GET 'a\r\n",
            b"GET \"a\"b\r\n",
            b"GET 'a'b\r\n",
            b"GET \"a\\\"\r\n",
            b"GET \"a\0\"\r\n",
        ] {
            assert_eq!(parse(input).0, Err(unbalanced.clone()), "{input:?}");
        }
    }

    /// The quick reading of a header takes only what `string2ll` reads the
    /// same way, and only once the line and one more byte are there.
    #[test]
    fn plain_numbers_are_read_as_string2ll_reads_them() {
        let texts: &[&[u8]] = &[
            b"0",
            b"00",
            b"01",
            b"1",
            b"-1",
            b"-0",
            b"+1",
            b" 1",
            b"1 ",
            b"12a",
            b"",
            b"999999999999999999",
            b"1000000000000000000",
            b"9223372036854775807",
            b"536870912",
            b"1048576",
        ];
        for &text in texts {
            for tail in [&b""[..], b"\r", b"\r\n", b"\n\r\n"] {
                let mut line = b"$".to_vec();
                line.extend_from_slice(text);
                line.extend_from_slice(tail);
                let Some((n, cr)) = plain_number(&line, 1) else {
                    continue;
                };
                assert_eq!(cr, 1 + text.len(), "{line:?}");
                assert!(cr + 1 < line.len(), "{line:?}");
                assert_eq!(string2ll(text), Some(n as i64), "{line:?}");
            }
            let plain = !text.is_empty()
                && text.len() <= 18
                && text.iter().all(u8::is_ascii_digit)
                && (text == b"0" || text[0] != b'0');
            let mut line = b"*".to_vec();
            line.extend_from_slice(text);
            line.extend_from_slice(b"\r\n");
            assert_eq!(plain_number(&line, 1).is_some(), plain, "{line:?}");
        }
    }

    #[test]
    fn string2ll_matches_redis() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-1"), Some(-1));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"00",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"9223372036854775808",
        ] {
            assert_eq!(string2ll(bad), None, "{bad:?}");
        }
    }

    fn encoded(reply: Reply) -> Vec<u8> {
        let mut out = BytesMut::new();
        reply.encode(&mut out);
        out.to_vec()
    }

    #[test]
    fn encodes_every_reply_kind() {
        assert_eq!(encoded(Reply::Status("OK".into())), b"+OK\r\n");
        assert_eq!(encoded(Reply::Error("ERR a\r\nb".into())), b"-ERR a  b\r\n");
        assert_eq!(
            encoded(Reply::Status(String::from("x\ny").into())),
            b"+x y\r\n"
        );
        assert_eq!(encoded(Reply::Integer(0)), b":0\r\n");
        assert_eq!(encoded(Reply::Integer(42)), b":42\r\n");
        for n in (-11..=11).chain(98..=101) {
            assert_eq!(encoded(Reply::Integer(n)), format!(":{n}\r\n").as_bytes());
        }
        assert_eq!(
            encoded(Reply::Integer(i64::MIN)),
            b":-9223372036854775808\r\n"
        );
        assert_eq!(
            encoded(Reply::Integer(i64::MAX)),
            b":9223372036854775807\r\n"
        );
        assert_eq!(encoded(Reply::Bulk(Bytes::new())), b"$0\r\n\r\n");
        assert_eq!(
            encoded(Reply::Bulk(Bytes::from_static(b"a\r\n\0"))),
            b"$4\r\na\r\n\0\r\n"
        );
        assert_eq!(encoded(Reply::NilBulk), b"$-1\r\n");
        assert_eq!(encoded(Reply::NilArray), b"*-1\r\n");
        assert_eq!(encoded(Reply::Array(vec![])), b"*0\r\n");
        assert_eq!(
            encoded(Reply::Array(vec![
                Reply::Array(vec![Reply::Bulk(Bytes::from_static(b"q")), Reply::NilBulk]),
                Reply::Integer(-1),
            ])),
            b"*2\r\n*2\r\n$1\r\nq\r\n$-1\r\n:-1\r\n"
        );
    }
}
