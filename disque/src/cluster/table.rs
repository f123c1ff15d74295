//! The node table: every node the client knows (the seeds, then what HELLO
//! tells), its id, priority and recent failures, and the order in which to
//! try them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::NodeAddr;
use crate::reply::Hello;

/// Priority at or above which a node is leaving or failing (Disque's HELLO
/// reports 100 for both); such a node is used only when no better one answers.
pub(crate) const LEAVING_PRIORITY: i64 = 100;

/// How long a node that failed is tried after every other node.
const FAILURE_MEMORY: Duration = Duration::from_secs(10);

/// One known node.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) addr: Arc<NodeAddr>,
    /// Its id, once a HELLO named it.
    pub(crate) id: Option<String>,
    /// Lower is better; 1 is healthy. Seeds start at 1.
    pub(crate) priority: i64,
    /// Given by the user (kept even when HELLO does not list it).
    seed: bool,
    /// When connecting to it or using it last failed.
    failed_at: Option<Instant>,
}

/// Every node the client knows, in the order first learnt.
#[derive(Debug, Clone)]
pub(crate) struct NodeTable {
    entries: Vec<Entry>,
}

impl NodeTable {
    /// A table of the seeds, priority 1 each, in the order given.
    pub(crate) fn from_seeds(seeds: Vec<NodeAddr>) -> NodeTable {
        let mut table = NodeTable {
            entries: Vec::new(),
        };
        for addr in seeds {
            if table.find(&addr).is_none() {
                table.entries.push(Entry {
                    addr: Arc::new(addr),
                    id: None,
                    priority: 1,
                    seed: true,
                    failed_at: None,
                });
            }
        }
        table
    }

    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    fn find(&self, addr: &NodeAddr) -> Option<usize> {
        self.entries.iter().position(|e| *e.addr == *addr)
    }

    /// The entry for `addr`, if known.
    pub(crate) fn get(&self, addr: &NodeAddr) -> Option<&Entry> {
        self.find(addr).map(|i| &self.entries[i])
    }

    /// The nodes to try, best first: lowest priority, then not failed
    /// recently, then the order they were learnt in (seeds first).
    pub(crate) fn candidates(&self, now: Instant) -> Vec<Arc<NodeAddr>> {
        let mut order: Vec<(i64, bool, usize)> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.priority, self.failed_recently(i, now), i))
            .collect();
        order.sort();
        order
            .into_iter()
            .map(|(_, _, i)| Arc::clone(&self.entries[i].addr))
            .collect()
    }

    fn failed_recently(&self, i: usize, now: Instant) -> bool {
        self.entries[i]
            .failed_at
            .is_some_and(|t| now.saturating_duration_since(t) < FAILURE_MEMORY)
    }

    /// Whether some node other than `addr`, not failed recently, has a
    /// better priority than `addr`.
    pub(crate) fn has_better_than(&self, addr: &NodeAddr, now: Instant) -> bool {
        let mine = self.get(addr).map_or(i64::MAX, |e| e.priority);
        self.entries
            .iter()
            .enumerate()
            .any(|(i, e)| *e.addr != *addr && e.priority < mine && !self.failed_recently(i, now))
    }

    /// Remembers that `addr` failed (it is tried last for a while).
    pub(crate) fn mark_failed(&mut self, addr: &NodeAddr, now: Instant) {
        if let Some(i) = self.find(addr) {
            self.entries[i].failed_at = Some(now);
        }
    }

    /// Remembers that `addr` answered.
    pub(crate) fn mark_ok(&mut self, addr: &NodeAddr) {
        if let Some(i) = self.find(addr) {
            self.entries[i].failed_at = None;
        }
    }

    /// Records that `addr` said it is leaving (`-LEAVING`).
    pub(crate) fn mark_leaving(&mut self, addr: &NodeAddr) {
        if let Some(i) = self.find(addr) {
            let e = &mut self.entries[i];
            e.priority = e.priority.max(LEAVING_PRIORITY);
        }
    }

    /// The address of the node whose id starts with `prefix` (a job id's node part).
    pub(crate) fn addr_of_prefix(&self, prefix: &str) -> Option<Arc<NodeAddr>> {
        self.entries
            .iter()
            .find(|e| e.id.as_deref().is_some_and(|id| id.starts_with(prefix)))
            .map(|e| Arc::clone(&e.addr))
    }

    /// Takes in a HELLO answered by the node at `answered_by`: its id and
    /// priority, then every other node it lists with an address. Nodes
    /// learnt from an earlier HELLO and no longer listed are forgotten
    /// (seeds stay).
    pub(crate) fn update(&mut self, answered_by: &NodeAddr, hello: &Hello) {
        let mut listed: Vec<usize> = Vec::new();
        if let Some(i) = self.find(answered_by) {
            // Another entry may carry this id from an earlier HELLO under
            // another address (the cluster's view of it): keep one.
            self.entries[i].id = Some(hello.id.clone());
            listed.push(i);
        }
        for node in &hello.nodes {
            if node.id == hello.id {
                if let Some(i) = self.find(answered_by) {
                    self.entries[i].priority = node.priority;
                }
                continue;
            }
            let by_id = self
                .entries
                .iter()
                .position(|e| e.id.as_deref() == Some(node.id.as_str()));
            let addr = node
                .address()
                .and_then(|a| NodeAddr::parse(&a).ok())
                .filter(|a| a.port != 0);
            let index = match (by_id, addr) {
                (Some(i), _) => Some(i),
                (None, Some(addr)) => match self.find(&addr) {
                    Some(i) => Some(i),
                    None => {
                        self.entries.push(Entry {
                            addr: Arc::new(addr),
                            id: None,
                            priority: node.priority,
                            seed: false,
                            failed_at: None,
                        });
                        Some(self.entries.len() - 1)
                    }
                },
                (None, None) => None,
            };
            if let Some(i) = index {
                let e = &mut self.entries[i];
                e.id = Some(node.id.clone());
                e.priority = node.priority;
                listed.push(i);
            }
        }
        let mut i = 0;
        self.entries.retain(|e| {
            let keep = e.seed || listed.contains(&i);
            i += 1;
            keep
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Hello;
    use redis::Value;

    fn addr(s: &str) -> NodeAddr {
        NodeAddr::parse(s).unwrap()
    }

    fn hello(me: &str, nodes: &[(&str, &str, u16, i64)]) -> Hello {
        let b = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let mut items = vec![Value::Int(1), b(me)];
        for (id, ip, port, prio) in nodes {
            items.push(Value::Array(vec![
                b(id),
                b(ip),
                b(&port.to_string()),
                b(&prio.to_string()),
            ]));
        }
        Hello::from_value(Value::Array(items)).unwrap()
    }

    const A: &str = "aaaaaaaa00000000000000000000000000000000";
    const B: &str = "bbbbbbbb00000000000000000000000000000000";
    const C: &str = "cccccccc00000000000000000000000000000000";

    #[test]
    fn hello_from_one_seed_teaches_the_others() {
        let mut t = NodeTable::from_seeds(vec![addr("127.0.0.1:1")]);
        t.update(
            &addr("127.0.0.1:1"),
            &hello(
                A,
                &[
                    (A, "", 1, 1),
                    (B, "127.0.0.1", 2, 1),
                    (C, "127.0.0.1", 3, 100),
                ],
            ),
        );
        let now = Instant::now();
        let order: Vec<String> = t.candidates(now).iter().map(|a| a.to_string()).collect();
        assert_eq!(order, ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]);
        assert_eq!(t.addr_of_prefix("bbbbbbbb").unwrap().port, 2);
        assert_eq!(t.get(&addr("127.0.0.1:1")).unwrap().id.as_deref(), Some(A));
        assert!(!t.has_better_than(&addr("127.0.0.1:1"), now));
        assert!(t.has_better_than(&addr("127.0.0.1:3"), now));
    }

    #[test]
    fn leaving_and_failed_nodes_go_last() {
        let mut t = NodeTable::from_seeds(vec![addr("h:1"), addr("h:2"), addr("h:3")]);
        let now = Instant::now();
        t.mark_leaving(&addr("h:1"));
        t.mark_failed(&addr("h:2"), now);
        let order: Vec<u16> = t.candidates(now).iter().map(|a| a.port).collect();
        assert_eq!(order, [3, 2, 1]);
        t.mark_ok(&addr("h:2"));
        let order: Vec<u16> = t.candidates(now).iter().map(|a| a.port).collect();
        assert_eq!(order, [2, 3, 1]);
        // A failure is forgotten after a while.
        t.mark_failed(&addr("h:2"), now);
        let later = now + FAILURE_MEMORY;
        assert_eq!(t.candidates(later)[0].port, 2);
    }

    #[test]
    fn a_leaving_seed_gives_way_to_a_healthy_node_it_names() {
        let mut t = NodeTable::from_seeds(vec![addr("127.0.0.1:1")]);
        t.update(
            &addr("127.0.0.1:1"),
            &hello(A, &[(A, "", 1, 100), (B, "127.0.0.1", 2, 1)]),
        );
        assert_eq!(t.candidates(Instant::now())[0].port, 2);
    }

    #[test]
    fn nodes_no_longer_listed_are_forgotten_but_seeds_stay() {
        let mut t = NodeTable::from_seeds(vec![addr("127.0.0.1:1"), addr("127.0.0.1:9")]);
        t.update(
            &addr("127.0.0.1:1"),
            &hello(A, &[(A, "", 1, 1), (B, "127.0.0.1", 2, 1)]),
        );
        assert_eq!(t.entries().len(), 3);
        t.update(&addr("127.0.0.1:1"), &hello(A, &[(A, "", 1, 1)]));
        let ports: Vec<u16> = t.entries().iter().map(|e| e.addr.port).collect();
        assert_eq!(ports, [1, 9]);
    }

    #[test]
    fn a_node_met_under_its_id_keeps_one_entry() {
        let mut t = NodeTable::from_seeds(vec![addr("127.0.0.1:1")]);
        let h = hello(A, &[(A, "", 1, 1), (B, "127.0.0.1", 2, 1)]);
        t.update(&addr("127.0.0.1:1"), &h);
        t.update(&addr("127.0.0.1:1"), &h);
        assert_eq!(t.entries().len(), 2);
    }
}
