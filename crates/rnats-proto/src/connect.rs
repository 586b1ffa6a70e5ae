//! CONNECT options (nats-server `client.go ClientOpts`). Omitted fields keep the reference's
//! defaults: `verbose`, `pedantic` and `echo` are **true** until a CONNECT says otherwise, which
//! is why `CONNECT {}` turns +OK acknowledgements on. JSON `null` is treated as omitted.

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
    /// case-insensitively, `null` leaves a field at its default, unknown keys are ignored, the
    /// last duplicate wins, invalid UTF-8 becomes U+FFFD, and a wrong type is an error (after
    /// which the reference closes the connection silently).
    pub fn parse(json: &[u8]) -> Result<Self, ConnectError> {
        let text = String::from_utf8_lossy(json);
        let v: Value = serde_json::from_str(&text)?;
        let mut o = ConnectOptions::default();
        let map = match v {
            Value::Null => return Ok(o),
            Value::Object(m) => m,
            other => return Err(ConnectError::NotAnObject(kind(&other))),
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
    }
}
