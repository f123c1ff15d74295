//! The job table: jobs by key, kept in key order so that JSCAN can resume a
//! walk anywhere in O(1) expected time.
//!
//! Keys are random (the node draws them; clients cannot choose them), so
//! the table is an open-addressing hash table whose hash is the key's high
//! bits themselves: a key's *home* slot is its top `bits` bits, and linear
//! probing keeps the entries sorted by key (an insertion shifts the run
//! after its place one slot right; a removal shifts the displaced entries
//! after it back left). Invariants: the entries are sorted by key, each is
//! at or after its home, and no slot between its home and it is empty. So
//! a lookup is one probe from the home slot, as in a hash table (and at the
//! same memory: 24 bytes a slot, at most 3/4 of the home slots used), and
//! the table's order is the key order, so a walk resumes at any 64-bit
//! position by jumping to its home slot. Home slots double above 3/4 load
//! and halve below 1/8, by an O(n) rebuild (amortised O(1), as a hash
//! table's resize); spare slots after the last home slot take the runs
//! that would otherwise wrap around (more are added if a run reaches the
//! last one).
//!
//! No two jobs may share the high 64 bits of their keys ([`JobTable::insert`]
//! refuses it): those bits alone order the jobs and are JSCAN's cursor.

use super::id::JobKey;
use super::job::Job;

/// log2 of the smallest number of home slots.
const MIN_BITS: u32 = 4;

type Entry = (JobKey, Box<Job>);

/// Jobs by key, in key order.
#[derive(Debug)]
pub struct JobTable {
    /// `2^bits` home slots, then spare ones; `None` is an empty slot.
    slots: Vec<Option<Entry>>,
    /// log2 of the number of home slots (`MIN_BITS..=63`).
    bits: u32,
    len: usize,
}

impl Default for JobTable {
    fn default() -> Self {
        JobTable::new()
    }
}

/// Spare slots after `homes` home slots.
fn spare(homes: usize) -> usize {
    homes / 64 + 16
}

impl JobTable {
    /// An empty table.
    pub fn new() -> JobTable {
        JobTable::with_bits(MIN_BITS)
    }

    fn with_bits(bits: u32) -> JobTable {
        let homes = 1usize << bits;
        let mut slots = Vec::new();
        slots.resize_with(homes + spare(homes), || None);
        JobTable {
            slots,
            bits,
            len: 0,
        }
    }

    /// Number of jobs.
    pub fn len(&self) -> usize {
        self.len
    }

    fn homes(&self) -> usize {
        1usize << self.bits
    }

    fn home(&self, hi: u64) -> usize {
        (hi >> (64 - self.bits)) as usize
    }

    /// Where `key` is, or would be inserted: the first slot from its home
    /// that is empty or holds a key not below it.
    fn probe(&self, key: &JobKey) -> usize {
        let mut i = self.home(key.hi());
        while let Some(Some((k, _))) = self.slots.get(i) {
            if k >= key {
                break;
            }
            i += 1;
        }
        i
    }

    /// A job by key.
    pub fn get(&self, key: &JobKey) -> Option<&Job> {
        self.get_key_value(key).map(|(_, job)| job)
    }

    /// The stored key and the job.
    pub fn get_key_value(&self, key: &JobKey) -> Option<(&JobKey, &Job)> {
        match self.slots.get(self.probe(key)) {
            Some(Some((k, job))) if k == key => Some((k, &**job)),
            _ => None,
        }
    }

    /// A job by key, mutably.
    pub fn get_mut(&mut self, key: &JobKey) -> Option<&mut Job> {
        let i = self.probe(key);
        match self.slots.get_mut(i) {
            Some(Some((k, job))) if k == key => Some(&mut **job),
            _ => None,
        }
    }

    /// Whether a job's key has these high 64 bits.
    pub fn contains_hi(&self, hi: u64) -> bool {
        let mut i = self.home(hi);
        while let Some(Some((k, _))) = self.slots.get(i) {
            if k.hi() >= hi {
                return k.hi() == hi;
            }
            i += 1;
        }
        false
    }

    /// Adds a job; gives it back, unstored, if a job's key already has the
    /// same high 64 bits.
    pub fn insert(&mut self, key: JobKey, job: Box<Job>) -> Result<(), Box<Job>> {
        if self.contains_hi(key.hi()) {
            return Err(job);
        }
        if (self.len + 1) * 4 > self.homes() * 3 {
            self.rebuild(self.bits + 1);
        }
        let at = self.probe(&key);
        let mut free = at;
        while let Some(Some(_)) = self.slots.get(free) {
            free += 1;
        }
        if free == self.slots.len() {
            // The run reaches the last spare slot: one more (rare with
            // random keys; grown by a few at a time, never doubled).
            if self.slots.len() == self.slots.capacity() {
                self.slots.reserve_exact(spare(self.homes()));
            }
            self.slots.push(None);
        }
        // Shift the run [at, free) one slot right, into the free one.
        self.slots[at..=free].rotate_right(1);
        self.slots[at] = Some((key, job));
        self.len += 1;
        Ok(())
    }

    /// Removes a job.
    pub fn remove(&mut self, key: &JobKey) -> Option<Box<Job>> {
        let i = self.probe(key);
        let slot = self.slots.get_mut(i)?;
        if !matches!(slot, Some((k, _)) if k == key) {
            return None;
        }
        let (_, job) = slot.take()?;
        self.len -= 1;
        // Back-shift: the entries after it that are past their home move
        // one slot left, so none sits after an empty slot past its home.
        let mut j = i + 1;
        while let Some(Some((k, _))) = self.slots.get(j) {
            if self.home(k.hi()) >= j {
                break;
            }
            self.slots.swap(j - 1, j);
            j += 1;
        }
        if self.len * 8 < self.homes() && self.bits > MIN_BITS {
            self.rebuild(self.bits - 1);
        }
        Some(job)
    }

    /// Makes room for `n` jobs in all, so that inserting them in any order
    /// (a rewritten file lists its jobs in key order, which would pile up
    /// in a table still sized for fewer) costs O(1) each.
    pub fn reserve(&mut self, n: usize) {
        let mut bits = self.bits;
        while n.saturating_mul(4) > (1usize << bits) * 3 && bits < 62 {
            bits += 1;
        }
        if bits > self.bits {
            self.rebuild(bits);
        }
    }

    /// Forgets every job.
    pub fn clear(&mut self) {
        *self = JobTable::new();
    }

    /// Moves every entry to a table of `2^bits` home slots, in order.
    fn rebuild(&mut self, bits: u32) {
        let mut new = JobTable::with_bits(bits);
        new.len = self.len;
        let mut next = 0;
        for (key, job) in std::mem::take(&mut self.slots).into_iter().flatten() {
            let at = new.home(key.hi()).max(next);
            if at >= new.slots.len() {
                new.slots.reserve_exact(spare(new.homes()));
                new.slots.resize_with(at + 1, || None);
            }
            new.slots[at] = Some((key, job));
            next = at + 1;
        }
        *self = new;
    }

    /// The walk from position `from` in key order: every job whose key's
    /// high 64 bits are `from` or more, each with those bits, and an empty
    /// entry for each empty slot passed (at a position between those of the
    /// jobs around it), so that a bounded walk also bounds the empty slots
    /// it crosses.
    pub fn walk_from(&self, from: u64) -> impl Iterator<Item = (u64, Option<(&JobKey, &Job)>)> {
        let first = self.home(from);
        let (homes, shift) = (self.homes(), 64 - self.bits);
        self.slots[first.min(self.slots.len())..]
            .iter()
            .zip(first..)
            // No entry follows an empty spare slot: it would be past home.
            .take_while(move |(slot, i)| slot.is_some() || *i < homes)
            .filter_map(move |(slot, i)| match slot {
                Some((k, job)) if k.hi() >= from => Some((k.hi(), Some((k, &**job)))),
                Some(_) => None,
                // Every job before it is below this position (its home is
                // before `i`), every job after it at or above (its home is
                // after `i`).
                None => Some(((i as u64) << shift, None)),
            })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::state::job::JobState;

    fn job() -> Box<Job> {
        Box::new(Job {
            queue: Arc::from(&b"q"[..]),
            body: bytes::Bytes::new(),
            ctime: 0,
            etime: 0,
            qtime: 0,
            awake: 0,
            retry: 0,
            delay: 0,
            nacks: 0,
            deliv: 0,
            repl: 1,
            ttl_field: 0,
            tail: 0,
            state: JobState::Queued,
            flags: 0,
        })
    }

    fn keys_in_walk(t: &JobTable, from: u64) -> Vec<JobKey> {
        t.walk_from(from)
            .filter_map(|(_, e)| e.map(|(k, _)| *k))
            .collect()
    }

    #[test]
    fn grows_and_shrinks_keeping_every_job_in_order() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut t = JobTable::new();
        let mut keys: Vec<JobKey> = Vec::new();
        while keys.len() < 5000 {
            let (k, _) = JobKey::random(&mut rng);
            if t.insert(k, job()).is_ok() {
                keys.push(k);
            }
        }
        assert!(t.homes() * 3 >= 5000 * 4);
        assert_eq!(t.len(), 5000);
        keys.sort();
        assert_eq!(keys_in_walk(&t, 0), keys);
        for k in &keys {
            assert!(t.get(k).is_some() && t.contains_hi(k.hi()));
        }
        // Same high bits: refused.
        let twin = JobKey::from_parts(keys[0].hi(), keys[0].lo() ^ 1);
        assert!(t.insert(twin, job()).is_err());
        assert!(t.get(&twin).is_none());
        // Remove most, in random order: the table shrinks.
        while keys.len() > 10 {
            let k = keys.swap_remove(rng.random_range(0..keys.len()));
            assert!(t.remove(&k).is_some());
            assert!(t.remove(&k).is_none());
        }
        keys.sort();
        assert_eq!(keys_in_walk(&t, 0), keys);
        assert!(t.homes() <= 128, "shrank to {}", t.homes());
        // From any position: exactly the keys at or after it.
        for k in &keys {
            let after: Vec<JobKey> = keys.iter().copied().filter(|x| x.hi() >= k.hi()).collect();
            assert_eq!(keys_in_walk(&t, k.hi()), after);
        }
        assert!(keys_in_walk(&t, u64::MAX).is_empty() || keys[9].hi() == u64::MAX);
        t.clear();
        assert_eq!((t.len(), keys_in_walk(&t, 0).len()), (0, 0));
    }

    #[test]
    fn walk_positions_never_decrease_and_holes_mark_empty_slots() {
        let mut t = JobTable::new();
        // Two jobs, homes 1 and 14 of 16: 12 empty home slots between.
        let a = JobKey::from_parts((1 << 60) | 5, 7);
        let b = JobKey::from_parts((14 << 60) | 9, 7);
        t.insert(a, job()).unwrap();
        t.insert(b, job()).unwrap();
        let walk: Vec<(u64, bool)> = t.walk_from(0).map(|(p, e)| (p, e.is_some())).collect();
        assert!(walk.windows(2).all(|w| w[0].0 < w[1].0));
        // Empty home slots 0, 2..=13 and 15; the spare slots end the walk.
        assert_eq!(walk.len(), 2 + 14);
        assert_eq!(walk[0], (0, false));
        assert_eq!(walk[1], ((1 << 60) | 5, true));
        assert_eq!(walk[2], (2 << 60, false));
        assert_eq!(walk[14], ((14 << 60) | 9, true));
        assert_eq!(walk[15], (15 << 60, false));
    }

    #[test]
    fn colliding_homes_stay_sorted_through_inserts_and_removals() {
        // Keys crowding the last home slots spill into the spare ones, and
        // removals in any order keep every key reachable.
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..50 {
            let mut t = JobTable::new();
            let mut keys = Vec::new();
            for _ in 0..11 {
                let hi = (rng.random_range(12u64..16) << 60) | rng.random_range(0..1u64 << 20);
                let k = JobKey::from_parts(hi, 0);
                if t.insert(k, job()).is_ok() {
                    keys.push(k);
                }
            }
            let mut sorted = keys.clone();
            sorted.sort();
            assert_eq!(keys_in_walk(&t, 0), sorted);
            while !keys.is_empty() {
                let k = keys.swap_remove(rng.random_range(0..keys.len()));
                assert!(t.remove(&k).is_some());
                for k in &keys {
                    assert!(t.get(k).is_some());
                }
                sorted.retain(|x| x != &k);
                assert_eq!(keys_in_walk(&t, 0), sorted);
            }
        }
    }

    #[test]
    fn behaves_like_an_ordered_map_under_random_operations() {
        use std::collections::BTreeMap;
        let mut rng = StdRng::seed_from_u64(11);
        let mut t = JobTable::new();
        let mut model: BTreeMap<JobKey, u32> = BTreeMap::new();
        let mut keys = Vec::new();
        for step in 0..60_000u32 {
            // Grow for a while, then shrink; keys sometimes crowd a few
            // top bits so that runs spill into the spare slots.
            let growing = (step / 15_000) % 2 == 0;
            if rng.random_range(0..10) < if growing { 7 } else { 3 } {
                let hi = if rng.random_range(0..16) == 0 {
                    u64::MAX - rng.random_range(0..1u64 << 52)
                } else {
                    rng.random()
                };
                let key = JobKey::from_parts(hi, rng.random());
                let mut j = job();
                j.nacks = step;
                let same_hi = JobKey::from_parts(hi, 0)..=JobKey::from_parts(hi, u64::MAX);
                let fresh = model.range(same_hi).next().is_none();
                assert_eq!(t.insert(key, j).is_ok(), fresh);
                if fresh {
                    model.insert(key, step);
                    keys.push(key);
                }
            } else if !keys.is_empty() {
                let key = keys.swap_remove(rng.random_range(0..keys.len()));
                assert_eq!(t.remove(&key).map(|j| j.nacks), model.remove(&key));
                assert!(t.remove(&key).is_none());
            }
            if step % 2999 == 0 {
                assert_eq!(t.len(), model.len());
                let walked: Vec<(JobKey, u32)> = t
                    .walk_from(0)
                    .filter_map(|(p, e)| e.map(|(k, j)| (p, *k, j.nacks)))
                    .map(|(p, k, n)| {
                        assert_eq!(p, k.hi());
                        (k, n)
                    })
                    .collect();
                let expected: Vec<(JobKey, u32)> = model.iter().map(|(k, n)| (*k, *n)).collect();
                assert_eq!(walked, expected);
                for (k, n) in &model {
                    assert_eq!(t.get(k).map(|j| j.nacks), Some(*n));
                    assert!(t.get_mut(k).is_some());
                }
            }
        }
    }
}
