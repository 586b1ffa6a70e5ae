//! Giving freed memory back to the system after big releases.
//!
//! glibc keeps freed heap memory in its arenas (one per thread that allocated) for reuse, so
//! after a slow consumer's backlog — up to `max_pending`, 64 MiB by default — or a flood's queue
//! of `-ERR` lines is freed, the server's RSS can stay that much higher until the allocator
//! happens to reuse it. Whether glibc gives it back by itself depends on what else sits at the
//! top of the heap, so it differs from run to run.
//!
//! The places that drop connection buffers report the bytes here: a closing connection's whole
//! backlog and read buffer, the buffers a writer does not keep after a write, a read buffer that
//! grew for a big message, and staging buffers a publisher does not keep. Once [`TRIM_AFTER`]
//! bytes have been released since the last trim, a trimmer task waits until no buffer has been
//! released for [`QUIET`] (at most [`MAX_WAIT`]) and then runs `malloc_trim(0)` on a blocking
//! thread (it walks the arenas under their locks): it returns the free pages inside every arena
//! and the free top of the main one. Waiting for quiet matters: while traffic keeps freeing and
//! allocating big buffers (64 KiB messages, say), the memory is in use and a trim would only
//! make the next allocations fault their pages in again. There is one trimmer at a time; bytes
//! released while it trims are counted towards the next round.
//!
//! The server binary also fixes glibc's thresholds at startup ([`tune`]). By default glibc
//! adjusts them as it goes and gives the top of each arena back to the system whenever 128 KiB
//! or more is free there; a busy server then returns and re-faults the same pages all the time
//! (60,000–100,000 page faults for 2 M messages of 1 KiB, one publisher to one subscriber,
//! against about 7,000 with fixed thresholds; 0.82× the server CPU per message). With an 8 MiB
//! trim threshold and a 32 MiB mmap threshold the heap keeps what traffic reuses. The trim
//! threshold is also what the top of a thread's arena keeps after a burst, since `malloc_trim`
//! does not shrink those tops: 64 MiB was as fast, but left a slow consumer's backlog in memory.
//!
//! These are the crate's only `unsafe` calls: foreign functions that take no pointer.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Released bytes that are worth a trim.
pub const TRIM_AFTER: usize = 4 << 20;

/// How long no buffer may have been released before a trim runs.
pub const QUIET: Duration = Duration::from_millis(250);

/// The longest a trim waits for quiet once enough was released.
pub const MAX_WAIT: Duration = Duration::from_secs(2);

/// Bytes released since the last trim began, and whether a trimmer task is running.
pub struct Released {
    bytes: AtomicUsize,
    trimming: AtomicBool,
}

impl Released {
    /// Nothing released, no trimmer.
    pub const fn new() -> Self {
        Self {
            bytes: AtomicUsize::new(0),
            trimming: AtomicBool::new(false),
        }
    }

    /// Count `bytes`; true when the caller must start the trimmer (enough released, none
    /// running).
    pub fn add(&self, bytes: usize) -> bool {
        if bytes == 0 {
            return false;
        }
        let total = self
            .bytes
            .fetch_add(bytes, Ordering::AcqRel)
            .saturating_add(bytes);
        total >= TRIM_AFTER && !self.trimming.swap(true, Ordering::AcqRel)
    }

    /// Bytes released since the last trim began: the trimmer compares two readings to see
    /// whether releases are still going on.
    pub fn since_trim(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }

    /// The trimmer is about to trim: what was released so far is covered by it.
    pub fn begin(&self) {
        self.bytes.store(0, Ordering::Release);
    }

    /// The trimmer has trimmed: true when it must trim again (enough was released
    /// meanwhile and no other trimmer took over), false when it stops. The flag is cleared
    /// with a read-modify-write, so it is ordered with `add`'s: either `add` sees the flag
    /// clear and starts a trimmer, or this sees its bytes.
    pub fn again(&self) -> bool {
        self.trimming.swap(false, Ordering::AcqRel);
        self.bytes.load(Ordering::Acquire) >= TRIM_AFTER
            && !self.trimming.swap(true, Ordering::AcqRel)
    }

    /// The trimmer stops without trimming (no runtime, a failed or cancelled task): the
    /// next release that reaches the threshold starts a new one.
    pub fn cancel(&self) {
        self.trimming.swap(false, Ordering::AcqRel);
    }
}

impl Default for Released {
    fn default() -> Self {
        Self::new()
    }
}

static RELEASED: Released = Released::new();

/// Clears the trimming flag if the trimmer task ends without saying so (its runtime shut
/// down while it waited).
struct Trimmer {
    done: bool,
}

impl Drop for Trimmer {
    fn drop(&mut self) {
        if !self.done {
            RELEASED.cancel();
        }
    }
}

/// After `bytes` of buffers were freed: count them, and start a trim if enough were released
/// and none is running. Returns whether a trim was started.
pub fn after_release(bytes: usize) -> bool {
    if !RELEASED.add(bytes) {
        return false;
    }
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        RELEASED.cancel();
        return false;
    };
    rt.spawn(async {
        let mut guard = Trimmer { done: false };
        loop {
            // Wait for a quiet moment, but not for ever: a server that keeps releasing (steady
            // connection churn, say) still trims every MAX_WAIT.
            let until = tokio::time::Instant::now() + MAX_WAIT;
            loop {
                let seen = RELEASED.since_trim();
                tokio::time::sleep(QUIET).await;
                if RELEASED.since_trim() == seen || tokio::time::Instant::now() >= until {
                    break;
                }
            }
            RELEASED.begin();
            tracing::debug!("Returning freed heap memory to the system (malloc_trim)");
            if tokio::task::spawn_blocking(trim).await.is_err() {
                break;
            }
            if !RELEASED.again() {
                guard.done = true;
                return;
            }
        }
        // The blocking trim failed (runtime shutting down): the guard clears the flag.
        drop(guard);
    });
    true
}

/// Keep at most `max` of the items `keep` accepts, in order; returns the bytes (`size`) of
/// those dropped, for [`after_release`].
pub fn keep_counting<T>(
    items: &mut Vec<T>,
    max: usize,
    size: impl Fn(&T) -> usize,
    keep: impl Fn(&T) -> bool,
) -> usize {
    let mut dropped = 0;
    let mut kept = 0;
    items.retain(|it| {
        let stays = kept < max && keep(it);
        if stays {
            kept += 1;
        } else {
            dropped += size(it);
        }
        stays
    });
    dropped
}

/// glibc's automatic trim threshold, fixed by [`tune`].
pub const TRIM_THRESHOLD: usize = 8 << 20;

/// glibc's mmap threshold, fixed by [`tune`]: buffers below it come from the heap.
pub const MMAP_THRESHOLD: usize = 32 << 20;

/// Fix glibc's trim and mmap thresholds (see the module docs). Returns whether both were
/// accepted (false off glibc).
///
/// # Safety
/// No other thread may be running: glibc documents `mallopt` as MT-Unsafe (it writes settings
/// that other threads' `malloc` and `free` read without a lock). Call it first thing in `main`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub unsafe fn tune() -> bool {
    let set = |param: libc::c_int, value: usize| {
        let value = libc::c_int::try_from(value).unwrap_or(libc::c_int::MAX);
        // SAFETY: the caller guarantees no other thread runs (see above); `mallopt` takes two
        // integers, and the values are within what glibc accepts on 64-bit systems (32 MiB is
        // its largest mmap threshold; elsewhere it refuses and returns 0).
        unsafe { libc::mallopt(param, value) == 1 }
    };
    set(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) & set(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD)
}

/// Fix glibc's trim and mmap thresholds; nothing elsewhere.
///
/// # Safety
/// None needed; `unsafe` only to match the glibc version.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
#[allow(unsafe_code)]
pub unsafe fn tune() -> bool {
    false
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

    /// `tune` must run with no other thread at work, so it runs in a child process of this
    /// test binary that runs this one test alone.
    #[test]
    fn glibc_takes_the_thresholds() {
        const CHILD: &str = "RNATS_MEMTRIM_TUNE_CHILD";
        if std::env::var_os(CHILD).is_some() {
            // SAFETY: the only test of this child process; libtest's main thread, the one
            // other thread, is blocked waiting for this test's result.
            #[allow(unsafe_code)]
            let ok = unsafe { tune() };
            assert_eq!(ok, cfg!(all(target_os = "linux", target_env = "gnu")));
            return;
        }
        let exe = std::env::current_exe().expect("test binary");
        let status = std::process::Command::new(exe)
            .args([
                "--exact",
                "memtrim::tests::glibc_takes_the_thresholds",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run the child");
        assert!(status.success(), "child: {status}");
    }

    #[test]
    fn keep_counting_keeps_the_first_accepted_and_counts_the_rest() {
        let mut v: Vec<Vec<u8>> = [10, 500, 20, 30, 40].iter().map(|&n| vec![0; n]).collect();
        let dropped = keep_counting(&mut v, 2, Vec::len, |b| b.len() < 100);
        assert_eq!(v.iter().map(Vec::len).collect::<Vec<_>>(), [10, 20]);
        assert_eq!(dropped, 500 + 30 + 40);
    }

    #[test]
    fn a_cancelled_trimmer_lets_the_next_one_start() {
        let r = Released::new();
        assert!(r.add(TRIM_AFTER));
        r.cancel();
        assert!(r.add(1), "the flag is clear again");
    }

    #[test]
    fn small_releases_add_up_to_one_trim() {
        let r = Released::new();
        assert!(!r.add(0));
        assert!(!r.add(TRIM_AFTER - 1));
        assert!(
            r.add(1),
            "the byte that reaches the threshold starts the trimmer"
        );
        assert!(!r.add(TRIM_AFTER), "one trimmer at a time");
        r.begin();
        assert!(!r.again(), "nothing released since the trim began");
        assert!(!r.add(TRIM_AFTER / 2));
        assert!(
            r.add(TRIM_AFTER / 2),
            "a new trimmer once the last one stopped"
        );
    }

    #[test]
    fn releases_during_a_trim_make_the_trimmer_go_again() {
        let r = Released::new();
        assert!(r.add(TRIM_AFTER));
        let seen = r.since_trim();
        assert!(!r.add(1), "counted, but the trimmer is already waiting");
        assert_ne!(
            r.since_trim(),
            seen,
            "the waiting trimmer sees releases go on"
        );
        r.begin();
        assert_eq!(r.since_trim(), 0);
        assert!(
            !r.add(TRIM_AFTER),
            "counted, but the running trimmer covers it"
        );
        assert!(r.again());
        r.begin();
        assert!(!r.again());
    }
}
