//! `maxmemory` like Disque: ADDJOB refused over 75 % with Disque's exact
//! reply and accepted again once jobs are acknowledged, -OOM over 95 %,
//! delivered at-most-once jobs evicted, CONFIG GET/SET, INFO memory.

mod resp;

use disque_embedded::{Config, Node};
use resp::{info_field, Conn, R};

const OUT_OF_MEMORY: &str = "NOREPL Not enough reachable nodes for the requested replication level, since I'm unable to hold a copy of the message for the following reason: I'm out of memory";

async fn node(maxmemory: u64) -> Node {
    Node::start(
        Config::default()
            .addr(([127, 0, 0, 1], 0))
            .maxmemory(maxmemory),
    )
    .await
    .unwrap()
}

/// Adds 1 KiB jobs until ADDJOB is refused; returns the ids accepted and
/// the refusal.
async fn fill(c: &mut Conn, queue: &str, extra: &[&str]) -> (Vec<String>, R) {
    let body = "x".repeat(1024);
    let mut ids = Vec::new();
    for _ in 0..10_000 {
        let mut args = vec!["ADDJOB", queue, &body, "0"];
        args.extend_from_slice(extra);
        match c.cmd(&args).await {
            R::Status(id) => ids.push(id),
            refusal => return (ids, refusal),
        }
    }
    panic!("ADDJOB never refused");
}

#[tokio::test]
async fn addjob_is_refused_at_75_percent_and_accepted_again_once_jobs_are_acked() {
    let node = node(200 * 1024).await;
    let mut c = Conn::open(node.addr()).await;
    let (ids, refusal) = fill(&mut c, "mem-q", &[]).await;
    assert_eq!(refusal, R::Error(OUT_OF_MEMORY.into()));
    // 75 % of 200 KiB, less this connection's buffers (33 KiB), in 1 KiB
    // jobs plus their records: between 80 and 150.
    assert!((80..150).contains(&ids.len()), "{} accepted", ids.len());
    let used: u64 = info_field(&c.cmd(&["INFO", "memory"]).await, "used_memory")
        .parse()
        .unwrap();
    assert!(used > 200 * 1024 / 100 * 75, "used_memory {used}");
    // Still refused: nothing was freed.
    let body = "y".repeat(1024);
    assert_eq!(
        c.cmd(&["ADDJOB", "mem-q", &body, "0"]).await,
        R::Error(OUT_OF_MEMORY.into())
    );
    // REPLICATE 2 gets Disque's plain NOREPL either way.
    assert_eq!(
        c.cmd(&["ADDJOB", "mem-q", "b", "0", "REPLICATE", "2"])
            .await,
        R::Error("NOREPL Not enough reachable nodes for the requested replication level".into())
    );

    let mut ack = vec!["ACKJOB"];
    ack.extend(ids.iter().take(20).map(String::as_str));
    assert_eq!(c.cmd(&ack).await, R::Int(20));
    let after: u64 = info_field(&c.cmd(&["INFO", "memory"]).await, "used_memory")
        .parse()
        .unwrap();
    assert!(after < used, "used_memory {after} after acks, was {used}");
    assert!(matches!(
        c.cmd(&["ADDJOB", "mem-q", &body, "0"]).await,
        R::Status(_)
    ));
    node.shutdown().await;
}

#[tokio::test]
async fn over_95_percent_commands_that_add_memory_get_oom_until_memory_is_freed() {
    let node = node(0).await;
    let mut c = Conn::open(node.addr()).await;
    let body = "z".repeat(1024);
    for _ in 0..50 {
        assert!(matches!(
            c.cmd(&["ADDJOB", "oom-q", &body, "0"]).await,
            R::Status(_)
        ));
    }
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxmemory", "10kb"]).await,
        R::Status("OK".into())
    );
    assert_eq!(
        c.cmd(&["ADDJOB", "oom-q", "b", "0"]).await,
        R::Error("OOM command not allowed when used memory > 'maxmemory'.".into())
    );
    // Commands that do not add memory still run.
    assert_eq!(c.cmd(&["QLEN", "oom-q"]).await, R::Int(50));
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxmemory", "0"]).await,
        R::Status("OK".into())
    );
    assert!(matches!(
        c.cmd(&["ADDJOB", "oom-q", "b", "0"]).await,
        R::Status(_)
    ));
    node.shutdown().await;
}

#[tokio::test]
async fn delivered_at_most_once_jobs_are_evicted_over_95_percent() {
    let node = node(0).await;
    let mut c = Conn::open(node.addr()).await;
    let body = "w".repeat(1024);
    for _ in 0..40 {
        assert!(matches!(
            c.cmd(&["ADDJOB", "amo-q", &body, "0", "RETRY", "0"]).await,
            R::Status(_)
        ));
    }
    let got = c.cmd(&["GETJOB", "COUNT", "40", "FROM", "amo-q"]).await;
    assert_eq!(got.items().len(), 40);
    // A queued job (RETRY > 0) is never evicted.
    assert!(matches!(
        c.cmd(&["ADDJOB", "amo-kept", "b", "0"]).await,
        R::Status(_)
    ));
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxmemory", "4kb"]).await,
        R::Status("OK".into())
    );
    // Evicted until back under 95 % of 4 KiB: most of the 40 delivered
    // at-most-once jobs (1 KiB each) go, the queued one stays.
    let jobs: u64 = info_field(&c.cmd(&["INFO", "jobs"]).await, "registered_jobs")
        .parse()
        .unwrap();
    assert!(jobs <= 6, "{jobs} jobs left");
    let used: u64 = info_field(&c.cmd(&["INFO", "memory"]).await, "used_memory")
        .parse()
        .unwrap();
    assert!(used <= 40 * 1024 / 100 * 95, "used_memory {used}");
    assert_eq!(c.cmd(&["QLEN", "amo-kept"]).await, R::Int(1));
    node.shutdown().await;
}

#[tokio::test]
async fn maxmemory_is_read_and_set_with_config_and_its_units() {
    let node = node(1 << 30).await;
    let mut c = Conn::open(node.addr()).await;
    let get = || ["CONFIG", "GET", "maxmemory"];
    assert_eq!(
        c.cmd(&get()).await,
        R::Array(vec![R::bulk("maxmemory"), R::bulk("1073741824")])
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxmemory", "100mb"]).await,
        R::Status("OK".into())
    );
    assert_eq!(
        c.cmd(&get()).await,
        R::Array(vec![R::bulk("maxmemory"), R::bulk("104857600")])
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxmemory", "lots"]).await,
        R::Error("ERR Invalid argument 'lots' for CONFIG SET 'maxmemory'".into())
    );
    node.shutdown().await;
}

#[tokio::test]
async fn info_memory_counts_job_bodies_and_gives_them_back() {
    let node = node(1 << 30).await;
    let mut c = Conn::open(node.addr()).await;
    let used = |info: &R| info_field(info, "used_memory").parse::<u64>().unwrap();
    let before = used(&c.cmd(&["INFO", "memory"]).await);
    let body = vec![b'b'; 1 << 20];
    let id = c
        .cmd_bytes(&[b"ADDJOB", b"info-mem", &body, b"0"])
        .await
        .status();
    let info = c.cmd(&["INFO", "memory"]).await;
    let with_job = used(&info);
    assert!(with_job >= before + (1 << 20), "{before} -> {with_job}");
    assert!(info_field(&info, "used_memory_human").ends_with('M'));
    assert_eq!(c.cmd(&["ACKJOB", &id]).await, R::Int(1));
    let peak = info_field(&c.cmd(&["INFO", "memory"]).await, "used_memory_peak");
    assert!(peak.parse::<u64>().unwrap() >= with_job);
    assert!(used(&c.cmd(&["INFO", "memory"]).await) < before + 4096);
    node.shutdown().await;
}

#[tokio::test]
async fn a_large_body_round_trips_intact_with_requests_pipelined_around_it() {
    let node = node(1 << 30).await;
    let mut c = Conn::open(node.addr()).await;
    // 3 MiB with a pattern, so that a misplaced byte shows.
    let body: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    c.send_bytes(&[b"PING", b"before"]).await;
    c.send_bytes(&[b"ADDJOB", b"big-q", &body, b"0"]).await;
    c.send_bytes(&[b"PING", b"after"]).await;
    assert_eq!(c.read().await, R::bulk("before"));
    let id = c.read().await.status();
    assert_eq!(c.read().await, R::bulk("after"));
    c.send_bytes(&[b"GETJOB", b"FROM", b"big-q"]).await;
    c.send_bytes(&[b"SHOW", id.as_bytes()]).await;
    let got = c.read().await;
    assert_eq!(got.items()[0].items()[2], R::Bulk(body.clone()));
    let show = c.read().await;
    assert_eq!(show.items().last(), Some(&R::Bulk(body)));
    assert_eq!(c.cmd(&["ACKJOB", &id]).await, R::Int(1));
    assert_eq!(c.cmd(&["PING"]).await, R::Status("PONG".into()));
    node.shutdown().await;
}

/// Adds 384 jobs of 64 KiB (24 MiB accounted: over the 16 MiB under which
/// the node never trims) and FASTACKs them.
async fn load_and_ack(c: &mut Conn) {
    let body = vec![b'm'; 64 * 1024];
    let mut ids = Vec::new();
    for _ in 0..384 {
        ids.push(
            c.cmd_bytes(&[b"ADDJOB", b"trim-q", &body, b"0"])
                .await
                .status(),
        );
    }
    let mut ack = vec!["FASTACK"];
    ack.extend(ids.iter().map(String::as_str));
    assert_eq!(c.cmd(&ack).await, R::Int(384));
}

/// Issue 13: glibc's malloc keeps what the jobs of a load freed unless the
/// node calls malloc_trim, which its timer does once the accounted memory
/// fell under half of its high point: once per fall, not again while the
/// load stays low. Paused tokio time: each sleep is exactly the timer's
/// ticks, and the 1 s rate limit costs no real time.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[tokio::test(start_paused = true)]
async fn freed_memory_is_given_back_to_the_os_once_the_jobs_of_a_load_are_acked() {
    use std::time::Duration;
    let node = node(1 << 30).await;
    let mut c = Conn::open(node.addr()).await;
    load_and_ack(&mut c).await;
    // The timer runs every 100 ms.
    for _ in 0..20 {
        if node.memory_trims() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(node.memory_trims(), 1, "no trim 2 s after the acks");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(node.memory_trims(), 1, "trimmed again with nothing freed");
    // Another load and its acks: another trim.
    load_and_ack(&mut c).await;
    for _ in 0..20 {
        if node.memory_trims() > 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(node.memory_trims(), 2, "no trim after the second load");
    node.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn with_trim_memory_off_or_off_glibc_the_node_never_trims() {
    let on = cfg!(all(target_os = "linux", target_env = "gnu"));
    let node = Node::start(Config::default().addr(([127, 0, 0, 1], 0)).trim_memory(!on))
        .await
        .unwrap();
    let mut c = Conn::open(node.addr()).await;
    load_and_ack(&mut c).await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(node.memory_trims(), 0);
    node.shutdown().await;
}
