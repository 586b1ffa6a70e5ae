//! A small log rate limiter: at most `per_sec` lines per second for a noisy event (such as
//! authentication failures during a credential-stuffing burst); what was suppressed is counted
//! and reported with the next line that gets through, so nothing is silently lost.

use std::sync::atomic::{AtomicU64, Ordering};

/// Allows `per_sec` events per wall-clock second.
#[derive(Debug)]
pub struct RateLimiter {
    per_sec: u64,
    second: AtomicU64,
    count: AtomicU64,
    suppressed: AtomicU64,
}

impl RateLimiter {
    /// A limiter allowing `per_sec` lines per second.
    pub const fn new(per_sec: u64) -> Self {
        RateLimiter {
            per_sec,
            second: AtomicU64::new(0),
            count: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Whether to log now (`now_secs`: seconds since any fixed origin). `Some(n)`: log, and
    /// mention the `n` lines suppressed since the last one that got through.
    pub fn allow_at(&self, now_secs: u64) -> Option<u64> {
        if self.second.swap(now_secs, Ordering::AcqRel) != now_secs {
            self.count.store(0, Ordering::Release);
        }
        if self.count.fetch_add(1, Ordering::AcqRel) < self.per_sec {
            Some(self.suppressed.swap(0, Ordering::AcqRel))
        } else {
            self.suppressed.fetch_add(1, Ordering::AcqRel);
            None
        }
    }

    /// [`Self::allow_at`] with the system clock.
    pub fn allow(&self) -> Option<u64> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.allow_at(now)
    }
}

/// Authentication failure lines: at most 100 per second.
pub static AUTH_ERRORS: RateLimiter = RateLimiter::new(100);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_second_and_reports_suppressed() {
        let r = RateLimiter::new(2);
        assert_eq!(r.allow_at(10), Some(0));
        assert_eq!(r.allow_at(10), Some(0));
        assert_eq!(r.allow_at(10), None);
        assert_eq!(r.allow_at(10), None);
        assert_eq!(r.allow_at(11), Some(2));
        assert_eq!(r.allow_at(11), Some(0));
        assert_eq!(r.allow_at(11), None);
    }
}
