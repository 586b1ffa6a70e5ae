//! CONNECT options (nats-server `client.go ClientOpts`). Omitted fields keep the reference's
//! defaults: `verbose`, `pedantic` and `echo` are **true** until a CONNECT says otherwise, which
//! is why `CONNECT {}` turns +OK acknowledgements on. JSON `null` is treated as omitted.

use serde::Deserialize;

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

#[derive(Deserialize)]
struct Raw {
    verbose: Option<bool>,
    pedantic: Option<bool>,
    tls_required: Option<bool>,
    auth_token: Option<String>,
    user: Option<String>,
    pass: Option<String>,
    name: Option<String>,
    lang: Option<String>,
    version: Option<String>,
    protocol: Option<i64>,
    echo: Option<bool>,
    sig: Option<String>,
    jwt: Option<String>,
    nkey: Option<String>,
    headers: Option<bool>,
    no_responders: Option<bool>,
    account: Option<String>,
    new_account: Option<bool>,
}

impl ConnectOptions {
    /// Parse a CONNECT argument. Any error (bad JSON, wrong types, trailing bytes) means the
    /// reference closes the connection silently.
    pub fn parse(json: &[u8]) -> Result<Self, serde_json::Error> {
        let r: Raw = serde_json::from_slice(json)?;
        let d = ConnectOptions::default();
        let nonempty = |s: Option<String>| s.filter(|s| !s.is_empty());
        Ok(ConnectOptions {
            verbose: r.verbose.unwrap_or(d.verbose),
            pedantic: r.pedantic.unwrap_or(d.pedantic),
            tls_required: r.tls_required.unwrap_or(false),
            auth_token: nonempty(r.auth_token),
            user: nonempty(r.user),
            pass: nonempty(r.pass),
            name: r.name,
            lang: r.lang,
            version: r.version,
            protocol: r.protocol.unwrap_or(0),
            echo: r.echo.unwrap_or(d.echo),
            sig: nonempty(r.sig),
            jwt: nonempty(r.jwt),
            nkey: nonempty(r.nkey),
            headers: r.headers.unwrap_or(false),
            no_responders: r.no_responders.unwrap_or(false),
            account: nonempty(r.account),
            new_account: r.new_account.unwrap_or(false),
        })
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
        ] {
            assert!(ConnectOptions::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ConnectOptions::parse(b"{\"unknown\":[1,2]}").is_ok());
    }
}
