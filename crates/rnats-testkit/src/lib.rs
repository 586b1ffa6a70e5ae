//! Test harness: start a server binary (rnats-server or the reference nats-server) on free ports,
//! and speak the raw protocol to it.
//!
//! Servers are started with `-p -1 --ports_file_dir <tmp>` and are ready when their ports file
//! appears (the readiness convention client harnesses use), so tests never guess ports or sleep.
//! Raw connections are blocking sockets with timeouts: a test that waits for bytes that never come
//! fails after the timeout instead of hanging. [`jwt`] mints operators, accounts and users so
//! each JWT case is one line in a test.
#![forbid(unsafe_code)]

pub mod jwt;

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The workspace root (where `Cargo.toml` with `[workspace]` is).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from("."))
}

/// Install (if needed) and locate the reference nats-server through
/// `../shared/tools/reference-server`. Panics with the script's output if that fails: tests that
/// need the reference never skip silently.
pub fn reference_server_path() -> PathBuf {
    if let Ok(p) = std::env::var("NATS_REFERENCE_BIN") {
        return PathBuf::from(p);
    }
    let script = workspace_root().join("../shared/tools/reference-server");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "reference-server failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    PathBuf::from(path)
}

fn unique_dir(tag: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let d = std::env::temp_dir().join(format!(
        "rnats-testkit-{}-{}-{}",
        tag,
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::create_dir_all(&d);
    d
}

/// A server process, killed on drop.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// The client port.
    pub port: u16,
    /// The monitoring port, when `-m -1` (or another) was given.
    pub http_port: Option<u16>,
    /// The directory holding the ports file and the log.
    pub dir: PathBuf,
}

impl ServerProcess {
    /// Start `bin` with `args` plus `-p -1` (unless the args set a port) and a ports file dir.
    pub fn start(bin: &Path, args: &[&str]) -> io::Result<Self> {
        let dir = unique_dir("srv");
        let log = std::fs::File::create(dir.join("server.log"))?;
        let mut cmd = Command::new(bin);
        if !args.iter().any(|a| matches!(*a, "-p" | "--port" | "-port")) {
            cmd.args(["-p", "-1"]);
        }
        cmd.args(args)
            .arg("--ports_file_dir")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let child = cmd.spawn()?;
        let mut sp = ServerProcess {
            child,
            port: 0,
            http_port: None,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(ports) = sp.read_ports() {
                let port_of = |key: &str| {
                    ports[key][0]
                        .as_str()
                        .and_then(|u| u.rsplit(':').next())
                        .and_then(|p| p.parse::<u16>().ok())
                };
                if let Some(p) = port_of("nats") {
                    sp.port = p;
                    sp.http_port = port_of("monitoring");
                    return Ok(sp);
                }
            }
            if let Some(status) = sp.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "server exited early ({status}): {}",
                    sp.log()
                )));
            }
            if Instant::now() > deadline {
                return Err(io::Error::other(format!("server not ready: {}", sp.log())));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn read_ports(&self) -> Option<serde_json::Value> {
        for e in std::fs::read_dir(&self.dir).ok()?.flatten() {
            if e.path().extension().is_some_and(|x| x == "ports") {
                let s = std::fs::read_to_string(e.path()).ok()?;
                return serde_json::from_str(&s).ok();
            }
        }
        None
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Open a raw protocol connection.
    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    /// Wait for the process to exit, up to `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A raw protocol connection with bounded waits.
#[derive(Debug)]
pub struct Raw {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

/// How long raw reads wait by default.
pub const WAIT: Duration = Duration::from_secs(5);

impl Raw {
    /// Connect to 127.0.0.1:`port`.
    pub fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let _ = stream.set_nodelay(true);
        Raw {
            stream,
            buf: Vec::new(),
        }
    }

    /// Send bytes.
    pub fn send(&mut self, b: &[u8]) -> &mut Self {
        self.stream.write_all(b).expect("send");
        self
    }

    /// Send bytes to a server that may close mid-write (a limit cut the connection): the
    /// error is returned, and what the server sent before closing can still be read.
    pub fn try_send(&mut self, b: &[u8]) -> io::Result<()> {
        self.stream.write_all(b)
    }

    fn fill(&mut self, until: Instant) -> io::Result<usize> {
        let now = Instant::now();
        if now >= until {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(until - now))?;
        let mut tmp = [0u8; 65536];
        let n = self.stream.read(&mut tmp)?;
        self.buf.extend_from_slice(&tmp[..n]);
        Ok(n)
    }

    /// Read until `needle` appears; returns everything up to and including it.
    pub fn read_until(&mut self, needle: &[u8], timeout: Duration) -> Result<Vec<u8>, Vec<u8>> {
        let until = Instant::now() + timeout;
        loop {
            if let Some(i) = find(&self.buf, needle) {
                let rest = self.buf.split_off(i + needle.len());
                return Ok(std::mem::replace(&mut self.buf, rest));
            }
            match self.fill(until) {
                Ok(0) | Err(_) => return Err(std::mem::take(&mut self.buf)),
                Ok(_) => {}
            }
        }
    }

    /// Read the first line (the server's INFO).
    pub fn read_info(&mut self) -> Vec<u8> {
        self.read_until(b"\r\n", WAIT).expect("INFO")
    }

    /// Read whatever arrives within `d`, stopping early at EOF. Returns (bytes, closed).
    pub fn read_for(&mut self, d: Duration) -> (Vec<u8>, bool) {
        let until = Instant::now() + d;
        let mut closed = false;
        loop {
            match self.fill(until) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    closed = true;
                    break;
                }
                Err(_) => break,
            }
        }
        (std::mem::take(&mut self.buf), closed)
    }

    /// Send PING and read until the PONG: a sync point ("everything before has been processed").
    pub fn sync(&mut self) -> Vec<u8> {
        self.send(b"PING\r\n");
        let mut v = self.read_until(b"PONG\r\n", WAIT).expect("PONG");
        v.truncate(v.len() - 6);
        v
    }

    /// Close our side.
    pub fn close(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// Send `script` plus a PING on a fresh connection (after reading INFO) and collect everything
/// the server answers until its PONG, or until it closes the connection (then `<closed>` is
/// appended); the result is [`mask`]ed for comparison between servers.
pub fn exchange(port: u16, script: &[u8]) -> String {
    let mut raw = Raw::connect(port);
    let _info = raw.read_info();
    // One write: a server that closes after the script must not fail a second write.
    let mut all = script.to_vec();
    all.extend_from_slice(b"PING\r\n");
    raw.send(&all);
    let until = Instant::now() + Duration::from_secs(4);
    let mut got = Vec::new();
    loop {
        let (b, closed) = raw.read_for(Duration::from_millis(50));
        got.extend_from_slice(&b);
        if closed || got.ends_with(b"PONG\r\n") || Instant::now() > until {
            if closed {
                got.extend_from_slice(b"<closed>");
            }
            break;
        }
    }
    mask(&got)
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    if n.is_empty() {
        return Some(0);
    }
    h.windows(n.len()).position(|w| w == n)
}

/// Mask the per-process and per-connection values of a server's output so two servers' bytes
/// can be compared: INFO lines become `INFO <masked>`, and known volatile JSON values are blanked.
pub fn mask(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    for line in s.split_inclusive("\r\n") {
        if line.starts_with("INFO ") {
            out.push_str("INFO <masked>\r\n");
        } else {
            out.push_str(line);
        }
    }
    out
}
