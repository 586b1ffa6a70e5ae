//! `/connz` against a running rnats-server: exact counters after a known workload, the
//! subscription lists, the auth fields, closed connections with their reasons, sorting, paging,
//! filters and the reference's 400 answers.

mod common;

use common::connz::{self as w, by_name, by_reason, conns, json};
use rnats_testkit::ServerProcess;
use std::path::Path;

fn start() -> ServerProcess {
    let conf = common::jwtdiff::conf_file("connz", w::CONF);
    let conf = conf.to_str().expect("utf-8 path").to_string();
    ServerProcess::start(
        Path::new(env!("CARGO_BIN_EXE_rnats-server")),
        &["-c", &conf, "-m", "-1"],
    )
    .expect("start rnats-server")
}

#[test]
fn connz_counters_subs_auth_closed_sort_and_paging() {
    let s = start();
    let http = s.http_port.expect("monitor port");
    let _open = w::run(s.port);

    // Open connections, with subscriptions and auth fields.
    let v = json(http, "/connz?subs=1&auth=1");
    assert_eq!(v["total"], 3);
    assert_eq!(v["num_connections"], 3);
    assert_eq!(v["limit"], 1024);
    assert_eq!(v["offset"], 0);
    let sub = by_name(&v, "sub");
    assert_eq!(sub["kind"], "Client");
    assert_eq!(sub["type"], "nats");
    assert_eq!(sub["out_msgs"], w::N);
    assert_eq!(sub["out_bytes"], 2 * w::N);
    assert_eq!(sub["in_msgs"], 0);
    assert_eq!(sub["subscriptions"], 2);
    assert_eq!(sub["subscriptions_list"], serde_json::json!(["foo", "bar"]));
    assert_eq!(sub["authorized_user"], "alice");
    assert_eq!(sub["account"], "A");
    assert_eq!(sub["name_tag"], "A");
    assert!(sub.get("stop").is_none() && sub.get("reason").is_none());
    let publ = by_name(&v, "pub");
    assert_eq!(publ["in_msgs"], w::N);
    assert_eq!(publ["in_bytes"], 2 * w::N);
    assert_eq!(publ["out_msgs"], 0);
    assert_eq!(publ["lang"], "rust");
    assert_eq!(publ["version"], "1.2.3");
    assert_eq!(publ["authorized_user"], "bob");
    assert!(publ.get("subscriptions_list").is_none());
    let carol = by_name(&v, "carol");
    assert!(
        carol.get("account").is_none(),
        "global account is not shown"
    );
    assert_eq!(carol["name_tag"], "$G");
    assert!(carol["rtt"].as_str().is_some_and(|r| r.ends_with('s')));

    // Without auth=1, no auth fields.
    let v = json(http, "/connz");
    let sub = by_name(&v, "sub");
    assert!(sub.get("authorized_user").is_none() && sub.get("account").is_none());
    assert!(sub.get("subscriptions_list").is_none());

    // Subscription details.
    let v = json(http, "/connz?subs=detail");
    let d = &by_name(&v, "sub")["subscriptions_list_detail"];
    let cid = by_name(&v, "sub")["cid"].clone();
    assert_eq!(
        *d,
        serde_json::json!([
            {"subject": "foo", "sid": "1", "msgs": w::N, "cid": cid},
            {"subject": "bar", "qgroup": "q", "sid": "2", "msgs": 0, "max": 5, "cid": cid},
        ])
    );

    // Closed connections with their reasons.
    let v = json(http, "/connz?state=closed&subs=detail&auth=1");
    assert_eq!(v["total"], 2);
    let closer = by_name(&v, "closer");
    assert_eq!(closer["reason"], "Client Closed");
    assert!(closer["stop"].is_string());
    assert_eq!(closer["subscriptions"], 1);
    assert_eq!(closer["authorized_user"], "alice");
    assert_eq!(closer["account"], "A");
    let cd = &closer["subscriptions_list_detail"][0];
    assert_eq!(cd["subject"], "baz");
    assert_eq!(cd["account"], "A");
    assert_eq!(cd["account_tag"], "A");
    let timed_out = by_reason(&v, "Authentication Timeout");
    assert_eq!(timed_out["in_msgs"], 0);
    assert_eq!(timed_out["subscriptions"], 0);
    let v = json(http, "/connz?state=closed&subs=1");
    assert_eq!(
        by_name(&v, "closer")["subscriptions_list"],
        serde_json::json!(["baz"])
    );
    assert!(by_name(&v, "closer").get("authorized_user").is_none());

    // All: open and closed.
    let v = json(http, "/connz?state=all");
    assert_eq!(v["total"], 5);
    assert_eq!(v["num_connections"], 5);
    let all: Vec<u64> = conns(&v).iter().filter_map(|c| c["cid"].as_u64()).collect();
    assert!(all.windows(2).all(|p| p[0] < p[1]), "by cid: {all:?}");

    // Sorting.
    let first = |path: &str| conns(&json(http, path))[0]["name"].clone();
    assert_eq!(first("/connz?sort=msgs_from"), "pub");
    assert_eq!(first("/connz?sort=bytes_from"), "pub");
    assert_eq!(first("/connz?sort=msgs_to"), "sub");
    assert_eq!(first("/connz?sort=bytes_to"), "sub");
    assert_eq!(first("/connz?sort=subs"), "sub");
    let v = json(http, "/connz?state=closed&sort=reason");
    assert_eq!(conns(&v)[0]["reason"], "Authentication Timeout");
    let v = json(http, "/connz?state=closed&sort=stop");
    assert_eq!(conns(&v)[0]["reason"], "Authentication Timeout");

    // Paging.
    let v = json(http, "/connz?limit=1&offset=1");
    assert_eq!(
        (v["total"].clone(), v["num_connections"].clone()),
        (3.into(), 1.into())
    );
    assert_eq!(
        (v["limit"].clone(), v["offset"].clone()),
        (1.into(), 1.into())
    );
    let cids: Vec<u64> = conns(&json(http, "/connz"))
        .iter()
        .filter_map(|c| c["cid"].as_u64())
        .collect();
    assert_eq!(conns(&v)[0]["cid"], cids[1]);
    let v = json(http, "/connz?offset=10");
    assert_eq!(v["num_connections"], 0);
    assert_eq!(v["connections"], serde_json::json!([]));

    // Filters.
    let v = json(http, &format!("/connz?cid={}", cids[2]));
    assert_eq!(
        (v["limit"].clone(), v["num_connections"].clone()),
        (1.into(), 1.into())
    );
    assert_eq!(conns(&v)[0]["cid"], cids[2]);
    let v = json(http, "/connz?state=closed&user=alice");
    assert_eq!(v["num_connections"], 1);
    let v = json(http, "/connz?acc=A");
    assert_eq!(v["total"], 2);
    let v = json(http, "/connz?user=carol");
    assert_eq!(conns(&v).len(), 1);
    let v = json(http, "/connz?acc=nope");
    assert_eq!(v["connections"], serde_json::Value::Null);

    // Bad parameters: 400 with the reference's text.
    for (q, text) in [
        ("sort=foo", "invalid sorting option: foo"),
        ("sort=stop", "sort by stop only valid on closed connections"),
        ("state=xx", "Error decoding state for xx"),
    ] {
        let (status, body) = w::get(http, &format!("/connz?{q}"));
        assert_eq!((status, body.as_str()), (400, text));
    }
}

#[test]
fn closed_ring_keeps_max_closed_clients() {
    let dir = std::env::temp_dir().join(format!("rnats-connz-ring-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("ring.conf");
    std::fs::write(&conf, "max_closed_clients: 3\n").expect("conf");
    let s = ServerProcess::start(
        Path::new(env!("CARGO_BIN_EXE_rnats-server")),
        &["-c", conf.to_str().expect("utf-8"), "-m", "-1"],
    )
    .expect("start");
    let http = s.http_port.expect("monitor port");
    for i in 0..8 {
        let mut r = rnats_testkit::Raw::connect(s.port);
        r.read_info();
        r.send(format!("CONNECT {{\"verbose\":false,\"name\":\"c{i}\"}}\r\n").as_bytes());
        r.sync();
        r.close();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let v = json(http, "/connz?state=closed");
        let names: Vec<String> = conns(&v)
            .iter()
            .filter_map(|c| c["name"].as_str().map(String::from))
            .collect();
        if names == ["c5", "c6", "c7"] {
            assert_eq!(v["total"], 3);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{names:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
