//! What the cluster tests need besides embedded nodes: a TCP proxy that can
//! stall the connections it carries (a half-open link), a server that accepts
//! and never answers, and a scripted fake node.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A proxy on 127.0.0.1 in front of `target`. [`Proxy::stall`] freezes every
/// connection open at that moment: bytes are read and dropped, nothing is
/// forwarded, nothing is closed — what a client sees of a peer behind a dead
/// link. Connections opened later are forwarded normally.
pub struct Proxy {
    addr: SocketAddr,
    accepted: watch::Receiver<usize>,
    stalls: Arc<Mutex<Vec<Arc<AtomicBool>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (tx, accepted) = watch::channel(0usize);
        let stalls: Arc<Mutex<Vec<Arc<AtomicBool>>>> = Arc::default();
        let flags = Arc::clone(&stalls);
        let task = tokio::spawn(async move {
            let count = AtomicUsize::new(0);
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(target).await else {
                    continue;
                };
                let stalled = Arc::new(AtomicBool::new(false));
                flags.lock().unwrap().push(Arc::clone(&stalled));
                tokio::spawn(pump(client, server, stalled));
                let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                let _ = tx.send(n);
            }
        });
        Proxy {
            addr,
            accepted,
            stalls,
            task,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        *self.accepted.borrow()
    }

    /// Waits until more than `n` connections were accepted.
    pub async fn wait_accepted_more_than(&self, n: usize) {
        let mut rx = self.accepted.clone();
        rx.wait_for(|v| *v > n).await.expect("proxy alive");
    }

    /// Freezes every connection open now.
    pub fn stall(&self) {
        for s in self.stalls.lock().unwrap().iter() {
            s.store(true, Ordering::SeqCst);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies both ways until either side closes; once `stalled`, reads and
/// drops instead (keeping both sockets open).
async fn pump(mut client: TcpStream, mut server: TcpStream, stalled: Arc<AtomicBool>) {
    let (mut cr, mut cw) = client.split();
    let (mut sr, mut sw) = server.split();
    let up = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if !stalled.load(Ordering::SeqCst) && sw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    let down = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match sr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if !stalled.load(Ordering::SeqCst) && cw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}

/// A server that accepts connections and never answers (nor closes them).
pub struct Silent {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Silent {
    pub async fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((sock, _)) = listener.accept().await {
                held.push(sock);
            }
        });
        Silent { addr, task }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One RESP command: its arguments.
pub type Command = Vec<Vec<u8>>;

/// A fake node answering each command with what `answer` returns (raw
/// RESP; `None`: never answer that one).
pub struct FakeNode {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Command>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeNode {
    pub async fn start<F>(answer: F) -> FakeNode
    where
        F: Fn(&Command) -> Option<String> + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let seen: Arc<Mutex<Vec<Command>>> = Arc::default();
        let log = Arc::clone(&seen);
        let answer = Arc::new(answer);
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(serve(sock, Arc::clone(&answer), Arc::clone(&log)));
            }
        });
        FakeNode { addr, seen, task }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Names of the commands received so far, upper case.
    pub fn commands(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|c| String::from_utf8_lossy(&c[0]).to_ascii_uppercase())
            .collect()
    }
}

impl Drop for FakeNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve<F>(mut sock: TcpStream, answer: Arc<F>, log: Arc<Mutex<Vec<Command>>>)
where
    F: Fn(&Command) -> Option<String> + Send + Sync + 'static,
{
    let mut buf: Vec<u8> = Vec::new();
    loop {
        while let Some((cmd, used)) = parse_command(&buf) {
            buf.drain(..used);
            log.lock().unwrap().push(cmd.clone());
            if let Some(reply) = answer(&cmd) {
                if sock.write_all(reply.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
        let mut chunk = [0u8; 4096];
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Parses one `*n $len arg…` command from the front of `buf`.
fn parse_command(buf: &[u8]) -> Option<(Command, usize)> {
    fn line(buf: &[u8], at: usize) -> Option<(&[u8], usize)> {
        let end = buf[at..].windows(2).position(|w| w == b"\r\n")? + at;
        Some((&buf[at..end], end + 2))
    }
    let (head, mut at) = line(buf, 0)?;
    let n: usize = std::str::from_utf8(head.strip_prefix(b"*")?)
        .ok()?
        .parse()
        .ok()?;
    let mut args = Vec::with_capacity(n);
    for _ in 0..n {
        let (len, next) = line(buf, at)?;
        let len: usize = std::str::from_utf8(len.strip_prefix(b"$")?)
            .ok()?
            .parse()
            .ok()?;
        if buf.len() < next + len + 2 {
            return None;
        }
        args.push(buf[next..next + len].to_vec());
        at = next + len + 2;
    }
    Some((args, at))
}

/// RESP bulk string.
pub fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

/// A HELLO reply from `me` listing `nodes` (id, ip, port, priority).
pub fn hello_reply(me: &str, nodes: &[(&str, &str, u16, u32)]) -> String {
    let mut out = format!("*{}\r\n:1\r\n{}", nodes.len() + 2, bulk(me));
    for (id, ip, port, prio) in nodes {
        out.push_str("*4\r\n");
        out.push_str(&bulk(id));
        out.push_str(&bulk(ip));
        out.push_str(&bulk(&port.to_string()));
        out.push_str(&bulk(&prio.to_string()));
    }
    out
}
