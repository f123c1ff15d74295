//! Crash tests that really crash: the node binary runs as a child process
//! with `--appendonly yes --appendfsync always`, producers add jobs, the
//! node gets SIGKILL in the middle, restarts on the same directory, and
//! every job whose ADDJOB was answered must be there, in the right state.

mod persistence;
mod resp;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use persistence::{eventually, rewrite_succeeds, Server, TempDir, PATIENCE};
use resp::{Conn, R};

const ALWAYS: &[&str] = &["--appendonly", "yes", "--appendfsync", "always"];
/// Bound on the jobs one producer adds if the node is never killed.
const MAX_PER_PRODUCER: usize = 200_000;

/// Producers adding to `queue` until their connection fails (the kill) or
/// they reach [`MAX_PER_PRODUCER`]; the ids of the answered ADDJOBs.
struct Producers {
    answered: Arc<Mutex<Vec<String>>>,
    count: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Producers {
    async fn start(addr: SocketAddr, queue: &str, n: usize) -> Producers {
        let answered = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for t in 0..n {
            let (answered, count, stop) = (answered.clone(), count.clone(), stop.clone());
            let queue = queue.to_owned();
            let mut c = Conn::open(addr).await.with_reply_limit(PATIENCE);
            tasks.push(tokio::spawn(async move {
                for i in 0..MAX_PER_PRODUCER {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let body = format!("p{t}-{i}");
                    match c
                        .try_cmd(&["ADDJOB", &queue, &body, "0", "RETRY", "300"])
                        .await
                    {
                        Ok(R::Status(id)) => {
                            answered.lock().unwrap().push(id);
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => return,
                    }
                }
            }));
        }
        Producers {
            answered,
            count,
            stop,
            tasks,
        }
    }

    async fn wait_for(&self, n: usize) {
        eventually("the producers' answered ADDJOBs", async || {
            self.count.load(Ordering::Relaxed) >= n
        })
        .await;
    }

    async fn join(self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.unwrap();
        }
        Arc::try_unwrap(self.answered)
            .unwrap()
            .into_inner()
            .unwrap()
    }
}

/// Every id's SHOW, pipelined.
async fn show_all(c: &mut Conn, ids: &[String]) -> Vec<R> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let cmds: Vec<Vec<String>> = chunk
            .iter()
            .map(|id| vec!["SHOW".to_owned(), id.clone()])
            .collect();
        out.extend(c.pipeline(&cmds).await);
    }
    out
}

async fn add(c: &mut Conn, args: &[&str]) -> String {
    let mut full = vec!["ADDJOB"];
    full.extend_from_slice(args);
    c.cmd(&full).await.status()
}

/// GETJOB NOHANG of one job: its id.
async fn getjob(c: &mut Conn, queue: &str) -> String {
    match c.cmd(&["GETJOB", "NOHANG", "FROM", queue]).await {
        R::Array(jobs) => match &jobs[..] {
            [R::Array(job)] => job[1].text(),
            other => panic!("expected one job, got {other:?}"),
        },
        other => panic!("expected one job, got {other:?}"),
    }
}

#[tokio::test]
async fn answered_jobs_survive_sigkill_in_their_states() {
    let dir = TempDir::new("crash");
    let node = Server::start(dir.path(), ALWAYS);
    let mut c = node.conn().await;
    // One job in each state that matters, before the producers start.
    let queued = add(&mut c, &["crash_queued", "q", "0", "TTL", "3600"]).await;
    let show_before = c.cmd(&["SHOW", &queued]).await;
    let acked = add(&mut c, &["crash_acked", "a", "0"]).await;
    assert_eq!(c.cmd(&["ACKJOB", &acked]).await, R::Int(1));
    let fastacked = add(&mut c, &["crash_acked", "f", "0"]).await;
    assert_eq!(c.cmd(&["FASTACK", &fastacked]).await, R::Int(1));
    let deleted = add(&mut c, &["crash_acked", "d", "0"]).await;
    assert_eq!(c.cmd(&["DELJOB", &deleted]).await, R::Int(1));
    let active = add(&mut c, &["crash_active", "b", "0", "RETRY", "300"]).await;
    assert_eq!(getjob(&mut c, "crash_active").await, active);
    let requeue = add(&mut c, &["crash_requeue", "r", "0", "RETRY", "1"]).await;
    assert_eq!(getjob(&mut c, "crash_requeue").await, requeue);
    let nacked = add(&mut c, &["crash_nacked", "n", "0"]).await;
    assert_eq!(getjob(&mut c, "crash_nacked").await, nacked);
    assert_eq!(c.cmd(&["NACK", &nacked]).await, R::Int(1));
    let dequeued = add(&mut c, &["crash_dequeued", "x", "0"]).await;
    assert_eq!(c.cmd(&["DEQUEUE", &dequeued]).await, R::Int(1));
    let worked = add(&mut c, &["crash_worked", "w", "0", "RETRY", "300"]).await;
    assert_eq!(getjob(&mut c, "crash_worked").await, worked);
    assert_eq!(c.cmd(&["WORKING", &worked]).await, R::Int(300));

    let producers = Producers::start(node.addr, "crash_produced", 4).await;
    producers.wait_for(400).await;
    node.kill();
    let answered = producers.join().await;
    assert!(answered.len() >= 400);

    let node = Server::start(dir.path(), ALWAYS);
    let mut c = node.conn().await;
    let lost: Vec<&String> = answered
        .iter()
        .zip(show_all(&mut c, &answered).await)
        .filter(|(_, show)| *show == R::Nil || show.field("state") != R::Bulk(b"queued".to_vec()))
        .map(|(id, _)| id)
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} answered ADDJOBs lost or not queued after SIGKILL, e.g. {:?}",
        lost.len(),
        answered.len(),
        lost.first()
    );

    let show = c.cmd(&["SHOW", &queued]).await;
    assert_eq!(show.field("state").text(), "queued");
    // TTLs count from creation: same ctime, no longer TTL.
    assert_eq!(show.field("ctime"), show_before.field("ctime"));
    assert!(show.field("ttl").int() <= show_before.field("ttl").int());
    for id in [&acked, &fastacked, &deleted] {
        assert_eq!(
            c.cmd(&["SHOW", id]).await,
            R::Nil,
            "acked job {id} came back"
        );
    }
    assert_eq!(
        c.cmd(&["SHOW", &active]).await.field("state").text(),
        "active"
    );
    let nack_show = c.cmd(&["SHOW", &nacked]).await;
    assert_eq!(nack_show.field("state").text(), "queued");
    assert_eq!(nack_show.field("nacks"), R::Int(1));
    assert_eq!(
        c.cmd(&["SHOW", &dequeued]).await.field("state").text(),
        "active"
    );
    let worked_show = c.cmd(&["SHOW", &worked]).await;
    assert_eq!(worked_show.field("state").text(), "active");
    assert!(worked_show.field("next-requeue-within").int() > 250_000);
    assert_eq!(c.cmd(&["QLEN", "crash_queued"]).await, R::Int(1));
    // An active job is queued again once its RETRY passes, as one more
    // delivery.
    eventually(
        "the active job with RETRY 1 to be queued again",
        async || c.cmd(&["SHOW", &requeue]).await.field("state").text() == "queued",
    )
    .await;
    assert_eq!(
        c.cmd(&["SHOW", &requeue])
            .await
            .field("additional-deliveries"),
        R::Int(1)
    );
    // And the restarted node goes on logging: one more crash keeps it all.
    let after = add(&mut c, &["crash_after", "z", "0"]).await;
    node.kill();
    let node = Server::start(dir.path(), ALWAYS);
    let mut c = node.conn().await;
    assert_eq!(
        c.cmd(&["SHOW", &after]).await.field("state").text(),
        "queued"
    );
    assert_eq!(
        c.cmd(&["SHOW", answered.last().unwrap()])
            .await
            .field("state")
            .text(),
        "queued"
    );
    node.shutdown().await;
}

#[tokio::test]
async fn answered_jobs_survive_sigkill_during_a_rewrite() {
    let dir = TempDir::new("rewrite-crash");
    let node = Server::start(dir.path(), ALWAYS);
    let mut c = node.conn().await;
    // Enough jobs that the rewrite takes a while; half of them acked so the
    // rewrite has something to drop.
    let body = "x".repeat(200);
    let mut preloaded = Vec::new();
    for round in 0..40 {
        let cmds: Vec<Vec<String>> = (0..1000)
            .map(|i| {
                vec![
                    "ADDJOB".into(),
                    "rw_pre".into(),
                    format!("{round}-{i}-{body}"),
                    "0".into(),
                ]
            })
            .collect();
        preloaded.extend(c.pipeline(&cmds).await.into_iter().map(|r| r.status()));
    }
    let acks: Vec<Vec<String>> = preloaded
        .iter()
        .step_by(2)
        .map(|id| vec!["ACKJOB".to_owned(), id.clone()])
        .collect();
    for chunk in acks.chunks(1000) {
        c.pipeline(chunk).await;
    }
    let producers = Producers::start(node.addr, "rw_produced", 4).await;
    producers.wait_for(100).await;
    assert_eq!(
        c.cmd(&["BGREWRITEAOF"]).await.status(),
        "Background append only file rewriting started"
    );
    let temp = dir.path().join("temp-rewriteaof-disque.aof");
    let mut saw_temp = false;
    eventually("the rewrite to start writing", async || {
        saw_temp = temp.exists();
        saw_temp || c.info_field("persistence", "aof_rewrite_in_progress").await == "0"
    })
    .await;
    node.kill();
    let answered = producers.join().await;
    assert!(
        saw_temp,
        "the rewrite finished before the kill: nothing was tested"
    );

    let node = Server::start(dir.path(), ALWAYS);
    let mut c = node.conn().await;
    assert!(
        !temp.exists(),
        "the cut-short rewrite's file was left behind"
    );
    for (i, (id, show)) in preloaded
        .iter()
        .zip(show_all(&mut c, &preloaded).await)
        .enumerate()
    {
        if i % 2 == 0 {
            assert_eq!(show, R::Nil, "acked job {id} came back");
        } else {
            assert_eq!(show.field("state").text(), "queued", "{id}");
        }
    }
    for (id, show) in answered.iter().zip(show_all(&mut c, &answered).await) {
        assert_ne!(show, R::Nil, "answered job {id} lost");
        assert_eq!(show.field("state").text(), "queued", "{id}");
    }
    // The first rewrite after the restart succeeds and keeps everything
    // (the node's log, which names the failed step and file, is shown if
    // not).
    rewrite_succeeds(&mut c, &node, "the first rewrite after the crash-restart").await;
    node.kill();
    let node = Server::start(dir.path(), ALWAYS);
    let mut c = node.conn().await;
    let kept: usize = c
        .info_field("jobs", "registered_jobs")
        .await
        .parse()
        .unwrap();
    // Each producer may have had one ADDJOB logged but not yet answered.
    let expected = preloaded.len() / 2 + answered.len();
    assert!(
        (expected..=expected + 4).contains(&kept),
        "{kept} jobs after the restart, {expected} expected"
    );
    node.shutdown().await;
}

/// What a SIGKILL in the middle of a rewrite leaves, made by hand so that
/// every run has all of it: the rewrite's half-written snapshot beside the
/// file, and a record cut short at the file's end. The restart removes the
/// snapshot and cuts the record, and its first rewrite succeeds.
#[tokio::test]
async fn the_first_rewrite_after_a_rewrite_cut_short_succeeds() {
    let dir = TempDir::new("rewrite-leftovers");
    let node = Server::start(dir.path(), ALWAYS);
    let mut c = node.conn().await;
    let mut ids = Vec::new();
    for i in 0..200 {
        ids.push(add(&mut c, &["leftovers", &format!("job-{i}"), "0"]).await);
    }
    node.kill();

    let aof = std::fs::read(dir.aof()).unwrap();
    let temp = dir.path().join("temp-rewriteaof-disque.aof");
    std::fs::write(&temp, &aof[..aof.len() / 2]).unwrap();
    // A frame announcing 64 bytes, followed by 3 of them.
    let mut torn = aof.clone();
    torn.extend_from_slice(&[64, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7]);
    std::fs::write(dir.aof(), &torn).unwrap();

    let node = Server::start(dir.path(), ALWAYS);
    let mut c = node.conn().await;
    assert!(!temp.exists(), "the cut-short rewrite's snapshot was left");
    assert_eq!(
        std::fs::metadata(dir.aof()).unwrap().len(),
        aof.len() as u64,
        "the torn record was not cut"
    );
    rewrite_succeeds(&mut c, &node, "the first rewrite after the cut-short one").await;
    assert!(!temp.exists(), "the rewrite left its snapshot");
    node.kill();

    let node = Server::start(dir.path(), ALWAYS);
    let mut c = node.conn().await;
    for (id, show) in ids.iter().zip(show_all(&mut c, &ids).await) {
        assert_ne!(show, R::Nil, "job {id} lost");
        assert_eq!(show.field("state").text(), "queued", "{id}");
    }
    node.shutdown().await;
}
