//! Consumer affinity: which node produces most of the jobs a consumer receives.
//!
//! Every job id names the node that created it ([`JobId::node_prefix`]). A
//! consumer whose jobs mostly come from another node gets them only after
//! Disque's federation moved them; blocking where they are produced saves that
//! hop (disque-rb's `cycle`, spinach's `QueueListener`). The client counts the
//! prefixes of the jobs it receives in rounds of [`ROUND`] jobs; when, over one
//! round, more than half came from one node that is not the one the blocking
//! connections go to, it suggests moving there.
//!
//! [`JobId::node_prefix`]: crate::JobId::node_prefix

use std::collections::HashMap;

/// Jobs counted before deciding.
pub(crate) const ROUND: u32 = 32;

/// Counts of node prefixes over the current round.
#[derive(Debug, Default)]
pub(crate) struct Affinity {
    counts: HashMap<String, u32>,
    seen: u32,
}

impl Affinity {
    /// Counts one received job created by the node with `prefix`. At the end
    /// of a round, returns the prefix that produced more than half of it if
    /// that is not `current` (the prefix of the node consumers block on).
    pub(crate) fn record(&mut self, prefix: &str, current: Option<&str>) -> Option<String> {
        match self.counts.get_mut(prefix) {
            Some(n) => *n += 1,
            None => {
                self.counts.insert(prefix.to_owned(), 1);
            }
        }
        self.seen += 1;
        if self.seen < ROUND {
            return None;
        }
        let top = self
            .counts
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(p, n)| (p.clone(), *n));
        self.counts.clear();
        self.seen = 0;
        let (prefix, n) = top?;
        (n * 2 > ROUND && current.is_none_or(|c| !c.starts_with(prefix.as_str()))).then_some(prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_node_producing_most_jobs_after_a_round() {
        let mut a = Affinity::default();
        let mut suggested = None;
        for i in 0..ROUND {
            let p = if i % 4 == 0 { "bbbbbbbb" } else { "aaaaaaaa" };
            suggested = a.record(p, Some("bbbbbbbb00ff"));
            if i + 1 < ROUND {
                assert_eq!(suggested, None);
            }
        }
        assert_eq!(suggested.as_deref(), Some("aaaaaaaa"));
    }

    #[test]
    fn stays_when_most_jobs_are_local_or_none_dominates() {
        let mut a = Affinity::default();
        for _ in 0..ROUND {
            assert_eq!(a.record("aaaaaaaa", Some("aaaaaaaa1234")), None);
        }
        for i in 0..ROUND {
            let p = ["aaaaaaaa", "bbbbbbbb", "cccccccc"][(i % 3) as usize];
            assert_eq!(a.record(p, Some("dddddddd")), None);
        }
    }
}
