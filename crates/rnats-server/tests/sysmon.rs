//! Monitoring over the system account: `$SYS.REQ.SERVER.PING` and its endpoints answered like
//! the reference (same document shapes, checked against the binary), filters, errors, and the
//! periodic `$SYS.SERVER.<id>.STATSZ` broadcast.

use rnats_testkit::{Raw, ServerProcess, reference_server_path};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

mod common;
use common::jsonshape::shape_diff;

const CONF: &str = r#"server_name: mon
system_account: SYS
accounts {
  A { users: [{user: a, password: a}] }
  SYS { users: [{user: sys, password: sys}] }
}
"#;

fn conf() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rnats-sysmon-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let p = dir.join("mon.conf");
    std::fs::write(&p, CONF).expect("w");
    p
}

/// A system-account connection listening on `_R.>`.
fn sys_client(port: u16) -> Raw {
    let mut r = Raw::connect(port);
    r.read_info();
    r.send(
        b"CONNECT {\"user\":\"sys\",\"pass\":\"sys\",\"verbose\":false}\r\nSUB _R.> 1\r\nPING\r\n",
    );
    r.read_until(b"PONG\r\n", Duration::from_secs(3))
        .expect("sys login");
    r
}

/// Publish a request and return the JSON answer (`None` when none comes within `wait`).
fn request(r: &mut Raw, subject: &str, body: &str, wait: Duration) -> Option<Value> {
    r.send(format!("PUB {subject} _R.{subject} {}\r\n{body}\r\n", body.len()).as_bytes());
    let header = format!("MSG _R.{subject} ");
    let mut got = r.read_until(header.as_bytes(), wait).ok()?;
    // Then the rest of the header line and the JSON payload line.
    while got.windows(2).filter(|w| w == b"\r\n").count() < 2 {
        got.extend(r.read_until(b"\r\n", wait).ok()?);
    }
    let got = String::from_utf8_lossy(&got).into_owned();
    let start = got.find(&header)?;
    let line_end = start + got[start..].find("\r\n")?;
    let payload = got[line_end + 2..].split("\r\n").next()?;
    serde_json::from_str(payload).ok()
}

#[test]
fn server_requests_have_the_reference_shapes() {
    let c = conf();
    let c = c.to_str().expect("utf8");
    let ours = ServerProcess::start(Path::new(env!("CARGO_BIN_EXE_rnats-server")), &["-c", c])
        .expect("rnats");
    let theirs = ServerProcess::start(&reference_server_path(), &["-c", c]).expect("reference");
    let (mut a, mut b) = (sys_client(ours.port), sys_client(theirs.port));
    let wait = Duration::from_secs(2);
    let mut problems = Vec::new();
    for subject in [
        "$SYS.REQ.SERVER.PING",
        "$SYS.REQ.SERVER.PING.STATSZ",
        "$SYS.REQ.SERVER.PING.IDZ",
        "$SYS.REQ.SERVER.PING.VARZ",
        "$SYS.REQ.SERVER.PING.HEALTHZ",
        "$SYS.REQ.SERVER.PING.CONNZ",
        "$SYS.REQ.SERVER.PING.SUBSZ",
        "$SYS.REQ.SERVER.PING.ACCOUNTZ",
        "$SYS.REQ.SERVER.PING.ROUTEZ",
        "$SYS.REQ.SERVER.PING.GATEWAYZ",
        "$SYS.REQ.SERVER.PING.LEAFZ",
        "$SYS.REQ.ACCOUNT.SYS.CONNZ",
        "$SYS.REQ.ACCOUNT.SYS.SUBSZ",
    ] {
        let x = request(&mut a, subject, "", wait).unwrap_or(Value::Null);
        let y = request(&mut b, subject, "", wait).unwrap_or(Value::Null);
        assert!(!y.is_null(), "the reference answers {subject}");
        let mut d = shape_diff(subject, &x, &y);
        // Not implemented (no clustering, JetStream or profiling here): not compared.
        d.retain(|p| {
            ![
                ".cluster.",
                ".gateway.",
                ".leaf.",
                ".mqtt.",
                ".websocket.",
                ".jetstream.",
            ]
            .iter()
            .any(|k| p.contains(k))
        });
        problems.extend(d);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn filters_errors_direct_requests_and_the_statsz_broadcast() {
    let c = conf();
    let s = ServerProcess::start(
        Path::new(env!("CARGO_BIN_EXE_rnats-server")),
        &["-c", c.to_str().expect("utf8")],
    )
    .expect("rnats");
    // Subscribed from the start: the broadcast comes every 250 ms at first, then doubling.
    let mut listener = sys_client(s.port);
    listener.send(b"SUB $SYS.SERVER.*.STATSZ 9\r\n");
    let mut r = sys_client(s.port);
    let wait = Duration::from_secs(2);
    let stats = request(&mut r, "$SYS.REQ.SERVER.PING", "", wait).expect("statsz");
    assert_eq!(stats["statsz"]["connections"], 2, "{stats}");
    assert_eq!(stats["server"]["name"], "mon");
    let id = stats["server"]["id"].as_str().expect("id").to_string();
    // A filter that excludes this server: silence.
    assert!(
        request(
            &mut r,
            "$SYS.REQ.SERVER.PING.VARZ",
            r#"{"server_name":"other"}"#,
            Duration::from_millis(300)
        )
        .is_none()
    );
    let v = request(
        &mut r,
        "$SYS.REQ.SERVER.PING.VARZ",
        r#"{"server_name":"mo"}"#,
        wait,
    )
    .expect("a matching filter answers");
    assert_eq!(v["data"]["server_name"], "mon");
    assert_eq!(v["data"]["system_account"], "SYS");
    // A body that is not JSON: a 400 error document.
    let e = request(&mut r, "$SYS.REQ.SERVER.PING.VARZ", "{bad", wait).expect("error");
    assert_eq!(e["error"]["code"], 400, "{e}");
    // Direct requests by id; other ids are not ours.
    let h = request(&mut r, &format!("$SYS.REQ.SERVER.{id}.HEALTHZ"), "", wait).expect("h");
    assert_eq!(h["data"]["status"], "ok");
    assert!(
        request(
            &mut r,
            "$SYS.REQ.SERVER.NOTME.HEALTHZ",
            "",
            Duration::from_millis(300)
        )
        .is_none()
    );
    let got = listener
        .read_until(b".STATSZ 9  ", Duration::from_secs(3))
        .unwrap_or_else(|e| panic!("no STATSZ: {}", String::from_utf8_lossy(&e)));
    assert!(String::from_utf8_lossy(&got).contains(&format!("MSG $SYS.SERVER.{id}.STATSZ 9  ")));
}
