//! The clock-skew story end to end, on the real binary: an issuer whose clock runs 8 s ahead
//! mints a user with `nbf = iat = its now`. With the defaults (5 s of `nbf` leeway) the
//! connection is refused with reason `not_yet_valid` and a log line that says why and what to
//! do; with `clock_skew.nbf: 10s` it is accepted, and `/metrics` shows the negative age.
//! Also: the metrics parse as Prometheus text, `clock_skew` values above the cap fail `-t`, and
//! a user JWT about to expire raises the `CLIENT.AUTH.EXPIRING` advisory.

use rnats_testkit::jwt::{Operator, now, operator_config};
use rnats_testkit::{Raw, ServerProcess};
use serde_json::json;
use std::path::Path;

mod common;

fn body(port: u16, path: &str) -> String {
    common::http::get(port, path).1
}
use std::time::Duration;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_rnats-server"))
}

fn conf(tag: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rnats-skew-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let p = dir.join("server.conf");
    std::fs::write(&p, text).expect("write");
    p
}

fn wait_log(s: &ServerProcess, needle: &str) -> String {
    for _ in 0..300 {
        let log = s.log();
        if log.contains(needle) {
            return log;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    s.log()
}

fn serve(conf: &Path) -> ServerProcess {
    ServerProcess::start(bin(), &["-c", conf.to_str().expect("utf8"), "-m", "-1"]).expect("starts")
}

/// CONNECT as `user`, then `then` and a PING, in one write.
fn login(s: &ServerProcess, user: &rnats_testkit::jwt::User, then: &str) -> Raw {
    let mut r = Raw::connect(s.port);
    let nonce = rnats_testkit::jwt::nonce_of(&r.read_info());
    r.send(format!("{}{then}PING\r\n", user.connect_line(&nonce)).as_bytes());
    r
}

#[test]
fn an_issuer_clock_eight_seconds_ahead() {
    let op = Operator::new("OP", json!({}));
    let sys = op.account("SYS", json!({}));
    let acc = op.account("ACC", json!({}));
    let base = operator_config(&op, &sys, &[&acc]);
    // Minted after each server is up, so a slow start cannot eat into the 8 s.
    let early = || {
        let ahead = now() + 8;
        acc.user("early", json!({"iat": ahead, "nbf": ahead}))
    };

    // Defaults: refused, with the reason, the numbers and a hint in the log.
    let s = serve(&conf("default", &base));
    let user = early();
    let mut r = login(&s, &user, "");
    let (out, _) = r.read_for(Duration::from_secs(2));
    assert_eq!(
        String::from_utf8_lossy(&out),
        "-ERR 'Authorization Violation'\r\n",
        "the wire stays the reference's"
    );
    let log = wait_log(&s, "reason=not_yet_valid");
    let line = log
        .lines()
        .find(|l| l.contains("reason=not_yet_valid"))
        .unwrap_or_else(|| panic!("no reason line: {log}"));
    assert!(line.contains("[INF]"), "{line}");
    assert!(
        line.contains(&format!("user={}", user.kp.public_key())),
        "{line}"
    );
    assert!(line.contains(&format!("account={}", acc.key())), "{line}");
    assert!(line.contains("clock_skew.nbf 5s"), "{line}");
    assert!(
        line.contains("hint: token not yet valid for") && line.contains("issuer's clock is ahead"),
        "{line}"
    );
    assert!(!line.contains(&user.jwt), "never the whole JWT: {line}");
    let metrics = body(s.http_port.expect("monitor"), "/metrics");
    assert!(
        metrics.contains("rnats_auth_rejections_total{reason=\"not_yet_valid\"} 1"),
        "{metrics}"
    );

    // 10 s of nbf leeway: accepted, and the age histogram shows the negative age.
    let s = serve(&conf(
        "leeway",
        &format!("{base}\nclock_skew {{ nbf: 10s }}\n"),
    ));
    let user = early();
    let mut r = login(&s, &user, "");
    r.read_until(b"PONG\r\n", Duration::from_secs(3))
        .expect("accepted with 10s of nbf leeway");
    let metrics = body(s.http_port.expect("monitor"), "/metrics");
    // The exposition is well-formed Prometheus text; read it with a parser.
    let lines = metrics.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("parses");
    let buckets = scrape
        .samples
        .iter()
        .find_map(|x| match &x.value {
            prometheus_parse::Value::Histogram(b)
                if x.metric == "rnats_jwt_age_at_verify_seconds"
                    && x.labels.get("kind") == Some("user") =>
            {
                Some(b.clone())
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no user age histogram: {metrics}"));
    let bucket = |le: f64| {
        buckets
            .iter()
            .find(|b| b.less_than == le)
            .map(|b| b.count)
            .unwrap_or_else(|| panic!("no bucket {le}: {metrics}"))
    };
    assert_eq!(bucket(-10.0), 0.0, "{metrics}");
    assert_eq!(bucket(-5.0), 1.0, "an age of about -8s: {metrics}");
    let min = scrape
        .samples
        .iter()
        .find(|x| x.metric == "rnats_jwt_min_age_at_verify_seconds")
        .map(|x| match x.value {
            prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
        .unwrap_or_else(|| panic!("no min age: {metrics}"));
    assert!((-9.0..=-6.0).contains(&min), "min age {min}");
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "rnats_connections"),
        "{metrics}"
    );
}

#[test]
fn leeway_above_the_cap_fails_the_config_test() {
    let c = conf("cap", "clock_skew { exp: 45s }\n");
    let out = std::process::Command::new(bin())
        .args(["-t", "-c", c.to_str().expect("utf8")])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server.conf:1:"), "{err}");
    assert!(
        err.contains("clock_skew.exp of 45s is above the limit of 30s"),
        "{err}"
    );
}

#[test]
fn a_user_about_to_expire_raises_the_expiring_advisory() {
    let op = Operator::new("OP", json!({}));
    let sys = op.account("SYS", json!({}));
    let acc = op.account("ACC", json!({}));
    let s = serve(&conf("expiring", &operator_config(&op, &sys, &[&acc])));
    // A system-account listener.
    let admin = sys.user("admin", json!({}));
    let mut w = login(&s, &admin, "SUB $SYS.ACCOUNT.*.CLIENT.AUTH.EXPIRING 1\r\n");
    w.read_until(b"PONG\r\n", Duration::from_secs(3))
        .expect("listener");
    // 60 s of life, 20 s left: inside max(30s, 10%) at once.
    let t = now();
    let user = acc.user("short", json!({"iat": t - 40, "exp": t + 20}));
    let mut r = login(&s, &user, "");
    r.read_until(b"PONG\r\n", Duration::from_secs(3))
        .expect("accepted");
    let got = w
        .read_until(b"lifetime_secs\":60}", Duration::from_secs(3))
        .unwrap_or_else(|e| panic!("no advisory: {}", String::from_utf8_lossy(&e)));
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.contains(&format!(
            "MSG $SYS.ACCOUNT.{}.CLIENT.AUTH.EXPIRING 1 ",
            acc.key()
        )),
        "{text}"
    );
    assert!(
        text.contains("io.rnats.server.advisory.v1.client_auth_expiring"),
        "{text}"
    );
    let metrics = body(s.http_port.expect("monitor"), "/metrics");
    assert!(
        metrics.contains("rnats_connections_expiring_soon 1"),
        "{metrics}"
    );
    // Closing the connection takes it out of the gauge.
    r.close();
    let mut last = String::new();
    for _ in 0..300 {
        last = body(s.http_port.expect("monitor"), "/metrics");
        if last.contains("rnats_connections_expiring_soon 0") {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(last.contains("rnats_connections_expiring_soon 0"), "{last}");
}
