//! Worker throughput against an embedded node started in this process (on a
//! runtime of its own, in its own thread, as a separate server would be),
//! compared in the same run with the best hand-written consumer loop and with
//! `redis-benchmark`'s round-trip rate R(1,1) (`PING`, one connection, no
//! pipelining) against the same node.
//!
//! ```sh
//! cargo bench -p disque-client --bench worker                      # release build
//! BENCH_N=400000 cargo bench -p disque-client --bench worker       # more jobs per path
//! BENCH_RUNTIME=multi cargo bench -p disque-client --bench worker  # multi-thread runtime
//! BENCH_ADDR=127.0.0.1:7711 cargo bench -p disque-client --bench worker  # a running Disque
//! BENCH_REPS=5 cargo bench -p disque-client --bench worker         # rounds (median; default 3)
//! BENCH_ONLY=one cargo bench -p disque-client --bench worker       # one path, once, for a profiler
//! ```
//!
//! `BENCH_ONLY` runs a single path (`one`: the worker one at a time;
//! `floor`; `batched`: the worker, no-op handler) for `BENCH_N` jobs and
//! prints its rate, with no redis-benchmark and no other path: what
//! `valgrind --tool=callgrind --separate-threads=yes` or `perf record`
//! should see.
//!
//! Paths, each on jobs of one typed job type (a 17-byte body: payload header
//! and a `u32`):
//! - hand-written: `TASKS` tasks sharing one `Client`, each looping
//!   `get_many` COUNT 100 NOHANG then one multi-id `ack` of the batch;
//! - worker, no-op handler, defaults but concurrency 512 and COUNT 100;
//! - worker, concurrency 1 and COUNT 1 (strict one at a time);
//! - the floor for one at a time: the worker's round trip (`ACKJOB` of the
//!   last job with `GETJOB NOHANG COUNT 1`) on a bare tokio `TcpStream`;
//! - the same hand-written one-at-a-time loop (`get` then `ack`), for scale.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use disque::{Client, ConsumeOptions, Delivery, Job, Worker};
use serde::{Deserialize, Serialize};
use support::{env_usize, median, median_opt, rate, ratio, reference, show};

mod support;

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "bench-worker")]
struct Noop {
    n: u32,
}

const TASKS: usize = 4;
const BATCH: u32 = 100;

/// Queues `n` `Noop` jobs (pipelined, 100 per write, with the body of one
/// enqueued and taken back).
async fn fill(client: &Client, n: usize) {
    client.enqueue(&Noop { n: 7 }).await.expect("ADDJOB");
    let one = client
        .get(&[Noop::QUEUE])
        .await
        .expect("GETJOB")
        .expect("the job just added");
    let bodies = vec![one.body().to_vec(); 100];
    one.ack().await.expect("ACKJOB");
    for _ in 0..n.div_ceil(100) {
        for r in client
            .add_many(&bodies, Noop::QUEUE)
            .await
            .expect("ADDJOB pipeline")
        {
            r.expect("ADDJOB");
        }
    }
}

/// The best hand-written loop: several tasks, `get_many` COUNT 100 NOHANG,
/// one multi-id `ack` per batch; until the queue is empty.
async fn hand_loop(client: &Client, n: usize) -> f64 {
    fill(client, n).await;
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move {
                let mut done = 0;
                loop {
                    let jobs = c
                        .get_many_with(
                            &[Noop::QUEUE],
                            ConsumeOptions::new().count(BATCH).nohang(true),
                        )
                        .await
                        .expect("GETJOB");
                    if jobs.is_empty() {
                        return done;
                    }
                    c.ack(jobs.iter().map(Delivery::id)).await.expect("ACKJOB");
                    done += jobs.len();
                }
            })
        })
        .collect();
    let mut done = 0;
    for t in tasks {
        done += t.await.expect("task");
    }
    rate(done, start.elapsed())
}

/// One at a time by hand: `get` then `ack`.
async fn hand_one(client: &Client, n: usize) -> f64 {
    fill(client, n).await;
    let start = Instant::now();
    for _ in 0..n {
        let job = client
            .get(&[Noop::QUEUE])
            .await
            .expect("GETJOB")
            .expect("a job");
        job.ack().await.expect("ACKJOB");
    }
    rate(n, start.elapsed())
}

/// Where a RESP value starting at `at` ends in `buf`, or `None` if it is
/// not all there yet.
fn resp_end(buf: &[u8], at: usize) -> Option<usize> {
    let line_end = at + buf.get(at..)?.windows(2).position(|w| w == b"\r\n")?;
    let head = std::str::from_utf8(&buf[at + 1..line_end]).ok()?;
    let after = line_end + 2;
    match buf[at] {
        b'$' => match head.parse::<i64>().ok()? {
            n if n < 0 => Some(after),
            n => (buf.len() >= after + n as usize + 2).then_some(after + n as usize + 2),
        },
        b'*' => (0..head.parse::<i64>().ok()?.max(0)).try_fold(after, |at, _| resp_end(buf, at)),
        _ => Some(after),
    }
}

/// The floor for one at a time: the worker's round trip (`ACKJOB` of the
/// last job and `GETJOB NOHANG COUNT 1 WITHCOUNTERS` in one write) on a bare
/// tokio `TcpStream`, no client library; the job id is cut from the reply.
async fn floor_one(addr: std::net::SocketAddr, client: &Client, n: usize) -> f64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    fill(client, n).await;
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let get = redis::cmd("GETJOB")
        .arg("NOHANG")
        .arg("COUNT")
        .arg(1)
        .arg("WITHCOUNTERS")
        .arg("FROM")
        .arg(Noop::QUEUE)
        .get_packed_command();
    let mut out = Vec::with_capacity(256);
    let mut buf = vec![0u8; 4096];
    let mut last: Option<Vec<u8>> = None;
    let start = Instant::now();
    for _ in 0..=n {
        out.clear();
        let replies = match &last {
            Some(id) => {
                out.extend(redis::cmd("ACKJOB").arg(id.as_slice()).get_packed_command());
                2
            }
            None => 1,
        };
        out.extend_from_slice(&get);
        stream.write_all(&out).await.expect("write");
        let mut len = 0;
        let end = loop {
            let got = stream.read(&mut buf[len..]).await.expect("read");
            assert!(got > 0, "connection closed");
            len += got;
            if let Some(end) = (0..replies).try_fold(0, |at, _| resp_end(&buf[..len], at)) {
                break end;
            }
        };
        // The GETJOB reply: *1 *7 $queue $id ...: the id is the 2nd bulk.
        let reply = &buf[..end];
        let id = reply
            .split(|&b| b == b'\n')
            .filter(|l| l.starts_with(b"D-"))
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
            .next();
        last = id;
        if last.is_none() {
            break;
        }
    }
    rate(n, start.elapsed())
}

/// A worker with a no-op handler until `n` jobs are acknowledged.
async fn worker(client: &Client, n: usize, concurrency: usize, count: u32) -> f64 {
    fill(client, n).await;
    // The handler tells when the last job is handled (no polling timer
    // waking the runtime while it works); then the last ack is awaited.
    let handled = Arc::new(AtomicUsize::new(0));
    let all_handled = Arc::new(tokio::sync::Notify::new());
    let (count_up, tell) = (handled.clone(), all_handled.clone());
    let worker = Worker::builder(client.clone())
        .concurrency(concurrency)
        .fetch_count(count)
        .poll_timeout(Duration::from_millis(50))
        .handle(move |_: Delivery<Noop>| {
            if count_up.fetch_add(1, Ordering::Relaxed) + 1 == n {
                tell.notify_one();
            }
            async { Ok::<(), Infallible>(()) }
        })
        .build()
        .expect("worker");
    let counters = worker.counters();
    let start = Instant::now();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let stop = async move {
        all_handled.notified().await;
        while counters.snapshot().acked < n as u64 {
            tokio::time::sleep(Duration::from_micros(100)).await;
        }
        let _ = tx.send(start.elapsed());
    };
    let summary = worker.run_until(stop).await.expect("worker run");
    assert_eq!(summary.stats.failed, 0);
    let took = rx.await.expect("time taken");
    rate(n, took)
}

fn main() {
    let node = support::Node::start();
    let (rt, runtime) = support::client_runtime();
    let multi = rt.handle().runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread;
    let addr = node.addr;
    // On the multi-thread runtime the paths run in a spawned task (on a
    // worker thread, as a server's tasks do), unless BENCH_BLOCK_ON is set.
    if multi && std::env::var("BENCH_BLOCK_ON").is_err() {
        rt.block_on(async move { tokio::spawn(run(addr, runtime)).await.expect("bench task") });
    } else {
        rt.block_on(run(addr, runtime));
    }
    node.stop();
}

async fn run(addr: std::net::SocketAddr, runtime: &str) {
    let n = env_usize("BENCH_N", 200_000);
    let n1 = (n / 10).max(1_000);
    let reps = env_usize("BENCH_REPS", 3).max(1);
    let port = addr.port();
    let client = Client::connect(addr).await.expect("connect");
    if let Ok(only) = std::env::var("BENCH_ONLY") {
        let r = match only.as_str() {
            "one" => worker(&client, n, 1, 1).await,
            "floor" => floor_one(addr, &client, n).await,
            "batched" => worker(&client, n, 512, BATCH).await,
            other => panic!("BENCH_ONLY={other}: expected one, floor or batched"),
        };
        println!("{only}: {r:.0}/s ({n} jobs, BENCH_N)");
        return;
    }
    let (mut r11, mut g11) = (Vec::new(), Vec::new());
    let (mut hand, mut work, mut work1, mut one) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut floor = Vec::new();
    let getjob = [
        "GETJOB",
        "NOHANG",
        "WITHCOUNTERS",
        "FROM",
        "bench-worker-ref",
    ];
    // Per round, the one-at-a-time paths over that round's R(1,1):
    // loopback round trips drift between minutes, so a ratio is only taken
    // between figures measured side by side.
    let (mut work1_r, mut floor_r) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        let r = tokio::task::spawn_blocking(move || reference(port, 1, 1, n1, &["PING"]))
            .await
            .expect("reference");
        r11.extend(r);
        g11.extend(
            tokio::task::spawn_blocking(move || reference(port, 1, 1, n1, &getjob))
                .await
                .expect("reference"),
        );
        hand.push(hand_loop(&client, n).await);
        work.push(worker(&client, n, 512, BATCH).await);
        one.push(hand_one(&client, n1).await);
        work1.push(worker(&client, n1, 1, 1).await);
        floor.push(floor_one(addr, &client, n1).await);
        if let (Some(r), Some(w), Some(f)) = (r, work1.last(), floor.last()) {
            work1_r.push(w / r);
            floor_r.push(f / r);
        }
    }
    let rounds = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let per_round = format!(
        "per round, × that round's R(1,1): worker one at a time {}; floor {}",
        rounds(&work1_r),
        rounds(&floor_r)
    );
    let (work1_r, floor_r) = (median_opt(work1_r), median_opt(floor_r));
    let (r11, g11) = (median_opt(r11), median_opt(g11));
    let (hand, work, work1, one) = (median(hand), median(work), median(work1), median(one));
    let floor = median(floor);
    println!(
        "N = {n} (BENCH_N; {n1} one at a time), runtime: {runtime}, median of {reps} rounds (BENCH_REPS)"
    );
    println!("R(1,1) = {} (redis-benchmark -c 1 -P 1 PING)", show(r11));
    println!(
        "G(1,1) = {} (redis-benchmark -c 1 -P 1 GETJOB NOHANG WITHCOUNTERS FROM <empty queue>)",
        show(g11)
    );
    println!();
    println!("| path | rate | measured | target |");
    println!("|---|---|---|---|");
    println!(
        "| hand-written: {TASKS} tasks, `get_many` {BATCH} NOHANG + one multi-id `ack` | {hand:.0}/s | — | — |"
    );
    println!(
        "| worker, no-op handler, concurrency 512, COUNT {BATCH} | {work:.0}/s | {:.2} × hand-written | ≥ 0.8 ×, ≥ 100,000/s |",
        work / hand
    );
    println!(
        "| worker, concurrency 1, COUNT 1 | {work1:.0}/s | {} × R(1,1) | ≥ 0.9 × R(1,1) |",
        show_ratio(work1_r)
    );
    println!(
        "| floor: the same round trip on a bare tokio `TcpStream` | {floor:.0}/s | {} × R(1,1) | — |",
        show_ratio(floor_r)
    );
    println!(
        "| (for scale) hand-written one at a time: `get` + `ack` | {one:.0}/s | {} × R(1,1) | — |",
        ratio(one, r11)
    );
    println!();
    println!(
        "worker overhead per job over the hand-written loop: {:.0} ns (batched); one at a time: {:.0} ns vs one PING round trip, {:.0} ns vs the floor",
        (1.0 / work - 1.0 / hand) * 1e9,
        r11.map_or(f64::NAN, |r| (1.0 / work1 - 1.0 / r) * 1e9),
        (1.0 / work1 - 1.0 / floor) * 1e9,
    );
    println!("{per_round}");
}

/// A median ratio as printed (`n/a` without redis-benchmark), marked as
/// the median of per-round ratios.
fn show_ratio(r: Option<f64>) -> String {
    r.map_or("n/a".to_string(), |r| format!("{r:.2} (median of rounds)"))
}
