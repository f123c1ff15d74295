//! A small RESP2 client for the tests that speak raw protocol to a node.
#![allow(dead_code)]

use std::io;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A decoded RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum R {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Nil,
    NilArray,
    Array(Vec<R>),
}

impl R {
    pub fn bulk(s: &str) -> R {
        R::Bulk(s.as_bytes().to_vec())
    }
    pub fn status(&self) -> String {
        match self {
            R::Status(s) => s.clone(),
            other => panic!("expected a status, got {other:?}"),
        }
    }
    pub fn text(&self) -> String {
        match self {
            R::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("expected a bulk string, got {other:?}"),
        }
    }
    /// A bulk string that must be valid UTF-8 (panics otherwise).
    pub fn string(&self) -> String {
        match self {
            R::Bulk(b) => String::from_utf8(b.clone())
                .unwrap_or_else(|e| panic!("bulk string is not UTF-8: {e}: {b:?}")),
            other => panic!("expected a bulk string, got {other:?}"),
        }
    }
    pub fn int(&self) -> i64 {
        match self {
            R::Int(n) => *n,
            other => panic!("expected an integer, got {other:?}"),
        }
    }
    pub fn items(&self) -> &[R] {
        match self {
            R::Array(v) => v,
            other => panic!("expected an array, got {other:?}"),
        }
    }
    /// A field of a SHOW reply (a flat name/value array).
    pub fn field(&self, name: &str) -> R {
        self.items()
            .chunks(2)
            .find(|kv| kv[0] == R::bulk(name))
            .map(|kv| kv[1].clone())
            .unwrap_or_else(|| panic!("no field {name} in {self:?}"))
    }
}

/// One connection.
pub struct Conn {
    pub io: BufReader<TcpStream>,
    /// Bound on each [`Conn::read`] (none: wait as long as it takes).
    reply_limit: Option<Duration>,
    /// Every bulk string read must be UTF-8 (the test fails otherwise).
    utf8_bulks: bool,
}

impl Conn {
    pub async fn open(addr: std::net::SocketAddr) -> Conn {
        Conn {
            io: BufReader::new(TcpStream::connect(addr).await.unwrap()),
            reply_limit: None,
            utf8_bulks: false,
        }
    }

    /// A connection, or the error of connecting.
    pub async fn try_open(addr: std::net::SocketAddr) -> std::io::Result<Conn> {
        Ok(Conn {
            io: BufReader::new(TcpStream::connect(addr).await?),
            reply_limit: None,
            utf8_bulks: false,
        })
    }

    /// Every read fails the test ("no reply in time") after `limit`
    /// instead of hanging.
    pub fn with_reply_limit(mut self, limit: Duration) -> Conn {
        self.reply_limit = Some(limit);
        self
    }

    /// Every bulk string read must be valid UTF-8: the test fails at the
    /// first that is not.
    pub fn with_utf8_bulks(mut self) -> Conn {
        self.utf8_bulks = true;
        self
    }

    /// One request in RESP (a multi-bulk of `args`).
    pub fn encode(args: &[&[u8]]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    pub async fn send_bytes(&mut self, args: &[&[u8]]) {
        self.io
            .get_mut()
            .write_all(&Self::encode(args))
            .await
            .unwrap();
    }

    /// Sends a request without reading its reply.
    pub async fn send(&mut self, args: &[&str]) {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.send_bytes(&args).await;
    }

    pub async fn cmd(&mut self, args: &[&str]) -> R {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.send_bytes(&args).await;
        self.read().await
    }

    pub async fn cmd_bytes(&mut self, args: &[&[u8]]) -> R {
        self.send_bytes(args).await;
        self.read().await
    }

    /// Like [`Conn::cmd`], but a failed connection (the node was killed)
    /// is an error instead of a panic.
    pub async fn try_cmd(&mut self, args: &[&str]) -> io::Result<R> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.io.get_mut().write_all(&Self::encode(&args)).await?;
        self.try_read().await
    }

    /// Sends all of `cmds` in one write, then reads their replies in order.
    pub async fn pipeline(&mut self, cmds: &[Vec<String>]) -> Vec<R> {
        let mut out = Vec::new();
        for c in cmds {
            let args: Vec<&[u8]> = c.iter().map(|a| a.as_bytes()).collect();
            out.extend(Self::encode(&args));
        }
        self.io.get_mut().write_all(&out).await.unwrap();
        let mut replies = Vec::with_capacity(cmds.len());
        for _ in cmds {
            replies.push(self.read().await);
        }
        replies
    }

    /// One field of `INFO section`.
    pub async fn info_field(&mut self, section: &str, key: &str) -> String {
        info_field(&self.cmd(&["INFO", section]).await, key)
    }

    async fn line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        self.io.read_line(&mut line).await?;
        if !line.ends_with("\r\n") {
            let e = format!("truncated reply line {line:?}");
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, e));
        }
        line.truncate(line.len() - 2);
        Ok(line)
    }

    /// The next reply (within the reply limit, if one is set).
    pub async fn read(&mut self) -> R {
        self.try_read().await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// The next reply, or why there is none: the connection failed or
    /// (`TimedOut`) the reply limit passed.
    pub async fn try_read(&mut self) -> io::Result<R> {
        match self.reply_limit {
            Some(limit) => tokio::time::timeout(limit, self.read_reply())
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no reply in time"))?,
            None => self.read_reply().await,
        }
    }

    fn read_reply(
        &mut self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = io::Result<R>> + Send + '_>> {
        Box::pin(async move {
            let line = self.line().await?;
            let (kind, rest) = line.split_at(1);
            Ok(match kind {
                "+" => R::Status(rest.to_owned()),
                "-" => R::Error(rest.to_owned()),
                ":" => R::Int(rest.parse().unwrap()),
                "$" if rest == "-1" => R::Nil,
                "$" => {
                    let n: usize = rest.parse().unwrap();
                    let mut buf = vec![0; n + 2];
                    self.io.read_exact(&mut buf).await?;
                    buf.truncate(n);
                    if self.utf8_bulks {
                        if let Err(e) = std::str::from_utf8(&buf) {
                            panic!("bulk string is not UTF-8: {e}: {buf:?}");
                        }
                    }
                    R::Bulk(buf)
                }
                "*" if rest == "-1" => R::NilArray,
                "*" => {
                    let n: usize = rest.parse().unwrap();
                    let mut v = Vec::with_capacity(n);
                    for _ in 0..n {
                        v.push(self.read_reply().await?);
                    }
                    R::Array(v)
                }
                _ => panic!("unexpected reply line {line:?}"),
            })
        })
    }

    /// True once the server closed the connection (within 5 s).
    pub async fn closed(&mut self) -> bool {
        let mut buf = [0u8; 1];
        matches!(
            tokio::time::timeout(Duration::from_secs(5), self.io.read(&mut buf)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
}

/// One field of an INFO reply.
pub fn info_field(info: &R, key: &str) -> String {
    let text = info.text();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")).map(str::to_owned))
        .unwrap_or_else(|| panic!("no {key} in {text}"))
}
