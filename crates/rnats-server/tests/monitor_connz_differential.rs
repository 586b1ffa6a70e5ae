//! Differential `/connz` test: the same workload on rnats-server and the reference nats-server
//! 2.15; for `/connz?subs=1&auth=1`, `/connz?subs=detail` and `/connz?state=closed` (plus
//! closed with details and auth) the top-level keys and, per connection of the test's own
//! clients (matched by name, or by close reason when unnamed), the key sets and JSON value types
//! must agree recursively (values differ by nature: ids, times, ports).

mod common;

use common::connz::{self as w, by_name, by_reason, json};
use rnats_testkit::{ServerProcess, reference_server_path};
use serde_json::Value;
use std::path::Path;

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every key of `reference` is in `ours` with the same type (recursively); `ours` has no key
/// the reference lacks.
fn same_shape(path: &str, reference: &Value, ours: &Value, errs: &mut Vec<String>) {
    if type_of(reference) != type_of(ours) {
        errs.push(format!(
            "{path}: reference {} vs rnats {}",
            type_of(reference),
            type_of(ours)
        ));
        return;
    }
    match (reference, ours) {
        (Value::Object(r), Value::Object(o)) => {
            for (k, rv) in r {
                match o.get(k) {
                    Some(ov) => same_shape(&format!("{path}.{k}"), rv, ov, errs),
                    None => errs.push(format!("{path}.{k}: missing in rnats")),
                }
            }
            for k in o.keys().filter(|k| !r.contains_key(*k)) {
                errs.push(format!("{path}.{k}: not in the reference"));
            }
        }
        (Value::Array(r), Value::Array(o)) => {
            if r.len() != o.len() {
                errs.push(format!("{path}: {} vs {} elements", r.len(), o.len()));
            }
            for (i, (rv, ov)) in r.iter().zip(o).enumerate() {
                same_shape(&format!("{path}[{i}]"), rv, ov, errs);
            }
        }
        _ => {}
    }
}

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
