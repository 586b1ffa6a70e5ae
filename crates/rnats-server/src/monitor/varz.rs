//! `/varz`: the server's general information and counters (nats-server `Varz`).

use super::{rfc3339, uptime};
use crate::defaults as d;
use crate::server::Server;
use serde::Serialize;
use std::sync::atomic::Ordering;

#[derive(Serialize, Default)]
struct Empty {}

#[derive(Serialize)]
pub struct Varz {
    server_id: String,
    server_name: String,
    version: String,
    proto: i64,
    git_commit: String,
    go: String,
    host: String,
    port: u16,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    auth_required: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    tls_required: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    tls_verify: bool,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_cert_not_after: Option<String>,
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
    http_req_stats: std::collections::BTreeMap<String, u64>,
    config_load_time: String,
    config_digest: String,
    feature_flags: crate::events::FeatureFlags,
    system_account: String,
    slow_consumer_stats: KindStats,
    stale_connection_stats: KindStats,
    disk_io_wait_stats: DiskIoWaitStats,
    rnats_version: String,
}

/// JetStream's disk wait statistics (always zero without JetStream).
#[derive(Serialize, Default)]
struct DiskIoWaitStats {
    waiters: u64,
    waits: u64,
    wait_time: u64,
    max_wait_time: u64,
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

/// Resident memory in bytes (`/proc/self/statm`), 0 where unavailable.
pub fn process_rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

/// CPU time (user + system) this process used, in seconds (`/proc/self/stat`, in Linux's
/// fixed 100 ticks per second), 0 where unavailable.
pub fn process_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = f.get(11)?.parse().ok()?;
            let stime: f64 = f.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .unwrap_or(0.0)
}

/// Memory, and CPU as the reference reports it: percent of one core, averaged since start.
pub fn process_mem_and_cpu(s: &Server) -> (u64, f64) {
    let up = std::time::SystemTime::now()
        .duration_since(s.start)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let cpu = if up > 0.0 {
        (process_cpu_seconds() / up * 10_000.0).round() / 100.0
    } else {
        0.0
    };
    (process_rss(), cpu)
}

/// The `/varz` answer.
pub fn varz(s: &Server) -> Varz {
    let o = s.opts();
    let st = &s.stats;
    let now = std::time::SystemTime::now();
    let up = now
        .duration_since(s.start)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (mem, cpu) = process_mem_and_cpu(s);
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
        git_commit: format!("rnats {}", d::RNATS_VERSION),
        go: format!("rnats {}", d::RNATS_VERSION),
        host: o.host.clone(),
        port: s.client_addr.port(),
        auth_required: o.auth_required() || s.operator().is_some(),
        tls_required: o.tls.is_some() && !o.allow_non_tls,
        tls_verify: o.tls.as_ref().is_some_and(|t| t.verify()),
        max_connections: o.max_connections,
        max_subscriptions: o.max_subscriptions,
        ping_interval: o.ping_interval.as_nanos(),
        ping_max: o.ping_max,
        http_host: if o.http_host.is_empty() {
            o.host.clone()
        } else {
            o.http_host.clone()
        },
        http_port: if o.https_port != 0 { 0 } else { http_port },
        http_base_path: String::new(),
        https_port: if o.https_port != 0 { http_port } else { 0 },
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
        tls_timeout: o.tls_timeout().as_secs_f64(),
        tls_cert_not_after: o.tls.as_ref().and_then(|t| t.cert_not_after).map(rfc3339),
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
        http_req_stats: s
            .http_req_stats
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default(),
        config_load_time: rfc3339(s.start),
        config_digest: o
            .config_file
            .as_deref()
            .map(crate::config::digest)
            .unwrap_or_default(),
        feature_flags: crate::events::FEATURE_FLAGS,
        disk_io_wait_stats: DiskIoWaitStats::default(),
        system_account: s
            .system_account()
            .map(|a| a.name.clone())
            .unwrap_or_default(),
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
