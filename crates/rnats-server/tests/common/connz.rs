//! Shared helpers of the `/connz` tests: a configuration with two accounts' users and a short
//! auth timeout, a workload of raw clients that leaves known counters (open and closed
//! connections), and an HTTP GET of a monitor path.
#![allow(dead_code)]

use rnats_testkit::Raw;
use std::time::Duration;

/// Users alice and bob in account A, carol in the global account; 1 s auth timeout.
pub const CONF: &str = "\
accounts { A: { users: [ {user: alice, password: pw}, {user: bob, password: pw} ] } }
authorization { users: [ {user: carol, password: pw} ], timeout: 1 }
";

/// Messages the publisher sends.
pub const N: u64 = 7;

/// The connections the workload leaves open.
pub struct Workload {
    pub sub: Raw,
    pub publ: Raw,
    pub carol: Raw,
}

fn connect(port: u16, connect_json: &str) -> Raw {
    let mut r = Raw::connect(port);
    r.read_info();
    r.send(format!("CONNECT {connect_json}\r\n").as_bytes());
    r.sync();
    r
}

/// Run the workload: `sub` (alice: `foo` sid 1, `bar` queue `q` sid 2 with max 5), `pub` (bob,
/// lang/version set) sends `N` messages of 2 bytes on `foo`; `carol` (global account) idles;
/// `closer` (alice, sub `baz`) closes cleanly; one connection never sends CONNECT and hits
/// the auth timeout. Returns once both closes happened.
pub fn run(port: u16) -> Workload {
    let mut sub = connect(
        port,
        r#"{"verbose":false,"user":"alice","pass":"pw","name":"sub"}"#,
    );
    sub.send(b"SUB foo 1\r\nSUB bar q 2\r\nUNSUB 2 5\r\n");
    sub.sync();
    let mut publ = connect(
        port,
        r#"{"verbose":false,"user":"bob","pass":"pw","name":"pub","lang":"rust","version":"1.2.3"}"#,
    );
    for _ in 0..N {
        publ.send(b"PUB foo 2\r\nhi\r\n");
    }
    publ.sync();
    let got = sub.sync();
    assert_eq!(
        got.windows(9).filter(|w| w == b"MSG foo 1").count() as u64,
        N,
        "{}",
        String::from_utf8_lossy(&got)
    );
    let carol = connect(
        port,
        r#"{"verbose":false,"user":"carol","pass":"pw","name":"carol"}"#,
    );
    let mut closer = connect(
        port,
        r#"{"verbose":false,"user":"alice","pass":"pw","name":"closer"}"#,
    );
    closer.send(b"SUB baz 1\r\n");
    closer.sync();
    closer.close();
    let mut silent = Raw::connect(port);
    silent.read_info();
    let (_, closed) = silent.read_for(Duration::from_secs(3));
    assert!(closed, "auth timeout expected");
    std::thread::sleep(Duration::from_millis(200));
    Workload { sub, publ, carol }
}

#[allow(unused_imports)]
pub use super::http::{get, json};

/// The connection objects of `v["connections"]`.
pub fn conns(v: &serde_json::Value) -> Vec<serde_json::Value> {
    v["connections"].as_array().cloned().unwrap_or_default()
}

/// The connection named `name`.
pub fn by_name(v: &serde_json::Value, name: &str) -> serde_json::Value {
    conns(v)
        .into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no connection named {name} in {v:#}"))
}

/// The connection closed for `reason`.
pub fn by_reason(v: &serde_json::Value, reason: &str) -> serde_json::Value {
    conns(v)
        .into_iter()
        .find(|c| c["reason"] == reason)
        .unwrap_or_else(|| panic!("no connection closed for {reason} in {v:#}"))
}
