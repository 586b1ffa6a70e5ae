//! `/metrics` parses as Prometheus text, and its counters are exact: after N messages from a
//! test client, the server and account counters (and `/varz`) show N.

use rnats_testkit::{Raw, ServerProcess};
use std::path::Path;

mod common;

fn body(port: u16, path: &str) -> String {
    common::http::get(port, path).1
}
use std::time::Duration;

fn value(scrape: &prometheus_parse::Scrape, name: &str, label: Option<(&str, &str)>) -> f64 {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
        .unwrap_or_else(|| panic!("no {name} {label:?}"))
}

#[test]
fn counters_are_exact_and_the_text_parses() {
    let dir = std::env::temp_dir().join(format!("rnats-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("m.conf");
    std::fs::write(
        &conf,
        "accounts {\n A { users: [{user: a, password: a}] }\n B { users: [{user: b, password: b}] }\n}\n",
    )
    .expect("w");
    let s = ServerProcess::start(
        Path::new(env!("CARGO_BIN_EXE_rnats-server")),
        &["-c", conf.to_str().expect("utf8"), "-m", "-1"],
    )
    .expect("starts");
    let http = s.http_port.expect("monitor");
    let mut sub = Raw::connect(s.port);
    sub.read_info();
    sub.send(b"CONNECT {\"user\":\"a\",\"pass\":\"a\",\"verbose\":false}\r\nSUB foo 1\r\nPING\r\n");
    sub.read_until(b"PONG\r\n", Duration::from_secs(3))
        .expect("sub");
    let mut publ = Raw::connect(s.port);
    publ.read_info();
    let n = 25;
    let mut script = String::from("CONNECT {\"user\":\"a\",\"pass\":\"a\",\"verbose\":false}\r\n");
    for i in 0..n {
        script.push_str(&format!("PUB foo 4\r\nm{i:03}\r\n"));
    }
    script.push_str("PING\r\n");
    publ.send(script.as_bytes());
    publ.read_until(b"PONG\r\n", Duration::from_secs(3))
        .expect("pub");
    sub.send(b"PING\r\n");
    let got = sub
        .read_until(b"PONG\r\n", Duration::from_secs(3))
        .expect("msgs");
    assert_eq!(
        String::from_utf8_lossy(&got)
            .matches("MSG foo 1 4\r\n")
            .count(),
        n
    );
    let text = body(http, "/metrics");
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .expect("Prometheus text parses");
    let n = n as f64;
    assert_eq!(value(&scrape, "rnats_in_msgs_total", None), n, "{text}");
    assert_eq!(value(&scrape, "rnats_out_msgs_total", None), n);
    assert_eq!(value(&scrape, "rnats_in_bytes_total", None), 4.0 * n);
    assert_eq!(
        value(
            &scrape,
            "rnats_account_in_msgs_total",
            Some(("account", "A"))
        ),
        n
    );
    assert_eq!(
        value(
            &scrape,
            "rnats_account_out_msgs_total",
            Some(("account", "A"))
        ),
        n
    );
    assert_eq!(
        value(&scrape, "rnats_account_connections", Some(("account", "A"))),
        2.0
    );
    assert_eq!(
        value(&scrape, "rnats_account_connections", Some(("account", "B"))),
        0.0
    );
    assert_eq!(value(&scrape, "rnats_connections", None), 2.0);
    assert_eq!(value(&scrape, "rnats_subscriptions", None), 1.0);
    assert!(value(&scrape, "rnats_process_resident_memory_bytes", None) > 0.0);
    assert_eq!(
        value(
            &scrape,
            "rnats_build_info",
            Some(("nats_version", "2.15.0"))
        ),
        1.0
    );
    let varz: serde_json::Value = serde_json::from_str(&body(http, "/varz")).expect("varz");
    assert_eq!(varz["in_msgs"], 25);
    assert_eq!(varz["out_msgs"], 25);
}
