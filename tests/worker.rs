//! The worker end to end: ack on `Ok`, retries with backoff, panics, poison
//! jobs to the dead-letter queue, heartbeats, shutdown, crash, priorities and
//! the concurrency limit.
//!
//! Job queues are constants, so each test has job types with queue names of
//! its own (`disque-rs-worker-…`); against an external Disque
//! (`DISQUE_ADDRS`) a test first deletes whatever an earlier run left there.
//! Time-dependent tests use RETRY 1 s and wait for events (a handler's
//! message, a counter reaching a value), not for fixed sleeps.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Target;
use disque::{
    Client, ConsumeOptions, Delivery, Job, JobScanOptions, RetryPolicy, Worker, WorkerCounters,
    WorkerStats, WorkerSummary,
};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The server (kept alive by the `Target`), a client of it, and `queues`
/// and their dead-letter queues emptied of what an earlier run left on an
/// external Disque.
async fn start(queues: &[&str]) -> (Target, Client) {
    let target = Target::start().await;
    let client = Client::connect(target.addr()).await.unwrap();
    if target.is_external() {
        clean(&client, queues).await;
    }
    (target, client)
}

/// Deletes every job of `queues` and of their dead-letter queues.
async fn clean(client: &Client, queues: &[&str]) {
    for q in queues {
        for queue in [q.to_string(), format!("{q}.dead")] {
            let ids: Vec<disque::JobId> = client
                .scan_jobs(JobScanOptions::new().queue(&queue).count(1000))
                .try_collect()
                .await
                .unwrap();
            for chunk in ids.chunks(500) {
                // FASTACK, not DELJOB: in a cluster DELJOB leaves the
                // copies on the other nodes, queued again after RETRY.
                client.fast_ack(chunk).await.unwrap();
            }
        }
    }
}

/// A running worker and the sender that stops it.
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<WorkerSummary, disque::Error>>,
    counters: WorkerCounters,
}

fn spawn(worker: Worker) -> Running {
    let (stop, stopped) = oneshot::channel::<()>();
    let counters = worker.counters();
    let task = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));
    Running {
        stop,
        task,
        counters,
    }
}

impl Running {
    async fn stop(self) -> WorkerSummary {
        let _ = self.stop.send(());
        finished(self.task).await
    }

    /// Waits until the counters satisfy `done` (at most 20 s).
    async fn until(&self, what: &str, done: impl Fn(&WorkerStats) -> bool) -> WorkerStats {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = self.counters.snapshot();
            if done(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {s}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// The summary of a worker told to stop, once it has stopped (within 30 s).
async fn finished(task: JoinHandle<Result<WorkerSummary, disque::Error>>) -> WorkerSummary {
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the worker stops within 30 s")
        .expect("the worker task does not panic")
        .expect("the worker ends without a fatal error")
}

/// Receives one message within 20 s.
async fn recv<T>(rx: &mut mpsc::UnboundedReceiver<T>, what: &str) -> T {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
        .unwrap_or_else(|| panic!("channel closed waiting for {what}"))
}

/// Takes the one job in the dead-letter queue of `queue` (NOHANG), without acknowledging it.
async fn take_dead_letter(client: &Client, queue: &str) -> Delivery {
    let mut dead = take_all(client, &format!("{queue}.dead")).await;
    assert_eq!(dead.len(), 1, "one dead letter for {queue}");
    dead.pop().unwrap()
}

/// A handler that counts its calls in `calls` and succeeds at once.
fn counting<J: Job>(
    calls: &Arc<AtomicUsize>,
) -> impl Fn(Delivery<J>) -> std::future::Ready<Result<(), disque::Error>> + Send + Sync + 'static {
    let calls = calls.clone();
    move |_| {
        calls.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok(()))
    }
}

/// A handler's body that says it started, then never finishes.
async fn start_and_hang(started: mpsc::UnboundedSender<()>) -> Result<(), disque::Error> {
    let _ = started.send(());
    std::future::pending::<()>().await;
    Ok(())
}

/// Takes every job of `queue` right now (NOHANG), acknowledging none.
async fn take_all(client: &Client, queue: &str) -> Vec<Delivery> {
    client
        .get_many_with(&[queue], ConsumeOptions::new().count(1000).nohang(true))
        .await
        .unwrap()
}

#[tokio::test]
async fn ok_jobs_are_acknowledged_in_batches() {
    #[derive(Serialize, Deserialize, Job)]
    #[job(queue = "disque-rs-worker-ack")]
    struct Square {
        n: u64,
    }
    let (_target, client) = start(&[Square::QUEUE]).await;
    let mut ids = Vec::new();
    for n in 0..50 {
        ids.push(client.enqueue(&Square { n }).await.unwrap());
    }
    let sum = Arc::new(AtomicUsize::new(0));
    let seen = sum.clone();
    let worker = Worker::builder(client.clone())
        .concurrency(8)
        .handle(move |job: Delivery<Square>| {
            let seen = seen.clone();
            async move {
                seen.fetch_add((job.n * job.n) as usize, Ordering::SeqCst);
                Ok::<(), disque::Error>(())
            }
        })
        .build()
        .unwrap();
    let running = spawn(worker);
    running.until("50 acks", |s| s.acked == 50).await;
    let summary = running.stop().await;
    assert_eq!(
        sum.load(Ordering::SeqCst),
        (0..50).map(|n| n * n).sum::<usize>()
    );
    let s = summary.stats;
    assert_eq!((s.fetched, s.processed, s.acked, s.failed), (50, 50, 50, 0));
    assert_eq!((s.retried, s.dead_lettered, s.in_flight), (0, 0, 0));
    assert_eq!(summary.unacked, 0);
    for id in &ids {
        assert!(common::is_acked(&client, id).await, "{id} is acked");
    }
}

/// When the queue runs dry the fetch loop waits in a blocking GETJOB without
/// the last ack: the batcher must send it at once, not once that GETJOB
/// returns (its poll timeout, 4 s here).
#[tokio::test]
async fn the_last_ack_is_sent_at_once_when_the_queue_runs_dry() {
    #[derive(Serialize, Deserialize, Job)]
    #[job(queue = "disque-rs-worker-dry")]
    struct Last;
    let (_target, client) = start(&[Last::QUEUE]).await;
    let id = client.enqueue(&Last).await.unwrap();
    let worker = Worker::builder(client.clone())
        .poll_timeout(Duration::from_secs(4))
        .handle(|_: Delivery<Last>| async { Ok::<(), disque::Error>(()) })
        .build()
        .unwrap();
    let running = spawn(worker);
    running.until("the job handled", |s| s.processed == 1).await;
    let handled = Instant::now();
    running.until("its ack", |s| s.acked == 1).await;
    let waited = handled.elapsed();
    assert!(
        waited < Duration::from_secs(2),
        "the ack waited {waited:?}, as if for the blocking GETJOB"
    );
    assert!(common::is_acked(&client, &id).await);
    running.stop().await;
}

#[tokio::test]
async fn fast_ack_mode_acknowledges_with_fastack() {
    #[derive(Serialize, Deserialize, Job)]
    #[job(queue = "disque-rs-worker-fastack")]
    struct Ping;
    let (_target, client) = start(&[Ping::QUEUE]).await;
    let id = client.enqueue(&Ping).await.unwrap();
    let worker = Worker::builder(client.clone())
        .ack_mode(disque::AckMode::FastAck)
        .handle(|_: Delivery<Ping>| async { Ok::<(), disque::Error>(()) })
        .build()
        .unwrap();
    let running = spawn(worker);
    running.until("an ack", |s| s.acked == 1).await;
    running.stop().await;
    assert!(client.show(&id).await.unwrap().is_none());
}

#[tokio::test]
async fn errors_are_retried_with_growing_backoff_then_dead_lettered() {
    #[derive(Serialize, Deserialize, Job)]
    #[job(queue = "disque-rs-worker-retry", retry = "10s")]
    struct Flaky;
    let (_target, client) = start(&[Flaky::QUEUE]).await;
    let id = client.enqueue(&Flaky).await.unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let policy = RetryPolicy::new()
        .initial_delay(Duration::from_millis(100))
        .multiplier(2.0)
        .jitter(0.0)
        .max_attempts(4);
    let worker = Worker::builder(client.clone())
        .retry(policy)
        .handle(move |job: Delivery<Flaky>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((Instant::now(), job.nacks(), job.additional_deliveries()));
                Err::<(), _>("the mail server is down")
            }
        })
        .build()
        .unwrap();
    let running = spawn(worker);
    let mut deliveries = Vec::new();
    for _ in 0..4 {
        deliveries.push(recv(&mut rx, "a delivery").await);
    }
    let s = running
        .until("the dead letter", |s| s.dead_lettered == 1)
        .await;
    let summary = running.stop().await;
    // Each failure NACKs (nacks + 1) after the backoff, not at once.
    let counters: Vec<_> = deliveries.iter().map(|d| (d.1, d.2)).collect();
    assert_eq!(counters, [(0, 0), (1, 0), (2, 0), (3, 0)]);
    let gaps: Vec<Duration> = deliveries.windows(2).map(|w| w[1].0 - w[0].0).collect();
    for (gap, min) in gaps.iter().zip([100u64, 200, 400]) {
        assert!(
            *gap >= Duration::from_millis(min),
            "gaps {gaps:?}: at least {min} ms each"
        );
    }
    assert!(gaps[2] > gaps[0], "the backoff grows: {gaps:?}");
    assert_eq!((s.failed, s.retried, s.dead_lettered), (4, 3, 1));
    assert!(rx.try_recv().is_err(), "no fifth delivery");
    assert_eq!(summary.stats.processed, 0);
    // The original is gone; its copy is in the dead-letter queue.
    assert!(common::is_acked(&client, &id).await);
    let letter = take_dead_letter(&client, Flaky::QUEUE).await;
    client.ack([letter.id()]).await.unwrap();
}

#[tokio::test]
async fn a_panicking_handler_is_isolated_and_counted() {
    #[derive(Serialize, Deserialize, Job)]
    #[job(queue = "disque-rs-worker-panic", retry = "10s")]
    struct Risky {
        n: u32,
    }
    let (_target, client) = start(&[Risky::QUEUE]).await;
    for n in 0..10 {
        client.enqueue(&Risky { n }).await.unwrap();
    }
    let worker = Worker::builder(client.clone())
        .concurrency(4)
        .retry(RetryPolicy::new().max_attempts(1))
        .handle(|job: Delivery<Risky>| async move {
            assert_ne!(job.n, 3, "job 3 is poison");
            Ok::<(), disque::Error>(())
        })
        .build()
        .unwrap();
    let running = spawn(worker);
    let s = running
        .until("9 acks and a dead letter", |s| {
            s.acked == 9 && s.dead_lettered == 1
        })
        .await;
    running.stop().await;
    assert_eq!((s.processed, s.failed, s.panicked), (9, 1, 1));
    let letter = take_dead_letter(&client, Risky::QUEUE).await;
    assert_eq!(client.len(Risky::QUEUE).await.unwrap(), 0);
    client.ack([letter.id()]).await.unwrap();
}

#[tokio::test]
async fn undecodable_jobs_go_to_the_dead_letter_queue_at_once() {
    #[derive(Serialize, Deserialize, Job)]
    #[job(queue = "disque-rs-worker-undecodable")]
    struct Invoice {
        cents: u64,
    }
    let (_target, client) = start(&[Invoice::QUEUE]).await;
    let poison = client
        .add(b"not an invoice".as_slice(), Invoice::QUEUE)
        .await
        .unwrap();
    client.enqueue(&Invoice { cents: 5 }).await.unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let worker = Worker::builder(client.clone())
        .handle(counting::<Invoice>(&calls))
        .build()
        .unwrap();
    let running = spawn(worker);
    let s = running
        .until("the dead letter and the good job", |s| {
            s.dead_lettered == 1 && s.acked == 1
        })
        .await;
    running.stop().await;
    assert_eq!((s.failed, s.retried), (0, 0), "no retry of a poison job");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the handler saw the good job only"
    );
    assert!(common::is_acked(&client, &poison).await);
    let dead = take_dead_letter(&client, Invoice::QUEUE).await;
    let letter = disque::DeadLetter::parse(dead.body()).expect("a dead-letter envelope");
    assert_eq!(letter.body, b"not an invoice");
    assert!(
        letter.reason.starts_with("undecodable as `"),
        "{}",
        letter.reason
    );
    client.ack([dead.id()]).await.unwrap();
}

#[tokio::test]
async fn jobs_delivered_past_the_limit_are_dead_lettered_without_running() {
    #[derive(Serialize, Deserialize, Job)]
    #[job(queue = "disque-rs-worker-limit")]
    struct Bounce;
    let (_target, client) = start(&[Bounce::QUEUE]).await;
    let id = client.enqueue(&Bounce).await.unwrap();
    // Three deliveries given back by someone else: nacks = 3.
    for _ in 0..3 {
        let d = client.get(&[Bounce::QUEUE]).await.unwrap().unwrap();
        d.nack().await.unwrap();
    }
    let calls = Arc::new(AtomicUsize::new(0));
    let worker = Worker::builder(client.clone())
        .retry(RetryPolicy::new().max_attempts(3))
        .handle(counting::<Bounce>(&calls))
        .build()
        .unwrap();
    let running = spawn(worker);
    running
        .until("the dead letter", |s| s.dead_lettered == 1)
        .await;
    running.stop().await;
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert!(common::is_acked(&client, &id).await);
    let letter = take_dead_letter(&client, Bounce::QUEUE).await;
    client.ack([letter.id()]).await.unwrap();
}

/// A handler's body that reports the delivery's `additional_deliveries`,
/// works for 3 s (three RETRYs of 1 s), then reports `u64::MAX` (finished).
async fn three_retries_long(
    tx: mpsc::UnboundedSender<u64>,
    additional_deliveries: u64,
) -> Result<(), disque::Error> {
    let _ = tx.send(additional_deliveries);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let _ = tx.send(u64::MAX);
    Ok(())
}

/// A handler running 3 × RETRY, with or without heartbeats: how many times
/// the job is delivered.
async fn slow_job(heartbeats: bool) -> (usize, WorkerStats) {
    #[derive(Serialize, Deserialize, Job)]
    #[job(queue = "disque-rs-worker-slow", retry = "1s")]
    struct Slow;
    #[derive(Serialize, Deserialize, Job)]
    #[job(queue = "disque-rs-worker-slow-nohb", retry = "1s")]
    struct SlowNoHb;
    let (_target, client) = start(&[Slow::QUEUE, SlowNoHb::QUEUE]).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let builder = Worker::builder(client.clone())
        .concurrency(2)
        .heartbeats(heartbeats);
    let worker = if heartbeats {
        client.enqueue(&Slow).await.unwrap();
        builder.handle(move |job: Delivery<Slow>| {
            three_retries_long(tx.clone(), job.additional_deliveries())
        })
    } else {
        // One copy: in a cluster, a job whose RETRY elapses may be queued
        // again on another node holding a copy, and reaches the worker
        // blocked here only through Disque's federation (NEEDJOBS, sent at
        // most every few seconds), which is not what this test is about.
        client.replicate(1).enqueue(&SlowNoHb).await.unwrap();
        builder.handle(move |job: Delivery<SlowNoHb>| {
            three_retries_long(tx.clone(), job.additional_deliveries())
        })
    }
    .build()
    .unwrap();
    let running = spawn(worker);
    assert_eq!(recv(&mut rx, "the first delivery").await, 0);
    // Until the first handler finishes (3 s, three RETRYs), count deliveries.
    let mut deliveries = 1;
    loop {
        match recv(&mut rx, "a delivery or the end").await {
            u64::MAX => break,
            again => {
                assert!(again >= 1, "delivered again after its RETRY");
                deliveries += 1;
            }
        }
    }
    let stats = running.counters.snapshot();
    running.stop().await;
    (deliveries, stats)
}

#[tokio::test]
async fn heartbeats_keep_a_slow_job_from_being_delivered_twice() {
    let (deliveries, stats) = slow_job(true).await;
    assert_eq!(deliveries, 1);
    assert!(stats.heartbeats >= 2, "{stats}");
}

#[tokio::test]
async fn without_heartbeats_a_slow_job_is_delivered_again() {
    let (deliveries, stats) = slow_job(false).await;
    assert!(deliveries >= 2, "delivered {deliveries} times");
    assert_eq!(stats.heartbeats, 0);
}

#[tokio::test]
async fn shutdown_lets_in_flight_jobs_finish_and_leaves_the_rest_queued() {
    #[derive(Serialize, Deserialize, Job)]
    #[job(queue = "disque-rs-worker-drain")]
    struct Step {
        n: u32,
    }
    let (_target, client) = start(&[Step::QUEUE]).await;
    for n in 0..5 {
        client.enqueue(&Step { n }).await.unwrap();
    }
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let open = gate.clone();
    let worker = Worker::builder(client.clone())
        .concurrency(2)
        .handle(move |job: Delivery<Step>| {
            let (gate, tx) = (open.clone(), tx.clone());
            async move {
                let _ = tx.send(job.n);
                let _permit = gate.acquire().await;
                Ok::<(), disque::Error>(())
            }
        })
        .build()
        .unwrap();
    let running = spawn(worker);
    recv(&mut rx, "a first job").await;
    recv(&mut rx, "a second job").await;
    let _ = running.stop.send(());
    // The two running jobs finish after the signal.
    gate.add_permits(10);
    let summary = finished(running.task).await;
    let s = summary.stats;
    assert_eq!((s.processed, s.acked, s.failed), (2, 2, 0), "{summary}");
    assert_eq!((summary.abandoned, summary.returned_unstarted), (0, 0));
    assert!(rx.try_recv().is_err(), "no job started after the signal");
    // None lost: the three never fetched are still queued, untouched.
    let rest = take_all(&client, Step::QUEUE).await;
    assert_eq!(rest.len(), 3);
    assert!(rest
        .iter()
        .all(|d| d.nacks() == 0 && d.additional_deliveries() == 0));
    client.ack(rest.iter().map(|d| d.id())).await.unwrap();
}

#[tokio::test]
async fn jobs_fetched_after_the_signal_are_given_back_at_once() {
    #[derive(Serialize, Deserialize, Job)]
    #[job(queue = "disque-rs-worker-unstarted", retry = "300s")]
    struct Late;
    let (_target, client) = start(&[Late::QUEUE]).await;
    let worker = Worker::builder(client.clone())
        .poll_timeout(Duration::from_secs(10))
        .handle(|_: Delivery<Late>| async { Ok::<(), disque::Error>(()) })
        .build()
        .unwrap();
    let blocked_before = common::blocked_clients(&client).await;
    let running = spawn(worker);
    // The idle worker's GETJOB is blocked on the node.
    common::wait_blocked_clients(&client, blocked_before + 1, Duration::from_secs(20)).await;
    let _ = running.stop.send(());
    // Fetched by the blocked GETJOB after the signal: never started.
    let id = client.enqueue(&Late).await.unwrap();
    let summary = finished(running.task).await;
    assert_eq!(summary.returned_unstarted, 1, "{summary}");
    assert_eq!(summary.stats.processed, 0);
    // Back in the queue at once (not after its 300 s RETRY), nacked once.
    let back = take_all(&client, Late::QUEUE).await;
    assert_eq!(back.len(), 1);
    assert_eq!((back[0].id(), back[0].nacks()), (&id, 1));
    client.ack([&id]).await.unwrap();
}

#[tokio::test]
async fn jobs_still_running_at_the_deadline_are_given_back() {
    #[derive(Serialize, Deserialize, Job)]
    #[job(queue = "disque-rs-worker-deadline", retry = "300s")]
    struct Stuck;
    let (_target, client) = start(&[Stuck::QUEUE]).await;
    let id = client.enqueue(&Stuck).await.unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let worker = Worker::builder(client.clone())
        .shutdown_timeout(Duration::from_millis(200))
        .handle(move |_: Delivery<Stuck>| start_and_hang(tx.clone()))
        .build()
        .unwrap();
    let running = spawn(worker);
    recv(&mut rx, "the job to start").await;
    let summary = running.stop().await;
    assert_eq!(summary.abandoned, 1, "{summary}");
    assert_eq!(summary.stats.acked, 0);
    let back = take_all(&client, Stuck::QUEUE).await;
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].id(), &id);
    client.ack([&id]).await.unwrap();
}

#[tokio::test]
async fn a_crashed_worker_s_job_is_delivered_again_after_its_retry() {
    #[derive(Serialize, Deserialize, Job)]
    #[job(queue = "disque-rs-worker-crash", retry = "1s")]
    struct Fragile;
    let (_target, client) = start(&[Fragile::QUEUE]).await;
    let id = client.enqueue(&Fragile).await.unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let worker = Worker::builder(client.clone())
        .handle(move |_: Delivery<Fragile>| start_and_hang(tx.clone()))
        .build()
        .unwrap();
    let running = spawn(worker);
    recv(&mut rx, "the job to start").await;
    let crashed = Instant::now();
    running.task.abort();
    let again = client
        .get_with(
            &[Fragile::QUEUE],
            ConsumeOptions::new().timeout(Duration::from_secs(10)),
        )
        .await
        .unwrap()
        .expect("delivered again within 10 s");
    assert_eq!(again.id(), &id);
    assert_eq!(again.additional_deliveries(), 1);
    // Not given back by the crash: it waited out (most of) its RETRY.
    assert!(crashed.elapsed() >= Duration::from_millis(300));
    again.ack().await.unwrap();
}

#[tokio::test]
async fn several_job_types_are_served_highest_priority_first() {
    #[derive(Serialize, Deserialize, Job)]
    #[job(queue = "disque-rs-worker-prio-low", priority = 1)]
    struct Low {
        n: u32,
    }
    #[derive(Serialize, Deserialize, Job)]
    #[job(queue = "disque-rs-worker-prio-high", priority = 10)]
    struct High {
        n: u32,
    }
    let (_target, client) = start(&[Low::QUEUE, High::QUEUE]).await;
    for n in 0..4 {
        client.enqueue(&Low { n }).await.unwrap();
    }
    for n in 0..4 {
        client.enqueue(&High { n }).await.unwrap();
    }
    let order = Arc::new(Mutex::new(Vec::new()));
    let (lo, hi) = (order.clone(), order.clone());
    let worker = Worker::builder(client.clone())
        .concurrency(1)
        .handle(move |job: Delivery<Low>| {
            lo.lock().unwrap().push(format!("low{}", job.n));
            async { Ok::<(), disque::Error>(()) }
        })
        .handle(move |job: Delivery<High>| {
            hi.lock().unwrap().push(format!("high{}", job.n));
            async { Ok::<(), disque::Error>(()) }
        })
        .build()
        .unwrap();
    assert_eq!(worker.queues(), [High::QUEUE, Low::QUEUE]);
    let running = spawn(worker);
    running.until("8 acks", |s| s.acked == 8).await;
    running.stop().await;
    let order = order.lock().unwrap().clone();
    assert_eq!(
        order,
        ["high0", "high1", "high2", "high3", "low0", "low1", "low2", "low3"]
    );
}

#[tokio::test]
async fn no_more_than_the_concurrency_limit_runs_at_once() {
    #[derive(Serialize, Deserialize, Job)]
    #[job(queue = "disque-rs-worker-limit3")]
    struct Work;
    let (_target, client) = start(&[Work::QUEUE]).await;
    for _ in 0..12 {
        client.enqueue(&Work).await.unwrap();
    }
    let now = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let (n, m) = (now.clone(), max.clone());
    let worker = Worker::builder(client.clone())
        .concurrency(3)
        .handle(move |_: Delivery<Work>| {
            let (now, max) = (n.clone(), m.clone());
            async move {
                let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(running, Ordering::SeqCst);
                // Some work, so that jobs overlap.
                tokio::time::sleep(Duration::from_millis(30)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                Ok::<(), disque::Error>(())
            }
        })
        .build()
        .unwrap();
    let running = spawn(worker);
    running.until("12 acks", |s| s.acked == 12).await;
    running.stop().await;
    assert_eq!(max.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn building_without_handlers_or_with_two_for_one_queue_is_refused() {
    #[derive(Serialize, Deserialize, Job)]
    #[job(queue = "disque-rs-worker-dup")]
    struct Dup;
    let (_target, client) = start(&[]).await;
    assert!(matches!(
        Worker::builder(client.clone()).build(),
        Err(disque::Error::InvalidOptions(_))
    ));
    let twice = Worker::builder(client)
        .handle(|_: Delivery<Dup>| async { Ok::<(), disque::Error>(()) })
        .handle(|_: Delivery<Dup>| async { Ok::<(), disque::Error>(()) })
        .build();
    assert!(matches!(twice, Err(disque::Error::InvalidOptions(m)) if m.contains("two handlers")));
}
