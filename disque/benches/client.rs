//! Client throughput against an embedded node started in this process, with
//! `redis-benchmark` run against the same node in the same run for the
//! reference rates R(c, P) of `ADDJOB q <16 B> 0`.
//!
//! ```sh
//! cargo bench -p disque-client --bench client                       # release build
//! BENCH_N=50000 cargo bench -p disque-client --bench client         # more jobs
//! BENCH_RUNTIME=multi cargo bench -p disque-client --bench client   # multi-thread client runtime
//! BENCH_ADDR=127.0.0.1:7711 cargo bench -p disque-client --bench client  # a running Disque instead
//! BENCH_REPS=5 cargo bench -p disque-client --bench client          # rounds (median; default 3)
//! ```
//!
//! The node runs on a runtime of its own in its own thread (as a separate
//! server would); the client runs on a current-thread runtime unless
//! `BENCH_RUNTIME=multi`.
//!
//! Without `redis-benchmark` on the PATH the reference rates are skipped.

use std::time::Instant;

use disque::{Client, ConsumeOptions};
use support::{env_usize, median, median_opt, rate, ratio, reference, show};

mod support;

const BODY: &[u8; 16] = b"0123456789abcdef";
const TASKS: usize = 50;
const BATCH: usize = 100;

async fn add_loop(client: &Client, queue: &str, n: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        client.add(BODY, queue).await.expect("ADDJOB");
    }
    rate(n, start.elapsed())
}

/// The same ADDJOB loop on a bare `redis` multiplexed connection: what this
/// client's own layer costs on top of the `redis` crate.
async fn redis_add_loop(addr: std::net::SocketAddr, queue: &str, n: usize) -> f64 {
    use redis::IntoConnectionInfo;
    let info = (addr.ip().to_string(), addr.port())
        .into_connection_info()
        .expect("address")
        .set_redis_settings(redis::RedisConnectionInfo::default().set_skip_set_lib_name());
    let mut conn = redis::Client::open(info)
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let start = Instant::now();
    for _ in 0..n {
        let _: redis::Value = redis::cmd("ADDJOB")
            .arg(queue)
            .arg(BODY)
            .arg(0)
            .query_async(&mut conn)
            .await
            .expect("ADDJOB");
    }
    rate(n, start.elapsed())
}

/// The same ADDJOB loop on a bare tokio `TcpStream` (write the command,
/// read until the reply's `\r\n`): the floor for any tokio client on this
/// runtime, with no client library at all.
async fn tokio_add_loop(addr: std::net::SocketAddr, queue: &str, n: usize) -> f64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let packed = redis::cmd("ADDJOB")
        .arg(queue)
        .arg(BODY)
        .arg(0)
        .get_packed_command();
    let mut buf = [0u8; 512];
    let start = Instant::now();
    for _ in 0..n {
        stream.write_all(&packed).await.expect("write");
        let mut len = 0;
        while !buf[..len].ends_with(b"\r\n") {
            let got = stream.read(&mut buf[len..]).await.expect("read");
            assert!(got > 0, "connection closed");
            len += got;
        }
        assert_eq!(buf[0], b'+', "ADDJOB reply");
    }
    rate(n, start.elapsed())
}

async fn add_tasks(client: &Client, queue: &str, n: usize) -> f64 {
    let per_task = n / TASKS;
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let c = client.clone();
            let q = queue.to_owned();
            tokio::spawn(async move {
                for _ in 0..per_task {
                    c.add(BODY, &q).await.expect("ADDJOB");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    rate(per_task * TASKS, start.elapsed())
}

async fn add_batched(client: &Client, queue: &str, n: usize) -> f64 {
    let bodies = vec![BODY.to_vec(); BATCH];
    let start = Instant::now();
    for _ in 0..n / BATCH {
        for r in client.add_many(&bodies, queue).await.expect("pipeline") {
            r.expect("ADDJOB");
        }
    }
    rate(n / BATCH * BATCH, start.elapsed())
}

async fn get_ack_loop(client: &Client, queue: &str, n: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        let job = client.get(&[queue]).await.expect("GETJOB").expect("a job");
        job.ack().await.expect("ACKJOB");
    }
    rate(n, start.elapsed())
}

async fn get_ack_batched(client: &Client, queue: &str, n: usize) -> f64 {
    let start = Instant::now();
    let mut done = 0;
    while done < n {
        // NOHANG: an empty queue ends the loop instead of blocking it.
        let jobs = client
            .get_many_with(
                &[queue],
                ConsumeOptions::new().count(BATCH as u32).nohang(true),
            )
            .await
            .expect("GETJOB COUNT");
        if jobs.is_empty() {
            break;
        }
        client
            .ack(jobs.iter().map(|j| j.id()))
            .await
            .expect("ACKJOB");
        done += jobs.len();
    }
    rate(done, start.elapsed())
}

fn main() {
    // BENCH_ADDR=127.0.0.1:7711 measures against a running Disque instead.
    let node = support::Node::start();
    let (rt, runtime) = support::client_runtime();
    rt.block_on(async {
        run(node.addr, runtime).await;
        if node.is_external() {
            drain(node.addr).await;
        }
    });
    node.stop();
}

/// Removes the jobs the benchmark left on a running Disque, queued or
/// active (redis-benchmark's GETJOBs never ack).
async fn drain(addr: std::net::SocketAddr) {
    use futures_util::TryStreamExt;
    let client = Client::connect(addr).await.expect("connect");
    for queue in ["bench-add", "bench-add50", "bench-getack", "bench-ref"] {
        let ids: Vec<disque::JobId> = client
            .scan_jobs(disque::JobScanOptions::new().queue(queue).count(1000))
            .try_collect()
            .await
            .expect("JSCAN");
        for chunk in ids.chunks(1000) {
            client.delete(chunk).await.expect("DELJOB");
        }
    }
}

async fn run(addr: std::net::SocketAddr, runtime: &str) {
    let n = env_usize("BENCH_N", 20_000);
    let port = addr.port();
    let client = Client::connect(addr).await.expect("connect");

    // The embedded node runs on this process's runtime; redis-benchmark is a
    // separate process talking to it, so it must not block the runtime.
    let body = std::str::from_utf8(BODY).expect("ASCII body");
    let addjob = ["ADDJOB", "bench-ref", body, "0"];
    let reps = env_usize("BENCH_REPS", 3).max(1);
    let (mut r11, mut r501, mut g11) = (Vec::new(), Vec::new(), Vec::new());
    let getjob = ["GETJOB", "NOHANG", "WITHCOUNTERS", "FROM", "bench-ref"];
    let (mut add1, mut bare, mut add50) = (Vec::new(), Vec::new(), Vec::new());
    let mut floor = Vec::new();
    let (mut addb, mut getack, mut getackb) = (Vec::new(), Vec::new(), Vec::new());
    // Every path once per round, rounds repeated: a burst of load from
    // elsewhere on the machine then hits one round, not one path.
    for _ in 0..reps {
        r11.extend(
            tokio::task::spawn_blocking(move || reference(port, 1, 1, n, &addjob))
                .await
                .expect("reference"),
        );
        r501.extend(
            tokio::task::spawn_blocking(move || reference(port, 50, 1, n * 5, &addjob))
                .await
                .expect("reference"),
        );
        // For context: the node's own GETJOB rate (on the jobs just added).
        g11.extend(
            tokio::task::spawn_blocking(move || reference(port, 1, 1, n, &getjob))
                .await
                .expect("reference"),
        );
        add1.push(add_loop(&client, "bench-add", n).await);
        bare.push(redis_add_loop(addr, "bench-add", n).await);
        floor.push(tokio_add_loop(addr, "bench-add", n).await);
        add50.push(add_tasks(&client, "bench-add50", n * 5).await);
        addb.push(add_batched(&client, "bench-getack", n * 5).await);
        getack.push(get_ack_loop(&client, "bench-getack", n).await);
        getackb.push(get_ack_batched(&client, "bench-getack", n * 4).await);
    }
    let (r11, r501, g11) = (median_opt(r11), median_opt(r501), median_opt(g11));
    let (add1, bare, add50) = (median(add1), median(bare), median(add50));
    let floor = median(floor);
    let (addb, getack, getackb) = (median(addb), median(getack), median(getackb));

    println!("N = {n} (BENCH_N), client runtime: {runtime}, median of {reps} rounds (BENCH_REPS)");
    println!(
        "R(1,1)  = {} (redis-benchmark -c 1 -P 1: ADDJOB q <16 B> 0)",
        show(r11)
    );
    println!(
        "R(50,1) = {} (redis-benchmark -c 50 -P 1: ADDJOB q <16 B> 0)",
        show(r501)
    );
    println!(
        "G(1,1)  = {} (redis-benchmark -c 1 -P 1: GETJOB NOHANG WITHCOUNTERS FROM q)",
        show(g11)
    );
    println!();
    println!("| path | rate | measured | target |");
    println!("|---|---|---|---|");
    let rows = [
        (
            "1 task `add` loop".to_string(),
            add1,
            format!("{} × R(1,1)", ratio(add1, r11)),
            "≥ 0.9 × R(1,1)",
        ),
        (
            format!("{TASKS} tasks `add`, one client"),
            add50,
            format!("{} × R(50,1)", ratio(add50, r501)),
            "≥ 0.9 × R(50,1)",
        ),
        (
            "1 task `get` + `ack` loop".to_string(),
            getack,
            format!("{} × R(1,1)", ratio(getack, r11)),
            "≥ 0.45 × R(1,1)",
        ),
        (
            format!("pipelined `add_many` ({BATCH} per write)"),
            addb,
            format!("{:.1} × 1-task `add`", addb / add1),
            "≥ 5 ×",
        ),
        (
            format!("`get_many` ({BATCH}) + one multi-id `ack`"),
            getackb,
            format!("{:.1} × `get` + `ack`", getackb / getack),
            "≥ 5 ×",
        ),
    ];
    println!(
        "| (for comparison) the same `ADDJOB` loop on a bare `redis` multiplexed connection | {bare:.0}/s | {} × R(1,1) | — |",
        ratio(bare, r11)
    );
    println!(
        "| (floor) the same `ADDJOB` loop on a bare tokio `TcpStream`, no client library | {floor:.0}/s | {} × R(1,1) | — |",
        ratio(floor, r11)
    );
    for (path, rate, measured, target) in rows {
        println!("| {path} | {rate:.0}/s | {measured} | {target} |");
    }
}
