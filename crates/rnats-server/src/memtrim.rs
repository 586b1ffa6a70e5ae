//! Giving freed memory back to the system after a big release.
//!
//! glibc keeps freed heap memory in its arenas (one per thread that allocated) for reuse, so
//! after a slow consumer's backlog — up to `max_pending`, 64 MiB by default — is freed, the
//! server's RSS stays that much higher until the allocator happens to reuse it. When a closed
//! connection gives back at least [`TRIM_AFTER`] bytes, `malloc_trim(0)` returns the free pages
//! of every arena. It runs on a blocking thread (it walks the arenas under their locks), one at
//! a time; releases during a trim are covered by it or by the next big one.
//!
//! This is the one `unsafe` call of the crate: a foreign function that takes no pointer.

use std::sync::atomic::{AtomicBool, Ordering};

/// Released bytes that are worth a trim.
pub const TRIM_AFTER: usize = 4 << 20;

static TRIMMING: AtomicBool = AtomicBool::new(false);

/// After `bytes` of buffers were freed: trim if that is a lot and no trim is running.
/// Returns whether a trim was started.
pub fn after_release(bytes: usize) -> bool {
    if bytes < TRIM_AFTER || TRIMMING.swap(true, Ordering::AcqRel) {
        return false;
    }
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        TRIMMING.store(false, Ordering::Release);
        return false;
    };
    rt.spawn_blocking(|| {
        trim();
        TRIMMING.store(false, Ordering::Release);
    });
    true
}

/// Return free heap pages to the system (glibc); nothing elsewhere.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn trim() {
    // SAFETY: `malloc_trim` takes no pointer and touches only glibc's own arenas, under their
    // locks; glibc documents it as safe to call from any thread at any time (MT-Safe).
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Return free heap pages to the system (glibc); nothing elsewhere.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn trim() {}

#[cfg(test)]
mod tests {
    use super::*;

    fn rss_kib() -> Option<u64> {
        let s = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    #[test]
    fn trim_returns_freed_heap_pages() {
        // 64 MiB in 64 KiB buffers (below the mmap threshold: heap memory glibc keeps), all
        // touched, then freed except the last one, which pins the top of the heap.
        let mut bufs: Vec<Vec<u8>> = (0..1024).map(|i| vec![i as u8; 64 << 10]).collect();
        let pin = bufs.pop();
        let before = rss_kib();
        drop(bufs);
        trim();
        let after = rss_kib();
        drop(pin);
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            let (before, after) = (before.expect("rss"), after.expect("rss"));
            assert!(
                after + 32 * 1024 < before,
                "RSS {before} KiB before the trim, {after} KiB after"
            );
        }
    }

    #[test]
    fn small_releases_do_not_trim() {
        assert!(!after_release(TRIM_AFTER - 1));
    }
}
