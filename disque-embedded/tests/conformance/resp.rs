//! A blocking RESP2 client with a deadline per reply, like the recording
//! harness's (`Conn` in `disque_conformance.py`): raw sockets, one buffer.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// A parsed RESP2 reply, or what the harness saw instead of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Status(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<Reply>),
    NilArray,
    /// No (complete) reply before the deadline.
    Timeout,
    /// The server closed the connection.
    Closed,
    /// Bytes that are not RESP2.
    ProtocolError(String),
}

impl Reply {
    /// Key/value array (SHOW, QSTAT) as pairs with a text key; empty when
    /// the shape does not fit.
    pub fn kv(&self) -> Vec<(String, &Reply)> {
        let Reply::Array(items) = self else {
            return Vec::new();
        };
        if items.len() % 2 != 0 {
            return Vec::new();
        }
        items
            .chunks(2)
            .filter_map(|p| match &p[0] {
                Reply::Bulk(k) | Reply::Status(k) => {
                    Some((String::from_utf8_lossy(k).into_owned(), &p[1]))
                }
                _ => None,
            })
            .collect()
    }

    /// Whether the harness, not the server, produced this outcome.
    pub fn is_harness_outcome(&self) -> bool {
        matches!(
            self,
            Reply::Timeout | Reply::Closed | Reply::ProtocolError(_)
        )
    }
}

/// Encodes one command as a RESP2 multibulk request.
pub fn encode_command(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

enum ReadError {
    Timeout,
    Closed,
    Protocol(String),
}

/// One connection to a node.
pub struct Conn {
    sock: TcpStream,
    buf: Vec<u8>,
    pos: usize,
    chunk: Vec<u8>,
    /// Set after a timeout, a close or a protocol error: the next use opens
    /// a new connection.
    pub broken: bool,
}

impl Conn {
    pub fn open(host: &str, port: u16) -> Result<Conn, String> {
        let addrs = (host, port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {host}:{port}: {e}"))?;
        let mut last = format!("no address for {host}:{port}");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
                Ok(sock) => {
                    let _ = sock.set_nodelay(true);
                    return Ok(Conn {
                        sock,
                        buf: Vec::new(),
                        pos: 0,
                        chunk: vec![0; 1 << 20],
                        broken: false,
                    });
                }
                Err(e) => last = format!("cannot connect to {addr}: {e}"),
            }
        }
        Err(last)
    }

    /// Sends `data`; `Err` holds the harness outcome (timeout or closed).
    pub fn send_all(&mut self, data: &[u8]) -> Result<(), Reply> {
        let _ = self.sock.set_write_timeout(Some(Duration::from_secs(30)));
        match self.sock.write_all(data) {
            Ok(()) => Ok(()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(Reply::Timeout)
            }
            Err(_) => Err(Reply::Closed),
        }
    }

    fn fill(&mut self, deadline: Instant) -> Result<(), ReadError> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(ReadError::Timeout);
        }
        let _ = self.sock.set_read_timeout(Some(remaining));
        match self.sock.read(&mut self.chunk) {
            Ok(0) => Err(ReadError::Closed),
            Ok(n) => {
                if self.pos > 0 {
                    self.buf.drain(..self.pos);
                    self.pos = 0;
                }
                self.buf.extend_from_slice(&self.chunk[..n]);
                Ok(())
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(ReadError::Timeout)
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(()),
            Err(_) => Err(ReadError::Closed),
        }
    }

    fn line(&mut self, deadline: Instant) -> Result<Vec<u8>, ReadError> {
        loop {
            if let Some(i) = self.buf[self.pos..].windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[self.pos..self.pos + i].to_vec();
                self.pos += i + 2;
                return Ok(line);
            }
            self.fill(deadline)?;
        }
    }

    fn exact(&mut self, n: usize, deadline: Instant) -> Result<Vec<u8>, ReadError> {
        while self.buf.len() - self.pos < n + 2 {
            self.fill(deadline)?;
        }
        let data = self.buf[self.pos..self.pos + n].to_vec();
        if &self.buf[self.pos + n..self.pos + n + 2] != b"\r\n" {
            return Err(ReadError::Protocol(
                "bulk payload not terminated by CRLF".into(),
            ));
        }
        self.pos += n + 2;
        Ok(data)
    }

    /// Reads one reply within `timeout`; a harness outcome marks the
    /// connection broken.
    pub fn read_reply(&mut self, timeout: Duration) -> Reply {
        let deadline = Instant::now() + timeout;
        match self.parse(deadline) {
            Ok(r) => r,
            Err(e) => {
                self.broken = true;
                match e {
                    ReadError::Timeout => Reply::Timeout,
                    ReadError::Closed => Reply::Closed,
                    ReadError::Protocol(m) => Reply::ProtocolError(m),
                }
            }
        }
    }

    fn parse(&mut self, deadline: Instant) -> Result<Reply, ReadError> {
        let line = self.line(deadline)?;
        let Some((&t, rest)) = line.split_first() else {
            return Err(ReadError::Protocol("empty reply line".into()));
        };
        let number = |what: &str| -> Result<i64, ReadError> {
            std::str::from_utf8(rest)
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .ok_or_else(|| {
                    ReadError::Protocol(format!("bad {what} {:?}", String::from_utf8_lossy(rest)))
                })
        };
        match t {
            b'+' => Ok(Reply::Status(rest.to_vec())),
            b'-' => Ok(Reply::Error(rest.to_vec())),
            b':' => Ok(Reply::Int(number("integer")?)),
            b'$' => match number("bulk length")? {
                -1 => Ok(Reply::Nil),
                n if n < 0 => Err(ReadError::Protocol(format!("bad bulk length {n}"))),
                n => Ok(Reply::Bulk(self.exact(n as usize, deadline)?)),
            },
            b'*' => match number("array length")? {
                -1 => Ok(Reply::NilArray),
                n if n < 0 => Err(ReadError::Protocol(format!("bad array length {n}"))),
                n => {
                    let mut items = Vec::with_capacity(n.min(1024) as usize);
                    for _ in 0..n {
                        items.push(self.parse(deadline)?);
                    }
                    Ok(Reply::Array(items))
                }
            },
            other => Err(ReadError::Protocol(format!(
                "unknown reply type byte {:?}",
                other as char
            ))),
        }
    }
}
