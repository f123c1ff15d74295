//! QSCAN and JSCAN: cursor-based iteration over queues and jobs.
//!
//! Every element has a 64-bit *position* and a walk visits the elements in
//! order of position. A job's position is the high 64 bits of its key
//! (random, and unique among the node's jobs: ADDJOB draws again on a
//! clash); a queue's is a keyed 64-bit hash (SipHash with a random key) of
//! its name, ties broken by name. The cursor is the position of the next
//! element to visit, as the decimal text of a `u64` in a bulk string: `0`
//! starts a walk, `0` returned means the walk is complete, and a continuing
//! cursor is never `0` (it is greater than the position of an element
//! already visited). A negative cursor wraps around as Disque's `strtoul`
//! does (`-1` is `u64::MAX`, the end).
//!
//! Both tables are kept in order of position, so a call jumps straight to
//! its cursor — the job table is ordered by key and a position's slot is
//! computed from its top bits (O(1) expected, see `state::table`); the
//! queues have an ordered index beside their hash map (O(log n)) — and
//! then examines at most COUNT × 10 + 1 entries: O(log n + COUNT) whatever
//! the cursor, where the old position-in-the-hash-table cursor cost
//! O(cursor + COUNT) and made a full walk quadratic.
//!
//! Guarantee (stronger than Disque's SCAN, which may repeat elements): an
//! element present for the whole walk is returned exactly once; an element
//! added or removed during the walk is returned at most once. A call never
//! stops between two queues of equal position, so a tie cannot be split
//! across calls.
//!
//! COUNT is, as in Disque, a hint of the work done per call: a call stops
//! once COUNT elements matched or COUNT × 10 entries were examined (empty
//! slots of the job table crossed count as entries, so a sparse table
//! cannot make a call long; at least one entry is examined, so COUNT 0
//! makes progress, as Disque's one bucket); BUSYLOOP or a negative COUNT
//! walks to the end in one call, as in Disque.

use std::borrow::Cow;

use bytes::Bytes;

use super::parse::{err, parse_cursor, parse_ll, syntax_error};
use super::{job_reply, reply, Ctx, Outcome};
use crate::frame::Reply;
use crate::state::job::JobState;
use crate::state::Db;

const DEFAULT_COUNT: i64 = 100;

/// What one call of a walk did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Step {
    /// The cursor to send back: the position of the next element to visit,
    /// 0 when the walk is complete.
    next: u64,
    /// Elements taken from the table: those visited, plus the one whose
    /// position became `next`.
    examined: usize,
}

/// Visits `items` (`(position, element)`, in non-decreasing order of
/// position; `None` marks an empty stretch of the table, which costs a
/// visit) until `count` matched or `count * 10` were visited, and never
/// stops between two elements of equal position. `visit` says whether an
/// element matched.
fn walk<T>(
    items: impl Iterator<Item = (u64, Option<T>)>,
    count: i64,
    busyloop: bool,
    mut visit: impl FnMut(T) -> bool,
) -> Step {
    let bounded = !busyloop && count >= 0;
    let wanted = count.max(1);
    let budget = count.saturating_mul(10).max(1);
    let (mut matched, mut visited, mut examined) = (0i64, 0i64, 0usize);
    let mut last: Option<u64> = None;
    for (pos, item) in items {
        examined += 1;
        let done = matched >= wanted || visited >= budget;
        // `last < pos` here, so `pos` is never 0: a continuing cursor
        // cannot be mistaken for the end of the walk.
        if bounded && done && last.is_some_and(|l| l < pos) {
            return Step {
                next: pos,
                examined,
            };
        }
        if item.is_some_and(&mut visit) {
            matched += 1;
        }
        visited += 1;
        last = Some(pos);
    }
    Step { next: 0, examined }
}

/// JSCAN's filters.
#[derive(Debug, Default)]
struct JobFilter<'a> {
    queue: Option<&'a [u8]>,
    states: Vec<JobState>,
    reply_all: bool,
}

/// One JSCAN call: the replies for the matching jobs and what was done.
fn jscan_step(
    db: &Db,
    cursor: u64,
    count: i64,
    busyloop: bool,
    filter: &JobFilter<'_>,
    now: u64,
) -> (Vec<Reply>, Step) {
    let mut items = Vec::new();
    let step = walk(db.jobs_from(cursor), count, busyloop, |(key, job)| {
        if filter.queue.is_some_and(|q| q != &job.queue[..]) {
            return false;
        }
        if !filter.states.is_empty() && !filter.states.contains(&job.state) {
            return false;
        }
        if filter.reply_all {
            items.push(job_reply::description(&db.describe(key, job, now)));
        } else {
            let id = db.id_of(key, job);
            items.push(Reply::Status(Cow::Owned(
                String::from_utf8_lossy(&id).into_owned(),
            )));
        }
        true
    });
    (items, step)
}

/// QSCAN's filters (-1 = none).
#[derive(Debug, Clone, Copy)]
struct QueueFilter {
    minlen: i64,
    maxlen: i64,
    importrate: i64,
}

/// One QSCAN call: the names of the matching queues and what was done.
fn qscan_step(
    db: &Db,
    cursor: u64,
    count: i64,
    busyloop: bool,
    filter: QueueFilter,
) -> (Vec<Reply>, Step) {
    let mut items = Vec::new();
    let queues = db.queues_from(cursor).map(|(pos, q)| (pos, Some(q)));
    let step = walk(queues, count, busyloop, |q| {
        let len = q.len() as i64;
        if (filter.minlen != -1 && len < filter.minlen)
            || (filter.maxlen != -1 && len > filter.maxlen)
            || filter.importrate > 0
        {
            return false;
        }
        items.push(Reply::Bulk(Bytes::copy_from_slice(&q.name)));
        true
    });
    (items, step)
}

fn scan_reply(cursor: u64, items: Vec<Reply>) -> Outcome {
    reply(Reply::Array(vec![
        Reply::Bulk(Bytes::from(cursor.to_string())),
        Reply::Array(items),
    ]))
}

pub(super) fn qscan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    let mut count = DEFAULT_COUNT;
    let mut busyloop = false;
    let (mut minlen, mut maxlen, mut importrate) = (-1i64, -1i64, -1i64);
    let mut cursor = None;
    let mut j = 1;
    while j < args.len() {
        let opt = &args[j][..];
        let remaining = j + 1 < args.len();
        let is = |name: &str| opt.eq_ignore_ascii_case(name.as_bytes());
        let value = || {
            parse_ll(&args[j + 1]).ok_or_else(|| err("ERR value is not an integer or out of range"))
        };
        if is("count") && remaining {
            match value() {
                Ok(v) => count = v,
                Err(e) => return reply(e),
            }
            j += 1;
        } else if is("busyloop") {
            busyloop = true;
        } else if is("minlen") && remaining {
            match value() {
                Ok(v) => minlen = v,
                Err(e) => return reply(e),
            }
            j += 1;
        } else if is("maxlen") && remaining {
            match value() {
                Ok(v) => maxlen = v,
                Err(e) => return reply(e),
            }
            j += 1;
        } else if is("importrate") && remaining {
            match value() {
                Ok(v) => importrate = v,
                Err(e) => return reply(e),
            }
            j += 1;
        } else if let Err(e) = set_cursor(&mut cursor, opt) {
            return reply(e);
        }
        j += 1;
    }
    let filter = QueueFilter {
        minlen,
        maxlen,
        importrate,
    };
    let (items, step) = qscan_step(ctx.db, cursor.unwrap_or(0), count, busyloop, filter);
    scan_reply(step.next, items)
}

/// An argument that is no option is the cursor, given at most once (as in
/// Disque: a second one is a syntax error).
fn set_cursor(cursor: &mut Option<u64>, arg: &[u8]) -> Result<(), Reply> {
    if cursor.is_some() {
        return Err(syntax_error());
    }
    match parse_cursor(arg) {
        Some(c) => {
            *cursor = Some(c);
            Ok(())
        }
        None => Err(err("ERR invalid cursor or option name")),
    }
}

pub(super) fn jscan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    let mut count = DEFAULT_COUNT;
    let mut busyloop = false;
    let mut queue: Option<&[u8]> = None;
    let mut states: Vec<JobState> = Vec::new();
    let mut reply_all = false;
    let mut cursor = None;
    let mut j = 1;
    while j < args.len() {
        let opt = &args[j][..];
        let remaining = j + 1 < args.len();
        let is = |name: &str| opt.eq_ignore_ascii_case(name.as_bytes());
        if is("count") && remaining {
            match parse_ll(&args[j + 1]) {
                Some(v) => count = v,
                None => return reply(err("ERR value is not an integer or out of range")),
            }
            j += 1;
        } else if is("busyloop") {
            busyloop = true;
        } else if is("queue") && remaining {
            queue = Some(&args[j + 1]);
            j += 1;
        } else if is("state") && remaining {
            match JobState::parse(&args[j + 1]) {
                Some(s) => states.push(s),
                None => return reply(err("ERR Invalid job state name")),
            }
            j += 1;
        } else if is("reply") && remaining {
            let v = &args[j + 1];
            if v.eq_ignore_ascii_case(b"id") {
                reply_all = false;
            } else if v.eq_ignore_ascii_case(b"all") {
                reply_all = true;
            } else {
                return reply(err("ERR Invalid REPLY type, try ID or ALL"));
            }
            j += 1;
        } else if let Err(e) = set_cursor(&mut cursor, opt) {
            return reply(e);
        }
        j += 1;
    }
    let filter = JobFilter {
        queue,
        states,
        reply_all,
    };
    let (items, step) = jscan_step(
        ctx.db,
        cursor.unwrap_or(0),
        count,
        busyloop,
        &filter,
        ctx.now,
    );
    scan_reply(step.next, items)
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::state::id::JobKey;
    use crate::state::NewJob;

    /// A start time well past the epoch, on a second boundary.
    const T0: u64 = 1_700_000_000_000;

    fn add(db: &mut Db, queue: &[u8]) -> (JobKey, String) {
        let req = NewJob {
            queue,
            body: &Bytes::from_static(b"body"),
            replicate: 1,
            ttl: 86400,
            retry: 300,
            delay: 0,
            maxlen: 0,
        };
        let (key, id) = db.add_job(&req, T0).expect("a valid job");
        (key, String::from_utf8(id.to_vec()).expect("ids are ASCII"))
    }

    fn text(r: &Reply) -> String {
        match r {
            Reply::Status(s) => s.to_string(),
            Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("unexpected reply {other:?}"),
        }
    }

    fn jscan(db: &Db, cursor: u64, count: i64, filter: &JobFilter<'_>) -> (Vec<String>, Step) {
        let (items, step) = jscan_step(db, cursor, count, false, filter, T0);
        (items.iter().map(text).collect(), step)
    }

    fn qscan(db: &Db, cursor: u64, count: i64) -> (Vec<String>, Step) {
        let none = QueueFilter {
            minlen: -1,
            maxlen: -1,
            importrate: -1,
        };
        let (items, step) = qscan_step(db, cursor, count, false, none);
        (items.iter().map(text).collect(), step)
    }

    /// How many times each element was returned.
    fn tally(seen: &[String]) -> HashMap<&str, usize> {
        let mut t = HashMap::new();
        for s in seen {
            *t.entry(s.as_str()).or_insert(0) += 1;
        }
        t
    }

    #[test]
    fn full_job_walk_with_small_count_returns_every_job_exactly_once() {
        let mut db = Db::new();
        let ids: HashSet<String> = (0..3000).map(|_| add(&mut db, b"q").1).collect();
        for count in [0, 1, 3, 7, 100] {
            let (mut seen, mut cursor, mut calls) = (Vec::new(), 0, 0);
            loop {
                let (items, step) = jscan(&db, cursor, count, &JobFilter::default());
                calls += 1;
                assert!(items.len() <= count.max(1) as usize);
                seen.extend(items);
                if step.next == 0 {
                    break;
                }
                assert!(step.next > cursor, "cursors advance");
                cursor = step.next;
            }
            let tally = tally(&seen);
            assert_eq!(seen.len(), ids.len(), "COUNT {count}: no repeats");
            assert!(tally.values().all(|&n| n == 1));
            assert!(ids.iter().all(|id| tally.contains_key(id.as_str())));
            // Each call returns COUNT jobs unless its budget of visits
            // (empty slots of the table included) ran out first.
            assert!(calls >= ids.len().div_ceil(count.max(1) as usize));
        }
    }

    #[test]
    fn job_walk_while_jobs_come_and_go_returns_every_stable_job_once() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut db = Db::new();
        let stable: Vec<String> = (0..2000).map(|_| add(&mut db, b"stable").1).collect();
        let mut churn: Vec<JobKey> = (0..2000).map(|_| add(&mut db, b"churn").0).collect();
        let (mut seen, mut cursor) = (Vec::new(), 0);
        loop {
            let (items, step) = jscan(&db, cursor, 5, &JobFilter::default());
            seen.extend(items);
            if step.next == 0 {
                break;
            }
            cursor = step.next;
            // Between calls: delete ten jobs and add ten, anywhere in the order.
            for _ in 0..10 {
                let i = rng.random_range(0..churn.len());
                assert!(db.delete(&churn.swap_remove(i)));
                churn.push(add(&mut db, b"churn").0);
            }
        }
        let tally = tally(&seen);
        assert!(tally.values().all(|&n| n == 1), "nothing is returned twice");
        for id in &stable {
            assert_eq!(tally.get(id.as_str()), Some(&1), "{id} returned once");
        }
    }

    #[test]
    fn a_call_costs_the_same_whatever_the_cursor() {
        let mut db = Db::new();
        for _ in 0..20_000 {
            add(&mut db, b"q");
        }
        // Entries examined per call (jobs and empty slots of the table, plus
        // the one naming the next cursor): at most COUNT * 10 + 1 from the
        // first call to the last, and about the same early and late.
        let (mut cursor, mut cursors, mut examined) = (0, Vec::new(), Vec::new());
        let mut seen = 0;
        loop {
            let (items, step) = jscan(&db, cursor, 10, &JobFilter::default());
            assert!(step.examined <= 101, "{} from {cursor}", step.examined);
            seen += items.len();
            if step.next == 0 {
                break;
            }
            // Ten jobs a call; the last one may only cross trailing empty
            // slots.
            assert!(items.len() == 10 || seen == 20_000, "from {cursor}");
            examined.push(step.examined);
            cursors.push(step.next);
            cursor = step.next;
        }
        assert_eq!(seen, 20_000);
        assert!(cursors.len() == 1999 || cursors.len() == 2000);
        let half = examined.len() / 2;
        let early: usize = examined[..half].iter().sum();
        let late: usize = examined[half..2 * half].iter().sum();
        assert!(early.abs_diff(late) * 10 < early, "{early} vs {late}");
        // A filter matching nothing: exactly COUNT * 10 visited, plus one,
        // wherever the walk resumes (first, middle and last cursors alike).
        let none = JobFilter {
            queue: Some(b"nosuch"),
            ..JobFilter::default()
        };
        for &c in [0, cursors[0], cursors[999], cursors[1900]].iter() {
            let (items, step) = jscan(&db, c, 10, &none);
            assert!(items.is_empty());
            assert_eq!(step.examined, 101, "from {c}");
        }
        // Past the last job: the walk is over.
        let (items, step) = jscan(&db, u64::MAX, 10, &JobFilter::default());
        assert!(items.is_empty());
        assert!(step.next == 0 && step.examined <= 1);
    }

    #[test]
    fn a_sparse_table_costs_no_more_per_call() {
        // 20 000 jobs, then all but 3 000 deleted: the table has far more
        // empty slots than jobs until it shrinks, and a call still
        // examines at most COUNT * 10 + 1 entries.
        let mut db = Db::new();
        let keys: Vec<JobKey> = (0..20_000).map(|_| add(&mut db, b"q").0).collect();
        for k in &keys[3000..] {
            db.delete(k);
        }
        let (mut cursor, mut seen) = (0, 0);
        loop {
            let (items, step) = jscan(&db, cursor, 5, &JobFilter::default());
            assert!(step.examined <= 51);
            seen += items.len();
            if step.next == 0 {
                break;
            }
            cursor = step.next;
        }
        assert_eq!(seen, 3000);
    }

    #[test]
    fn busyloop_and_negative_count_walk_to_the_end() {
        let mut db = Db::new();
        for _ in 0..500 {
            add(&mut db, b"q");
        }
        let (items, step) = jscan_step(&db, 0, 1, true, &JobFilter::default(), T0);
        assert_eq!((items.len(), step.next), (500, 0));
        let (items, step) = jscan(&db, 0, -1, &JobFilter::default());
        assert_eq!((items.len(), step.next), (500, 0));
    }

    #[test]
    fn full_queue_walk_returns_every_queue_exactly_once() {
        let mut db = Db::new();
        let names: HashSet<String> = (0..700).map(|i| format!("queue:{i}")).collect();
        for name in &names {
            add(&mut db, name.as_bytes());
        }
        for count in [0, 1, 2, 10] {
            let (mut seen, mut cursor) = (Vec::new(), 0);
            loop {
                let (items, step) = qscan(&db, cursor, count);
                assert!(step.examined <= (count.max(1) + 1) as usize);
                seen.extend(items);
                if step.next == 0 {
                    break;
                }
                assert!(step.next > cursor);
                cursor = step.next;
            }
            let tally = tally(&seen);
            assert_eq!(seen.len(), names.len(), "COUNT {count}: no repeats");
            assert!(names.iter().all(|n| tally.get(n.as_str()) == Some(&1)));
        }
    }

    #[test]
    fn queue_walk_while_queues_come_and_go_returns_every_stable_queue_once() {
        let mut db = Db::new();
        // Stable queues hold a job, so they are never evicted.
        let stable: Vec<String> = (0..500).map(|i| format!("stable:{i}")).collect();
        for name in &stable {
            add(&mut db, name.as_bytes());
        }
        let (mut seen, mut cursor, mut now, mut made) = (Vec::new(), 0, T0, 0);
        loop {
            let (items, step) = qscan(&db, cursor, 3);
            seen.extend(items);
            if step.next == 0 {
                break;
            }
            cursor = step.next;
            // Between calls: empty queues appear (GETJOB creates them) and
            // those idle for 300 s are evicted.
            now += 10_000;
            for _ in 0..5 {
                let name = Bytes::from(format!("churn:{made}"));
                made += 1;
                db.get_jobs(&[name], 1, now);
            }
            db.evict_idle_queues(now);
        }
        assert!(db.queue_count() < 500 + made, "some queues were evicted");
        let tally = tally(&seen);
        assert!(tally.values().all(|&n| n == 1), "nothing is returned twice");
        for name in &stable {
            assert_eq!(tally.get(name.as_str()), Some(&1), "{name} returned once");
        }
    }

    #[test]
    fn a_call_never_stops_between_elements_of_equal_position() {
        let items = [(1, 'a'), (5, 'b'), (5, 'c'), (5, 'd'), (9, 'e')];
        let from = |c: u64| {
            items
                .iter()
                .filter(move |&&(p, _)| p >= c)
                .map(|&(p, x)| (p, Some(x)))
        };
        let mut seen = Vec::new();
        let step = walk(from(0), 1, false, |x| {
            seen.push(x);
            true
        });
        assert_eq!((step.next, &seen[..]), (5, &['a'][..]));
        let step = walk(from(5), 1, false, |x| {
            seen.push(x);
            true
        });
        assert_eq!((step.next, &seen[..]), (9, &['a', 'b', 'c', 'd'][..]));
        let step = walk(from(9), 1, false, |x| {
            seen.push(x);
            true
        });
        assert_eq!((step.next, seen.len()), (0, 5));
        // An element at position 0 is visited by the first call, so a
        // continuing cursor is never 0.
        let step = walk(
            [(0, Some(())), (0, None), (3, None)].into_iter(),
            1,
            false,
            |_| true,
        );
        assert_eq!(step.next, 3);
        // Empty stretches cost a visit each: the budget bounds them too.
        let holes = (1..100u64).map(|p| (p, None::<()>));
        let step = walk(holes, 2, false, |_| true);
        assert_eq!((step.next, step.examined), (21, 21));
    }
}
