//! Unit tests of `/connz`: option parsing (query and system-request JSON), sorting, paging
//! arithmetic and the closed ring's bound.

use super::*;
use crate::monitor::closed::{ClosedConn, ClosedRing};
use std::time::Duration;

fn q(s: &str) -> Query {
    Query::parse(Some(s))
}

fn ci(cid: u64) -> ConnInfo {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    ConnInfo {
        cid,
        kind: "Client",
        kind_type: "nats",
        ip: "127.0.0.1".into(),
        port: 1,
        start: t0,
        last_activity: t0,
        stop: None,
        reason: String::new(),
        rtt: "0s".into(),
        uptime: "0s".into(),
        idle: "0s".into(),
        pending_bytes: 0,
        in_msgs: 0,
        out_msgs: 0,
        in_bytes: 0,
        out_bytes: 0,
        subscriptions: 0,
        name: String::new(),
        lang: String::new(),
        version: String::new(),
        tls_version: String::new(),
        tls_cipher_suite: String::new(),
        tls_peer_certs: Vec::new(),
        tls_first: false,
        authorized_user: String::new(),
        account: String::new(),
        subscriptions_list: vec![],
        subscriptions_list_detail: vec![],
        jwt: String::new(),
        issuer_key: String::new(),
        name_tag: String::new(),
        tags: vec![],
        rtt_ns: 0,
    }
}

fn cids(l: &[ConnInfo]) -> Vec<u64> {
    l.iter().map(|c| c.cid).collect()
}

#[test]
fn query_defaults() {
    let o = ConnzOptions::from_query(&q("")).expect("valid");
    assert_eq!(o.state, ConnState::Open);
    assert!(!o.username && !o.subscriptions && !o.subscriptions_detail);
    assert_eq!((o.offset, o.limit, o.cid), (0, 0, 0));
}

#[test]
fn query_parameters() {
    let o = ConnzOptions::from_query(&q(
        "sort=stop&state=closed&subs=detail&auth=true&offset=2&limit=3&cid=9&user=u&acc=A",
    ))
    .expect("valid");
    assert_eq!(o.sort, "stop");
    assert_eq!(o.state, ConnState::Closed);
    assert!(o.subscriptions_detail && !o.subscriptions && o.username);
    assert_eq!((o.offset, o.limit, o.cid), (2, 3, 9));
    assert_eq!((o.user.as_str(), o.account.as_str()), ("u", "A"));
    let o = ConnzOptions::from_query(&q("subs=1&state=ANY")).expect("valid");
    assert!(o.subscriptions && !o.subscriptions_detail);
    assert_eq!(o.state, ConnState::All);
}

#[test]
fn query_errors_use_reference_texts() {
    let err = |s: &str| ConnzOptions::from_query(&q(s)).expect_err(s);
    assert_eq!(err("sort=foo"), "invalid sorting option: foo");
    assert_eq!(
        err("sort=stop"),
        "sort by stop only valid on closed connections"
    );
    assert_eq!(
        err("sort=reason&state=all"),
        "sort by reason only valid on closed connections"
    );
    assert_eq!(err("state=xx"), "Error decoding state for xx");
    assert_eq!(
        err("limit=abc"),
        "Error decoding int for 'limit': strconv.Atoi: parsing \"abc\": invalid syntax"
    );
    assert_eq!(
        err("auth=yes"),
        "Error decoding boolean for 'auth': strconv.ParseBool: parsing \"yes\": invalid syntax"
    );
    assert!(err("cid=-1").starts_with("Error decoding uint64 for 'cid'"));
}

#[test]
fn system_request_json() {
    let o: ConnzOptions = serde_json::from_str(
        r#"{"sort":"bytes_to","auth":true,"subscriptions":true,"subscriptions_detail":false,
            "offset":1,"limit":5,"cid":3,"state":2,"user":"bob","acc":"A",
            "filter_subject":"foo.*","server_name":"x","cluster":"c"}"#,
    )
    .expect("valid json");
    assert_eq!(o.sort, "bytes_to");
    assert!(o.username && o.subscriptions);
    assert_eq!((o.offset, o.limit, o.cid), (1, 5, 3));
    assert_eq!(o.state, ConnState::All);
    assert_eq!(o.filter_subject, "foo.*");
    assert!(o.validate().is_ok());
    let o: ConnzOptions = serde_json::from_str("{}").expect("empty");
    assert_eq!(o.state, ConnState::Open);
    let o: ConnzOptions = serde_json::from_str(r#"{"filter_subject":"a"}"#).expect("json");
    assert_eq!(
        o.validate(),
        Err("filter by subject only valid with account filtering".to_string())
    );
}

#[test]
fn sort_directions() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000);
    let mut l: Vec<ConnInfo> = (1..=4).map(ci).collect();
    for (c, n) in l.iter_mut().zip([5u64, 1, 9, 3]) {
        c.out_msgs = n;
        c.in_bytes = 10 - n;
        c.subscriptions = n as u32;
        c.rtt_ns = n;
        c.last_activity += Duration::from_secs(n);
        c.start += Duration::from_secs(n);
    }
    l.reverse();
    sort_conns(&mut l, SortOpt::Cid, now);
    assert_eq!(cids(&l), [1, 2, 3, 4]);
    sort_conns(&mut l, SortOpt::OutMsgs, now);
    assert_eq!(cids(&l), [3, 1, 4, 2]);
    sort_conns(&mut l, SortOpt::InBytes, now);
    assert_eq!(cids(&l), [2, 4, 1, 3]);
    sort_conns(&mut l, SortOpt::Subs, now);
    assert_eq!(cids(&l), [3, 1, 4, 2]);
    sort_conns(&mut l, SortOpt::Rtt, now);
    assert_eq!(cids(&l), [3, 1, 4, 2]);
    sort_conns(&mut l, SortOpt::Last, now);
    assert_eq!(cids(&l), [3, 1, 4, 2]);
    sort_conns(&mut l, SortOpt::Idle, now);
    assert_eq!(cids(&l), [2, 4, 1, 3]);
    // Uptime ascending: the latest start first.
    sort_conns(&mut l, SortOpt::Uptime, now);
    assert_eq!(cids(&l), [3, 1, 4, 2]);
}

#[test]
fn sort_closed_by_stop_and_reason() {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(3_000_000);
    let mut l: Vec<ConnInfo> = (1..=3).map(ci).collect();
    for (c, (s, r)) in l.iter_mut().zip([
        (2u64, "Read Error"),
        (3, "Authentication Timeout"),
        (1, "Client Closed"),
    ]) {
        c.stop = Some(t + Duration::from_secs(s));
        c.reason = r.into();
    }
    sort_conns(&mut l, SortOpt::Stop, t);
    assert_eq!(cids(&l), [2, 1, 3]);
    sort_conns(&mut l, SortOpt::Reason, t);
    assert_eq!(cids(&l), [2, 3, 1]);
    // A closed connection's uptime ends at its stop.
    l[0].stop = Some(l[0].start + Duration::from_secs(100));
    sort_conns(&mut l, SortOpt::Uptime, t + Duration::from_secs(1_000_000));
    assert_eq!(l[0].cid, 2);
}

#[test]
fn rtt_and_subject_collisions() {
    assert_eq!(rtt_string(0), "0s");
    assert_eq!(rtt_string(232_345), "232µs");
    assert_eq!(rtt_string(6_878_225), "6.878225ms");
    assert!(subjects_collide("foo.*", "foo.bar"));
    assert!(subjects_collide("foo.>", "foo.bar.baz"));
    assert!(subjects_collide("*.bar", "foo.*"));
    assert!(!subjects_collide("foo.>", "foo"));
    assert!(!subjects_collide("foo.bar", "foo.baz"));
    assert!(!subjects_collide("foo", "foo.bar"));
}

#[test]
fn ring_is_bounded_and_oldest_first() {
    let r = ClosedRing::default();
    for cid in 1..=25 {
        let cc = ClosedConn {
            info: ci(cid),
            subs: vec![],
            user: String::new(),
            acc: String::new(),
            acc_tag: String::new(),
        };
        r.push(cc, 10);
        assert!(r.len() <= 10);
    }
    let s = r.snapshot();
    assert_eq!(
        s.iter().map(|c| c.info.cid).collect::<Vec<_>>(),
        (16..=25).collect::<Vec<_>>()
    );
}

#[test]
fn omitempty_rules() {
    let v = serde_json::to_value(ci(1)).expect("json");
    let o = v.as_object().expect("object");
    for k in ["kind", "type", "rtt", "uptime", "idle", "pending_bytes"] {
        assert!(o.contains_key(k), "{k}");
    }
    for k in [
        "stop",
        "reason",
        "name",
        "authorized_user",
        "account",
        "subscriptions_list",
        "subscriptions_list_detail",
        "jwt",
        "tags",
        "rtt_ns",
    ] {
        assert!(!o.contains_key(k), "{k}");
    }
    // The reference's field order.
    let text = serde_json::to_string(&ci(1)).expect("json");
    let pos = |k: &str| text.find(&format!("\"{k}\":")).expect(k);
    let order = [
        "cid",
        "kind",
        "type",
        "ip",
        "port",
        "start",
        "last_activity",
        "rtt",
    ];
    assert!(order.windows(2).all(|w| pos(w[0]) < pos(w[1])), "{text}");
    assert!(pos("pending_bytes") < pos("in_msgs") && pos("out_bytes") < pos("subscriptions"));
}
