//! [`JobSet`]: several job types consumed together.

use crate::{delivery::Delivery, error::Error};

/// Several job types consumed together, highest priority first: an enum whose
/// variants each hold a `Delivery<J>` of one job type. Derive it:
///
#[cfg_attr(feature = "derive", doc = "```")]
#[cfg_attr(not(feature = "derive"), doc = "```ignore")]
/// use disque::{Delivery, Job, JobSet};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Job)]
/// #[job(queue = "low", priority = 1)]
/// struct Low;
///
/// #[derive(Serialize, Deserialize, Job)]
/// #[job(queue = "urgent", priority = 10)]
/// struct Urgent;
///
/// #[derive(JobSet)]
/// enum Work {
///     Low(Delivery<Low>),
///     Urgent(Delivery<Urgent>),
/// }
///
/// assert_eq!(Work::queues(), ["urgent", "low"]);
/// ```
///
/// Consumers `match` on the enum, so the compiler refuses a consumer that
/// forgets one of the job types it takes:
///
/// ```compile_fail,E0004
/// # use disque::{Delivery, Job, JobSet};
/// # #[derive(serde::Serialize, serde::Deserialize, Job)]
/// # #[job(queue = "low", priority = 1)]
/// # struct Low;
/// # #[derive(serde::Serialize, serde::Deserialize, Job)]
/// # #[job(queue = "urgent", priority = 10)]
/// # struct Urgent;
/// # #[derive(JobSet)]
/// # enum Work { Low(Delivery<Low>), Urgent(Delivery<Urgent>) }
/// fn handle(work: Work) {
///     match work {
///         Work::Urgent(_job) => {}
///         // error[E0004]: non-exhaustive patterns: `Work::Low(_)` not covered
///     }
/// }
/// ```
pub trait JobSet: Sized + Send + 'static {
    /// The queues of the member types, highest priority first (the `GETJOB … FROM` order).
    fn queues() -> Vec<&'static str>;
    /// Decodes a raw delivery as the member type of the queue it came from.
    fn from_delivery(delivery: Delivery<Vec<u8>>) -> Result<Self, Error>;
}

/// Helpers for the code `#[derive(JobSet)]` generates (reached through `disque::__private`).
#[doc(hidden)]
pub mod support {
    use crate::{delivery::Delivery, error::DecodeFailure, error::Error};

    /// The queues of `(priority, queue)` members, highest priority first, ties
    /// in declaration order.
    pub fn queues_by_priority(members: &[(i64, &'static str)]) -> Vec<&'static str> {
        let mut sorted = members.to_vec();
        sorted.sort_by_key(|&(priority, _)| std::cmp::Reverse(priority));
        sorted.into_iter().map(|(_, queue)| queue).collect()
    }

    /// The error for a delivery from a queue no member of the set takes from.
    pub fn foreign_queue(
        set: &str,
        delivery: &Delivery<Vec<u8>>,
        queues: &[&'static str],
    ) -> Error {
        let reason = format!("expected a job from one of the queues of `{set}` {queues:?}");
        Error::Decode(Box::new(DecodeFailure::of(delivery, 0, None, reason)))
    }

    /// `a == b`, usable in constants (member queues must differ).
    pub const fn same_str(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::support::*;

    #[test]
    fn queues_sorted_by_priority_ties_in_order() {
        let queues = queues_by_priority(&[(1, "a"), (5, "b"), (1, "c"), (-3, "d"), (5, "e")]);
        assert_eq!(queues, ["b", "e", "a", "c", "d"]);
    }

    #[test]
    fn same_str_compares_bytes() {
        assert!(same_str("abc", "abc"));
        assert!(!same_str("abc", "abd"));
        assert!(!same_str("ab", "abc"));
    }
}
