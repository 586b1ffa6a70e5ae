//! Go `encoding/json` rendering of a parsed configuration, for the configuration digest.
//!
//! Model: the reference computes its digest (`-t` prints `sha256:<hex>`, reload compares it) as
//! the SHA-256 of `json.NewEncoder(..).Encode(map)`: keys sorted bytewise, no spaces, HTML-safe
//! string escapes, Go's float formatting, datetimes as RFC 3339 strings and a trailing newline.
//! This module reproduces those bytes; hashing is left to the caller (no crypto dependency here).
//! Why: a drop-in server should print the same digest and detect the same changes on reload.

use crate::value::{Item, Map, Value};

impl Map {
    /// The exact bytes Go's `json.Encoder.Encode` writes for this map, trailing newline included.
    /// Their SHA-256, as lowercase hex after `sha256:`, is the reference's config digest.
    pub fn to_go_json(&self) -> String {
        let mut out = String::new();
        write_map(&mut out, self);
        out.push('\n');
        out
    }
}

fn write_map(out: &mut String, m: &Map) {
    let mut entries: Vec<_> = m.iter().collect();
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    out.push('{');
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, &e.key);
        out.push(':');
        write_item(out, &e.value);
    }
    out.push('}');
}

fn write_item(out: &mut String, item: &Item) {
    match &item.value {
        Value::String(s) => write_string(out, s),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&go_float(*f)),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::DateTime(d) => {
            out.push('"');
            out.push_str(&d.to_string());
            out.push('"');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, it) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_item(out, it);
            }
            out.push(']');
        }
        Value::Map(m) => write_map(out, m),
    }
}

/// `strconv.AppendFloat(f, 'f' or 'e', -1, 64)` as `encoding/json` chooses and tidies it.
fn go_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        if let Some((mant, exp)) = s.split_once('e') {
            return match exp.strip_prefix('-') {
                Some(neg) => format!("{mant}e-{neg}"),
                None => format!("{mant}e+{exp}"),
            };
        }
        return s;
    }
    format!("{f}")
}

fn write_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{0}'..='\u{1f}' => {
                let b = c as u32;
                out.push_str("\\u00");
                out.push(char::from(HEX[((b >> 4) & 0xf) as usize]));
                out.push(char::from(HEX[(b & 0xf) as usize]));
            }
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_go() {
        assert_eq!(go_float(2.2), "2.2");
        assert_eq!(go_float(1.0), "1");
        assert_eq!(go_float(-0.0), "-0");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(1.5e-7), "1.5e-7");
        assert_eq!(go_float(1e-10), "1e-10");
        assert_eq!(go_float(0.000001), "0.000001");
        assert_eq!(go_float(123456789012345680000.0), "123456789012345680000");
    }

    #[test]
    fn strings_like_go() {
        let mut out = String::new();
        write_string(&mut out, "a\"<b>&\u{1}\u{8}\n\u{2028}é");
        assert_eq!(out, r#""a\"\u003cb\u003e\u0026\u0001\b\n\u2028é""#);
    }

    #[test]
    fn reference_digest_inputs() {
        // Inputs whose digests the reference tests pin (TestParseDigest): `foo = bar` hashes to
        // sha256:226e49e1..., which is the SHA-256 of exactly this text.
        let m = crate::parse_str("foo = bar").expect("parses");
        assert_eq!(m.to_go_json(), "{\"foo\":\"bar\"}\n");
        let m = crate::parse_str("b = [1, 2.5, true]\na { z = 1, y = 2016-05-04T18:53:41Z }")
            .expect("parses");
        assert_eq!(
            m.to_go_json(),
            "{\"a\":{\"y\":\"2016-05-04T18:53:41Z\",\"z\":1},\"b\":[1,2.5,true]}\n"
        );
    }
}
