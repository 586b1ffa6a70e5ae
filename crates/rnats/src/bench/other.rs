//! The non-throughput scenarios: `reqrep` latency, `connect` rate and `idle` memory.
//!
//! Model: `reqrep` is one requester and one responder client; the requester publishes a
//! request with a reply subject and waits for the answer before sending the next (closed
//! loop, one outstanding), timing each round trip with the monotonic clock; the first 1% are
//! warm-up and not counted. `connect` opens connections one after another, each doing the
//! full handshake (INFO, CONNECT with credentials and a signed nonce where the auth kind needs
//! one, PING, PONG) before it is closed, so every counted connection was authenticated.
//! `idle` reads the server's RSS, opens N handshaken connections, lets the server settle, and
//! reads the RSS again: the difference per connection.

use super::proto::{Conn, Event, push_pub};
use super::scenario::{Metric, Scenario, Target};
use super::server::rss_kib;
use std::io::{self, Write};
use std::time::{Duration, Instant};

const REQ_SUBJECT: &str = "bench.rr";
const INBOX: &str = "_INBOX.bench.rr";

/// Closed-loop request/reply: p50/p90/p99/p99.9 latency and round trips per second.
pub fn reqrep(s: &Scenario, t: &Target) -> Result<(Duration, Vec<Metric>), String> {
    let e = |what: &'static str| move |err: io::Error| format!("{what}: {err}");
    let n = s.count();
    let warm = (n / 100).max(10);
    let payload = vec![b'x'; s.size];

    let mut responder = Conn::open(&t.addr, &t.auth).map_err(e("responder connect"))?;
    responder
        .flush(format!("SUB {REQ_SUBJECT} 1\r\n").as_bytes())
        .map_err(e("responder subscribe"))?;
    let mut requester = Conn::open(&t.addr, &t.auth).map_err(e("requester connect"))?;
    requester
        .flush(format!("SUB {INBOX} 1\r\n").as_bytes())
        .map_err(e("requester subscribe"))?;

    let stopper = responder.stream.try_clone().map_err(e("clone"))?;
    let resp_payload = payload.clone();
    // The responder returns how many it served and how its read loop ended (an error once we
    // shut its socket down at the end, which is fine when every request was served).
    let handle = std::thread::spawn(move || -> (u64, io::Result<()>) {
        let Conn {
            mut stream,
            mut reader,
        } = responder;
        let mut out = Vec::with_capacity(resp_payload.len() + 64);
        let mut served = 0u64;
        let mut writer = match stream.try_clone() {
            Ok(w) => w,
            Err(e) => return (0, Err(e)),
        };
        let r = reader.run(&mut stream, |ev| {
            if let Event::Msg { .. } = ev {
                out.clear();
                let reply = std::str::from_utf8(ev.reply()).map_err(io::Error::other)?;
                push_pub(&mut out, reply, None, &resp_payload);
                writer.write_all(&out)?;
                served += 1;
            }
            Ok(true)
        });
        (served, r)
    });

    let mut request = Vec::new();
    push_pub(&mut request, REQ_SUBJECT, Some(INBOX), &payload);
    let mut lat_ns: Vec<u64> = Vec::with_capacity(n as usize);
    let Conn {
        stream: mut req_stream,
        reader: mut req_reader,
    } = requester;
    let mut pong_to = req_stream.try_clone().map_err(e("clone"))?;
    let mut start = Instant::now();
    let mut failure = None;
    for i in 0..(n + warm) {
        if i == warm {
            start = Instant::now();
        }
        let t0 = Instant::now();
        if let Err(err) = req_stream.write_all(&request) {
            failure = Some(format!("request: {err}"));
            break;
        }
        let mut got = false;
        let r = req_reader.run(&mut pong_to, |ev| {
            got = matches!(ev, Event::Msg { .. });
            Ok(!got)
        });
        if let Err(err) = r {
            failure = Some(format!("waiting for reply {}: {err}", i + 1));
            break;
        }
        if i >= warm {
            lat_ns.push(t0.elapsed().as_nanos() as u64);
        }
    }
    let elapsed = start.elapsed();
    let _ = stopper.shutdown(std::net::Shutdown::Both);
    let (served, ended) = handle
        .join()
        .map_err(|_| "responder panicked".to_string())?;
    if let Some(f) = failure {
        return Err(match ended {
            Err(r) => format!("{f} (responder: {r})"),
            Ok(()) => f,
        });
    }
    if served != n + warm {
        return Err(format!(
            "responder served {served} of {} requests",
            n + warm
        ));
    }
    lat_ns.sort_unstable();
    let pct = |p: f64| {
        let i = ((lat_ns.len() as f64 * p).ceil() as usize).clamp(1, lat_ns.len()) - 1;
        lat_ns[i] as f64 / 1000.0
    };
    let secs = elapsed.as_secs_f64().max(1e-9);
    Ok((
        elapsed,
        vec![
            Metric::cost("p50", pct(0.50), "µs"),
            Metric::cost("p90", pct(0.90), "µs"),
            Metric::cost("p99", pct(0.99), "µs"),
            Metric::cost("p99.9", pct(0.999), "µs"),
            Metric::rate("round trips/s", n as f64 / secs, ""),
        ],
    ))
}

/// Connections per second, each fully handshaken with the target's credentials.
pub fn connect(s: &Scenario, t: &Target) -> Result<(Duration, Vec<Metric>), String> {
    let n = s.count();
    let start = Instant::now();
    for i in 0..n {
        let r = match &t.auth {
            super::proto::Auth::Tls { ca } => super::proto::tls_connect(&t.addr, ca).map(drop),
            auth => Conn::open_small(&t.addr, auth).map(drop),
        };
        r.map_err(|e| format!("connection {} ({}): {e}", i + 1, t.auth.kind()))?;
    }
    let elapsed = start.elapsed();
    let secs = elapsed.as_secs_f64().max(1e-9);
    Ok((
        elapsed,
        vec![
            Metric::rate("conns/s", n as f64 / secs, ""),
            Metric::cost("time/conn", secs * 1e6 / n as f64, "µs"),
        ],
    ))
}

/// Server RSS growth per idle connection (needs the server's pid).
pub fn idle(n: usize, t: &Target) -> Result<(Duration, Vec<Metric>), String> {
    let pid = t
        .pid
        .ok_or("idle needs the server's pid (--pid, or use compare)")?;
    let rss = || rss_kib(pid).ok_or_else(|| format!("cannot read /proc/{pid}/status"));
    std::thread::sleep(Duration::from_millis(200));
    let before = rss()?;
    let start = Instant::now();
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        conns.push(
            Conn::open_small(&t.addr, &t.auth)
                .map_err(|e| format!("idle connection {}: {e}", i + 1))?,
        );
    }
    let elapsed = start.elapsed();
    // Let the server finish whatever it does after a handshake, then check every connection
    // is still alive.
    std::thread::sleep(Duration::from_millis(500));
    for (i, c) in conns.iter_mut().enumerate() {
        c.flush(b"")
            .map_err(|e| format!("idle connection {} after settling: {e}", i + 1))?;
    }
    let after = rss()?;
    drop(conns);
    let per = (after as f64 - before as f64) / n as f64;
    Ok((
        elapsed,
        vec![
            Metric::cost("RSS/conn", per, "KiB"),
            Metric::cost("RSS all open", after as f64 / 1024.0, "MiB"),
        ],
    ))
}

/// Publish over TLS: one connection writes `n` messages in batches, then a PING/PONG barrier.
pub fn tls_pub(s: &Scenario, t: &Target) -> Result<(Duration, Vec<Metric>), String> {
    let super::proto::Auth::Tls { ca } = &t.auth else {
        return Err("tlspub needs a TLS target (use compare, or run with --tls-ca)".into());
    };
    let n = s.count();
    let mut c = super::proto::tls_connect(&t.addr, ca).map_err(|e| format!("connect: {e}"))?;
    let payload = vec![b'x'; s.size];
    let mut one = Vec::new();
    push_pub(&mut one, "bench.tls", None, &payload);
    let per = (64 * 1024 / one.len()).max(1);
    let batch = one.repeat(per);
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < n {
        let k = (n - sent).min(per as u64) as usize;
        c.get_mut()
            .write_all(&batch[..k * one.len()])
            .map_err(|e| format!("publish: {e}"))?;
        sent += k as u64;
    }
    super::proto::tls_flush(&mut c, b"").map_err(|e| format!("flush: {e}"))?;
    let elapsed = start.elapsed();
    let secs = elapsed.as_secs_f64().max(1e-9);
    Ok((
        elapsed,
        vec![
            Metric::rate("msgs/s", n as f64 / secs, ""),
            Metric::rate("MB/s", (n as f64 * s.size as f64) / secs / 1e6, ""),
        ],
    ))
}
