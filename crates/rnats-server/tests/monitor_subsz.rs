//! `/subsz`, `/accountz`, `/accstatz`, `/routez`, `/gatewayz`, `/leafz` and `/healthz` on
//! rnats with a known workload: subscription counts, filters, paging and per-account message
//! and byte counters must be exact.

use rnats_testkit::ServerProcess;
use serde_json::Value;
use std::path::Path;

mod common;
use common::http::{get as http, json};

const CONF: &str = r#"
http_port: -1
accounts {
  A { users [{user: a, password: a}], exports [{stream: "s.>"}] }
  B { users [{user: b, password: b}], imports [{stream: {account: A, subject: "s.>"}}] }
}
"#;

fn stat<'a>(v: &'a Value, acc: &str) -> &'a Value {
    v["account_statz"]
        .as_array()
        .and_then(|l| l.iter().find(|x| x["acc"] == acc))
        .unwrap_or_else(|| panic!("{acc} in {v}"))
}

#[test]
fn subsz_accountz_accstatz_exact() {
    let conf = common::jwtdiff::conf_file("monsubsz", CONF);
    let c = conf.to_str().expect("utf8");
    let srv = ServerProcess::start(Path::new(env!("CARGO_BIN_EXE_rnats-server")), &["-c", c])
        .expect("rnats starts");
    let port = srv.http_port.expect("monitor port");
    let _conns = common::subsz_workload(srv.port);

    // /subsz: three subscriptions over all accounts, stats only without subs=1.
    let v = json(port, "/subsz");
    assert_eq!(v["num_subscriptions"], 3);
    assert_eq!(v["num_inserts"], 3);
    assert_eq!(v["num_removes"], 0);
    assert_eq!(v["total"], 0);
    assert_eq!(v["limit"], 1024);
    assert!(v.get("subscriptions_list").is_none());
    assert!(v["num_matches"].as_u64().is_some_and(|n| n >= 2));

    let v = json(port, "/subsz?subs=1");
    assert_eq!(v["total"], 3);
    let list = v["subscriptions_list"].as_array().expect("list");
    let foo = list.iter().find(|s| s["subject"] == "foo").expect("foo");
    assert_eq!(foo["account"], "A");
    assert_eq!(foo["account_tag"], "A");
    assert_eq!(foo["sid"], "1");
    assert_eq!(foo["msgs"], 10);
    assert!(foo.get("max").is_none() && foo.get("qgroup").is_none());
    let bar = list.iter().find(|s| s["subject"] == "bar").expect("bar");
    assert_eq!(
        (&bar["qgroup"], &bar["max"], &bar["msgs"]),
        (&"q".into(), &5.into(), &0.into())
    );
    let sx = list.iter().find(|s| s["subject"] == "s.x").expect("s.x");
    assert_eq!((&sx["account"], &sx["msgs"]), (&"B".into(), &1.into()));

    let v = json(port, "/subsz?subs=1&test=foo");
    assert_eq!(v["total"], 1);
    assert_eq!(v["subscriptions_list"][0]["subject"], "foo");
    let v = json(port, "/subsz?subs=1&acc=B");
    assert_eq!(
        (&v["total"], &v["num_subscriptions"]),
        (&1.into(), &1.into())
    );
    let v = json(port, "/subsz?subs=1&offset=1&limit=1");
    assert_eq!(v["total"], 3);
    assert_eq!(v["subscriptions_list"].as_array().map(Vec::len), Some(1));
    let v = json(port, "/subscriptionsz");
    assert_eq!(v["num_subscriptions"], 3);
    let (code, body) = http(port, "/subsz?test=foo.*");
    assert_eq!(code, 400);
    assert_eq!(
        body,
        "invalid test subject, must be valid publish subject: foo.*"
    );
    let (code, body) = http(port, "/subsz?subs=x");
    assert_eq!(code, 400);
    assert!(
        body.starts_with("Error decoding boolean for 'subs'"),
        "{body}"
    );

    // /accountz
    let v = json(port, "/accountz");
    assert_eq!(v["system_account"], "$SYS");
    let names: Vec<&str> = v["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for n in ["A", "B", "$G", "$SYS"] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    let d = &json(port, "/accountz?acc=A")["account_detail"];
    assert_eq!(d["account_name"], "A");
    assert_eq!(d["client_connections"], 1);
    assert_eq!(d["subscriptions"], 2);
    assert_eq!(d["complete"], true);
    assert_eq!(
        d["exports"],
        serde_json::json!([{"subject":"s.>","type":"stream"}])
    );
    assert_eq!(d["sublist_stats"]["num_subscriptions"], 2);
    assert!(d.get("is_system").is_none());
    let d = &json(port, "/accountz?acc=B")["account_detail"];
    assert_eq!(d["imports"][0]["subject"], "s.>");
    assert_eq!(d["imports"][0]["account"], "A");
    assert_eq!(d["imports"][0]["type"], "stream");
    let d = &json(port, "/accountz?acc=%24SYS")["account_detail"];
    assert_eq!(d["is_system"], true);
    let (code, body) = http(port, "/accountz?acc=nope");
    assert_eq!((code, body.as_str()), (400, "Account nope does not exist"));

    // /accstatz: A received 11 messages (10×5 + 2 bytes) and, as the reference counts stream
    // imports on the publishing account, sent 11 (10 foo to itself, 1 s.x to B).
    let v = json(port, "/accstatz");
    let a = stat(&v, "A");
    assert_eq!((&a["conns"], &a["total_conns"]), (&1.into(), &1.into()));
    assert_eq!(a["num_subscriptions"], 2);
    assert_eq!(
        (&a["received"]["msgs"], &a["received"]["bytes"]),
        (&11.into(), &52.into())
    );
    assert_eq!(
        (&a["sent"]["msgs"], &a["sent"]["bytes"]),
        (&11.into(), &52.into())
    );
    assert_eq!(a["sent"]["routes"], serde_json::json!({"msgs":0,"bytes":0}));
    let b = stat(&v, "B");
    assert_eq!(
        (&b["received"]["msgs"], &b["sent"]["msgs"]),
        (&0.into(), &0.into())
    );
    assert!(
        v["account_statz"]
            .as_array()
            .is_some_and(|l| l.iter().all(|x| x["acc"] != "$G")),
        "accounts without connections need unused=1"
    );
    let v = json(port, "/accstatz?unused=1");
    stat(&v, "$G");
    let v = json(port, "/accstatz?acc=B");
    assert_eq!(v["account_statz"].as_array().map(Vec::len), Some(1));

    // /varz agrees with the sum.
    let v = json(port, "/varz");
    assert_eq!((&v["in_msgs"], &v["out_msgs"]), (&11.into(), &11.into()));

    // Empty cluster endpoints and health.
    let v = json(port, "/routez");
    assert_eq!(
        (&v["num_routes"], &v["routes"]),
        (&0.into(), &serde_json::json!([]))
    );
    let v = json(port, "/gatewayz");
    assert_eq!(v["outbound_gateways"], serde_json::json!({}));
    let v = json(port, "/leafz");
    assert_eq!(
        (&v["leafnodes"], &v["leafs"]),
        (&0.into(), &serde_json::json!([]))
    );
    assert_eq!(
        http(port, "/healthz?js-enabled-only=1"),
        (200, "{\"status\":\"ok\"}".into())
    );
    let (code, body) = http(port, "/healthz?stream=x");
    assert_eq!(code, 400);
    assert_eq!(
        body,
        r#"{"status":"error","error":"\"account\" must not be empty when checking stream health"}"#
    );
    let (_, root) = http(port, "/");
    for l in [
        "subsz", "accountz", "accstatz", "routez", "gatewayz", "leafz",
    ] {
        assert!(root.contains(&format!("./{l}")), "{l} linked from /");
    }
}
