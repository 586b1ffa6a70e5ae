//! Helpers of the hostile-client tests (`hostile_*.rs`): raw async connections with deadlines,
//! the innocent client that must keep working during an attack, servers started as
//! subprocesses from configuration text, and a process's resident memory.
#![allow(dead_code)]

use rnats_testkit::{ServerProcess, reference_server_path};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

/// The longest any single wait in these tests may take.
pub const T: Duration = Duration::from_secs(10);

/// A CONNECT argument for a plain client.
pub const PLAIN: &str = r#"{"verbose":false}"#;

/// `-ERR '<text>'\r\n`.
pub fn err(text: &str) -> Vec<u8> {
    rnats_proto::wire::err_line(text)
}

/// rnats and the reference on the same configuration: [(name, process)].
pub fn both(tag: &str, conf: &str, args: &[&str]) -> [(&'static str, ServerProcess); 2] {
    [
        ("rnats", rnats(tag, conf, args)),
        ("reference", reference(tag, conf, args)),
    ]
}

/// The address of a server listening on 127.0.0.1:`port`.
pub fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Write `text` as a configuration file in a fresh directory named after `tag`.
pub fn conf_file(tag: &str, text: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("rnats-hostile-{tag}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("s.conf");
    std::fs::write(&conf, text).expect("write conf");
    conf
}

/// `bin` as a subprocess on the configuration text `conf` (plus `args`). The configuration's
/// directory is removed once the server is up (it has read the file).
fn serve(bin: &Path, tag: &str, conf: &str, args: &[&str]) -> ServerProcess {
    let c = conf_file(tag, conf);
    let mut all = vec!["-c", c.to_str().expect("utf8")];
    all.extend_from_slice(args);
    let s = ServerProcess::start(bin, &all);
    if let Some(dir) = c.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
    s.unwrap_or_else(|e| panic!("{} starts: {e}", bin.display()))
}

/// rnats-server (the binary under test) as a subprocess on `conf` (plus `args`).
pub fn rnats(tag: &str, conf: &str, args: &[&str]) -> ServerProcess {
    serve(
        Path::new(env!("CARGO_BIN_EXE_rnats-server")),
        tag,
        conf,
        args,
    )
}

/// The reference nats-server 2.15 as a subprocess on `conf` (plus `args`).
pub fn reference(tag: &str, conf: &str, args: &[&str]) -> ServerProcess {
    serve(&reference_server_path(), tag, conf, args)
}

/// Connect and read the INFO line.
pub async fn connect(addr: SocketAddr) -> TcpStream {
    connect_info(addr).await.0
}

/// Connect and read the INFO line; returns it too.
pub async fn connect_info(addr: SocketAddr) -> (TcpStream, Vec<u8>) {
    let mut c = tokio::time::timeout(T, TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect");
    let _ = c.set_nodelay(true);
    let (info, closed) = read_until(&mut c, b"\r\n", T).await;
    assert!(
        info.starts_with(b"INFO {") && !closed,
        "no INFO: {}",
        show(&info)
    );
    (c, info)
}

/// Builds a CONNECT argument from the server's INFO nonce (empty when there is none).
pub type ConnectFn = std::sync::Arc<dyn Fn(&str) -> String + Send + Sync>;

/// Printable bytes for assertion messages (long runs are cut in the middle).
pub fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.len() > 600 {
        let head: String = s.chars().take(300).collect();
        let tail: String = s
            .chars()
            .rev()
            .take(300)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("{head}…[{} bytes]…{tail}", b.len())
    } else {
        format!("{s:?}")
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// Read until `needle` has arrived or the peer closed; returns (bytes, closed). Panics after
/// `within`.
pub async fn read_until(c: &mut TcpStream, needle: &[u8], within: Duration) -> (Vec<u8>, bool) {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if find(&got, needle).is_some() {
            return (got, false);
        }
        match timeout_at(deadline, c.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "no {:?} within {within:?}; got {}",
                String::from_utf8_lossy(needle),
                show(&got)
            ),
        }
    }
}

/// Everything until the peer closes; panics if it is still open after `within`.
pub async fn read_to_close(c: &mut TcpStream, within: Duration) -> Vec<u8> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match timeout_at(deadline, c.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return got,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("not closed within {within:?}; got {}", show(&got)),
        }
    }
}

/// True if the peer sent nothing and did not close within `d`.
pub async fn quiet_for(c: &mut TcpStream, d: Duration) -> bool {
    let mut buf = [0u8; 1];
    tokio::time::timeout(d, c.read(&mut buf)).await.is_err()
}

/// A client that behaves: connected before an attack, it must keep getting PING→PONG and its
/// own messages back, promptly, while the attack runs and after it. It answers the server's
/// PINGs (tests with short ping intervals).
pub struct Innocent {
    pub c: TcpStream,
    addr: SocketAddr,
    connect: ConnectFn,
    /// Its own subject prefix (`innocent.<id>`): fresh connections do not see each other.
    id: u32,
    n: u64,
    buf: Vec<u8>,
}

static INNOCENTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Longest an innocent client's round trip may take while the server is under attack (a debug
/// build on a loaded two-core machine: generous, but far below any attacker's timeout).
pub const INNOCENT_RTT: Duration = Duration::from_secs(3);

impl Innocent {
    /// Connect with `connect_json` (e.g. `{"verbose":false}` or one with credentials) and
    /// subscribe to its own `innocent.<id>.>`.
    pub async fn new(addr: SocketAddr, connect_json: &str) -> Innocent {
        let json = connect_json.to_string();
        Innocent::with(addr, std::sync::Arc::new(move |_: &str| json.clone())).await
    }

    /// [`Innocent::new`] with a CONNECT argument built from the INFO's nonce (JWT users).
    pub async fn with(addr: SocketAddr, connect: ConnectFn) -> Innocent {
        let (c, info) = connect_info(addr).await;
        let nonce = rnats_testkit::jwt::nonce_of(&info);
        let connect_json = connect(&nonce);
        let mut me = Innocent {
            c,
            addr,
            connect,
            id: INNOCENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            n: 0,
            buf: Vec::new(),
        };
        let line = format!(
            "CONNECT {connect_json}\r\nSUB innocent.{}.> 1\r\nPING\r\n",
            me.id
        );
        me.c.write_all(line.as_bytes())
            .await
            .expect("innocent CONNECT");
        let got = me.expect(b"PONG\r\n", T).await;
        assert_eq!(got, b"PONG\r\n", "innocent refused: {}", show(&got));
        me
    }

    /// Read until `needle`, answering (and dropping) the server's PINGs; returns everything up
    /// to and including the needle. Panics if the server closes or after `within`.
    async fn expect(&mut self, needle: &[u8], within: Duration) -> Vec<u8> {
        let deadline = Instant::now() + within;
        let mut tmp = vec![0u8; 16 * 1024];
        loop {
            while let Some(i) = find(&self.buf, b"PING\r\n") {
                self.buf.drain(i..i + 6);
                self.c.write_all(b"PONG\r\n").await.expect("innocent PONG");
            }
            if let Some(i) = find(&self.buf, needle) {
                let rest = self.buf.split_off(i + needle.len());
                return std::mem::replace(&mut self.buf, rest);
            }
            match timeout_at(deadline, self.c.read(&mut tmp)).await {
                Ok(Ok(0)) | Ok(Err(_)) => panic!("innocent closed: {}", show(&self.buf)),
                Ok(Ok(n)) => self.buf.extend_from_slice(&tmp[..n]),
                Err(_) => panic!(
                    "innocent: no {:?} within {within:?}; got {}",
                    String::from_utf8_lossy(needle),
                    show(&self.buf)
                ),
            }
        }
    }

    /// PING→PONG, then a publish that must come back to its own subscription, each within
    /// [`INNOCENT_RTT`]. Returns the slower of the two round trips.
    pub async fn check(&mut self) -> Duration {
        let started = Instant::now();
        self.c.write_all(b"PING\r\n").await.expect("innocent PING");
        let got = self.expect(b"PONG\r\n", INNOCENT_RTT).await;
        assert_eq!(got, b"PONG\r\n", "innocent PING answer: {}", show(&got));
        let ping = started.elapsed();
        self.n += 1;
        let started = Instant::now();
        let payload = format!("hello-{:08}", self.n);
        let subject = format!("innocent.{}.{}", self.id, self.n);
        let script = format!("PUB {subject} {}\r\n{payload}\r\n", payload.len());
        self.c
            .write_all(script.as_bytes())
            .await
            .expect("innocent PUB");
        let want = format!("MSG {subject} 1 {}\r\n{payload}\r\n", payload.len());
        let got = self.expect(want.as_bytes(), INNOCENT_RTT).await;
        assert_eq!(String::from_utf8_lossy(&got), want, "innocent roundtrip");
        ping.max(started.elapsed())
    }

    /// A fresh connection with the same CONNECT gets its own roundtrip (new clients are still
    /// accepted and served). Returns how long that took.
    pub async fn fresh(&self) -> Duration {
        let started = Instant::now();
        let mut other = Innocent::with(self.addr, self.connect.clone()).await;
        other.check().await;
        started.elapsed()
    }

    /// Keep checking in the background (a round every 50 ms) until [`InnocentLoop::stop`]: the
    /// client stays busy, and answers PINGs, for the whole attack.
    pub fn spawn_loop(mut self) -> InnocentLoop {
        let stop = std::sync::Arc::new(tokio::sync::Notify::new());
        let s2 = stop.clone();
        let task = tokio::spawn(async move {
            let (mut rounds, mut worst) = (0u32, Duration::ZERO);
            loop {
                worst = worst.max(self.check().await);
                rounds += 1;
                tokio::select! {
                    _ = s2.notified() => break,
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                }
            }
            (self, rounds, worst)
        });
        InnocentLoop { stop, task }
    }
}

/// An [`Innocent`] checking in the background.
pub struct InnocentLoop {
    stop: std::sync::Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<(Innocent, u32, Duration)>,
}

impl InnocentLoop {
    /// Stop after the current round; returns the client, the rounds done and the slowest round
    /// trip (every round passed, or the test already failed).
    pub async fn stop(self) -> (Innocent, u32, Duration) {
        self.stop.notify_one();
        self.task.await.expect("innocent loop")
    }
}

/// Resident set size of process `pid`, in KiB (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// One `MSG` frame as received: (sid, payload).
pub type Frame = (String, Vec<u8>);

/// Parse complete `MSG` frames off the front of `buf` (skipping PING/PONG/+OK lines); a partial
/// frame is left in `buf`. Any other line is returned as an error.
pub fn parse_frames(buf: &mut Vec<u8>, out: &mut Vec<Frame>) -> Result<(), String> {
    loop {
        let Some(eol) = find(buf, b"\r\n") else {
            return Ok(());
        };
        let line = String::from_utf8_lossy(&buf[..eol]).into_owned();
        if matches!(line.as_str(), "PING" | "PONG" | "+OK") || line.starts_with("INFO ") {
            buf.drain(..eol + 2);
            continue;
        }
        let parts: Vec<&str> = line.split(' ').collect();
        if parts[0] != "MSG" || parts.len() < 4 {
            return Err(line);
        }
        let size: usize = parts[parts.len() - 1].parse().map_err(|_| line.clone())?;
        if buf.len() < eol + 2 + size + 2 {
            return Ok(());
        }
        if &buf[eol + 2 + size..eol + 4 + size] != b"\r\n" {
            return Err(format!("bad terminator after {line}"));
        }
        out.push((parts[2].to_string(), buf[eol + 2..eol + 2 + size].to_vec()));
        buf.drain(..eol + 4 + size);
    }
}
