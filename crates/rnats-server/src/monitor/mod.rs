//! The HTTP monitor (`-m` / `http_port`): nats-server's paths, query parameters and JSON field
//! names, so dashboards, `nats server` commands and harnesses that poll `/varz` or `/healthz`
//! for readiness keep working, plus `/metrics` (Prometheus text, [`crate::metrics`]).
//!
//! One module per endpoint family; each builds a typed, serializable answer from the server's
//! state and is shared with the system account's `$SYS.REQ.SERVER.*` requests.

mod accountz;
pub mod closed;
mod cluster;
pub mod connz;
mod subsz;
mod varz;

pub use accountz::{
    AccountStatz, AccountStatzOptions, Accountz, AccountzOptions, accountz, accstatz,
};
pub use closed::ClosedRing;
pub use cluster::{HealthStatus, HealthzOptions, gatewayz, healthz, leafz, routez};
pub use connz::{Connz, ConnzOptions, connz};
pub use subsz::{SublistStatsJson, Subsz, SubszOptions, subsz};
pub use varz::{process_cpu_seconds, process_mem_and_cpu, process_rss, varz};

/// A monitoring answer for a system request: the `data` JSON, or an error code and text.
pub type SysAnswer = Result<String, (u16, String)>;

/// The endpoint's options from a system request body (empty: the defaults).
fn body_options<O: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<O, (u16, String)> {
    if body.is_empty() {
        return Ok(O::default());
    }
    serde_json::from_slice(body).map_err(|e| (400, e.to_string()))
}

/// Compact JSON (system answers).
pub fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "{}".to_string())
}

/// `$SYS.REQ.SERVER.*.<EP>` for the endpoints built by the monitor modules; `None` for an
/// endpoint this server does not answer. `body` holds the reference's `<EP>EventOptions`.
pub fn endpoint_for_request(s: &Server, ep: &str, body: &[u8]) -> Option<SysAnswer> {
    Some(match ep {
        "CONNZ" => body_options::<ConnzOptions>(body)
            .and_then(|o| connz::try_connz(s, &o).map_err(|e| (400, e)))
            .map(|v| json(&v)),
        "SUBSZ" => body_options::<SubszOptions>(body)
            .and_then(|o| subsz::checked(s, &o).map_err(|e| (400, e)))
            .map(|v| json(&v)),
        "ACCOUNTZ" => body_options::<AccountzOptions>(body)
            .and_then(|o| accountz::checked(s, &o).map_err(|e| (400, e)))
            .map(|v| json(&v)),
        "HEALTHZ" => body_options::<HealthzOptions>(body).map(|o| json(&healthz(s, &o))),
        "ROUTEZ" => Ok(json(&routez(s))),
        "GATEWAYZ" => Ok(json(&gatewayz(s))),
        "LEAFZ" => Ok(json(&leafz(s))),
        _ => return None,
    })
}

/// `$SYS.REQ.ACCOUNT.<acc>.<EP>`; `None` when there is nothing to answer.
pub fn account_endpoint_for_request(
    s: &Server,
    acc: &str,
    ep: &str,
    body: &[u8],
) -> Option<SysAnswer> {
    Some(match ep {
        "CONNZ" => body_options::<ConnzOptions>(body)
            .map(|mut o| {
                o.account = acc.to_string();
                o
            })
            .and_then(|o| connz::try_connz(s, &o).map_err(|e| (400, e)))
            .map(|v| json(&v)),
        "SUBSZ" => body_options::<SubszOptions>(body)
            .map(|mut o| {
                o.subscriptions = true;
                o.account = acc.to_string();
                o
            })
            .and_then(|o| subsz::checked(s, &o).map_err(|e| (400, e)))
            .map(|v| json(&v)),
        "STATZ" => {
            let o = match body_options::<AccountStatzOptions>(body) {
                Ok(mut o) => {
                    o.accounts = vec![acc.to_string()];
                    o
                }
                Err(e) => return Some(Err(e)),
            };
            let st = accstatz(s, &o);
            // Nothing to report for an account without connections (unless asked).
            if st.account_statz.is_empty() {
                return None;
            }
            Ok(json(&st))
        }
        _ => return None,
    })
}

use crate::server::Server;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use std::convert::Infallible;
use std::sync::Arc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::net::TcpListener;

/// The query parameters of a monitor request (`?subs=1&sort=cid`).
#[derive(Debug, Default, Clone)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parse a raw query string (`+` is a space, `%XX` a byte, as Go's `url.ParseQuery`;
    /// `acc=%24G` names `$G`).
    pub fn parse(q: Option<&str>) -> Query {
        Query(
            q.unwrap_or_default()
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (unescape(k), unescape(v)),
                    None => (unescape(p), String::new()),
                })
                .collect(),
        )
    }

    /// The value of `key` (the first one given).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean flag as the reference reads them (`1`, `true`, …; Go's `strconv.ParseBool`).
    pub fn flag(&self, key: &str) -> bool {
        matches!(
            self.get(key),
            Some("1" | "t" | "T" | "true" | "TRUE" | "True")
        )
    }

    /// An integer parameter.
    pub fn int(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(|v| v.parse().ok())
    }

    /// A boolean parameter, strictly: absent or empty is `false`, a value Go's
    /// `strconv.ParseBool` refuses is the reference's 400 text.
    pub fn bool(&self, key: &str) -> Result<bool, String> {
        match self.get(key).unwrap_or_default() {
            "" => Ok(false),
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
            v => Err(format!(
                "Error decoding boolean for '{key}': strconv.ParseBool: parsing {}: invalid syntax",
                go_quote(v)
            )),
        }
    }

    /// An `int` parameter, strictly (absent or empty is 0), with the reference's 400 text.
    pub fn int_strict(&self, key: &str) -> Result<i64, String> {
        match self.get(key).unwrap_or_default() {
            "" => Ok(0),
            v => v.parse().map_err(|_| {
                format!(
                    "Error decoding int for '{key}': strconv.Atoi: parsing {}: invalid syntax",
                    go_quote(v)
                )
            }),
        }
    }
}

/// Percent-decoding (`+` → space); a malformed escape is kept as it is.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn go_quote(v: &str) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A monitor answer: status code and body.
pub type Answer = (StatusCode, String);

/// `200` with the indented JSON of `v`.
fn ok<T: Serialize>(v: &T) -> Answer {
    (StatusCode::OK, pretty(v))
}

/// Build the options from the query, then the answer; a bad parameter is a 400 with the
/// reference's text.
fn answer<O, T: Serialize>(
    q: &Query,
    parse: fn(&Query) -> Result<O, String>,
    build: impl FnOnce(&O) -> Result<T, String>,
) -> Answer {
    match parse(q).and_then(|o| build(&o)) {
        Ok(v) => ok(&v),
        Err(e) => (StatusCode::BAD_REQUEST, e),
    }
}

/// Accept HTTP connections until shutdown.
/// Serve the monitor on `listener`; with `https`, each connection first completes a TLS
/// handshake with the client `tls {}` material (no client certificate asked, as the reference;
/// read per connection, so a reload's new certificate applies at once).
pub async fn serve(server: Arc<Server>, listener: TcpListener, https: bool) {
    let mut shutdown = server.shutdown_signal();
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(a) => a,
                Err(_) => {
                    // Back off on resource exhaustion (EMFILE) instead of spinning.
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let s = server.clone();
        tokio::spawn(async move {
            let tls = s.opts().tls.clone();
            let svc = hyper::service::service_fn(move |req| handle(s.clone(), req));
            let http = hyper::server::conn::http1::Builder::new();
            match tls {
                Some(tls) if https => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(tls.monitor_config.clone());
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(tls.timeout(), acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    let _ = http.serve_connection(TokioIo::new(stream), svc).await;
                }
                _ => {
                    let _ = http.serve_connection(TokioIo::new(stream), svc).await;
                }
            }
        });
    }
}

fn json_response((status, body): Answer) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        "Content-Type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    h.insert(
        "Access-Control-Allow-Origin",
        hyper::header::HeaderValue::from_static("*"),
    );
    r
}

/// The JSON answer of a monitoring endpoint, `None` when `path` is not one. One line per
/// endpoint: the system account's `$SYS.REQ.SERVER.*` requests use the same builders.
fn endpoint(s: &Server, path: &str, q: &Query) -> Option<Answer> {
    Some(match path {
        "/varz" => ok(&varz(s)),
        "/connz" => answer(q, ConnzOptions::from_query, |o| Ok(connz(s, o))),
        "/subsz" | "/subscriptionsz" => {
            answer(q, SubszOptions::from_query, |o| subsz::checked(s, o))
        }
        "/accountz" => answer(q, AccountzOptions::from_query, |o| accountz::checked(s, o)),
        "/accstatz" => answer(q, AccountStatzOptions::from_query, |o| Ok(accstatz(s, o))),
        "/routez" => answer(q, cluster::routez_query, |_| Ok(routez(s))),
        "/gatewayz" => answer(q, cluster::gatewayz_query, |_| Ok(gatewayz(s))),
        "/leafz" => answer(q, cluster::leafz_query, |_| Ok(leafz(s))),
        "/healthz" => cluster::healthz_http(s, q),
        _ => return None,
    })
}

/// Whether `path` is one of [`endpoint`]'s.
fn endpoint_known(path: &str) -> bool {
    matches!(
        path,
        "/varz"
            | "/connz"
            | "/subsz"
            | "/subscriptionsz"
            | "/accountz"
            | "/accstatz"
            | "/routez"
            | "/gatewayz"
            | "/leafz"
            | "/healthz"
    )
}

async fn handle(
    server: Arc<Server>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().trim_end_matches('/');
    let q = Query::parse(req.uri().query());
    let count = |p: &str| {
        if let Ok(mut m) = server.http_req_stats.lock() {
            *m.entry(if p.is_empty() { "/" } else { p }.to_string())
                .or_default() += 1;
        }
    };
    // Counted before the answer is built, so `/varz` includes itself (as the reference).
    if matches!(path, "" | "/metrics") || endpoint_known(path) {
        count(path);
    }
    if let Some(a) = endpoint(&server, path, &q) {
        return Ok(json_response(a));
    }
    Ok(match path {
        "" => {
            let mut r = Response::new(Full::new(Bytes::from(index_html())));
            r.headers_mut().insert(
                "Content-Type",
                hyper::header::HeaderValue::from_static("text/html; charset=utf-8"),
            );
            r
        }
        "/metrics" => {
            let mut r = Response::new(Full::new(Bytes::from(crate::metrics::render(&server))));
            r.headers_mut().insert(
                "Content-Type",
                hyper::header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            r
        }
        _ => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"404 page not found\n")));
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    })
}

/// Indented JSON, as the reference's monitor writes it.
pub fn pretty<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".to_string())
}

fn index_html() -> String {
    let links = [
        "varz", "connz", "accountz", "accstatz", "subsz", "routez", "leafz", "gatewayz", "healthz",
        "metrics",
    ];
    let mut s = String::from("<html><body><h1>rnats (nats-server compatible) monitoring</h1>\n");
    for l in links {
        s.push_str(&format!("<a href=\"./{l}\">{l}</a><br/>\n"));
    }
    s.push_str("</body></html>\n");
    s
}

/// nats-server's `myUptime` format: `1y2d3h4m5s`, leading zero units omitted.
pub fn uptime(secs: u64) -> String {
    let (m, h, dd) = (secs / 60, secs / 3600, secs / 86400);
    let y = dd / 365;
    if y > 0 {
        format!("{y}y{}d{}h{}m{}s", dd % 365, h % 24, m % 60, secs % 60)
    } else if dd > 0 {
        format!("{dd}d{}h{}m{}s", h % 24, m % 60, secs % 60)
    } else if h > 0 {
        format!("{h}h{}m{}s", m % 60, secs % 60)
    } else if m > 0 {
        format!("{m}m{}s", secs % 60)
    } else {
        format!("{secs}s")
    }
}

/// Go's `time.Time` JSON form (RFC 3339 with nanoseconds).
pub fn rfc3339(t: std::time::SystemTime) -> String {
    OffsetDateTime::from(t).format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::uptime;

    #[test]
    fn query_unescapes() {
        let q = super::Query::parse(Some("acc=%24G&t=a+b&bad=%2&x=%zz&y=100%"));
        assert_eq!(q.get("acc"), Some("$G"));
        assert_eq!(q.get("t"), Some("a b"));
        assert_eq!(q.get("bad"), Some("%2"));
        assert_eq!(q.get("x"), Some("%zz"));
        assert_eq!(q.get("y"), Some("100%"));
    }

    #[test]
    fn uptime_format() {
        assert_eq!(uptime(0), "0s");
        assert_eq!(uptime(61), "1m1s");
        assert_eq!(uptime(3600), "1h0m0s");
        assert_eq!(uptime(86400 + 5), "1d0h0m5s");
        assert_eq!(uptime(366 * 86400), "1y1d0h0m0s");
    }
}
