//! Helpers of the persistence tests: unique temporary directories and the
//! node binary as a child process; they speak to it with `tests/resp`.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::resp::{Conn, R};

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
    pub addr: SocketAddr,
    output: Arc<Mutex<String>>,
}

/// The child, what it printed so far, and the threads reading its pipes
/// (they end when the child has exited).
type Spawned = (Child, Arc<Mutex<String>>, Vec<JoinHandle<()>>);

fn spawn_node(dir: &Path, args: &[&str]) -> Spawned {
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
    let readers = [out, err]
        .into_iter()
        .map(|pipe| {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    let mut o = output.lock().unwrap_or_else(|e| e.into_inner());
                    o.push_str(&line);
                    o.push('\n');
                }
            })
        })
        .collect();
    (child, output, readers)
}

/// Waits for the readers of an exited child: then its output is complete.
fn all_output(output: &Mutex<String>, readers: Vec<JoinHandle<()>>) -> String {
    for r in readers {
        r.join().unwrap();
    }
    output.lock().unwrap().clone()
}

impl Server {
    /// Starts the binary with `--port 0 --dir <dir>` and `args`; waits for
    /// its "ready" line.
    pub fn start(dir: &Path, args: &[&str]) -> Server {
        let (mut child, output, readers) = spawn_node(dir, args);
        let deadline = Instant::now() + PATIENCE;
        let addr = loop {
            let text = output.lock().unwrap().clone();
            if let Some(line) = text.lines().find(|l| l.contains("ready on")) {
                break line.trim().rsplit(' ').next().unwrap().parse().unwrap();
            }
            if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the node did not start: {}", all_output(&output, readers));
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
        let (mut child, output, readers) = spawn_node(dir, args);
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
        let out = all_output(&output, readers);
        assert!(!status.success(), "the node exited with success: {out}");
        assert!(!out.contains("ready on"), "the node started: {out}");
        out
    }

    /// A connection whose every reply must come within [`PATIENCE`].
    pub async fn conn(&self) -> Conn {
        Conn::open(self.addr).await.with_reply_limit(PATIENCE)
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SHUTDOWN, then waits for the process to exit.
    pub async fn shutdown(mut self) {
        self.conn().await.send(&["SHUTDOWN"]).await;
        eventually("the node to stop", async || {
            self.child.try_wait().unwrap().is_some()
        })
        .await;
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

/// Polls `cond` every 10 ms until it holds; fails after [`PATIENCE`].
pub async fn eventually(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Runs BGREWRITEAOF and requires it to end `ok` (showing the node's log,
/// which names the failed step and file, if not).
pub async fn rewrite_succeeds(c: &mut Conn, node: &Server, what: &str) {
    assert_eq!(
        c.cmd(&["BGREWRITEAOF"]).await,
        R::Status("Background append only file rewriting started".into())
    );
    eventually("the rewrite to finish", async || {
        c.info_field("persistence", "aof_rewrite_in_progress").await == "0"
    })
    .await;
    assert_eq!(
        c.info_field("persistence", "aof_last_bgrewrite_status")
            .await,
        "ok",
        "{what} failed:\n{}",
        node.output()
    );
}
