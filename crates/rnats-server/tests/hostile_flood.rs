//! Floods, differentially against the reference nats-server 2.15 (both as subprocesses on the
//! same configuration): a million SUBs against `max_subscriptions`, 500 connections against
//! `max_connections`, a burst of connections into the listen backlog, and a slow consumer
//! under a flooding publisher. Each asserts the attacker's answer (the reference's) and that an
//! innocent client keeps being served. Memory under these floods is in `hostile_memory.rs`.

use rnats_proto::wire;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

mod common;
use common::hostile::*;

/// Send `n` SUBs (subjects `flood.<i>`, sids `i`) in big pipelined writes followed by a PING,
/// reading concurrently; returns (number of `maximum subscriptions exceeded` lines, everything
/// else that was answered).
async fn sub_flood(c: TcpStream, n: usize) -> (TcpStream, usize, Vec<u8>) {
    let (mut rd, mut wr) = c.into_split();
    let writer = tokio::spawn(async move {
        wr.write_all(b"CONNECT {\"verbose\":false}\r\n")
            .await
            .expect("w");
        let mut batch = Vec::with_capacity(1 << 20);
        for i in 0..n {
            batch.extend_from_slice(format!("SUB flood.{i} {i}\r\n").as_bytes());
            if batch.len() > (1 << 20) - 64 {
                wr.write_all(&batch).await.expect("flood write");
                batch.clear();
            }
        }
        batch.extend_from_slice(b"PING\r\n");
        wr.write_all(&batch).await.expect("flood write");
        wr
    });
    let line = err(wire::ERR_MAX_SUBSCRIPTIONS);
    let (mut count, mut other, mut pending) = (0usize, Vec::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        use tokio::io::AsyncReadExt;
        let k = tokio::time::timeout_at(deadline, rd.read(&mut buf))
            .await
            .expect("flood answered in time")
            .expect("read");
        assert!(k > 0, "closed after {count} errors: {}", show(&other));
        pending.extend_from_slice(&buf[..k]);
        let mut at = 0;
        while let Some(eol) = pending[at..].windows(2).position(|w| w == b"\r\n") {
            let l = &pending[at..at + eol + 2];
            if l == line.as_slice() {
                count += 1;
            } else if l == b"PING\r\n" {
                // The server's first PING (sent a second or two after CONNECT).
            } else {
                other.extend_from_slice(l);
            }
            at += eol + 2;
        }
        pending.drain(..at);
        if other.ends_with(b"PONG\r\n") {
            break;
        }
    }
    let wr = writer.await.expect("join");
    let c = rd.reunite(wr).expect("same stream");
    (c, count, other)
}

/// 6. A million SUBs pipelined in 1 MiB writes on a connection limited to 1000: exactly 999,000
/// `-ERR 'maximum subscriptions exceeded'` (the reference's count), the connection stays, the
/// first 1000 subscriptions work and the rest do not exist; the innocent client is served
/// during the flood. (Memory per subscription is in `hostile_memory.rs`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_subs_against_max_subscriptions_keep_the_connection() {
    let n = 1_000_000;
    for (name, s) in both("subflood", "max_subscriptions: 1000\n", &[]) {
        let addr = local(s.port);
        let innocent = Innocent::new(addr, PLAIN).await.spawn_loop();
        let attacker = connect(addr).await;
        // Served while the flood is being parsed (the flood takes seconds in a debug build).
        let (mut c, count, other) = sub_flood(attacker, n).await;
        let (mut innocent, rounds, _) = innocent.stop().await;
        assert!(rounds >= 1, "{name}");
        assert_eq!(count, n - 1000, "{name}");
        assert_eq!(other, b"PONG\r\n", "{name}");
        c.write_all(b"PUB flood.999 2\r\nin\r\nPUB flood.1000 3\r\nout\r\nPING\r\n")
            .await
            .expect("w");
        let (got, closed) = read_until(&mut c, b"PONG\r\n", T).await;
        assert!(!closed, "{name}");
        assert_eq!(
            String::from_utf8_lossy(&got),
            "MSG flood.999 999 2\r\nin\r\nPONG\r\n",
            "{name}"
        );
        innocent.check().await;
        innocent.fresh().await;
    }
}

/// Connect, and classify what the server does with a client that sends CONNECT + PING after
/// INFO: `(Some(stream), "PONG\r\n")` if it is served, `(None, bytes after INFO)` if the server
/// closes it. A connection that gets no INFO in time is reported as `<no INFO>`.
async fn try_client(addr: SocketAddr) -> (Option<TcpStream>, Vec<u8>) {
    use tokio::io::AsyncReadExt;
    let deadline = Instant::now() + T;
    let Ok(Ok(mut c)) = tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await else {
        return (None, b"<no connect>".to_vec());
    };
    let mut got = Vec::new();
    let mut buf = vec![0u8; 8192];
    let mut sent = false;
    loop {
        if let Some(eol) = got.windows(2).position(|w| w == b"\r\n") {
            if !sent {
                sent = true;
                let _ = c
                    .write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n")
                    .await;
            }
            if got.ends_with(b"PONG\r\n") {
                return (Some(c), got[eol + 2..].to_vec());
            }
        }
        match tokio::time::timeout_at(deadline, c.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                let eol = got.windows(2).position(|w| w == b"\r\n");
                let nothing = format!("<closed without INFO: {}>", show(&got));
                return (
                    None,
                    eol.map_or(nothing.into_bytes(), |e| got[e + 2..].to_vec()),
                );
            }
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => {
                let what = if got.is_empty() {
                    "<no INFO>"
                } else {
                    "<timeout>"
                };
                return (None, what.as_bytes().to_vec());
            }
        }
    }
}

/// 7. 500 connections opened at once against `max_connections: 50`: the innocent client (one of
/// the 50) is unaffected, exactly 49 are served and 451 get INFO, `-ERR 'maximum connections
/// exceeded'` and a close (the reference's numbers). When the flood leaves, all 49 slots are
/// free again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_flood_past_max_connections() {
    for (name, s) in both("connflood", "max_connections: 50\n", &[]) {
        let addr = local(s.port);
        let mut innocent = Innocent::new(addr, PLAIN).await;
        let flood: Vec<_> = (0..500).map(|_| tokio::spawn(try_client(addr))).collect();
        let mut served = Vec::new();
        let mut refused = 0;
        for f in flood {
            match f.await.expect("join") {
                (Some(c), got) => {
                    assert_eq!(got, b"PONG\r\n", "{name}");
                    served.push(c);
                }
                (None, got) => {
                    assert_eq!(got, err(wire::ERR_MAX_CONNECTIONS), "{name}");
                    refused += 1;
                }
            }
        }
        assert_eq!((served.len(), refused), (49, 451), "{name}");
        innocent.check().await;
        drop(served);
        // The slots come back once the server has seen the closes: poll with a deadline.
        let deadline = Instant::now() + T;
        loop {
            let again: Vec<_> = (0..49).map(|_| tokio::spawn(try_client(addr))).collect();
            let mut ok = Vec::new();
            for a in again {
                if let (Some(c), _) = a.await.expect("join") {
                    ok.push(c);
                }
            }
            if ok.len() == 49 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{name}: only {} slots back",
                ok.len()
            );
            drop(ok);
            tokio::task::yield_now().await;
        }
        innocent.check().await;
    }
}

/// The payload of message `i` of the slow-consumer flood.
fn seq_payload(i: usize) -> Vec<u8> {
    let mut p = format!("{i:08}").into_bytes();
    p.resize(1000, b'z');
    p
}

/// 8. A subscriber that never reads, on a 4 KiB receive buffer, while a publisher floods 4000 ×
/// 1000 bytes: it is cut as a slow consumer (as the reference: no `-ERR`, just the close, its
/// stream ends on a whole frame and is an in-order prefix), a second subscriber on the same
/// subject receives every message in order, the publisher is not stalled for long (its PONG
/// comes within seconds), and `/varz` counts one slow consumer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumer_is_cut_and_the_fast_subscriber_gets_everything_in_order() {
    let conf = "max_pending: 512KB\nmax_payload: 64KB\n";
    let n = 4000;
    for (name, s) in both("slowcons", conf, &["-m", "-1"]) {
        let addr = local(s.port);
        let innocent = Innocent::new(addr, PLAIN).await.spawn_loop();
        let stuck = {
            let sock = tokio::net::TcpSocket::new_v4().expect("socket");
            sock.set_recv_buffer_size(4096).expect("rcvbuf");
            let mut c = sock.connect(addr).await.expect("connect");
            c.write_all(b"CONNECT {\"verbose\":false}\r\nSUB seq 1\r\nPING\r\n")
                .await
                .expect("w");
            c
        };
        let mut fast = connect(addr).await;
        fast.write_all(b"CONNECT {\"verbose\":false}\r\nSUB seq 7\r\nPING\r\n")
            .await
            .expect("w");
        read_until(&mut fast, b"PONG\r\n", T).await;
        let reader = tokio::spawn(async move {
            let (mut frames, mut pending) = (Vec::new(), Vec::new());
            let mut buf = vec![0u8; 256 * 1024];
            let deadline = Instant::now() + Duration::from_secs(20);
            while frames.len() < n {
                use tokio::io::AsyncReadExt;
                let k = tokio::time::timeout_at(deadline, fast.read(&mut buf))
                    .await
                    .unwrap_or_else(|_| panic!("only {} frames", frames.len()))
                    .expect("read");
                assert!(k > 0, "fast subscriber closed");
                pending.extend_from_slice(&buf[..k]);
                parse_frames(&mut pending, &mut frames).expect("frames");
            }
            frames
        });
        let mut publisher = connect(addr).await;
        let mut script = b"CONNECT {\"verbose\":false}\r\n".to_vec();
        for i in 0..n {
            script.extend_from_slice(b"PUB seq 1000\r\n");
            script.extend_from_slice(&seq_payload(i));
            script.extend_from_slice(b"\r\n");
        }
        script.extend_from_slice(b"PING\r\n");
        let started = Instant::now();
        publisher.write_all(&script).await.expect("publish");
        let (got, closed) = read_until(&mut publisher, b"PONG\r\n", T).await;
        assert!(!closed && got == b"PONG\r\n", "{name}: {}", show(&got));
        let publish_time = started.elapsed();
        assert!(
            publish_time < Duration::from_secs(8),
            "{name}: {publish_time:?}"
        );
        let frames = reader.await.expect("join");
        for (i, (sid, p)) in frames.iter().enumerate() {
            assert_eq!(sid, "7", "{name}");
            assert!(p == &seq_payload(i), "{name}: frame {i} out of order");
        }
        // The stuck subscriber: the server closed it; what it had queued ends on a frame.
        let mut stuck = stuck;
        let rest = read_to_close(&mut stuck, T).await;
        assert!(!rest.windows(5).any(|w| w == b"-ERR "), "{name}: no -ERR");
        let (mut pending, mut got) = (rest, Vec::new());
        parse_frames(&mut pending, &mut got).expect("whole frames");
        assert!(pending.is_empty(), "{name}: a partial frame at the cut");
        assert!(got.len() < n, "{name}: the stuck subscriber was cut");
        for (i, (_, p)) in got.iter().enumerate() {
            assert!(p == &seq_payload(i), "{name}: stuck frame {i} out of order");
        }
        let varz = common::http::json(s.http_port.expect("monitor"), "/varz");
        assert_eq!(varz["slow_consumers"], 1, "{name}");
        let (mut innocent, rounds, _) = innocent.stop().await;
        assert!(rounds >= 1, "{name}");
        innocent.check().await;
        innocent.fresh().await;
    }
}

/// 7b. A burst of connections while the server is not accepting (stopped with SIGSTOP: a busy
/// accept loop, at its extreme) waits in the kernel's accept queue, which is as long as the
/// system allows (`net.core.somaxconn`, the backlog Go listens with). With a short backlog the
/// connections past it are dropped and wait for SYN retransmits (1 s, 3 s, 7 s…). Once the
/// server runs again, every one of them gets its INFO.
#[test]
fn a_connection_burst_fits_the_listen_backlog_like_the_reference() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    use std::io::Read;
    let somaxconn: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(128);
    // The accept queue holds backlog + 1 connections; stay under it.
    let n = somaxconn.min(500);
    for (name, s) in both("burst", "max_connections: 1000\n", &[]) {
        let pid = Pid::from_raw(s.pid() as i32);
        kill(pid, Signal::SIGSTOP).expect("stop");
        let addr = local(s.port);
        let started = std::time::Instant::now();
        let conns: Vec<std::net::TcpStream> = (0..n)
            .map(|i| {
                std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3)).unwrap_or_else(
                    |e| {
                        let _ = kill(pid, Signal::SIGCONT);
                        panic!("{name}: connection {i} of {n} not queued: {e}")
                    },
                )
            })
            .collect();
        let queued = started.elapsed();
        kill(pid, Signal::SIGCONT).expect("continue");
        assert!(
            queued < Duration::from_millis(900),
            "{name}: {n} connections took {queued:?} (dropped SYNs)"
        );
        for (i, mut c) in conns.into_iter().enumerate() {
            c.set_read_timeout(Some(T)).expect("timeout");
            let mut buf = [0u8; 5];
            c.read_exact(&mut buf)
                .unwrap_or_else(|e| panic!("{name}: connection {i}: {e}"));
            assert_eq!(&buf, b"INFO ", "{name}: connection {i}");
        }
    }
}
