//! Helpers of the persistence tests: unique temporary directories, the node
//! binary as a child process, and a small blocking RESP client.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long any single wait in these tests may take before it fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A directory of its own, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "disque-aof-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn aof(&self) -> PathBuf {
        self.0.join("disque.aof")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The node binary, running on a free loopback port; killed when dropped.
/// Its stdout and stderr are read all along (a full pipe would stall it).
pub struct Server {
    pub child: Child,
    pub addr: String,
    output: Arc<Mutex<String>>,
}

fn spawn_node(dir: &Path, args: &[&str]) -> (Child, Arc<Mutex<String>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_disque-embedded"))
        .args(["--bind", "127.0.0.1", "--port", "0", "--dir"])
        .arg(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = Arc::new(Mutex::new(String::new()));
    let out: Box<dyn Read + Send> = Box::new(child.stdout.take().unwrap());
    let err: Box<dyn Read + Send> = Box::new(child.stderr.take().unwrap());
    for pipe in [out, err] {
        let output = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let mut o = output.lock().unwrap_or_else(|e| e.into_inner());
                o.push_str(&line);
                o.push('\n');
            }
        });
    }
    (child, output)
}

impl Server {
    /// Starts the binary with `--port 0 --dir <dir>` and `args`; waits for
    /// its "ready" line.
    pub fn start(dir: &Path, args: &[&str]) -> Server {
        let (mut child, output) = spawn_node(dir, args);
        let deadline = Instant::now() + PATIENCE;
        let addr = loop {
            let text = output.lock().unwrap().clone();
            if let Some(line) = text.lines().find(|l| l.contains("ready on")) {
                break line.trim().rsplit(' ').next().unwrap().to_owned();
            }
            if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(50));
                panic!("the node did not start: {}", output.lock().unwrap());
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        Server {
            child,
            addr,
            output,
        }
    }

    /// Runs the binary expecting it to refuse to start; returns what it
    /// printed.
    pub fn start_fails(dir: &Path, args: &[&str]) -> String {
        let (mut child, output) = spawn_node(dir, args);
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the node started (or hung) on a corrupt file");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        // The reader threads finish at the end of the pipes.
        std::thread::sleep(Duration::from_millis(50));
        let out = output.lock().unwrap().clone();
        assert!(!status.success(), "the node exited with success: {out}");
        assert!(!out.contains("ready on"), "the node started: {out}");
        out
    }

    pub fn conn(&self) -> Conn {
        Conn::open(&self.addr)
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SHUTDOWN, then waits for the process to exit.
    pub fn shutdown(mut self) {
        let mut c = self.conn();
        c.send(&["SHUTDOWN"]);
        let deadline = Instant::now() + PATIENCE;
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the node did not stop");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// What the node printed so far (stdout and stderr).
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum R {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<R>),
}

impl R {
    pub fn status(&self) -> String {
        match self {
            R::Status(s) => s.clone(),
            other => panic!("expected a status, got {other:?}"),
        }
    }

    pub fn text(&self) -> String {
        match self {
            R::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            R::Status(s) => s.clone(),
            other => panic!("expected a string, got {other:?}"),
        }
    }

    pub fn int(&self) -> i64 {
        match self {
            R::Int(i) => *i,
            other => panic!("expected an integer, got {other:?}"),
        }
    }

    /// A field of a SHOW reply (a flat name/value array).
    pub fn field(&self, name: &str) -> R {
        let R::Array(items) = self else {
            panic!("expected SHOW's array, got {self:?}");
        };
        items
            .chunks(2)
            .find(|kv| kv[0] == R::Bulk(name.as_bytes().to_vec()))
            .map(|kv| kv[1].clone())
            .unwrap_or_else(|| panic!("no field {name} in {self:?}"))
    }
}

/// A blocking connection.
pub struct Conn {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Conn {
    pub fn open(addr: &str) -> Conn {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        Conn {
            r: BufReader::new(s.try_clone().unwrap()),
            w: s,
        }
    }

    pub fn encode(out: &mut Vec<u8>, args: &[&str]) {
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
    }

    pub fn try_send(&mut self, args: &[&str]) -> std::io::Result<()> {
        let mut out = Vec::new();
        Self::encode(&mut out, args);
        self.w.write_all(&out)
    }

    pub fn send(&mut self, args: &[&str]) {
        self.try_send(args).unwrap();
    }

    /// Sends many commands at once.
    pub fn pipeline(&mut self, cmds: &[Vec<String>]) -> Vec<R> {
        let mut out = Vec::new();
        for c in cmds {
            let args: Vec<&str> = c.iter().map(String::as_str).collect();
            Self::encode(&mut out, &args);
        }
        self.w.write_all(&out).unwrap();
        (0..cmds.len()).map(|_| self.read().unwrap()).collect()
    }

    pub fn cmd(&mut self, args: &[&str]) -> R {
        self.send(args);
        self.read().unwrap()
    }

    /// A command whose failure (e.g. the node was killed) is not a panic.
    pub fn try_cmd(&mut self, args: &[&str]) -> std::io::Result<R> {
        self.try_send(args)?;
        self.read()
    }

    pub fn read(&mut self) -> std::io::Result<R> {
        let mut line = String::new();
        if self.r.read_line(&mut line)? == 0 || !line.ends_with("\r\n") {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let body = &line[1..line.len() - 2];
        let bad = |_| std::io::Error::from(std::io::ErrorKind::InvalidData);
        Ok(match line.as_bytes()[0] {
            b'+' => R::Status(body.to_owned()),
            b'-' => R::Error(body.to_owned()),
            b':' => R::Int(body.parse().map_err(bad)?),
            b'$' => {
                let n: i64 = body.parse().map_err(bad)?;
                if n < 0 {
                    R::Nil
                } else {
                    let mut b = vec![0u8; n as usize + 2];
                    self.r.read_exact(&mut b)?;
                    b.truncate(n as usize);
                    R::Bulk(b)
                }
            }
            b'*' => {
                let n: i64 = body.parse().map_err(bad)?;
                if n < 0 {
                    R::Nil
                } else {
                    let mut v = Vec::with_capacity(n as usize);
                    for _ in 0..n {
                        v.push(self.read()?);
                    }
                    R::Array(v)
                }
            }
            _ => return Err(std::io::ErrorKind::InvalidData.into()),
        })
    }

    /// One field of INFO.
    pub fn info_field(&mut self, section: &str, name: &str) -> String {
        let info = self.cmd(&["INFO", section]).text();
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in INFO {section}: {info}"))
            .to_owned()
    }
}

/// Polls `cond` every 10 ms until it holds; fails after [`PATIENCE`].
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}
