//! Comparing the shape of two JSON documents: every key of the reference's document must be
//! present in ours with the same JSON type, recursively (values differ by nature: ids, times,
//! memory). Array elements are compared against the reference's first element.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The differences in shape of `ours` against `theirs`, as `path: problem` lines.
pub fn shape_diff(path: &str, ours: &Value, theirs: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if kind(ours) != kind(theirs) {
        out.push(format!(
            "{path}: {} here, {} in the reference",
            kind(ours),
            kind(theirs)
        ));
        return out;
    }
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, bv) in b {
                match a.get(k) {
                    Some(av) => out.extend(shape_diff(&format!("{path}.{k}"), av, bv)),
                    None => out.push(format!("{path}.{k}: missing")),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if let (Some(av), Some(bv)) = (a.first(), b.first()) {
                out.extend(shape_diff(&format!("{path}[0]"), av, bv));
            }
        }
        _ => {}
    }
    out
}

/// Every key of `reference` is in `ours` with the same type (recursively); `ours` has no key
/// the reference lacks.
pub fn same_shape(path: &str, reference: &Value, ours: &Value, errs: &mut Vec<String>) {
    if kind(reference) != kind(ours) {
        errs.push(format!(
            "{path}: reference {} vs rnats {}",
            kind(reference),
            kind(ours)
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
            // Subscriptions come in Go map order from the reference: pair them by subject.
            let (r, o) = (by_subject(r), by_subject(o));
            for (i, (rv, ov)) in r.iter().zip(&o).enumerate() {
                same_shape(&format!("{path}[{i}]"), rv, ov, errs);
            }
        }
        _ => {}
    }
}

/// Every key path of `theirs` (list elements merged into one shape) with its JSON type.
fn shape(v: &Value, path: &str, out: &mut BTreeMap<String, &'static str>) {
    out.insert(path.to_string(), kind(v));
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
pub fn missing(ours: &Value, theirs: &Value) -> Vec<String> {
    let (mut o, mut t) = (BTreeMap::new(), BTreeMap::new());
    shape(ours, "", &mut o);
    shape(theirs, "", &mut t);
    t.iter()
        .filter(|(k, ty)| o.get(*k) != Some(ty))
        .map(|(k, ty)| format!("{k}: reference {ty}, rnats {:?}", o.get(k)))
        .collect()
}

/// Elements sorted by their `subject` and `sid` (unchanged order when they have none).
fn by_subject(v: &[Value]) -> Vec<&Value> {
    let mut out: Vec<&Value> = v.iter().collect();
    let key = |x: &Value| {
        (
            x.get("subject").and_then(Value::as_str).map(str::to_string),
            x.get("sid").and_then(Value::as_str).map(str::to_string),
        )
    };
    out.sort_by_key(|x| key(x));
    out
}
