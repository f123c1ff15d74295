//! Unit tests of the state: time is a plain number of milliseconds here.

use bytes::Bytes;
use tokio::sync::oneshot;

use super::job::JobState;
use super::queue::{PAUSED_IN, PAUSED_OUT};
use super::{AddError, Db, NewJob, TooLate};

/// A start time well past the epoch, on a second boundary.
const T0: u64 = 1_700_000_000_000;

static BODY: Bytes = Bytes::from_static(b"body");

fn job<'a>(queue: &'a [u8], retry: i64, ttl: i64, delay: i64) -> NewJob<'a> {
    NewJob {
        queue,
        body: &BODY,
        replicate: 1,
        ttl,
        retry,
        delay,
        maxlen: 0,
    }
}

fn qlen(db: &Db, q: &[u8]) -> usize {
    db.queue(q).map_or(0, |q| q.len())
}

fn names(q: &str) -> Vec<Bytes> {
    vec![Bytes::copy_from_slice(q.as_bytes())]
}

#[test]
fn retry_requeues_counted_from_when_the_job_was_queued() {
    let mut db = Db::new();
    let key = db.add_job(&job(b"q", 2, 60, 0), T0).unwrap().0;
    assert_eq!(db.get_jobs(&names("q"), 1, T0 + 500).len(), 1);
    db.run_timers(T0 + 1_999, usize::MAX);
    assert_eq!(db.job(&key).unwrap().state, JobState::Active);
    db.run_timers(T0 + 2_000, usize::MAX);
    let j = db.job(&key).unwrap();
    assert_eq!((j.state, j.deliv, j.nacks), (JobState::Queued, 1, 0));
    assert_eq!(qlen(&db, b"q"), 1);
}

#[test]
fn nack_requeues_at_once_and_counts() {
    let mut db = Db::new();
    let key = db.add_job(&job(b"q", 300, 3600, 0), T0).unwrap().0;
    assert!(!db.enqueue(&key, true, T0), "already queued");
    db.get_jobs(&names("q"), 1, T0);
    assert!(db.enqueue(&key, true, T0 + 10));
    let j = db.job(&key).unwrap();
    assert_eq!((j.state, j.nacks, j.deliv), (JobState::Queued, 1, 0));
}

#[test]
fn at_most_once_jobs_are_never_queued_again() {
    let mut db = Db::new();
    let key = db.add_job(&job(b"q", 0, 3600, 0), T0).unwrap().0;
    assert_eq!(db.job(&key).unwrap().qtime, 0);
    db.get_jobs(&names("q"), 1, T0);
    assert!(!db.enqueue(&key, true, T0));
    assert!(!db.enqueue(&key, false, T0));
    db.run_timers(T0 + 3_000_000, usize::MAX);
    assert_eq!(db.job(&key).unwrap().state, JobState::Active);
    assert_eq!(qlen(&db, b"q"), 0);
}

#[test]
fn delayed_jobs_are_queued_after_their_delay_without_counting_a_delivery() {
    let mut db = Db::new();
    let key = db.add_job(&job(b"q", 300, 3600, 2), T0).unwrap().0;
    assert_eq!(db.job(&key).unwrap().state, JobState::Active);
    assert!(db.get_jobs(&names("q"), 1, T0).is_empty());
    db.run_timers(T0 + 1_999, usize::MAX);
    assert_eq!(qlen(&db, b"q"), 0);
    db.run_timers(T0 + 2_000, usize::MAX);
    let j = db.job(&key).unwrap();
    assert_eq!((j.state, j.deliv), (JobState::Queued, 0));
}

#[test]
fn ttl_expiry_removes_jobs_in_every_state() {
    let mut db = Db::new();
    let queued = db.add_job(&job(b"q", 300, 2, 0), T0).unwrap().0;
    let delayed = db.add_job(&job(b"q", 300, 2, 1), T0).unwrap().0;
    let active = db.add_job(&job(b"q", 300, 2, 0), T0).unwrap().0;
    db.get_jobs(&names("q"), 1, T0); // delivers `queued` (the oldest)
    assert_eq!(db.job(&queued).unwrap().state, JobState::Active);
    assert_eq!(db.job(&active).unwrap().state, JobState::Queued);
    db.run_timers(T0 + 1_500, usize::MAX);
    assert_eq!(db.job_count(), 3);
    db.run_timers(T0 + 3_000, usize::MAX);
    assert_eq!(db.job_count(), 0);
    assert!(db.job(&delayed).is_none());
    assert_eq!(qlen(&db, b"q"), 0);
}

#[test]
fn working_postpones_and_dequeues_until_half_the_ttl() {
    let mut db = Db::new();
    let key = db.add_job(&job(b"q", 5, 10, 0), T0).unwrap().0;
    assert_eq!(db.working(&key, T0 + 1_000), Ok(5));
    assert_eq!(db.job(&key).unwrap().state, JobState::Active, "dequeued");
    assert_eq!(db.job(&key).unwrap().qtime, T0 + 6_000);
    assert_eq!(db.working(&key, T0 + 5_001), Err(TooLate));
}

#[test]
fn maxlen_and_pause_in_refuse_new_jobs() {
    let mut db = Db::new();
    db.add_job(&job(b"q", 300, 3600, 0), T0).unwrap();
    let full = NewJob {
        maxlen: 1,
        ..job(b"q", 300, 3600, 0)
    };
    assert_eq!(db.add_job(&full, T0), Err(AddError::MaxLen));
    assert_eq!(db.pause(b"q", Some(PAUSED_IN), T0), PAUSED_IN);
    assert_eq!(
        db.add_job(&job(b"q", 300, 3600, 0), T0),
        Err(AddError::Paused)
    );
    let two = NewJob {
        replicate: 2,
        ..job(b"other", 300, 3600, 0)
    };
    assert_eq!(db.add_job(&two, T0), Err(AddError::NoRepl));
}

#[test]
fn getjob_count_is_round_robin_over_queues() {
    let mut db = Db::new();
    for q in [b"q1", b"q1", b"q1", b"q2"] {
        db.add_job(&job(q, 300, 3600, 0), T0).unwrap();
    }
    let queues = vec![Bytes::from_static(b"q1"), Bytes::from_static(b"q2")];
    let got = db.get_jobs(&queues, 4, T0);
    let order: Vec<&[u8]> = got.iter().map(|j| &j.queue[..]).collect();
    assert_eq!(order, [&b"q1"[..], b"q2", b"q1", b"q1"]);
}

#[test]
fn blocked_clients_get_one_job_each_in_blocking_order() {
    let mut db = Db::new();
    let (tx1, mut rx1) = oneshot::channel();
    let (tx2, mut rx2) = oneshot::channel();
    db.block(&names("q"), tx1, T0);
    db.block(&names("q"), tx2, T0);
    assert_eq!(db.queue(b"q").unwrap().blocked.len(), 2);
    let first = db.add_job(&job(b"q", 300, 3600, 0), T0).unwrap().0;
    let got = rx1.try_recv().unwrap().unwrap();
    assert_eq!(&got.job.id, &db.job_id(&first).unwrap());
    assert_eq!(got.logged, 0, "nothing is logged without an AOF");
    assert!(rx2.try_recv().is_err());
    assert_eq!(db.job(&first).unwrap().state, JobState::Active);
    db.add_job(&job(b"q", 300, 3600, 0), T0).unwrap();
    assert!(rx2.try_recv().is_ok());
    assert_eq!(db.blocked_count(), 0);
}

#[test]
fn clearing_pause_out_serves_blocked_clients() {
    let mut db = Db::new();
    db.pause(b"q", Some(PAUSED_OUT), T0);
    db.add_job(&job(b"q", 300, 3600, 0), T0).unwrap();
    let (tx, mut rx) = oneshot::channel();
    let id = db.block(&names("q"), tx, T0);
    assert!(rx.try_recv().is_err());
    db.pause(b"q", Some(PAUSED_IN), T0);
    assert!(rx.try_recv().is_ok());
    assert!(!db.unblock(id), "already served");
}

#[test]
fn a_job_for_a_departed_client_goes_back_to_its_queue() {
    let mut db = Db::new();
    let (tx, rx) = oneshot::channel();
    db.block(&names("q"), tx, T0);
    drop(rx);
    let key = db.add_job(&job(b"q", 300, 3600, 0), T0).unwrap().0;
    assert_eq!(db.job(&key).unwrap().state, JobState::Queued);
    assert_eq!(qlen(&db, b"q"), 1);
}

#[test]
fn idle_empty_queues_are_evicted_unless_blocked_or_paused() {
    let mut db = Db::new();
    db.get_jobs(&names("idle"), 1, T0);
    db.pause(b"paused", Some(PAUSED_IN), T0);
    let (tx, _rx) = oneshot::channel();
    db.block(&names("blocked"), tx, T0);
    db.add_job(&job(b"full", 300, 86400, 0), T0).unwrap();
    assert_eq!(db.queue_count(), 4);
    db.evict_idle_queues(T0 + 299_000);
    assert_eq!(db.queue_count(), 4);
    db.evict_idle_queues(T0 + 300_000);
    assert!(db.queue(b"idle").is_none());
    assert_eq!(db.queue_count(), 3);
}

#[test]
fn timers_only_visit_due_jobs() {
    let mut db = Db::new();
    for _ in 0..1000 {
        db.add_job(&job(b"q", 300, 86400, 0), T0).unwrap();
    }
    let soon = db.add_job(&job(b"q", 300, 86400, 1), T0).unwrap().0;
    assert_eq!(db.due_timers(T0 + 1_000), 1);
    assert!(!db.run_timers(T0 + 1_000, usize::MAX));
    assert_eq!(db.job(&soon).unwrap().state, JobState::Queued);
    assert_eq!(db.due_timers(T0 + 1_000), 0);
}

#[test]
fn flushall_forgets_everything_and_releases_blocked_clients() {
    let mut db = Db::new();
    db.add_job(&job(b"q", 300, 3600, 0), T0).unwrap();
    let (tx, mut rx) = oneshot::channel();
    db.block(&names("other"), tx, T0);
    db.flush_all();
    assert_eq!(rx.try_recv().unwrap(), None, "released without a job");
    assert_eq!((db.job_count(), db.queue_count()), (0, 0));
}

#[test]
fn ids_name_their_jobs_and_only_them() {
    let mut db = Db::new();
    let key = db.add_job(&job(b"q", 300, 86400, 0), T0).unwrap().0;
    let id = db.job_id(&key).unwrap();
    assert_eq!(&id[36..], b"05a1");
    assert_eq!(db.lookup(&id), Some(key));
    let mut other_ttl = id;
    other_ttl[39] = b'3';
    assert_eq!(db.lookup(&other_ttl), None);
}

#[test]
fn a_tick_processes_at_most_its_limit() {
    let mut db = Db::new();
    for _ in 0..5 {
        db.add_job(&job(b"q", 300, 86400, 1), T0).unwrap();
    }
    assert!(db.run_timers(T0 + 1_000, 3));
    assert_eq!(qlen(&db, b"q"), 3);
    assert!(!db.run_timers(T0 + 1_000, 3));
    assert_eq!(qlen(&db, b"q"), 5);
}

#[test]
fn idle_queues_are_evicted_sooner_at_the_memory_warning_levels() {
    let mut db = Db::new();
    db.get_jobs(&names("idle"), 1, T0);
    db.add_job(&job(b"full", 300, 86400, 0), T0).unwrap();
    let used = db.used_memory() as u64;
    assert_eq!(db.memory_warning_level(), 0);
    // Level 1 (over 75 %): idle for 10 s is enough (300 s / 30).
    db.set_maxmemory(used * 100 / 80);
    assert_eq!(db.memory_warning_level(), 1);
    assert_eq!(db.evict_idle_queues(T0 + 9_000), 0);
    assert_eq!(db.evict_idle_queues(T0 + 10_000), 1);
    assert!(db.queue(b"idle").is_none());
    // Level 2 (over 95 %): idle for 2 s is enough.
    db.get_jobs(&names("idle2"), 1, T0);
    db.set_maxmemory(db.used_memory() as u64 * 100 / 96);
    assert_eq!(db.memory_warning_level(), 2);
    assert_eq!(db.evict_idle_queues(T0 + 1_000), 0);
    assert_eq!(db.evict_idle_queues(T0 + 2_000), 1);
    assert_eq!(db.queue_count(), 1, "the queue with a job stays");
    // No limit: no warning, whatever the use.
    db.set_maxmemory(0);
    assert_eq!(db.memory_warning_level(), 0);
}

#[test]
fn memory_accounting_follows_jobs_and_queues() {
    let mut db = Db::new();
    assert_eq!(db.used_memory(), 0);
    let key = db.add_job(&job(b"q", 300, 86400, 0), T0).unwrap().0;
    let with_job = db.used_memory();
    assert!(with_job >= super::JOB_OVERHEAD + 4);
    assert!(db.delete(&key));
    assert!(db.used_memory() < with_job);
    assert_eq!(db.evict_idle_queues(T0 + 300_000), 1);
    assert_eq!(db.used_memory(), 0);
    assert_eq!(db.peak_memory(), with_job);
    db.add_job(&job(b"q", 300, 86400, 0), T0).unwrap();
    db.flush_all();
    assert_eq!(db.used_memory(), 0);
}

#[test]
fn the_high_point_since_the_last_trim_starts_again_from_the_memory_in_use() {
    let mut db = Db::new();
    assert_eq!(db.memory_since_trim(), (0, 0));
    let a = db.add_job(&job(b"q", 300, 86400, 0), T0).unwrap().0;
    let b = db.add_job(&job(b"q", 300, 86400, 0), T0).unwrap().0;
    let two = db.used_memory();
    assert!(db.delete(&a));
    let one = db.used_memory();
    assert_eq!(db.memory_since_trim(), (one, two));
    db.memory_trimmed();
    assert_eq!(db.memory_since_trim(), (one, one));
    assert_eq!(db.peak_memory(), two, "INFO's peak is not reset");
    assert!(db.delete(&b));
    let zero = db.used_memory();
    assert_eq!(db.memory_since_trim(), (zero, one));
}
