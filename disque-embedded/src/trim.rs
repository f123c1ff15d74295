//! Giving freed memory back to the OS once the load falls (issue 13).
//!
//! glibc's malloc keeps freed small allocations in its arenas, and on its
//! own returns only free memory at the top of the main heap: after 200,000
//! jobs of 1 KiB were added and acknowledged the node kept ≈ 95 % of its
//! peak RSS. `malloc_trim(0)` walks every arena and gives every free page
//! back (`madvise(MADV_DONTNEED)`). The timer task asks [`Policy::due`]
//! every tick whether the accounted memory fell well below its high point
//! since the last trim, and calls [`release`] when it did (unless
//! [`Config::trim_memory`](crate::Config::trim_memory) is off). Only on
//! Linux with glibc; elsewhere [`SUPPORTED`] is false and nothing is done.
//!
//! This is the only module of the workspace allowed `unsafe` (see the
//! workspace's `Cargo.toml`), for one call.

/// Whether [`release`] does anything on this target (Linux with glibc).
pub const SUPPORTED: bool = cfg!(all(target_os = "linux", target_env = "gnu"));

/// No trim unless the accounted memory reached this much since the last
/// one: below it the pages to win are few and not worth a walk of the heap.
pub const MIN_PEAK: usize = 16 << 20;

/// At most one trim per this many milliseconds.
pub const MIN_INTERVAL_MS: u64 = 1000;

/// When to trim: the accounted memory (INFO's `used_memory`) fell under
/// half of its high point since the last trim, that high point was at
/// least [`MIN_PEAK`], and the last trim is [`MIN_INTERVAL_MS`] old.
/// Since the high point starts again from the memory in use after each
/// trim, a steady load never triggers one, and a load that rises and falls
/// triggers one per fall.
#[derive(Debug, Default)]
pub struct Policy {
    /// When the last trim ran (the node's clock, ms), if any.
    last_ms: Option<u64>,
}

impl Policy {
    /// Whether to trim now, with `used` bytes accounted and `peak` the
    /// highest accounted since the last trim.
    pub fn due(&self, used: usize, peak: usize, now_ms: u64) -> bool {
        peak >= MIN_PEAK
            && used < peak / 2
            && self
                .last_ms
                .is_none_or(|last| now_ms.saturating_sub(last) >= MIN_INTERVAL_MS)
    }

    /// A trim ran at `now_ms`.
    pub fn trimmed(&mut self, now_ms: u64) {
        self.last_ms = Some(now_ms);
    }
}

/// Gives the free pages of every malloc arena back to the OS. (glibc's
/// answer, whether anything was released, is only a hint: the RSS before
/// and after, logged at debug by the caller, tells what happened.)
///
/// Process-wide: in a process that embeds the node it trims the whole
/// process's heap, which only costs the walk (memory in use is never
/// touched). With another global allocator (jemalloc, mimalloc) it finds
/// glibc's heap almost empty and does next to nothing.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn release() {
    // SAFETY: `malloc_trim` is a plain C function of glibc (declared by the
    // `libc` crate for linux-gnu targets, the only ones this compiles on)
    // taking an integer by value: no pointer is passed, so no Rust
    // invariant about memory or lifetimes is involved. glibc documents it
    // MT-Safe: it locks each arena's mutex while trimming that arena, the
    // same lock every malloc/free of that arena takes, so it is sound while
    // other threads allocate and free. It releases only chunks that are
    // already free (whole pages inside them are `madvise`d away, and the
    // top of a heap shrunk); no live allocation is moved or unmapped, so
    // every pointer Rust holds stays valid. We are not in a signal handler
    // (it is not async-signal-safe). The returned int (1 if memory was
    // released) is only a hint and is dropped.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Gives the free pages of every malloc arena back to the OS: nothing to
/// do on this target (see [`SUPPORTED`]).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release() {}

/// The process's resident set size in bytes (`/proc/self/statm`), 0 where
/// that file does not exist.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: usize = 1 << 20;

    #[test]
    fn trims_once_memory_fell_under_half_of_a_peak_over_the_floor() {
        let p = Policy::default();
        assert!(p.due(100 * MB, 250 * MB, 0));
        assert!(p.due(0, MIN_PEAK, 0));
        // Not halved.
        assert!(!p.due(125 * MB, 250 * MB, 0));
        assert!(!p.due(200 * MB, 250 * MB, 0));
        assert!(!p.due(250 * MB, 250 * MB, 0));
        // A peak under the floor: never.
        assert!(!p.due(0, MIN_PEAK - 1, 0));
        assert!(!p.due(0, 0, 0));
    }

    #[test]
    fn trims_at_most_once_per_interval() {
        let mut p = Policy::default();
        assert!(p.due(10 * MB, 100 * MB, 5_000));
        p.trimmed(5_000);
        assert!(!p.due(10 * MB, 100 * MB, 5_000));
        assert!(!p.due(10 * MB, 100 * MB, 5_000 + MIN_INTERVAL_MS - 1));
        assert!(p.due(10 * MB, 100 * MB, 5_000 + MIN_INTERVAL_MS));
        // A clock that went back (it never does) does not trim early.
        assert!(!p.due(10 * MB, 100 * MB, 4_000));
    }

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn freed_pages_inside_the_heap_go_back_to_the_os() {
        // 32 MiB in 1 KiB blocks (inside one heap of a thread's arena, which
        // is at most 64 MiB), then one block after them: once they are freed
        // the free space sits inside the heap, where glibc does not return
        // it by itself.
        let blocks: Vec<Vec<u8>> = (0..32_768)
            .map(|i| vec![(i % 255 + 1) as u8; 1024])
            .collect();
        let pin = vec![1u8; 1024];
        drop(blocks);
        let before = rss_bytes();
        release();
        let after = rss_bytes();
        assert!(
            before >= after + 16 * MB as u64,
            "RSS {} MB before the trim, {} MB after",
            before / MB as u64,
            after / MB as u64
        );
        assert_eq!(pin[1023], 1);
    }

    #[test]
    fn release_leaves_memory_in_use_untouched() {
        let held: Vec<Vec<u8>> = (0..1000).map(|i| vec![i as u8; 1024]).collect();
        release();
        assert!(held.iter().enumerate().all(|(i, v)| v[1023] == i as u8));
    }
}
