//! Test helper for running the `async-nats` test suite against a NATS server binary.
//!
//! This crate provides the API of the (unpublished) `nats-server` helper crate that the
//! `async-nats` tests depend on (`run_server`, `run_basic_server`, `run_server_with_port`,
//! `run_cluster`, `set_lame_duck_mode`, [`Server`], [`Cluster`]), but starts whatever binary
//! `NATS_SERVER_BIN` points at — by default `rnats-server` from this workspace — instead of a
//! `nats-server` found on `PATH`.
//!
//! The server is started with nats-server's command line flags:
//! `--store_dir <tmp> -p <port|-1> -l <logfile> -P <pidfile> [-c <config>]`
//! (plus `--routes/--cluster/--cluster_name/-n` for cluster nodes). Config paths are passed as
//! given; the tests use paths relative to the crate root, which is the working directory of
//! `cargo test`.
//!
//! Readiness: the client port is learnt from the log line
//! `Listening for client connections on <addr>` (as upstream does), then a TCP connection must
//! succeed. All waits are bounded (`NATS_SERVER_START_TIMEOUT`, seconds, default 15). A server
//! that exits during start-up makes the call panic with its log and stderr attached.
//!
//! The server is killed (SIGKILL, like upstream) and its files are removed when the [`Server`]
//! is dropped; when dropped during a panic the log is kept and its path printed.
//!
//! Environment:
//! - `NATS_SERVER_BIN`: server binary (default: `<workspace>/target/release/rnats-server`, else
//!   the debug build, else `rnats-server` on `PATH`).
//! - `NATS_SERVER_EXTRA_ARGS`: extra whitespace-separated arguments (e.g. `-DV`).
//! - `NATS_SERVER_START_TIMEOUT`: start-up bound in seconds (default 15).
//! - `NATS_SERVER_KEEP_LOGS`: if set, never delete server logs.

#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use std::{env, thread};

use serde_json::Value;

/// A running server; killed and cleaned up on drop.
pub struct Server {
    inner: Inner,
}

struct Inner {
    cfg: String,
    id: String,
    port: Option<String>,
    extra: Vec<String>,
    child: Child,
    logfile: PathBuf,
    outfile: PathBuf,
    pidfile: PathBuf,
    store_dir: PathBuf,
    /// Length of the log file when this process was started (restarts append to the same log).
    log_offset: u64,
    /// `host:port` of the client listener, as learnt from the log.
    client_addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        stop_child(&mut self.inner.child);
        let keep = thread::panicking() || env::var_os("NATS_SERVER_KEEP_LOGS").is_some();
        if keep {
            eprintln!(
                "nats_server: kept server log {} (stdout/stderr: {})",
                self.inner.logfile.display(),
                self.inner.outfile.display()
            );
        } else {
            fs::remove_file(&self.inner.logfile).ok();
            fs::remove_file(&self.inner.outfile).ok();
        }
        fs::remove_file(&self.inner.pidfile).ok();
        fs::remove_dir_all(&self.inner.store_dir).ok();
    }
}

fn stop_child(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        child.kill().ok();
    }
    child.wait().ok();
}

impl Server {
    /// Restarts the server with the same config, port and storage directory.
    /// Only possible for servers started with a fixed port.
    pub fn restart(&mut self) {
        let port = self
            .inner
            .port
            .clone()
            .expect("can't restart server with dynamic port");
        stop_child(&mut self.inner.child);
        let inner = do_run(
            &self.inner.cfg,
            Some(&port),
            Some(self.inner.id.clone()),
            self.inner.extra.clone(),
        );
        self.inner = inner;
    }

    /// Client URL (`nats://localhost:<port>` or `tls://...` when the server requires TLS).
    pub fn client_url(&self) -> String {
        let (port, tls) = self.probe_info();
        let scheme = if tls { "tls://" } else { "nats://" };
        format!("{scheme}localhost:{port}")
    }

    /// Client port, as announced by the server's INFO.
    pub fn client_port(&self) -> u16 {
        self.probe_info().0
    }

    /// Client URL with user and password.
    pub fn client_url_with(&self, user: &str, pass: &str) -> String {
        let mut url = url::Url::parse(&self.client_url()).expect("could not parse");
        url.set_username(user).ok();
        url.set_password(Some(pass)).ok();
        url.as_str().to_string()
    }

    /// Client URL with a token.
    pub fn client_url_with_token(&self, token: &str) -> String {
        let mut url = url::Url::parse(&self.client_url()).expect("could not parse");
        url.set_username(token).ok();
        url.as_str().to_string()
    }

    /// The server's process id (from its pid file, else the child's id).
    pub fn client_pid(&self) -> usize {
        fs::read_to_string(&self.inner.pidfile)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(self.inner.child.id() as usize)
    }

    /// Path of the server's log file.
    pub fn log_file(&self) -> &Path {
        &self.inner.logfile
    }

    /// Connects to the client port and reads INFO: returns (port, tls_required).
    /// A server that sends no INFO in time (TLS-first) is reported as TLS.
    fn probe_info(&self) -> (u16, bool) {
        let addr = &self.inner.client_addr;
        let log_port = port_of(addr);
        let stream = connect_any(addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("cannot connect to server at {addr}: {e}{}", self.inner.diag()));
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
        let mut r = BufReader::with_capacity(4096, stream);
        let mut line = String::new();
        match r.read_line(&mut line) {
            Ok(n) if n > 0 && line.starts_with("INFO") => {
                let si: Value = serde_json::from_str(line["INFO".len()..].trim())
                    .unwrap_or_else(|e| panic!("could not parse INFO {line:?}: {e}"));
                let port = si["port"]
                    .as_u64()
                    .map(|p| p as u16)
                    .or(log_port)
                    .expect("could not parse port");
                let tls = si["tls_required"].as_bool().unwrap_or(false);
                (port, tls)
            }
            Ok(n) if n > 0 => panic!("server did not send INFO but {line:?}{}", self.inner.diag()),
            // Nothing received: TLS handshake first.
            _ => (log_port.expect("could not parse port"), true),
        }
    }
}

impl Inner {
    fn diag(&self) -> String {
        diag(&self.logfile, &self.outfile)
    }
}

fn diag(logfile: &Path, outfile: &Path) -> String {
    let tail = |p: &Path| {
        let s = fs::read_to_string(p).unwrap_or_default();
        let lines: Vec<&str> = s.lines().collect();
        if lines.is_empty() {
            return "(empty)".to_string();
        }
        lines[lines.len().saturating_sub(40)..].join("\n")
    };
    format!(
        "\n--- server log {} (tail) ---\n{}\n--- server stdout/stderr {} (tail) ---\n{}\n---",
        logfile.display(),
        tail(logfile),
        outfile.display(),
        tail(outfile)
    )
}

/// Puts the server in lame duck mode (SIGUSR2, which is what `nats-server --signal ldm=<pid>`
/// sends).
pub fn set_lame_duck_mode(s: &Server) {
    let pid = s.inner.child.id();
    let status = Command::new("kill")
        .arg("-USR2")
        .arg(pid.to_string())
        .status()
        .expect("could not run kill");
    assert!(status.success(), "kill -USR2 {pid} failed");
}

pub fn run_server(cfg: &str) -> Server {
    run_server_with_port(cfg, None)
}

pub fn is_port_available(port: usize) -> bool {
    match u16::try_from(port) {
        Ok(p) => TcpListener::bind(("127.0.0.1", p)).is_ok(),
        Err(_) => false,
    }
}

pub struct Config<'a>([&'a str; 3]);

pub trait IntoConfig<'a> {
    fn into_config(self) -> Config<'a>;
}

impl<'a> IntoConfig<'a> for &'a str {
    fn into_config(self) -> Config<'a> {
        Config([self, self, self])
    }
}

impl<'a> IntoConfig<'a> for [&'a str; 3] {
    fn into_config(self) -> Config<'a> {
        Config(self)
    }
}

/// A three node cluster.
pub struct Cluster {
    pub servers: Vec<Server>,
}

impl Cluster {
    pub fn client_url(&self) -> String {
        self.servers[0].client_url()
    }
}

/// Starts a three node cluster (routes on 127.0.0.1). Pass one config for all nodes or one per
/// node.
pub fn run_cluster<'a, C: IntoConfig<'a>>(cfg: C) -> Cluster {
    let cfg = cfg.into_config();
    let ports = free_ports(6);
    let (client, cluster) = (&ports[..3], &ports[3..]);
    let mut servers = Vec::with_capacity(3);
    for i in 0..3 {
        let routes = (0..3)
            .filter(|&j| j != i)
            .map(|j| format!("nats://127.0.0.1:{}", cluster[j]))
            .collect::<Vec<_>>()
            .join(",");
        let extra = vec![
            "--routes".to_string(),
            routes,
            "--cluster".to_string(),
            format!("nats://127.0.0.1:{}", cluster[i]),
            "--cluster_name".to_string(),
            "cluster".to_string(),
            "-n".to_string(),
            format!("node{}", i + 1),
        ];
        let port = client[i].to_string();
        servers.push(Server {
            inner: do_run(cfg.0[i], Some(&port), None, extra),
        });
    }
    // Give the cluster a moment to establish routes and elect a leader (as upstream does).
    thread::sleep(Duration::from_millis(2000));
    Cluster { servers }
}

/// Starts a server with the given config (may be empty) on the given port (`None`: random).
pub fn run_server_with_port(cfg: &str, port: Option<&str>) -> Server {
    Server {
        inner: do_run(cfg, port, None, Vec::new()),
    }
}

/// Starts a server with default options on a random port.
pub fn run_basic_server() -> Server {
    run_server("")
}

/// Picks `n` distinct ports that are currently free on 127.0.0.1.
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind(("127.0.0.1", 0)).expect("cannot bind an ephemeral port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local addr").port())
        .collect()
}

fn server_bin() -> PathBuf {
    if let Some(bin) = env::var_os("NATS_SERVER_BIN").filter(|b| !b.is_empty()) {
        return PathBuf::from(bin);
    }
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for profile in ["release", "debug"] {
        let p = ws.join("target").join(profile).join("rnats-server");
        if p.is_file() {
            return p;
        }
    }
    PathBuf::from("rnats-server")
}

fn start_timeout() -> Duration {
    let secs = env::var("NATS_SERVER_START_TIMEOUT")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(15.0);
    Duration::from_secs_f64(secs)
}

fn next_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos % 1_000_000_000_000
    )
}

fn do_run(cfg: &str, port: Option<&str>, id: Option<String>, extra: Vec<String>) -> Inner {
    let id = id.unwrap_or_else(next_id);
    let tmp = env::temp_dir();
    let logfile = tmp.join(format!("nats-server-{id}.log"));
    let outfile = tmp.join(format!("nats-server-{id}.out"));
    let pidfile = tmp.join(format!("nats-server-{id}.pid"));
    let store_dir = tmp.join(format!("store-dir-{id}"));
    let log_offset = fs::metadata(&logfile).map(|m| m.len()).unwrap_or(0);

    let bin = server_bin();
    let mut cmd = Command::new(&bin);
    cmd.arg("--store_dir")
        .arg(&store_dir)
        .arg("-p")
        .arg(port.unwrap_or("-1"))
        .arg("-l")
        .arg(&logfile)
        .arg("-P")
        .arg(&pidfile);
    cmd.args(&extra);
    if !cfg.is_empty() {
        cmd.arg("-c").arg(cfg);
    }
    if let Ok(more) = env::var("NATS_SERVER_EXTRA_ARGS") {
        cmd.args(more.split_whitespace());
    }
    let out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&outfile)
        .expect("cannot create server output file");
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone().expect("dup"))
        .stderr(out);

    let child = cmd.spawn().unwrap_or_else(|e| {
        panic!(
            "server binary {} cannot be executed: {e}. Set NATS_SERVER_BIN or build rnats-server.",
            bin.display()
        )
    });
    let mut inner = Inner {
        cfg: cfg.to_string(),
        id,
        port: port.map(ToString::to_string),
        extra,
        child,
        logfile,
        outfile,
        pidfile,
        store_dir,
        log_offset,
        client_addr: String::new(),
    };
    if let Err(msg) = wait_ready(&mut inner) {
        let d = inner.diag();
        stop_child(&mut inner.child);
        fs::remove_dir_all(&inner.store_dir).ok();
        panic!(
            "server {} {:?} (config {:?}, port {:?}) did not start: {msg}{d}",
            bin.display(),
            inner.id,
            inner.cfg,
            inner.port
        );
    }
    inner
}

/// Log text written by the current process (after `log_offset`).
fn current_log(inner: &Inner) -> String {
    let bytes = fs::read(&inner.logfile).unwrap_or_default();
    let start = (inner.log_offset as usize).min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// Extracts the address from `... Listening for client connections on 0.0.0.0:4222`.
fn client_addr_from_log(log: &str) -> Option<String> {
    const NEEDLE: &str = "client connections on";
    let line = log.lines().find(|l| l.contains(NEEDLE))?;
    let rest = line[line.find(NEEDLE)? + NEEDLE.len()..].trim();
    let addr = rest.split_whitespace().next()?;
    let (host, port) = addr.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    let host = match host {
        "0.0.0.0" | "[::]" | "::" | "" => "localhost",
        h => h,
    };
    Some(format!("{host}:{port}"))
}

fn port_of(addr: &str) -> Option<u16> {
    addr.rsplit_once(':')?.1.parse().ok()
}

fn connect_any(addr: &str, timeout: Duration) -> std::io::Result<TcpStream> {
    let mut last = std::io::Error::other(format!("{addr} resolves to no address"));
    for sa in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&sa, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn wait_ready(inner: &mut Inner) -> Result<(), String> {
    let deadline = Instant::now() + start_timeout();
    let exited = |inner: &mut Inner| -> Option<String> {
        match inner.child.try_wait() {
            Ok(Some(st)) => Some(format!("server exited during start-up ({st})")),
            _ => None,
        }
    };
    // 1. The client listener's address, from the log.
    loop {
        if let Some(addr) = client_addr_from_log(&current_log(inner)) {
            inner.client_addr = addr;
            break;
        }
        if let Some(e) = exited(inner) {
            return Err(e);
        }
        if Instant::now() > deadline {
            return Err("no 'Listening for client connections on' line in the log".into());
        }
        thread::sleep(Duration::from_millis(20));
    }
    // 2. The listener accepts connections.
    loop {
        match connect_any(&inner.client_addr, Duration::from_millis(500)) {
            Ok(_) => break,
            Err(e) => {
                if let Some(e) = exited(inner) {
                    return Err(e);
                }
                if Instant::now() > deadline {
                    return Err(format!("cannot connect to {}: {e}", inner.client_addr));
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
    }
    // 3. Start-up finished ("Server is ready"); not fatal if the server never says so.
    let ready_deadline = deadline.min(Instant::now() + Duration::from_secs(1));
    while !current_log(inner).contains("Server is ready") && Instant::now() < ready_deadline {
        if let Some(e) = exited(inner) {
            return Err(e);
        }
        thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::client_addr_from_log;

    #[test]
    fn parses_listen_line() {
        let log = "[1] 2024/01/01 00:00:00.000000 [INF] Starting nats-server\n\
                   [1] 2024/01/01 00:00:00.000000 [INF] Listening for client connections on 0.0.0.0:41234\n";
        assert_eq!(client_addr_from_log(log).as_deref(), Some("localhost:41234"));
        let log = "[INF] Listening for client connections on 127.0.0.1:4545\n";
        assert_eq!(client_addr_from_log(log).as_deref(), Some("127.0.0.1:4545"));
        assert_eq!(client_addr_from_log("[INF] Server is ready"), None);
    }
}
