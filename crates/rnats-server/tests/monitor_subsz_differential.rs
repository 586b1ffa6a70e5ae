//! `/subsz?subs=1`, `/accountz`, `/accountz?acc=…`, `/accstatz`, `/routez`, `/gatewayz`,
//! `/leafz` and `/healthz`, differentially: the same workload runs on rnats and the reference
//! nats-server 2.15, and every key the reference answers must exist in rnats's answer with the
//! same JSON type, recursively. Values are not compared (ids, times, and the reference's
//! internal system subscriptions and imports differ by nature); list elements are compared by
//! shape: every element key the reference uses must appear in rnats's elements.

use rnats_testkit::{Raw, ServerProcess, reference_server_path};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

// Each account both imports and exports, so the reference's `imports`/`exports` keys have
// configured counterparts in rnats (its internal `$SYS.REQ.ACCOUNT.*` imports do not).
const CONF: &str = r#"
http_port: -1
accounts {
  A {
    users [{user: a, password: a}]
    exports [{stream: "s.>"}, {service: "svc.>"}]
    imports [{stream: {account: B, subject: "t.>"}}, {service: {account: B, subject: "bsvc.>"}}]
  }
  B {
    users [{user: b, password: b}]
    exports [{stream: "t.>"}, {service: "bsvc.>"}]
    imports [{stream: {account: A, subject: "s.>"}}, {service: {account: A, subject: "svc.>"}, to: "asvc.>"}]
  }
}
"#;

fn conf_file() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rnats-monsubszdiff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let p = dir.join("server.conf");
    std::fs::write(&p, CONF).expect("write");
    p
}

fn http(port: u16, path: &str) -> Value {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("http");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").expect("req");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {out}"))
}

fn login(port: u16, user: &str) -> Raw {
    let mut r = Raw::connect(port);
    let _ = r.read_info();
    r.send(
        format!("CONNECT {{\"verbose\":false,\"user\":\"{user}\",\"pass\":\"{user}\"}}\r\n")
            .as_bytes(),
    );
    r.sync();
    r
}

fn workload(port: u16) -> (Raw, Raw) {
    let mut a = login(port, "a");
    let mut b = login(port, "b");
    a.send(b"SUB foo 1\r\nSUB bar q 2\r\nUNSUB 2 5\r\n");
    b.send(b"SUB s.x 1\r\n");
    a.sync();
    b.sync();
    for _ in 0..5 {
        a.send(b"PUB foo 5\r\nhello\r\n");
    }
    a.send(b"PUB s.x 2\r\nhi\r\n");
    a.sync();
    let _ = b.read_until(b"hi\r\n", Duration::from_secs(5));
    b.sync();
    (a, b)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every key path of `theirs` (list elements merged into one shape) with its JSON type.
fn shape(v: &Value, path: &str, out: &mut BTreeMap<String, &'static str>) {
    out.insert(path.to_string(), type_name(v));
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                shape(x, &format!("{path}.{k}"), out);
            }
        }
        Value::Array(l) => {
            for x in l {
                shape(x, &format!("{path}[]"), out);
            }
        }
        _ => {}
    }
}

/// The key paths the reference has that rnats lacks or types differently.
fn missing(ours: &Value, theirs: &Value) -> Vec<String> {
    let (mut o, mut t) = (BTreeMap::new(), BTreeMap::new());
    shape(ours, "", &mut o);
    shape(theirs, "", &mut t);
    t.iter()
        .filter(|(k, ty)| o.get(*k) != Some(ty))
        .map(|(k, ty)| format!("{k}: reference {ty}, rnats {:?}", o.get(k)))
        .collect()
}

#[test]
fn shape_check_fails_on_a_missing_key() {
    let theirs = serde_json::json!({"a": 1, "l": [{"x": "s", "y": true}], "m": {}});
    let ours = serde_json::json!({"a": 2, "l": [{"x": "t"}], "m": {}, "extra": 0});
    assert_eq!(
        missing(&ours, &theirs),
        vec![".l[].y: reference bool, rnats None"]
    );
    let wrong_type = serde_json::json!({"a": "2", "l": [{"x": "t", "y": false}], "m": {}});
    assert_eq!(missing(&wrong_type, &theirs).len(), 1);
}

#[test]
fn monitor_shapes_match_the_reference() {
    let conf = conf_file();
    let c = conf.to_str().expect("utf8");
    let ours = ServerProcess::start(Path::new(env!("CARGO_BIN_EXE_rnats-server")), &["-c", c])
        .expect("rnats starts");
    let theirs = ServerProcess::start(&reference_server_path(), &["-c", c]).expect("ref starts");
    let _o = workload(ours.port);
    let _t = workload(theirs.port);
    let (op, tp) = (
        ours.http_port.expect("rnats monitor"),
        theirs.http_port.expect("reference monitor"),
    );
    let mut failures = Vec::new();
    for path in [
        "/subsz",
        "/subsz?subs=1",
        "/subsz?subs=1&test=foo",
        "/accountz",
        "/accountz?acc=A",
        "/accountz?acc=B",
        "/accstatz",
        "/accstatz?unused=1",
        "/routez",
        "/gatewayz",
        "/leafz",
        "/healthz",
        "/healthz?js-enabled-only=1",
        "/healthz?details=1&stream=x",
    ] {
        let (o, t) = (http(op, path), http(tp, path));
        for m in missing(&o, &t) {
            failures.push(format!("{path} {m}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
