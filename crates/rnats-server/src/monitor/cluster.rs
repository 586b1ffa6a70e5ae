//! `/routez`, `/gatewayz`, `/leafz` and `/healthz` for a server without clustering, gateways,
//! leaf nodes or JetStream (nats-server `Routez`, `Gatewayz`, `Leafz`, `HealthStatus`).
//!
//! Model: rnats has no routes, gateways or leaf nodes yet, so the first three are the
//! reference's answers for a server where those are not configured: the same keys, empty lists
//! and maps. Their query parameters are accepted and checked as the reference does (a malformed
//! boolean is its 400), then have nothing to select. `/healthz` answers as the reference does
//! without JetStream: `ok`, except for the parameter combinations it refuses (a stream without
//! an account, a consumer without a stream).

use super::{Answer, Query, rfc3339};
use crate::server::Server;
use hyper::StatusCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `/routez` answer.
#[derive(Debug, Serialize)]
pub struct Routez {
    pub server_id: String,
    pub server_name: String,
    pub now: String,
    pub num_routes: u64,
    pub routes: Vec<serde_json::Value>,
}

/// `/routez`: no routes.
pub fn routez(s: &Server) -> Routez {
    Routez {
        server_id: s.id.clone(),
        server_name: s.name.clone(),
        now: rfc3339(std::time::SystemTime::now()),
        num_routes: 0,
        routes: Vec::new(),
    }
}

/// The `subs` parameter as `decodeSubs` reads it (`detail`, or a boolean).
fn decode_subs(q: &Query) -> Result<(), String> {
    if q.get("subs")
        .is_some_and(|v| v.eq_ignore_ascii_case("detail"))
    {
        return Ok(());
    }
    q.bool("subs").map(|_| ())
}

/// Check `/routez`'s parameters.
pub fn routez_query(q: &Query) -> Result<(), String> {
    decode_subs(q)
}

/// The `/gatewayz` answer.
#[derive(Debug, Serialize)]
pub struct Gatewayz {
    pub server_id: String,
    pub now: String,
    pub outbound_gateways: BTreeMap<String, serde_json::Value>,
    pub inbound_gateways: BTreeMap<String, serde_json::Value>,
}

/// `/gatewayz`: gateways not configured.
pub fn gatewayz(s: &Server) -> Gatewayz {
    Gatewayz {
        server_id: s.id.clone(),
        now: rfc3339(std::time::SystemTime::now()),
        outbound_gateways: BTreeMap::new(),
        inbound_gateways: BTreeMap::new(),
    }
}

/// Check `/gatewayz`'s parameters (`subs`, `accs`; `gw_name`, `acc_name` are free text).
pub fn gatewayz_query(q: &Query) -> Result<(), String> {
    decode_subs(q)?;
    q.bool("accs").map(|_| ())
}

/// The `/leafz` answer.
#[derive(Debug, Serialize)]
pub struct Leafz {
    pub server_id: String,
    pub now: String,
    pub leafnodes: u64,
    pub leafs: Vec<serde_json::Value>,
}

/// `/leafz`: no leaf nodes.
pub fn leafz(s: &Server) -> Leafz {
    Leafz {
        server_id: s.id.clone(),
        now: rfc3339(std::time::SystemTime::now()),
        leafnodes: 0,
        leafs: Vec::new(),
    }
}

/// Check `/leafz`'s parameters (`subs`; `acc` is free text).
pub fn leafz_query(q: &Query) -> Result<(), String> {
    q.bool("subs").map(|_| ())
}

/// What `/healthz` (and `$SYS.REQ.SERVER.PING.HEALTHZ`, Go `HealthzEventOptions`) asks.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct HealthzOptions {
    #[serde(rename = "js-enabled")]
    pub js_enabled: bool,
    #[serde(rename = "js-enabled-only")]
    pub js_enabled_only: bool,
    #[serde(rename = "js-server-only")]
    pub js_server_only: bool,
    #[serde(rename = "js-meta-only")]
    pub js_meta_only: bool,
    pub account: String,
    pub stream: String,
    pub consumer: String,
    pub details: bool,
}

impl HealthzOptions {
    /// From the HTTP query, with the reference's 400 texts for malformed booleans.
    pub fn from_query(q: &Query) -> Result<Self, String> {
        let text = |k: &str| q.get(k).unwrap_or_default().to_string();
        Ok(HealthzOptions {
            js_enabled: q.bool("js-enabled")?,
            js_enabled_only: q.bool("js-enabled-only")?,
            js_server_only: q.bool("js-server-only")?,
            js_meta_only: q.bool("js-meta-only")?,
            details: q.bool("details")?,
            account: text("account"),
            stream: text("stream"),
            consumer: text("consumer"),
        })
    }
}

/// nats-server `HealthStatus`.
#[derive(Debug, Serialize, PartialEq)]
pub struct HealthStatus {
    pub status: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub status_code: u16,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<HealthzError>,
}

fn is_zero(n: &u16) -> bool {
    *n == 0
}

/// nats-server `HealthzError`.
#[derive(Debug, Serialize, PartialEq)]
pub struct HealthzError {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// The health of a server without JetStream: `ok` (status code 200), or the reference's
/// `BAD_REQUEST` (400) for a stream without an account or a consumer without a stream.
pub fn healthz(_s: &Server, o: &HealthzOptions) -> HealthStatus {
    let missing = if o.account.is_empty() && !o.stream.is_empty() {
        Some(("account", "stream"))
    } else if o.stream.is_empty() && !o.consumer.is_empty() {
        Some(("stream", "consumer"))
    } else {
        None
    };
    let Some((field, what)) = missing else {
        return HealthStatus {
            status: "ok".into(),
            status_code: 200,
            error: String::new(),
            errors: Vec::new(),
        };
    };
    let text = format!("\"{field}\" must not be empty when checking {what} health");
    let mut h = HealthStatus {
        status: "error".into(),
        status_code: 400,
        error: String::new(),
        errors: Vec::new(),
    };
    if o.details {
        h.errors.push(HealthzError {
            kind: "BAD_REQUEST",
            error: text,
        });
    } else {
        h.error = text;
    }
    h
}

/// `/healthz` over HTTP: compact JSON without `status_code` (it is the HTTP status).
pub fn healthz_http(s: &Server, q: &Query) -> Answer {
    let o = match HealthzOptions::from_query(q) {
        Ok(o) => o,
        Err(e) => return (StatusCode::BAD_REQUEST, e),
    };
    let mut h = healthz(s, &o);
    let code = StatusCode::from_u16(h.status_code).unwrap_or(StatusCode::OK);
    h.status_code = 0;
    (
        code,
        serde_json::to_string(&h).unwrap_or_else(|_| "{}".into()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthz_options_and_json() {
        let o = HealthzOptions::from_query(&Query::parse(Some(
            "js-enabled-only=1&js-server-only=true&details=1&account=A",
        )))
        .unwrap_or_default();
        assert!(o.js_enabled_only && o.js_server_only && o.details);
        assert_eq!(o.account, "A");
        let bad = HealthzOptions::from_query(&Query::parse(Some("details=yes")));
        assert!(bad.is_err());
        let j: HealthzOptions =
            serde_json::from_str(r#"{"js-enabled-only":true,"stream":"S","account":"A"}"#)
                .unwrap_or_default();
        assert!(j.js_enabled_only);
        assert_eq!((j.account.as_str(), j.stream.as_str()), ("A", "S"));
    }

    #[test]
    fn decode_subs_accepts_detail() {
        assert!(routez_query(&Query::parse(Some("subs=detail"))).is_ok());
        assert!(routez_query(&Query::parse(Some("subs=DETAIL"))).is_ok());
        assert!(routez_query(&Query::parse(Some("subs=x"))).is_err());
        assert!(gatewayz_query(&Query::parse(Some("accs=x"))).is_err());
        assert!(leafz_query(&Query::parse(Some("subs=1"))).is_ok());
    }
}
