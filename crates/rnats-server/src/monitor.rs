//! The HTTP monitor (`-m` / `http_port`): nats-server's paths and JSON field names, so
//! dashboards, `nats server` commands and harnesses that poll `/varz` or `/healthz` for readiness
//! keep working. This first version serves `/`, `/varz` and `/healthz`; the monitoring issue adds
//! the rest and `/metrics`.

use crate::defaults as d;
use crate::server::Server;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::net::TcpListener;

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

async fn handle(
    server: Arc<Server>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().trim_end_matches('/');
    Ok(match path {
        "" => {
            let mut r = Response::new(Full::new(Bytes::from(index_html())));
            r.headers_mut().insert(
                "Content-Type",
                hyper::header::HeaderValue::from_static("text/html; charset=utf-8"),
            );
            r
        }
        "/varz" => json_response(pretty(&varz(&server))),
        "/healthz" => json_response("{\"status\":\"ok\"}".to_string()),
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

fn pretty<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".to_string())
}

fn index_html() -> String {
    let links = ["varz", "healthz", "metrics"];
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

fn rfc3339(t: std::time::SystemTime) -> String {
    OffsetDateTime::from(t).format(&Rfc3339).unwrap_or_default()
}

#[derive(Serialize, Default)]
struct Empty {}

#[derive(Serialize)]
struct Varz {
    server_id: String,
    server_name: String,
    version: String,
    proto: i64,
    go: String,
    host: String,
    port: u16,
    max_connections: i64,
    #[serde(skip_serializing_if = "is_zero")]
    max_subscriptions: i64,
    ping_interval: u128,
    ping_max: i64,
    http_host: String,
    http_port: u16,
    http_base_path: String,
    https_port: u16,
    auth_timeout: f64,
    max_control_line: i64,
    max_payload: i64,
    max_pending: i64,
    cluster: Empty,
    gateway: Empty,
    leaf: Empty,
    mqtt: Empty,
    websocket: Empty,
    jetstream: Empty,
    tls_timeout: f64,
    write_deadline: u128,
    start: String,
    now: String,
    uptime: String,
    mem: u64,
    cores: usize,
    gomaxprocs: usize,
    cpu: f64,
    connections: usize,
    total_connections: u64,
    routes: u64,
    remotes: u64,
    leafnodes: u64,
    in_msgs: u64,
    in_bytes: u64,
    in_client_msgs: u64,
    in_client_bytes: u64,
    out_msgs: u64,
    out_bytes: u64,
    out_client_msgs: u64,
    out_client_bytes: u64,
    slow_consumers: u64,
    stale_connections: u64,
    stalled_clients: u64,
    subscriptions: usize,
    http_req_stats: serde_json::Value,
    config_load_time: String,
    config_digest: String,
    system_account: String,
    slow_consumer_stats: KindStats,
    stale_connection_stats: KindStats,
    rnats_version: String,
}

#[derive(Serialize)]
struct KindStats {
    clients: u64,
    routes: u64,
    gateways: u64,
    leafs: u64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn process_mem_and_cpu() -> (u64, f64) {
    // RSS from /proc/self/statm (pages); CPU is reported as 0 until the monitoring issue.
    let rss = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0);
    (rss, 0.0)
}

fn varz(s: &Server) -> Varz {
    let o = s.opts();
    let st = &s.stats;
    let now = std::time::SystemTime::now();
    let up = now
        .duration_since(s.start)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (mem, cpu) = process_mem_and_cpu();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let http_port = s
        .http_addr
        .lock()
        .ok()
        .and_then(|a| a.map(|a| a.port()))
        .unwrap_or(0);
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    Varz {
        server_id: s.id.clone(),
        server_name: s.name.clone(),
        version: d::NATS_VERSION.into(),
        proto: d::PROTO,
        go: format!("rnats {}", d::RNATS_VERSION),
        host: o.host.clone(),
        port: s.client_addr.port(),
        max_connections: o.max_connections,
        max_subscriptions: o.max_subscriptions,
        ping_interval: o.ping_interval.as_nanos(),
        ping_max: o.ping_max,
        http_host: if o.http_host.is_empty() {
            o.host.clone()
        } else {
            o.http_host.clone()
        },
        http_port,
        http_base_path: String::new(),
        https_port: 0,
        auth_timeout: o.auth_timeout_secs(),
        max_control_line: o.max_control_line,
        max_payload: o.max_payload,
        max_pending: o.max_pending,
        cluster: Empty {},
        gateway: Empty {},
        leaf: Empty {},
        mqtt: Empty {},
        websocket: Empty {},
        jetstream: Empty {},
        tls_timeout: d::TLS_TIMEOUT.as_secs_f64(),
        write_deadline: o.write_deadline.as_nanos(),
        start: rfc3339(s.start),
        now: rfc3339(now),
        uptime: uptime(up),
        mem,
        cores,
        gomaxprocs: cores,
        cpu,
        connections: s.num_clients(),
        total_connections: load(&st.total_connections),
        routes: 0,
        remotes: 0,
        leafnodes: 0,
        in_msgs: load(&st.in_msgs),
        in_bytes: load(&st.in_bytes),
        in_client_msgs: load(&st.in_msgs),
        in_client_bytes: load(&st.in_bytes),
        out_msgs: load(&st.out_msgs),
        out_bytes: load(&st.out_bytes),
        out_client_msgs: load(&st.out_msgs),
        out_client_bytes: load(&st.out_bytes),
        slow_consumers: load(&st.slow_consumers),
        stale_connections: load(&st.stale_connections),
        stalled_clients: 0,
        subscriptions: s.num_subscriptions(),
        http_req_stats: serde_json::json!({}),
        config_load_time: rfc3339(s.start),
        config_digest: String::new(),
        system_account: String::new(),
        slow_consumer_stats: KindStats {
            clients: load(&st.slow_consumers),
            routes: 0,
            gateways: 0,
            leafs: 0,
        },
        stale_connection_stats: KindStats {
            clients: load(&st.stale_connections),
            routes: 0,
            gateways: 0,
            leafs: 0,
        },
        rnats_version: d::RNATS_VERSION.into(),
    }
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
