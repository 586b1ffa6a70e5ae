//! Differential `/connz` test: the same workload on rnats-server and the reference nats-server
//! 2.15; for `/connz?subs=1&auth=1`, `/connz?subs=detail` and `/connz?state=closed` (plus
//! closed with details and auth) the top-level keys and, per connection of the test's own
//! clients (matched by name, or by close reason when unnamed), the key sets and JSON value types
//! must agree recursively (values differ by nature: ids, times, ports).

mod common;

use common::connz::{self as w, by_name, by_reason, json};
use common::jsonshape::same_shape;
use rnats_testkit::jwt::{Operator, nonce_of, operator_config};
use rnats_testkit::{Raw, ServerProcess, reference_server_path};
use serde_json::Value;
use std::path::Path;

fn top_level(v: &Value) -> Value {
    let mut t = v.clone();
    if let Some(o) = t.as_object_mut() {
        o.insert("connections".into(), Value::Array(vec![]));
    }
    t
}

#[test]
fn connz_shapes_match_reference() {
    let conf = common::jwtdiff::conf_file("connz-diff", w::CONF);
    let conf = conf.to_str().expect("utf-8 path").to_string();
    let args = ["-c", conf.as_str(), "-m", "-1"];
    let ours = ServerProcess::start(Path::new(env!("CARGO_BIN_EXE_rnats-server")), &args)
        .expect("start rnats-server");
    let reference = ServerProcess::start(&reference_server_path(), &args).expect("start reference");
    let (oh, rh) = (
        ours.http_port.expect("rnats monitor"),
        reference.http_port.expect("reference monitor"),
    );
    let _o = w::run(ours.port);
    let _r = w::run(reference.port);

    let mut errs = Vec::new();
    for (path, named, reasons) in [
        (
            "/connz?subs=1&auth=1",
            &["sub", "pub", "carol"][..],
            &[][..],
        ),
        ("/connz?subs=detail", &["sub", "pub", "carol"][..], &[][..]),
        (
            "/connz?state=closed",
            &["closer"][..],
            &["Authentication Timeout"][..],
        ),
        (
            "/connz?state=closed&subs=detail&auth=1",
            &["closer"][..],
            &["Authentication Timeout"][..],
        ),
        (
            "/connz?state=all&subs=1&auth=1",
            &["sub", "closer"][..],
            &[][..],
        ),
    ] {
        let (r, o) = (json(rh, path), json(oh, path));
        same_shape(path, &top_level(&r), &top_level(&o), &mut errs);
        for name in named {
            same_shape(
                &format!("{path} {name}"),
                &by_name(&r, name),
                &by_name(&o, name),
                &mut errs,
            );
        }
        for reason in reasons {
            same_shape(
                &format!("{path} <{reason}>"),
                &by_reason(&r, reason),
                &by_reason(&o, reason),
                &mut errs,
            );
        }
    }
    // The same 400 texts.
    for q in [
        "sort=foo",
        "sort=reason",
        "state=xx",
        "limit=x",
        "subs=maybe",
    ] {
        let path = format!("/connz?{q}");
        let (r, o) = (w::get(rh, &path), w::get(oh, &path));
        if r != o {
            errs.push(format!("{path}: reference {r:?} vs rnats {o:?}"));
        }
    }
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

/// The connection whose `authorized_user` is `user`.
fn by_user(v: &Value, user: &str) -> Value {
    w::conns(v)
        .into_iter()
        .find(|c| c["authorized_user"] == user)
        .unwrap_or_else(|| panic!("no connection of {user} in {v:#}"))
}

/// JWT users: `jwt`, `issuer_key`, `tags`, `name_tag` where the reference shows them, open and
/// closed, bearer tokens redacted.
#[test]
fn connz_jwt_fields_match_reference() {
    let op = Operator::new("OP", serde_json::json!({}));
    let sys = op.account("SYS", serde_json::json!({}));
    let acc = op.account("ACC", serde_json::json!({}));
    let text = operator_config(&op, &sys, &[&acc]);
    let conf = common::jwtdiff::conf_file("connz-jwt", &text);
    let conf = conf.to_str().expect("utf-8 path").to_string();
    let args = ["-c", conf.as_str(), "-m", "-1"];
    let ours = ServerProcess::start(Path::new(env!("CARGO_BIN_EXE_rnats-server")), &args)
        .expect("start rnats-server");
    let reference = ServerProcess::start(&reference_server_path(), &args).expect("start reference");
    let tagged = acc.user_via_signing_key(
        "tagged",
        serde_json::json!({"nats": {"tags": ["blue", "green"]}}),
    );
    let bearer = acc.user(
        "bearer",
        serde_json::json!({"nats": {"bearer_token": true}}),
    );
    let leaver = acc.user("leaver", serde_json::json!({}));
    let mut errs = Vec::new();
    let mut keep = Vec::new();
    let mut shapes = Vec::new();
    for s in [&reference, &ours] {
        for u in [&tagged, &bearer, &leaver] {
            let mut r = Raw::connect(s.port);
            let nonce = nonce_of(&r.read_info());
            r.send(u.connect_line(&nonce).as_bytes());
            r.send(b"SUB a.b 1\r\n");
            r.sync();
            keep.push(r);
        }
        let mut leaving = keep.pop().expect("leaver");
        leaving.close();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let http = s.http_port.expect("monitor");
        let open = json(http, "/connz?auth=1&subs=detail");
        let closed = json(http, "/connz?state=closed&auth=1&subs=detail");
        let plain_closed = json(http, "/connz?state=closed");
        shapes.push([
            by_user(&open, &tagged.kp.public_key()),
            by_user(&open, &bearer.kp.public_key()),
            by_user(&closed, &leaver.kp.public_key()),
            w::conns(&plain_closed)
                .into_iter()
                .next()
                .unwrap_or_default(),
        ]);
    }
    let names = ["open tagged", "open bearer", "closed auth", "closed plain"];
    for (i, name) in names.iter().enumerate() {
        same_shape(name, &shapes[0][i], &shapes[1][i], &mut errs);
    }
    assert!(errs.is_empty(), "{}\n{:#?}", errs.join("\n"), shapes);
    // Values that are equal by construction.
    assert_eq!(shapes[1][0]["tags"], serde_json::json!(["blue", "green"]));
    assert_eq!(shapes[1][0]["issuer_key"], acc.signing.public_key());
    assert_eq!(shapes[1][0]["jwt"], tagged.jwt);
    assert_eq!(shapes[1][0]["name_tag"], shapes[0][0]["name_tag"]);
    assert!(shapes[1][1].get("jwt").is_none(), "bearer JWT redacted");
    assert_eq!(shapes[1][1]["issuer_key"], acc.key());
}
