//! Comparing the shape of two JSON documents: every key of the reference's document must be
//! present in ours with the same JSON type, recursively (values differ by nature: ids, times,
//! memory). Array elements are compared against the reference's first element.
#![allow(dead_code)]

use serde_json::Value;

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
