//! The HTTP monitor (`-m` / `http_port`): nats-server's paths, query parameters and JSON field
//! names, so dashboards, `nats server` commands and harnesses that poll `/varz` or `/healthz`
//! for readiness keep working, plus `/metrics` (Prometheus text, [`crate::metrics`]).
//!
//! One module per endpoint family; each builds a typed, serializable answer from the server's
//! state and is shared with the system account's `$SYS.REQ.SERVER.*` requests.

pub mod closed;
pub mod connz;
mod varz;

pub use closed::ClosedRing;
pub use connz::{Connz, ConnzOptions, connz};
pub use varz::varz;

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
    /// Parse a raw query string (no percent-decoding beyond `+`; the reference's parameters are
    /// plain words, numbers and subjects).
    pub fn parse(q: Option<&str>) -> Query {
        Query(
            q.unwrap_or_default()
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.replace('+', " ")),
                    None => (p.to_string(), String::new()),
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
}

/// Accept HTTP connections until shutdown.
pub async fn serve(server: Arc<Server>, listener: TcpListener) {
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
            let svc = hyper::service::service_fn(move |req| handle(s.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn json_response(body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
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

/// The JSON answer of a monitoring endpoint (`Err`: a 400 with the reference's text), `None`
/// when `path` is not one. One line per endpoint: the system account's `$SYS.REQ.SERVER.*`
/// requests use the same builders.
fn endpoint(s: &Server, path: &str, q: &Query) -> Option<Result<String, String>> {
    Some(match path {
        "/varz" => Ok(pretty(&varz(s))),
        "/connz" => ConnzOptions::from_query(q).map(|o| pretty(&connz(s, &o))),
        "/healthz" => Ok("{\"status\":\"ok\"}".to_string()),
        _ => return None,
    })
}

async fn handle(
    server: Arc<Server>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().trim_end_matches('/');
    let q = Query::parse(req.uri().query());
    match endpoint(&server, path, &q) {
        Some(Ok(body)) => return Ok(json_response(body)),
        Some(Err(text)) => {
            let mut r = Response::new(Full::new(Bytes::from(text)));
            *r.status_mut() = StatusCode::BAD_REQUEST;
            return Ok(r);
        }
        None => {}
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
                hyper::header::HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
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
    let links = ["varz", "connz", "healthz", "metrics"];
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
    fn uptime_format() {
        assert_eq!(uptime(0), "0s");
        assert_eq!(uptime(61), "1m1s");
        assert_eq!(uptime(3600), "1h0m0s");
        assert_eq!(uptime(86400 + 5), "1d0h0m5s");
        assert_eq!(uptime(366 * 86400), "1y1d0h0m0s");
    }
}
