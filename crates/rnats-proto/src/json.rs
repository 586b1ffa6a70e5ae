//! JSON from peers, read as Go's `encoding/json` reads it (CONNECT, a client's INFO, JWT
//! headers and claims). serde_json alone refuses documents nats-server accepts: containers
//! nested deeper than 128 levels (Go allows 10,000), a `\u` escape of a lone UTF-16 surrogate
//! (Go decodes U+FFFD) and invalid UTF-8 in strings (Go decodes U+FFFD). Here:
//!
//! - [`lexical`] makes one pass over the text, without recursion: it refuses more than
//!   [`MAX_DEPTH`] levels with Go's message and rewrites lone surrogate escapes as `\ufffd`;
//! - [`value`] (and [`Pruned`]) build a `serde_json::Value` that keeps [`KEEP_DEPTH`] levels
//!   and skips anything deeper with serde_json's iterative skipper (it becomes `null`): no
//!   reader of these documents looks that deep, and the stack stays bounded whatever the
//!   nesting.

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::borrow::Cow;

/// Go's `encoding/json` nesting limit (`maxNestingDepth`): a deeper document is a syntax error.
pub const MAX_DEPTH: usize = 10_000;

/// Levels of a [`value`] that are kept; deeper containers become `null` (within serde_json's
/// own recursion limit of 128).
pub const KEEP_DEPTH: usize = 64;

/// Why a document did not decode.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// Containers nested deeper than [`MAX_DEPTH`] (Go's text for it).
    #[error("invalid character '{0}' exceeded max depth")]
    TooDeep(char),
}

/// The value of the four hex digits at `at`, if they are.
fn hex4(b: &[u8], at: usize) -> Option<u32> {
    let digits = b.get(at..at + 4)?;
    if !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

/// One pass over the text as Go's scanner and `unquote` see it, without recursion: fails if
/// containers nest deeper than [`MAX_DEPTH`] (brackets inside strings do not count), and
/// rewrites each `\u` escape of a lone UTF-16 surrogate as `\ufffd` (Go decodes it to U+FFFD;
/// serde_json refuses it). Borrowed unless an escape was rewritten.
pub fn lexical(text: &str) -> Result<Cow<'_, str>, JsonError> {
    let b = text.as_bytes();
    let (mut depth, mut in_str, mut i) = (0usize, false, 0usize);
    let mut lone = Vec::new();
    while i < b.len() {
        let c = b[i];
        if in_str {
            match c {
                b'"' => in_str = false,
                b'\\' if b.get(i + 1) == Some(&b'u') => {
                    let surrogate = |at| hex4(b, at).filter(|u| (0xD800..0xE000).contains(u));
                    if let Some(u) = surrogate(i + 2) {
                        // A leading surrogate followed by a trailing one is a pair.
                        let pair = u < 0xDC00
                            && b.get(i + 6..i + 8) == Some(b"\\u")
                            && surrogate(i + 8).is_some_and(|t| t >= 0xDC00);
                        if pair {
                            i += 12;
                            continue;
                        }
                        lone.push(i);
                    }
                    i += 6;
                    continue;
                }
                // Skip the escaped byte (`\"` does not end the string).
                b'\\' => i += 1,
                _ => {}
            }
        } else {
            match c {
                b'"' => in_str = true,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(JsonError::TooDeep(char::from(c)));
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        i += 1;
    }
    if lone.is_empty() {
        return Ok(Cow::Borrowed(text));
    }
    let mut fixed = b.to_vec();
    for at in lone {
        fixed[at..at + 6].copy_from_slice(b"\\ufffd");
    }
    // ASCII bytes were replaced by ASCII bytes: still UTF-8.
    Ok(Cow::Owned(String::from_utf8_lossy(&fixed).into_owned()))
}

/// A JSON value with containers below [`KEEP_DEPTH`] levels (counted from where it starts)
/// replaced by `null`, skipped without recursion.
#[derive(Debug, Default, Clone, Copy)]
pub struct Pruned {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Pruned {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.depth >= KEEP_DEPTH {
            d.deserialize_ignored_any(IgnoredAny)?;
            return Ok(Value::Null);
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Pruned {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = Pruned {
            depth: self.depth + 1,
        };
        let mut v = Vec::new();
        while let Some(x) = seq.next_element_seed(inner)? {
            v.push(x);
        }
        Ok(Value::Array(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = Pruned {
            depth: self.depth + 1,
        };
        let mut m = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            // The last duplicate wins, as in Go.
            let v = map.next_value_seed(inner)?;
            m.insert(k, v);
        }
        Ok(Value::Object(m))
    }
}

/// The text of `bytes` as Go's JSON decoder reads it: each byte that does not start a valid
/// UTF-8 sequence becomes one U+FFFD (Go's `utf8.DecodeRune` steps one byte at a time; Rust's
/// lossy decoding would fold a truncated sequence into a single U+FFFD).
pub fn go_lossy(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(bytes.len() + 16);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for _ in 0..chunk.invalid().len() {
            out.push('\u{FFFD}');
        }
    }
    Cow::Owned(out)
}

/// Decode a whole JSON document as Go would (see the module docs): invalid UTF-8 becomes
/// U+FFFD, lone surrogate escapes too, up to [`MAX_DEPTH`] levels are accepted and the first
/// [`KEEP_DEPTH`] are kept.
pub fn value(json: &[u8]) -> Result<Value, JsonError> {
    let text = go_lossy(json);
    let text = lexical(&text)?;
    let mut de = serde_json::Deserializer::from_str(&text);
    let v = Pruned::default().deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_depth_limit_and_pruning() {
        let nested = |n: usize| format!("{{\"a\":1,\"x\":{}{}}}", "[".repeat(n), "]".repeat(n));
        // 1 (object) + 9,999 = Go's 10,000 levels.
        let v = value(nested(9_999).as_bytes()).expect("deep");
        assert_eq!(v["a"], 1);
        // Kept down to KEEP_DEPTH levels, then null.
        let mut x = &v["x"];
        for _ in 1..KEEP_DEPTH {
            x = &x[0];
        }
        assert_eq!(x, &Value::Null);
        assert!(matches!(
            value(nested(10_000).as_bytes()),
            Err(JsonError::TooDeep('['))
        ));
        assert!(value("[".repeat(100_000).as_bytes()).is_err());
        // Invalid documents stay invalid at any depth.
        assert!(value(format!("{}1,]{}", "[".repeat(200), "]".repeat(199)).as_bytes()).is_err());
        // Brackets in strings do not count.
        let s = format!("{{\"s\":\"\\\"{}\"}}", "[".repeat(20_000));
        assert!(value(s.as_bytes()).is_ok());
    }

    #[test]
    fn invalid_utf8_becomes_one_replacement_character_per_byte_as_in_go() {
        assert_eq!(go_lossy(b"x.\xe2\x82A"), "x.\u{FFFD}\u{FFFD}A");
        assert_eq!(go_lossy(b"\xff"), "\u{FFFD}");
        assert!(matches!(go_lossy("caf\u{e9}".as_bytes()), Cow::Borrowed(_)));
        let v = value(b"{\"deny\":\"x.\xe2\x82\"}").expect("decodes");
        assert_eq!(v["deny"], "x.\u{FFFD}\u{FFFD}");
    }

    #[test]
    fn lone_surrogates_and_invalid_utf8_become_replacement_characters() {
        for (json, want) in [
            (r#""\ud800""#, "\u{fffd}"),
            (r#""a\udc00b""#, "a\u{fffd}b"),
            (r#""\ud800\u0041""#, "\u{fffd}A"),
            (r#""\ud800\ud83d\ude00""#, "\u{fffd}\u{1f600}"),
            (r#""\ud83d\ude00""#, "\u{1f600}"),
            (r#""\\ud800""#, "\\ud800"),
        ] {
            assert_eq!(
                value(json.as_bytes()).expect(json),
                Value::from(want),
                "{json}"
            );
        }
        assert_eq!(
            value(b"\"a\xffb\"").expect("utf8"),
            Value::from("a\u{fffd}b")
        );
        assert!(value(br#""\ud8""#).is_err());
        assert!(value(br#""\u+d80""#).is_err());
    }

    #[test]
    fn values_as_serde_json() {
        let text = r#"{"a":[1,-2,3.5,true,null,"s"],"b":{"c":{}},"a":"last"}"#;
        let want: Value = serde_json::from_str(text).expect("serde");
        assert_eq!(value(text.as_bytes()).expect("value"), want);
        assert!(value(b"{} x").is_err());
        assert!(value(b"").is_err());
    }
}
