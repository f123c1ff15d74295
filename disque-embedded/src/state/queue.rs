//! One named queue: its jobs ordered by creation time, its blocked clients,
//! its counters and pause state; and the table of queues.

use std::collections::hash_map::{Entry, RandomState};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::hash::BuildHasher;
use std::ops::Bound;
use std::sync::Arc;

use super::id::JobKey;

/// Paused in input: ADDJOB is refused.
pub const PAUSED_IN: u8 = 1;
/// Paused in output: GETJOB does not serve this queue.
pub const PAUSED_OUT: u8 = 2;

/// A queue.
#[derive(Debug)]
pub struct Queue {
    /// Its name.
    pub name: Arc<[u8]>,
    /// Queued jobs by ctime (unique), oldest first.
    pub jobs: BTreeMap<u64, JobKey>,
    /// Creation time, unix seconds.
    pub ctime: u64,
    /// Last access time, unix seconds.
    pub atime: u64,
    /// Ids of the blocked clients, in the order they blocked.
    pub blocked: VecDeque<u64>,
    /// Jobs queued so far.
    pub jobs_in: u64,
    /// Jobs fetched so far.
    pub jobs_out: u64,
    /// `PAUSED_*` bits.
    pub paused: u8,
}

impl Queue {
    /// An empty queue created at `now_s`.
    pub fn new(name: Arc<[u8]>, now_s: u64) -> Queue {
        Queue {
            name,
            jobs: BTreeMap::new(),
            ctime: now_s,
            atime: now_s,
            blocked: VecDeque::new(),
            jobs_in: 0,
            jobs_out: 0,
            paused: 0,
        }
    }

    /// Number of queued jobs.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Disque's name for the pause state.
    pub fn pause_name(flags: u8) -> &'static str {
        match flags & (PAUSED_IN | PAUSED_OUT) {
            3 => "all",
            PAUSED_IN => "in",
            PAUSED_OUT => "out",
            _ => "none",
        }
    }
}

/// The table of queues: a hash map for lookups by name, and an ordered
/// index of `(hash of the name, name)` for QSCAN, so that a walk can resume
/// at any 64-bit position in O(log n). The hash is SipHash with a random
/// key: clients choose queue names but cannot aim them at one position.
#[derive(Debug, Default)]
pub struct Queues {
    map: HashMap<Arc<[u8]>, Queue>,
    order: BTreeSet<(u64, Arc<[u8]>)>,
    hasher: RandomState,
    /// Estimated bytes held by the queues themselves (not their jobs).
    bytes: usize,
}

/// Estimated bytes of one queue besides its name: the record, its entries
/// in the map and the ordered index, and the allocator's overhead.
pub const QUEUE_OVERHEAD: usize = std::mem::size_of::<Queue>() + 128;

/// Estimated bytes held by a queue called `name` (without its jobs).
fn queue_cost(name: &[u8]) -> usize {
    QUEUE_OVERHEAD + name.len()
}

impl Queues {
    /// Number of queues.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Estimated bytes held by the queues (not counting their jobs).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// A queue by name.
    pub fn get(&self, name: &[u8]) -> Option<&Queue> {
        self.map.get(name)
    }

    /// A queue by name, mutably.
    pub fn get_mut(&mut self, name: &[u8]) -> Option<&mut Queue> {
        self.map.get_mut(name)
    }

    /// The shared name and the queue.
    pub fn get_key_value(&self, name: &[u8]) -> Option<(&Arc<[u8]>, &Queue)> {
        self.map.get_key_value(name)
    }

    /// Whether the queue exists.
    pub fn contains_key(&self, name: &[u8]) -> bool {
        self.map.contains_key(name)
    }

    /// The queue called `name`, created at `now_s` if missing.
    pub fn get_or_create(&mut self, name: Arc<[u8]>, now_s: u64) -> &mut Queue {
        match self.map.entry(name) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let name = e.key().clone();
                self.bytes += queue_cost(&name);
                self.order
                    .insert((self.hasher.hash_one(&name[..]), name.clone()));
                e.insert(Queue::new(name, now_s))
            }
        }
    }

    /// Keeps only the queues for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&Queue) -> bool) {
        let (order, hasher, bytes) = (&mut self.order, &self.hasher, &mut self.bytes);
        self.map.retain(|name, q| {
            let kept = keep(q);
            if !kept {
                *bytes = bytes.saturating_sub(queue_cost(name));
                order.remove(&(hasher.hash_one(&name[..]), name.clone()));
            }
            kept
        });
    }

    /// Forgets every queue.
    pub fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
        self.bytes = 0;
    }

    /// The queues whose position is `from` or more, by position (ties by
    /// name), each with its position: QSCAN's walk from cursor `from`.
    pub fn walk_from(&self, from: u64) -> impl Iterator<Item = (u64, &Queue)> + '_ {
        let start = (from, Arc::<[u8]>::from(&[][..]));
        self.order
            .range((Bound::Included(start), Bound::Unbounded))
            .filter_map(|(pos, name)| self.map.get(&name[..]).map(|q| (*pos, q)))
    }
}
