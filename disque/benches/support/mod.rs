//! What both benchmarks share: the node they measure against (embedded, or
//! `BENCH_ADDR`), the client runtime (`BENCH_RUNTIME`, `BENCH_WORKERS`),
//! `redis-benchmark`'s reference rates, settings read from the environment
//! and the medians and rates they print.
//!
//! A module of each bench (`mod support;`), not a bench target: cargo only
//! takes `benches/*.rs` and `benches/*/main.rs` as targets.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

/// The median of `v` (not empty).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The median, or `None` when no run gave a figure.
pub fn median_opt(v: Vec<f64>) -> Option<f64> {
    (!v.is_empty()).then(|| median(v))
}

/// `n` operations in `took`, per second.
pub fn rate(n: usize, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64()
}

/// A rate as printed, `n/a` when there is none.
pub fn show(r: Option<f64>) -> String {
    r.map_or("n/a".to_string(), |v| format!("{v:.0}/s"))
}

/// `a / r` as printed, `n/a` without `r`.
pub fn ratio(a: f64, r: Option<f64>) -> String {
    r.map_or("n/a".to_string(), |r| format!("{:.2}", a / r))
}

/// The environment variable `name` as a number, `default` when unset or
/// not a number.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `redis-benchmark -c clients -P pipeline … <command>`, in requests/s.
pub fn reference(
    port: u16,
    clients: usize,
    pipeline: usize,
    n: usize,
    command: &[&str],
) -> Option<f64> {
    let out = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-c", &clients.to_string(), "-P", &pipeline.to_string()])
        .args(["-n", &n.to_string(), "--csv"])
        .args(command)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // CSV: a header line, then "\"<command> …\",\"<rps>\",…".
    text.lines().skip(1).find_map(|line| {
        let mut cols = line.split(',');
        cols.next()?;
        cols.next()?.trim_matches('"').parse::<f64>().ok()
    })
}

/// The node a benchmark measures: `BENCH_ADDR` (ip:port of a running
/// Disque) if set, else an embedded node of this process.
pub struct Node {
    pub addr: SocketAddr,
    /// The embedded node's stop signal and thread; `None` for `BENCH_ADDR`.
    embedded: Option<(
        tokio::sync::oneshot::Sender<()>,
        std::thread::JoinHandle<()>,
    )>,
}

impl Node {
    /// `BENCH_ADDR`, or a node started with [`start_node`].
    pub fn start() -> Node {
        let external: Option<SocketAddr> = std::env::var("BENCH_ADDR")
            .ok()
            .map(|a| a.parse().expect("BENCH_ADDR is ip:port"));
        match external {
            Some(addr) => Node {
                addr,
                embedded: None,
            },
            None => {
                let (addr, stop, thread) = start_node();
                Node {
                    addr,
                    embedded: Some((stop, thread)),
                }
            }
        }
    }

    /// Whether this is a running Disque named by `BENCH_ADDR`.
    #[allow(dead_code)] // only the client bench drains a running Disque
    pub fn is_external(&self) -> bool {
        self.embedded.is_none()
    }

    /// Stops the embedded node, if any, and waits for its thread.
    pub fn stop(self) {
        if let Some((stop, thread)) = self.embedded {
            let _ = stop.send(());
            thread.join().expect("node thread");
        }
    }
}

/// Runs the embedded node on a runtime of its own, in its own thread, as a
/// separate server would; returns its address and a handle that stops it.
fn start_node() -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    // Named, so a profile tells the node's time from the client's.
    let thread = std::thread::Builder::new()
        .name("node".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("node runtime");
            rt.block_on(async move {
                let node = disque_embedded::Node::start_ephemeral()
                    .await
                    .expect("embedded node");
                addr_tx.send(node.addr()).expect("main thread waits");
                let _ = stop_rx.await;
            });
        })
        .expect("node thread");
    let addr = addr_rx.recv().expect("node address");
    (addr, stop_tx, thread)
}

/// The runtime the benchmark's client runs on: multi-thread with
/// `BENCH_RUNTIME=multi` (`BENCH_WORKERS` threads if set), else
/// current-thread; and its name as printed.
pub fn client_runtime() -> (tokio::runtime::Runtime, &'static str) {
    let multi = std::env::var("BENCH_RUNTIME").as_deref() == Ok("multi");
    let (rt, runtime) = if multi {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        if let Some(w) = std::env::var("BENCH_WORKERS")
            .ok()
            .and_then(|w| w.parse().ok())
        {
            b.worker_threads(w);
        }
        (b.enable_all().build(), "multi-thread")
    } else {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        (rt, "current-thread")
    };
    (rt.expect("client runtime"), runtime)
}
