//! Prometheus metrics (`/metrics` on the monitor port), text format via `prometheus-client`.
//!
//! The authentication metrics live here as long-lived handles (counters by reason, the token
//! age histogram, the expiring-soon gauge); server-wide counters that already exist as atomics
//! (`/varz`) are copied into a registry built per scrape, so the hot path never touches a
//! metrics lock. Ages are `now - iat` of each verified token: a negative tail means an issuer's
//! clock runs ahead of this server's (see `docs/clock-skew.md` for alerting on it).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Bucket upper bounds of the token age histogram, in seconds. Negative ages (issued "in the
/// future" by this server's clock) get buckets of their own.
pub const AGE_BUCKETS: [f64; 18] = [
    -300.0,
    -60.0,
    -30.0,
    -10.0,
    -5.0,
    -2.0,
    -1.0,
    0.0,
    1.0,
    5.0,
    30.0,
    60.0,
    300.0,
    3600.0,
    86400.0,
    604_800.0,
    2_592_000.0,
    31_536_000.0,
];

/// How long the minimum token age is remembered.
const MIN_AGE_WINDOW_SECS: i64 = 60;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Reason {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Kind {
    kind: String,
}

fn age_histogram() -> Histogram {
    Histogram::new(AGE_BUCKETS)
}

/// Authentication metrics.
#[derive(Debug)]
pub struct AuthMetrics {
    rejections: Family<Reason, Counter>,
    disconnects: Family<Reason, Counter>,
    age: Family<Kind, Histogram, fn() -> Histogram>,
    /// Per second (Unix), the smallest age seen in it; the last minute's.
    min_ages: Mutex<VecDeque<(i64, f64)>>,
    expiring_soon: Gauge,
    expiring_now: AtomicU64,
}

impl Default for AuthMetrics {
    fn default() -> Self {
        AuthMetrics {
            rejections: Family::default(),
            disconnects: Family::default(),
            age: Family::new_with_constructor(age_histogram),
            min_ages: Mutex::new(VecDeque::new()),
            expiring_soon: Gauge::default(),
            expiring_now: AtomicU64::new(0),
        }
    }
}

fn unix_secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl AuthMetrics {
    /// A connection was refused for `reason` (a stable code).
    pub fn rejected(&self, reason: &str) {
        self.rejections
            .get_or_create(&Reason {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// An authenticated connection was cut for `reason` (expired, revoked, account_expired).
    pub fn disconnected(&self, reason: &str) {
        self.disconnects
            .get_or_create(&Reason {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// How many rejections for `reason` so far.
    pub fn rejections(&self, reason: &str) -> u64 {
        self.rejections
            .get(&Reason {
                reason: reason.to_string(),
            })
            .map_or(0, |c| c.get())
    }

    /// How many disconnects for `reason` so far.
    pub fn disconnects(&self, reason: &str) -> u64 {
        self.disconnects
            .get(&Reason {
                reason: reason.to_string(),
            })
            .map_or(0, |c| c.get())
    }

    /// A token of `kind` (user, account) was verified with this age (`now - iat`, seconds).
    pub fn observe_age(&self, kind: &str, age: f64, now: SystemTime) {
        self.age
            .get_or_create(&Kind {
                kind: kind.to_string(),
            })
            .observe(age);
        let sec = unix_secs(now);
        let mut w = self.min_ages.lock().unwrap_or_else(|e| e.into_inner());
        match w.back_mut() {
            Some((s, m)) if *s == sec => *m = m.min(age),
            _ => w.push_back((sec, age)),
        }
        while w
            .front()
            .is_some_and(|(s, _)| *s <= sec - MIN_AGE_WINDOW_SECS)
        {
            w.pop_front();
        }
    }

    /// The smallest token age verified in the last minute.
    pub fn min_age(&self, now: SystemTime) -> Option<f64> {
        let sec = unix_secs(now);
        let w = self.min_ages.lock().unwrap_or_else(|e| e.into_inner());
        w.iter()
            .filter(|(s, _)| *s > sec - MIN_AGE_WINDOW_SECS)
            .map(|(_, a)| *a)
            .reduce(f64::min)
    }

    /// One more (or one fewer) connection inside its expiry warning window.
    pub fn expiring(&self, up: bool) {
        if up {
            self.expiring_now.fetch_add(1, Ordering::AcqRel);
            self.expiring_soon.inc();
        } else {
            self.expiring_now.fetch_sub(1, Ordering::AcqRel);
            self.expiring_soon.dec();
        }
    }

    /// Connections inside their expiry warning window now.
    pub fn expiring_soon(&self) -> u64 {
        self.expiring_now.load(Ordering::Acquire)
    }

    fn register(&self, r: &mut Registry, now: SystemTime) {
        r.register(
            "rnats_auth_rejections",
            "Connections refused at authentication, by reason code",
            self.rejections.clone(),
        );
        r.register(
            "rnats_auth_disconnects",
            "Authenticated connections cut by the server, by reason (expired, revoked, \
             account_expired)",
            self.disconnects.clone(),
        );
        r.register(
            "rnats_jwt_age_at_verify_seconds",
            "now - iat of each verified JWT, by kind; negative: the issuer's clock runs ahead",
            self.age.clone(),
        );
        let min = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        min.set(self.min_age(now).unwrap_or(f64::NAN));
        r.register(
            "rnats_jwt_min_age_at_verify_seconds",
            "The smallest JWT age verified in the last minute (NaN: none verified)",
            min,
        );
        r.register(
            "rnats_connections_expiring_soon",
            "Connections whose user JWT expires within max(30s, 10% of its lifetime)",
            self.expiring_soon.clone(),
        );
    }
}

/// The Prometheus text exposition of the server's metrics.
pub fn render(s: &crate::server::Server) -> String {
    let now = s.clock.now();
    let mut r = Registry::default();
    let st = &s.stats;
    let counter = |v: u64| {
        let c: Counter = Counter::default();
        c.inc_by(v);
        c
    };
    let gauge = |v: i64| {
        let g: Gauge = Gauge::default();
        g.set(v);
        g
    };
    r.register(
        "rnats_connections",
        "Client connections open now",
        gauge(s.num_clients() as i64),
    );
    for (name, help, v) in [
        (
            "rnats_connections_accepted",
            "Client connections accepted since start",
            &st.total_connections,
        ),
        (
            "rnats_in_msgs",
            "Messages received from clients",
            &st.in_msgs,
        ),
        (
            "rnats_in_bytes",
            "Payload bytes received from clients",
            &st.in_bytes,
        ),
        (
            "rnats_out_msgs",
            "Messages delivered to clients",
            &st.out_msgs,
        ),
        (
            "rnats_out_bytes",
            "Payload bytes delivered to clients",
            &st.out_bytes,
        ),
        (
            "rnats_slow_consumers",
            "Connections cut as slow consumers",
            &st.slow_consumers,
        ),
    ] {
        r.register(name, help, counter(v.load(Ordering::Relaxed)));
    }
    st.auth.register(&mut r, now);
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &r).is_err() {
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn min_age_covers_the_last_minute_only() {
        let m = AuthMetrics::default();
        let t = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(m.min_age(t), None);
        m.observe_age("user", -8.0, t);
        m.observe_age("user", 3.0, t + Duration::from_secs(1));
        assert_eq!(m.min_age(t + Duration::from_secs(1)), Some(-8.0));
        assert_eq!(m.min_age(t + Duration::from_secs(59)), Some(-8.0));
        assert_eq!(m.min_age(t + Duration::from_secs(60)), Some(3.0));
        assert_eq!(m.min_age(t + Duration::from_secs(61)), None);
    }

    #[test]
    fn counts_by_reason() {
        let m = AuthMetrics::default();
        m.rejected("expired");
        m.rejected("expired");
        m.disconnected("revoked");
        assert_eq!(m.rejections("expired"), 2);
        assert_eq!(m.rejections("revoked"), 0);
        assert_eq!(m.disconnects("revoked"), 1);
        m.expiring(true);
        m.expiring(true);
        m.expiring(false);
        assert_eq!(m.expiring_soon(), 1);
    }
}
