//! `/subsz?subs=1`, `/accountz`, `/accountz?acc=…`, `/accstatz`, `/routez`, `/gatewayz`,
//! `/leafz` and `/healthz`, differentially: the same workload runs on rnats and the reference
//! nats-server 2.15, and every key the reference answers must exist in rnats's answer with the
//! same JSON type, recursively. Values are not compared (ids, times, and the reference's
//! internal system subscriptions and imports differ by nature); list elements are compared by
//! shape: every element key the reference uses must appear in rnats's elements.

use rnats_testkit::{ServerProcess, reference_server_path};
use std::path::Path;

mod common;
use common::http::json_any as http;
use common::jsonshape::missing;

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
    let conf = common::jwtdiff::conf_file("monsubszdiff", CONF);
    let c = conf.to_str().expect("utf8");
    let ours = ServerProcess::start(Path::new(env!("CARGO_BIN_EXE_rnats-server")), &["-c", c])
        .expect("rnats starts");
    let theirs = ServerProcess::start(&reference_server_path(), &["-c", c]).expect("ref starts");
    let _o = common::subsz_workload(ours.port);
    let _t = common::subsz_workload(theirs.port);
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
        "/varz",
    ] {
        let (o, t) = (http(op, path), http(tp, path));
        for m in missing(&o, &t) {
            failures.push(format!("{path} {m}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
