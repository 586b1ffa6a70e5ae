//! Prometheus metrics (`/metrics` on the monitor port), in Prometheus' text format (0.0.4)
//! via the `prometheus` crate.
//!
//! The authentication metrics live here as long-lived handles (counters by reason, the token
//! age histogram, the expiring-soon gauge); server-wide counters that already exist as atomics
//! (`/varz`) are copied into a registry built per scrape, so the hot path never touches a
//! metrics lock. Ages are `now - iat` of each verified token: a negative tail means an issuer's
//! clock runs ahead of this server's (see `docs/clock-skew.md` for alerting on it). The classic
//! text format is used because OpenMetrics forbids a histogram `_sum` next to negative buckets.

use prometheus::core::Collector;
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
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

/// Metric definitions are constants: building them cannot fail at run time.
const VALID: &str = "a constant, valid metric definition";

/// Authentication metrics.
#[derive(Debug)]
pub struct AuthMetrics {
    rejections: IntCounterVec,
    disconnects: IntCounterVec,
    age: HistogramVec,
    /// Per second (Unix), the smallest age seen in it; the last minute's.
    min_ages: Mutex<VecDeque<(i64, f64)>>,
    expiring_soon: IntGauge,
}

impl Default for AuthMetrics {
    fn default() -> Self {
        AuthMetrics {
            rejections: IntCounterVec::new(
                Opts::new(
                    "rnats_auth_rejections_total",
                    "Connections refused at authentication, by reason code",
                ),
                &["reason"],
            )
            .expect(VALID),
            disconnects: IntCounterVec::new(
                Opts::new(
                    "rnats_auth_disconnects_total",
                    "Authenticated connections cut by the server, by reason code (expired, \
                     account_expired, revoked, bearer_not_allowed, issuer_not_signing_key, \
                     max_account_connections, or a static-auth code after a reload)",
                ),
                &["reason"],
            )
            .expect(VALID),
            age: HistogramVec::new(
                HistogramOpts::new(
                    "rnats_jwt_age_at_verify_seconds",
                    "now - iat of each verified JWT, by kind; negative: the issuer's clock runs \
                     ahead",
                )
                .buckets(AGE_BUCKETS.to_vec()),
                &["kind"],
            )
            .expect(VALID),
            min_ages: Mutex::new(VecDeque::new()),
            expiring_soon: IntGauge::new(
                "rnats_connections_expiring_soon",
                "Connections whose user JWT expires within max(30s, 10% of its lifetime)",
            )
            .expect(VALID),
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
        self.rejections.with_label_values(&[reason]).inc();
    }

    /// An authenticated connection was cut for `reason`.
    pub fn disconnected(&self, reason: &str) {
        self.disconnects.with_label_values(&[reason]).inc();
    }

    /// How many rejections for `reason` so far.
    pub fn rejections(&self, reason: &str) -> u64 {
        self.rejections.with_label_values(&[reason]).get()
    }

    /// How many disconnects for `reason` so far.
    pub fn disconnects(&self, reason: &str) -> u64 {
        self.disconnects.with_label_values(&[reason]).get()
    }

    /// A token of `kind` (user, account) was verified with this age (`now - iat`, seconds).
    pub fn observe_age(&self, kind: &str, age: f64, now: SystemTime) {
        self.age.with_label_values(&[kind]).observe(age);
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
            self.expiring_soon.inc();
        } else {
            self.expiring_soon.dec();
        }
    }

    /// Connections inside their expiry warning window now.
    pub fn expiring_soon(&self) -> u64 {
        self.expiring_soon.get().max(0) as u64
    }

    fn register(&self, r: &Registry, now: SystemTime) {
        let min = Gauge::new(
            "rnats_jwt_min_age_at_verify_seconds",
            "The smallest JWT age verified in the last minute (NaN: none verified)",
        )
        .expect(VALID);
        min.set(self.min_age(now).unwrap_or(f64::NAN));
        add(r, self.rejections.clone());
        add(r, self.disconnects.clone());
        add(r, self.age.clone());
        add(r, min);
        add(r, self.expiring_soon.clone());
    }
}

/// Register a collector (names are distinct constants; a clash would only drop the metric).
fn add(r: &Registry, c: impl Collector + 'static) {
    let _ = r.register(Box::new(c));
}

fn counter(name: &str, help: &str, v: u64) -> IntCounter {
    let c = IntCounter::new(name, help).expect(VALID);
    c.inc_by(v);
    c
}

fn gauge(name: &str, help: &str, v: i64) -> IntGauge {
    let g = IntGauge::new(name, help).expect(VALID);
    g.set(v);
    g
}

/// The Prometheus text exposition of the server's metrics.
pub fn render(s: &crate::server::Server) -> String {
    let now = s.clock.now();
    let r = Registry::new();
    let st = &s.stats;
    add(
        &r,
        gauge(
            "rnats_connections",
            "Client connections open now",
            s.num_clients() as i64,
        ),
    );
    for (name, help, v) in [
        (
            "rnats_connections_accepted_total",
            "Client connections accepted since start",
            &st.total_connections,
        ),
        (
            "rnats_in_msgs_total",
            "Messages received from clients",
            &st.in_msgs,
        ),
        (
            "rnats_in_bytes_total",
            "Payload bytes received from clients",
            &st.in_bytes,
        ),
        (
            "rnats_out_msgs_total",
            "Messages delivered to clients",
            &st.out_msgs,
        ),
        (
            "rnats_out_bytes_total",
            "Payload bytes delivered to clients",
            &st.out_bytes,
        ),
        (
            "rnats_slow_consumers_total",
            "Connections cut as slow consumers",
            &st.slow_consumers,
        ),
        (
            "rnats_stale_connections_total",
            "Connections closed as stale (no PONG)",
            &st.stale_connections,
        ),
    ] {
        add(&r, counter(name, help, v.load(Ordering::Relaxed)));
    }
    add(
        &r,
        gauge(
            "rnats_subscriptions",
            "Subscriptions now, all accounts",
            s.num_subscriptions() as i64,
        ),
    );
    let accounts = IntGaugeVec::new(
        Opts::new(
            "rnats_account_connections",
            "Client connections now, by account",
        ),
        &["account"],
    )
    .expect(VALID);
    let traffic = |name: &str, help: &str| {
        IntCounterVec::new(Opts::new(name, help), &["account"]).expect(VALID)
    };
    let acc_in_msgs = traffic(
        "rnats_account_in_msgs_total",
        "Messages received, by account",
    );
    let acc_in_bytes = traffic(
        "rnats_account_in_bytes_total",
        "Payload bytes received, by account",
    );
    let acc_out_msgs = traffic("rnats_account_out_msgs_total", "Messages sent, by account");
    let acc_out_bytes = traffic(
        "rnats_account_out_bytes_total",
        "Payload bytes sent, by account",
    );
    let acc_slow = traffic(
        "rnats_account_slow_consumers_total",
        "Slow consumers, by account",
    );
    for a in s.accounts() {
        let l = [a.name.as_str()];
        accounts
            .with_label_values(&l)
            .set(a.conns.load(Ordering::Relaxed));
        let st = &a.stats;
        for (m, v) in [
            (&acc_in_msgs, &st.in_msgs),
            (&acc_in_bytes, &st.in_bytes),
            (&acc_out_msgs, &st.out_msgs),
            (&acc_out_bytes, &st.out_bytes),
            (&acc_slow, &st.slow_consumers),
        ] {
            m.with_label_values(&l).inc_by(v.load(Ordering::Relaxed));
        }
    }
    add(&r, accounts);
    for m in [
        acc_in_msgs,
        acc_in_bytes,
        acc_out_msgs,
        acc_out_bytes,
        acc_slow,
    ] {
        add(&r, m);
    }
    let cpu = prometheus::Counter::new(
        "rnats_process_cpu_seconds_total",
        "CPU time (user and system) used by the server process",
    )
    .expect(VALID);
    cpu.inc_by(crate::monitor::process_cpu_seconds());
    add(&r, cpu);
    add(
        &r,
        gauge(
            "rnats_process_resident_memory_bytes",
            "Resident memory of the server process",
            crate::monitor::process_rss() as i64,
        ),
    );
    let info = IntGaugeVec::new(
        Opts::new("rnats_build_info", "rnats build (value 1)"),
        &["version", "nats_version"],
    )
    .expect(VALID);
    info.with_label_values(&[
        crate::defaults::RNATS_VERSION,
        crate::defaults::NATS_VERSION,
    ])
    .set(1);
    add(&r, info);
    st.auth.register(&r, now);
    let mut out = Vec::new();
    if TextEncoder::new().encode(&r.gather(), &mut out).is_err() {
        out.clear();
    }
    String::from_utf8(out).unwrap_or_default()
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
