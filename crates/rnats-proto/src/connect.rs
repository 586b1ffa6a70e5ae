//! CONNECT options (nats-server `client.go ClientOpts`). Omitted fields keep the reference's
//! defaults: `verbose`, `pedantic` and `echo` are **true** until a CONNECT says otherwise, which
//! is why `CONNECT {}` turns +OK acknowledgements on. JSON `null` is treated as omitted.
//!
//! The document is decoded as Go's `encoding/json` would ([`crate::json`]): containers may nest
//! up to Go's limit of 10,000 levels (serde_json alone stops at 128), values of unknown keys are
//! skipped without recursion, so a deep document costs no stack, and a `\u` escape of a lone
//! UTF-16 surrogate decodes to U+FFFD instead of failing.

use crate::json::{JsonError, Pruned};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// The options a client sends in CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    pub verbose: bool,
    pub pedantic: bool,
    pub tls_required: bool,
    pub auth_token: Option<String>,
    pub user: Option<String>,
    pub pass: Option<String>,
    pub name: Option<String>,
    pub lang: Option<String>,
    pub version: Option<String>,
    pub protocol: i64,
    pub echo: bool,
    pub sig: Option<String>,
    pub jwt: Option<String>,
    pub nkey: Option<String>,
    pub headers: bool,
    pub no_responders: bool,
    pub account: Option<String>,
    pub new_account: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            verbose: true,
            pedantic: true,
            tls_required: false,
            auth_token: None,
            user: None,
            pass: None,
            name: None,
            lang: None,
            version: None,
            protocol: 0,
            echo: true,
            sig: None,
            jwt: None,
            nkey: None,
            headers: false,
            no_responders: false,
            account: None,
            new_account: false,
        }
    }
}

/// Why a CONNECT argument was refused (the reference closes the connection silently).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("json: cannot unmarshal {got} into Go struct field clientOpts.{field} of type {want}")]
    Type {
        field: String,
        got: &'static str,
        want: &'static str,
    },
    #[error("json: cannot unmarshal {0} into Go value of type server.ClientOpts")]
    NotAnObject(&'static str),
    /// Containers nested deeper than Go's limit ([`crate::json::MAX_DEPTH`]).
    #[error("invalid character '{0}' exceeded max depth")]
    TooDeep(char),
}

impl From<JsonError> for ConnectError {
    fn from(e: JsonError) -> Self {
        match e {
            JsonError::Json(e) => ConnectError::Json(e),
            JsonError::TooDeep(c) => ConnectError::TooDeep(c),
        }
    }
}

/// The top level of a JSON document: `null`, an object's members in document order (values
/// of keys `keep` refuses are skipped), or the kind of anything else.
enum Doc {
    Null,
    Object(Vec<(String, Value)>),
    Other(&'static str),
}

/// Decodes a [`Doc`]: serde_json skips [`IgnoredAny`] values iteratively, so only the values
/// that are kept count against its recursion limit.
struct DocSeed {
    keep: fn(&str) -> bool,
}

impl<'de> Visitor<'de> for DocSeed {
    type Value = Doc;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Doc, E> {
        Ok(Doc::Null)
    }

    fn visit_none<E>(self) -> Result<Doc, E> {
        Ok(Doc::Null)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Doc, E> {
        Ok(Doc::Other("bool"))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Doc, E> {
        Ok(Doc::Other("number"))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Doc, E> {
        Ok(Doc::Other("number"))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Doc, E> {
        Ok(Doc::Other("number"))
    }

    fn visit_str<E>(self, _: &str) -> Result<Doc, E> {
        Ok(Doc::Other("string"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Doc, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Doc::Other("array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Doc, A::Error> {
        let mut members = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            if (self.keep)(&k) {
                let v = map.next_value_seed(Pruned::default())?;
                members.push((k, v));
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Doc::Object(members))
    }
}

impl<'de> DeserializeSeed<'de> for DocSeed {
    type Value = Doc;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Doc, D::Error> {
        d.deserialize_any(self)
    }
}

/// Decode `json` (invalid UTF-8 becomes U+FFFD, as Go does) down to its top level.
fn decode_doc(json: &[u8], keep: fn(&str) -> bool) -> Result<Doc, ConnectError> {
    let text = crate::json::go_lossy(json);
    let text = crate::json::lexical(&text)?;
    let mut de = serde_json::Deserializer::from_str(&text);
    let doc = DocSeed { keep }.deserialize(&mut de)?;
    de.end()?;
    Ok(doc)
}

/// The CONNECT keys read (matched case-insensitively).
const KNOWN: &[&str] = &[
    "verbose",
    "pedantic",
    "tls_required",
    "auth_token",
    "user",
    "pass",
    "name",
    "lang",
    "version",
    "protocol",
    "echo",
    "sig",
    "jwt",
    "nkey",
    "headers",
    "no_responders",
    "account",
    "new_account",
];

fn known(key: &str) -> bool {
    KNOWN.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// Whether `json` is a JSON object or `null` (what the server requires of a client's `INFO`),
/// with Go's nesting limit and without recursion.
pub fn is_object_or_null(json: &[u8]) -> bool {
    matches!(decode_doc(json, |_| false), Ok(Doc::Null | Doc::Object(_)))
}

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

impl ConnectOptions {
    /// Parse a CONNECT argument the way Go's `encoding/json` fills `ClientOpts`: keys match
    /// case-insensitively, `null` leaves a field at its default, unknown keys are ignored (at
    /// any depth up to Go's 10,000 levels), the last duplicate in document order wins, invalid
    /// UTF-8 becomes U+FFFD, and a wrong type is an error (after which the reference closes the
    /// connection silently).
    pub fn parse(json: &[u8]) -> Result<Self, ConnectError> {
        let mut o = ConnectOptions::default();
        let map = match decode_doc(json, known)? {
            Doc::Null => return Ok(o),
            Doc::Object(m) => m,
            Doc::Other(kind) => return Err(ConnectError::NotAnObject(kind)),
        };
        for (k, val) in map {
            let key = k.to_ascii_lowercase();
            if val.is_null() {
                continue;
            }
            let bad = |want: &'static str| ConnectError::Type {
                field: k.clone(),
                got: kind(&val),
                want,
            };
            let b = || val.as_bool().ok_or_else(|| bad("bool"));
            let st = || {
                val.as_str()
                    .map(|s| Some(s.to_string()).filter(|s| !s.is_empty()))
                    .ok_or_else(|| bad("string"))
            };
            match key.as_str() {
                "verbose" => o.verbose = b()?,
                "pedantic" => o.pedantic = b()?,
                "tls_required" => o.tls_required = b()?,
                "auth_token" => o.auth_token = st()?,
                "user" => o.user = st()?,
                "pass" => o.pass = st()?,
                "name" => o.name = Some(val.as_str().ok_or_else(|| bad("string"))?.to_string()),
                "lang" => o.lang = Some(val.as_str().ok_or_else(|| bad("string"))?.to_string()),
                "version" => {
                    o.version = Some(val.as_str().ok_or_else(|| bad("string"))?.to_string())
                }
                "protocol" => o.protocol = val.as_i64().ok_or_else(|| bad("int"))?,
                "echo" => o.echo = b()?,
                "sig" => o.sig = st()?,
                "jwt" => o.jwt = st()?,
                "nkey" => o.nkey = st()?,
                "headers" => o.headers = b()?,
                "no_responders" => o.no_responders = b()?,
                "account" => o.account = st()?,
                "new_account" => o.new_account = b()?,
                _ => {}
            }
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_verbose_pedantic_echo() {
        let o = ConnectOptions::parse(b"{}").expect("ok");
        assert!(o.verbose && o.pedantic && o.echo && !o.headers);
        let o =
            ConnectOptions::parse(br#"{"verbose":false,"name":null,"protocol":1}"#).expect("ok");
        assert!(!o.verbose && o.protocol == 1 && o.name.is_none());
    }

    #[test]
    fn errors() {
        for bad in [
            &b""[..],
            b"{",
            b"{\"protocol\":\"1\"}",
            b"{} x",
            b"{\"verbose\":1}",
            b"[]",
            b"{\"protocol\":1.5}",
        ] {
            assert!(ConnectOptions::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ConnectOptions::parse(b"{\"unknown\":[1,2]}").is_ok());
    }

    #[test]
    fn go_decoder_leniency() {
        let o = ConnectOptions::parse(b"{\"Verbose\":false,\"ECHO\":false}").expect("case");
        assert!(!o.verbose && !o.echo);
        assert!(ConnectOptions::parse(b"null").expect("null").verbose);
        let o = ConnectOptions::parse(b"{\"verbose\":true,\"verbose\":false}").expect("dup");
        assert!(!o.verbose);
        let o = ConnectOptions::parse(b"{\"name\":\"a\xffb\"}").expect("utf8");
        assert_eq!(o.name.as_deref(), Some("a\u{fffd}b"));
        // Go applies the last duplicate in document order, whatever the key's case.
        let o = ConnectOptions::parse(b"{\"verbose\":true,\"Verbose\":false}").expect("dup");
        assert!(!o.verbose);
    }

    fn nested(open: &str, inner: &str, close: &str, n: usize) -> Vec<u8> {
        format!(
            "{{\"verbose\":false,\"x\":{}{inner}{}}}",
            open.repeat(n),
            close.repeat(n)
        )
        .into_bytes()
    }

    #[test]
    fn nesting_up_to_go_max_depth() {
        // The outer object is level 1: 9,999 more levels reach Go's limit of 10,000.
        for (open, inner, close) in [("[", "", "]"), ("{\"a\":", "1", "}")] {
            let o = ConnectOptions::parse(&nested(open, inner, close, 200)).expect("200");
            assert!(!o.verbose);
            assert!(ConnectOptions::parse(&nested(open, inner, close, 9_999)).is_ok());
            let e = ConnectOptions::parse(&nested(open, inner, close, 10_000));
            assert!(matches!(e, Err(ConnectError::TooDeep(_))), "{e:?}");
        }
        // Brackets in strings do not count, escaped quotes do not end a string.
        let s = format!("{{\"name\":\"\\\"{}\"}}", "[".repeat(20_000));
        assert!(ConnectOptions::parse(s.as_bytes()).is_ok());
        // Not an object, however deep: refused without recursion.
        let deep = "[".repeat(5_000) + &"]".repeat(5_000);
        assert!(matches!(
            ConnectOptions::parse(deep.as_bytes()),
            Err(ConnectError::NotAnObject("array"))
        ));
        assert!(ConnectOptions::parse("[".repeat(100_000).as_bytes()).is_err());
        // A known field holding a container is a type error at any depth.
        let v = format!("{{\"verbose\":{}{}}}", "[".repeat(300), "]".repeat(300));
        assert!(ConnectOptions::parse(v.as_bytes()).is_err());
    }

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        for (json, name) in [
            (r#"{"name":"\ud800"}"#, "\u{fffd}"),
            (r#"{"name":"a\udc00b"}"#, "a\u{fffd}b"),
            (r#"{"name":"\ud800\u0041"}"#, "\u{fffd}A"),
            (r#"{"name":"\ud800\ud83d\ude00"}"#, "\u{fffd}\u{1f600}"),
            (r#"{"name":"\ud83d\ude00"}"#, "\u{1f600}"),
            (r#"{"name":"\\ud800"}"#, "\\ud800"),
            (r#"{"\udfff":1,"name":"\ud800"}"#, "\u{fffd}"),
        ] {
            let o = ConnectOptions::parse(json.as_bytes()).expect(json);
            assert_eq!(o.name.as_deref(), Some(name), "{json}");
        }
        assert!(ConnectOptions::parse(br#"{"name":"\ud8"}"#).is_err());
    }

    #[test]
    fn info_documents() {
        assert!(is_object_or_null(b"{}"));
        assert!(is_object_or_null(b"null"));
        assert!(!is_object_or_null(b"[]"));
        assert!(!is_object_or_null(b"x"));
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(5_000), "]".repeat(5_000));
        assert!(is_object_or_null(deep.as_bytes()));
        let deeper = format!("{{\"x\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(!is_object_or_null(deeper.as_bytes()));
    }
}
