//! The delivery guarantee of core NATS, under churn: with no slow consumer, every message a
//! publisher sends reaches every matching subscription once, in the publisher's order.
//!
//! The workload: three publishers number their messages and spread them over four subjects
//! each; stable subscribers hold a full wildcard, two narrower subscriptions on one connection,
//! and a two-member queue group. Meanwhile one connection subscribes and unsubscribes in a
//! loop, and short-lived connections come and go doing their own request-sized exchanges. At
//! the end each publisher's PONG says its messages were handed to their subscribers, and each
//! subscriber's own PONG, which follows them, says it has read them all. The checks:
//! - a stable subscription got exactly the messages its filter matches, per publisher in
//!   order, none twice, none missing;
//! - the queue group's members got disjoint, ordered parts whose union is everything;
//! - a churning subscription never saw a message twice or out of order;
//! - every short-lived connection got its own messages;
//! - the server counted no slow consumer.
//!
//! The same workload runs while the configuration is reloaded again and again, and while the
//! server enters lame duck mode (within its grace period the connections stay, and lose nothing).
//!
//! `RNATS_SOAK_SECS` sets how long the publishers run (default 2 s; a long run is minutes).

use rnats_server::config::reload::try_reload;
use rnats_server::{Options, Server, config};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};

const PUBLISHERS: usize = 3;
const SUBJECTS: u64 = 4;
const BATCH: u64 = 100;
const T: Duration = Duration::from_secs(60);

fn soak_time() -> Duration {
    let secs = std::env::var("RNATS_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    Duration::from_secs_f64(secs)
}

/// One received message: subscription id, publisher, sequence number.
type Got = (u32, u8, u64);

/// A connection whose reader task parses MSG frames into `got` and counts PONGs; the write half
/// stays with the test.
struct Client {
    wr: OwnedWriteHalf,
    pongs: Arc<AtomicUsize>,
    reader: JoinHandle<Vec<Got>>,
}

async fn connect(addr: SocketAddr, script: &str) -> Client {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (mut rd, mut wr) = tcp.into_split();
    wr.write_all(format!("CONNECT {{\"verbose\":false}}\r\n{script}").as_bytes())
        .await
        .expect("write");
    let pongs = Arc::new(AtomicUsize::new(0));
    let counter = pongs.clone();
    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        let mut pending = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return got,
                Ok(n) => n,
            };
            pending.extend_from_slice(&buf[..n]);
            let used = parse(&pending, &mut got, &counter);
            pending.drain(..used);
        }
    });
    let mut c = Client { wr, pongs, reader };
    c.barrier().await;
    c
}

impl Client {
    /// PING, and wait for its PONG: everything the server queued for this connection before
    /// it has been read.
    async fn barrier(&mut self) {
        let before = self.pongs.load(Ordering::Acquire);
        self.wr.write_all(b"PING\r\n").await.expect("ping");
        let deadline = Instant::now() + T;
        while self.pongs.load(Ordering::Acquire) <= before {
            assert!(Instant::now() < deadline, "no PONG in time");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    async fn finish(mut self) -> Vec<Got> {
        self.barrier().await;
        let _ = self.wr.shutdown().await;
        drop(self.wr);
        timeout(T, self.reader)
            .await
            .expect("reader ends")
            .expect("reader")
    }
}

/// Parse complete frames off the front of `buf`; returns the bytes used. Payloads are
/// `<publisher>.<seq>` followed by filler.
fn parse(buf: &[u8], got: &mut Vec<Got>, pongs: &AtomicUsize) -> usize {
    let mut at = 0;
    while let Some(eol) = buf[at..].windows(2).position(|w| w == b"\r\n") {
        let line = &buf[at..at + eol];
        if line == b"PONG" {
            pongs.fetch_add(1, Ordering::Release);
            at += eol + 2;
            continue;
        }
        if !line.starts_with(b"MSG ") {
            // INFO (lame duck), PING, +OK: not messages.
            assert!(
                line.starts_with(b"INFO ") || line == b"PING" || line == b"+OK",
                "unexpected line {:?}",
                String::from_utf8_lossy(line)
            );
            at += eol + 2;
            continue;
        }
        let text = std::str::from_utf8(line).expect("ascii");
        let parts: Vec<&str> = text.split(' ').collect();
        let size: usize = parts.last().and_then(|p| p.parse().ok()).expect("size");
        let start = at + eol + 2;
        if buf.len() < start + size + 2 {
            break;
        }
        let payload = std::str::from_utf8(&buf[start..start + size]).expect("payload");
        let id = payload.split(' ').next().expect("id");
        let (p, seq) = id.split_once('.').expect("publisher.seq");
        let sid: u32 = parts[2].parse().expect("sid");
        got.push((sid, p.parse().expect("p"), seq.parse().expect("seq")));
        at = start + size + 2;
    }
    at
}

/// Publish numbered messages in batches (each confirmed by a PONG, so no subscriber that reads
/// can fall behind) until `stop`; returns how many were sent.
async fn publisher(addr: SocketAddr, p: u8, stop: Arc<AtomicBool>) -> u64 {
    let mut c = connect(addr, "").await;
    let mut seq = 0;
    let mut out = Vec::new();
    while !stop.load(Ordering::Acquire) {
        out.clear();
        for _ in 0..BATCH {
            // Sizes from 8 to ~1.5 KiB, so batches mix small and big frames.
            let fill = (seq * 37 % 1500) as usize;
            let body = format!("{p}.{seq} {}", "x".repeat(fill));
            out.extend_from_slice(
                format!("PUB soak.{p}.{} {}\r\n", seq % SUBJECTS, body.len()).as_bytes(),
            );
            out.extend_from_slice(body.as_bytes());
            out.extend_from_slice(b"\r\n");
            seq += 1;
        }
        c.wr.write_all(&out).await.expect("publish");
        c.barrier().await;
    }
    c.finish().await;
    seq
}

/// Subscribe and unsubscribe `soak.>` in a loop; every subscription's messages are checked for
/// duplicates and order.
async fn sub_churner(addr: SocketAddr, stop: Arc<AtomicBool>) -> usize {
    let mut c = connect(addr, "").await;
    let mut sid = 0u32;
    while !stop.load(Ordering::Acquire) {
        sid += 1;
        c.wr.write_all(format!("SUB soak.> {sid}\r\n").as_bytes())
            .await
            .expect("sub");
        tokio::time::sleep(Duration::from_millis(3)).await;
        c.wr.write_all(format!("UNSUB {sid}\r\n").as_bytes())
            .await
            .expect("unsub");
        c.barrier().await;
    }
    let got = c.finish().await;
    let mut last: HashMap<(u32, u8), u64> = HashMap::new();
    for (sid, p, seq) in &got {
        if let Some(prev) = last.insert((*sid, *p), *seq) {
            assert!(*seq > prev, "sid {sid} publisher {p}: {seq} after {prev}");
        }
    }
    got.len()
}

/// Short-lived connections, each subscribing to a subject of its own, publishing five messages
/// to it and reading them back; returns how many connections came and went.
async fn conn_churner(addr: SocketAddr, id: usize, stop: Arc<AtomicBool>) -> usize {
    let mut n = 0;
    while !stop.load(Ordering::Acquire) {
        let subj = format!("churn.{id}.{n}");
        let mut script = format!("SUB {subj} 1\r\n");
        for i in 0..5 {
            script.push_str(&format!("PUB {subj} 3\r\n9.{i}\r\n"));
        }
        let c = connect(addr, &script).await;
        let got = c.finish().await;
        let seqs: Vec<u64> = got.iter().map(|g| g.2).collect();
        assert_eq!(seqs, [0, 1, 2, 3, 4], "connection {subj}");
        n += 1;
    }
    n
}

/// Raise `stop` after `run`.
async fn stop_after(run: Duration, stop: Arc<AtomicBool>) {
    tokio::time::sleep(run).await;
    stop.store(true, Ordering::Release);
}

/// Run the workload for `run`, with `during` running alongside; check everything.
async fn workload<F: std::future::Future<Output = ()>>(s: &Server, run: Duration, during: F) {
    let addr = s.client_addr;
    let all = connect(addr, "SUB soak.> 1\r\n").await;
    let narrow = connect(addr, "SUB soak.*.1 1\r\nSUB soak.0.* 2\r\n").await;
    let q1 = connect(addr, "SUB soak.> workers 1\r\n").await;
    let q2 = connect(addr, "SUB soak.> workers 1\r\n").await;
    let stop = Arc::new(AtomicBool::new(false));
    let pubs: Vec<_> = (0..PUBLISHERS as u8)
        .map(|p| tokio::spawn(publisher(addr, p, stop.clone())))
        .collect();
    let subs = tokio::spawn(sub_churner(addr, stop.clone()));
    let conns: Vec<_> = (0..2)
        .map(|i| tokio::spawn(conn_churner(addr, i, stop.clone())))
        .collect();
    tokio::join!(during, stop_after(run, stop.clone()));
    let mut sent = Vec::new();
    for p in pubs {
        sent.push(timeout(T, p).await.expect("publisher ends").expect("pub"));
    }
    let churned = timeout(T, subs).await.expect("churner ends").expect("c");
    let mut conns_done = 0;
    for c in conns {
        conns_done += timeout(T, c).await.expect("conn churn ends").expect("c");
    }
    let total: u64 = sent.iter().sum();

    let expect = |filter: &dyn Fn(u8, u64) -> bool| -> Vec<(u8, u64)> {
        let mut v = Vec::new();
        for (p, n) in sent.iter().enumerate() {
            v.extend(
                (0..*n)
                    .map(|s| (p as u8, s))
                    .filter(|(p, s)| filter(*p, *s)),
            );
        }
        v
    };
    let by_sid = |got: &[Got], sid: u32| -> Vec<(u8, u64)> {
        let mut v: Vec<(u8, u64)> = Vec::new();
        for p in 0..PUBLISHERS as u8 {
            v.extend(
                got.iter()
                    .filter(|g| g.0 == sid && g.1 == p)
                    .map(|g| (g.1, g.2)),
            );
        }
        v
    };
    let got = all.finish().await;
    assert_eq!(got.len() as u64, total, "soak.> got every message once");
    assert!(by_sid(&got, 1) == expect(&|_, _| true), "soak.> in order");
    let got = narrow.finish().await;
    assert!(
        by_sid(&got, 1) == expect(&|_, s| s % SUBJECTS == 1),
        "soak.*.1"
    );
    assert!(by_sid(&got, 2) == expect(&|p, _| p == 0), "soak.0.*");
    let (a, b) = (q1.finish().await, q2.finish().await);
    let mut union = Vec::new();
    for part in [&a, &b] {
        let mine = by_sid(part, 1);
        for w in mine.windows(2) {
            assert!(w[0].0 != w[1].0 || w[0].1 < w[1].1, "queue member order");
        }
        union.extend(mine);
    }
    union.sort_unstable();
    assert!(
        union == expect(&|_, _| true),
        "the queue group got each once"
    );
    assert_eq!(s.stats.slow_consumers.load(Ordering::Relaxed), 0);
    println!(
        "soak: {run:?}, sent {total} ({sent:?}), received {total} on each full subscription, \
         queue members {}+{}, churned subscriptions saw {churned}, {conns_done} short connections",
        a.len(),
        b.len()
    );
}

async fn start(o: Options) -> Arc<Server> {
    Server::start(o).await.expect("server starts")
}

fn local() -> Options {
    Options {
        host: "127.0.0.1".into(),
        port: -1,
        ..Options::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_once_in_order_under_churn() {
    let s = start(local()).await;
    workload(&s, soak_time(), async {}).await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloads_while_traffic_flows_lose_nothing() {
    let dir = std::env::temp_dir().join(format!("rnats-soak-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("soak.conf");
    let text = |n: u32| format!("host: 127.0.0.1\nport: -1\nmax_payload: {n}KB\nping_max: {n}\n");
    std::fs::write(&conf, text(64)).expect("write");
    let mut o = Options::default();
    config::load_file(&conf, &mut o).expect("load");
    let s = start(o).await;
    let run = soak_time();
    let reloads = AtomicUsize::new(0);
    let reloader = async {
        let end = Instant::now() + run;
        let mut n = 0;
        while Instant::now() < end {
            n += 1;
            std::fs::write(&conf, text(64 + n % 2)).expect("write");
            let changes = try_reload(&s).expect("reload");
            assert!(!changes.is_empty(), "each reload changes something");
            reloads.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    workload(&s, run, reloader).await;
    assert!(reloads.load(Ordering::Relaxed) >= 5);
    s.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lame_duck_mode_while_traffic_flows_loses_nothing() {
    let run = soak_time();
    let mut o = local();
    // Connections stay through the grace period; the workload ends well inside it.
    o.lame_duck_grace_period = run + Duration::from_secs(30);
    o.lame_duck_duration = o.lame_duck_grace_period + Duration::from_secs(30);
    let s = start(o).await;
    // Start the workload (its connections open first), then enter lame duck mode midway.
    let s2 = s.clone();
    let ldm = async move {
        tokio::time::sleep(run / 3).await;
        tokio::spawn(async move { s2.lame_duck_mode().await });
        // New connections are refused from then on.
    };
    workload_without_new_connections(&s, run, ldm).await;
    assert!(s.is_lame_duck());
    s.shutdown().await;
}

/// The workload minus the short-lived connections (lame duck mode refuses new ones).
async fn workload_without_new_connections<F: std::future::Future<Output = ()>>(
    s: &Server,
    run: Duration,
    during: F,
) {
    let addr = s.client_addr;
    let all = connect(addr, "SUB soak.> 1\r\n").await;
    let q1 = connect(addr, "SUB soak.> workers 1\r\n").await;
    let q2 = connect(addr, "SUB soak.> workers 1\r\n").await;
    let stop = Arc::new(AtomicBool::new(false));
    // Publishers connect before lame duck mode begins.
    let mut pubs = Vec::new();
    for p in 0..PUBLISHERS as u8 {
        pubs.push(tokio::spawn(publisher(addr, p, stop.clone())));
    }
    tokio::join!(during, stop_after(run, stop.clone()));
    let mut total = 0;
    for p in pubs {
        total += timeout(T, p).await.expect("publisher ends").expect("pub");
    }
    let got = all.finish().await;
    assert_eq!(got.len() as u64, total, "every message reached soak.>");
    let n = q1.finish().await.len() + q2.finish().await.len();
    assert_eq!(n as u64, total, "every message reached the queue group");
    println!("lame duck soak: {total} messages, none lost");
}
