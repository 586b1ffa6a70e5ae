//! Delivery under load, in-process with raw sockets: publishers stage a read batch's frames per
//! subscriber connection and hand them over under one lock (`route.rs`); writers send queued
//! buffers with vectored writes. These tests pin what that must not change: per-subscription
//! order and completeness across payload sizes (staged, committed early, handed over whole),
//! slow readers (partial vectored writes), several subscriptions on one connection, exact
//! auto-unsubscribe counts, no message after an acknowledged UNSUB, and slow-consumer cuts that
//! leave other subscribers whole.

use rnats_server::{Options, Server};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

async fn start(mut o: Options) -> Arc<Server> {
    o.host = "127.0.0.1".into();
    o.port = -1;
    Server::start(o).await.expect("server starts")
}

const T: Duration = Duration::from_secs(20);

/// Connect, send `script` after INFO, and wait for the PONG the script must end with.
async fn client(s: &Server, script: &str) -> TcpStream {
    let mut c = TcpStream::connect(s.client_addr).await.expect("connect");
    c.write_all(script.as_bytes()).await.expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    // Messages may follow the PONG in the same read; they are dropped here.
    while !got.windows(6).any(|w| w == b"PONG\r\n") {
        let n = timeout(T, c.read(&mut buf))
            .await
            .expect("PONG in time")
            .expect("read");
        assert!(
            n > 0,
            "closed before PONG: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    c
}

/// One `MSG` frame as received.
#[derive(Debug, PartialEq)]
struct Frame {
    sid: String,
    payload: Vec<u8>,
}

/// Parse complete `MSG` frames off the front of `buf`; leaves a partial frame (and counts
/// `PONG`s it passes).
fn parse(buf: &mut Vec<u8>, out: &mut Vec<Frame>, pongs: &mut usize) {
    loop {
        let Some(eol) = buf.windows(2).position(|w| w == b"\r\n") else {
            return;
        };
        let line = String::from_utf8_lossy(&buf[..eol]).into_owned();
        if line == "PONG" || line == "PING" || line == "+OK" {
            *pongs += usize::from(line == "PONG");
            buf.drain(..eol + 2);
            continue;
        }
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts[0], "MSG", "unexpected line {line:?}");
        let size: usize = parts.last().and_then(|p| p.parse().ok()).expect("size");
        if buf.len() < eol + 2 + size + 2 {
            return;
        }
        let payload = buf[eol + 2..eol + 2 + size].to_vec();
        assert_eq!(&buf[eol + 2 + size..eol + 4 + size], b"\r\n");
        out.push(Frame {
            sid: parts[2].to_string(),
            payload,
        });
        buf.drain(..eol + 4 + size);
    }
}

/// Read frames until `want` have arrived (or fail after `T`), in chunks of at most `chunk`
/// bytes with `pause` between reads (a slow reader makes the server's writes partial).
async fn collect(c: &mut TcpStream, want: usize, chunk: usize, pause: Duration) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut pending = Vec::new();
    let mut buf = vec![0u8; chunk];
    let mut pongs = 0;
    let deadline = tokio::time::Instant::now() + T;
    while frames.len() < want {
        let n = tokio::time::timeout_at(deadline, c.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("only {} of {want} frames", frames.len()))
            .expect("read");
        assert!(n > 0, "closed after {} of {want} frames", frames.len());
        pending.extend_from_slice(&buf[..n]);
        parse(&mut pending, &mut frames, &mut pongs);
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    frames
}

/// The payload of message `i`: its number, then filler up to a size that cycles through the
/// regimes of the delivery path (small frames staged together, frames that force an early
/// commit, frames bigger than a staging buffer on their own).
fn payload(i: usize) -> Vec<u8> {
    const SIZES: [usize; 6] = [16, 1000, 9000, 40_000, 70_000, 130];
    let mut p = format!("{i:08}").into_bytes();
    p.resize(SIZES[i % SIZES.len()], b'a' + (i % 26) as u8);
    p
}

fn publish_script(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        let p = payload(i);
        out.extend_from_slice(format!("PUB order.x {}\r\n", p.len()).as_bytes());
        out.extend_from_slice(&p);
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subscriber_gets_every_message_in_order_at_every_size() {
    let s = start(Options {
        max_payload: 1024 * 1024,
        ..Options::default()
    })
    .await;
    let n = 1_200;
    // Three single-subscription connections (one reads slowly in small pieces) and one
    // connection with two subscriptions matching the same subject: its frames for the two
    // alternate within every staged batch.
    let mut fast = client(
        &s,
        "CONNECT {\"verbose\":false}\r\nSUB order.x 1\r\nPING\r\n",
    )
    .await;
    let mut slow = client(
        &s,
        "CONNECT {\"verbose\":false}\r\nSUB order.* 7\r\nPING\r\n",
    )
    .await;
    let mut other = client(
        &s,
        "CONNECT {\"verbose\":false}\r\nSUB order.> 3\r\nPING\r\n",
    )
    .await;
    let mut two = client(
        &s,
        "CONNECT {\"verbose\":false}\r\nSUB order.x 1\r\nSUB order.* 2\r\nPING\r\n",
    )
    .await;
    let mut publisher = client(&s, "CONNECT {\"verbose\":false}\r\nPING\r\n").await;
    let script = publish_script(n);
    let pub_task = tokio::spawn(async move {
        publisher.write_all(&script).await.expect("publish");
        publisher
    });
    let (a, b, c, d) = tokio::join!(
        collect(&mut fast, n, 256 * 1024, Duration::ZERO),
        collect(&mut slow, n, 3_000, Duration::from_micros(200)),
        collect(&mut other, n, 64 * 1024, Duration::ZERO),
        collect(&mut two, 2 * n, 100_000, Duration::ZERO),
    );
    let _publisher = pub_task.await.expect("join");
    for (name, frames, sid) in [("fast", a, "1"), ("slow", b, "7"), ("other", c, "3")] {
        assert_eq!(frames.len(), n, "{name}");
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(f.sid, sid, "{name} frame {i}");
            assert_eq!(f.payload, payload(i), "{name} frame {i}");
        }
    }
    let mut per_sid: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
    for f in d {
        per_sid.entry(f.sid).or_default().push(f.payload);
    }
    for sid in ["1", "2"] {
        let got = per_sid.remove(sid).expect("both subscriptions received");
        assert_eq!(got.len(), n, "sid {sid}");
        for (i, p) in got.iter().enumerate() {
            assert_eq!(p, &payload(i), "sid {sid} frame {i}");
        }
    }
    assert!(per_sid.is_empty());
    let out = s.stats.out_msgs.load(Ordering::Relaxed);
    assert_eq!(out, 5 * n as u64, "every delivery counted once");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_message_after_the_pong_that_follows_an_unsub() {
    let s = start(Options::default()).await;
    let mut witness = client(&s, "CONNECT {\"verbose\":false}\r\nSUB race 1\r\nPING\r\n").await;
    let mut publisher = client(&s, "CONNECT {\"verbose\":false}\r\nPING\r\n").await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let pub_task = tokio::spawn(async move {
        let frame = b"PUB race 5\r\nhello\r\n".repeat(500);
        while !flag.load(Ordering::Relaxed) {
            publisher.write_all(&frame).await.expect("publish");
        }
    });
    let drain = tokio::spawn(async move {
        let mut buf = vec![0u8; 256 * 1024];
        while let Ok(Ok(n)) = timeout(Duration::from_secs(2), witness.read(&mut buf)).await {
            if n == 0 {
                break;
            }
        }
    });
    for round in 0..20 {
        let mut c = TcpStream::connect(s.client_addr).await.expect("connect");
        c.write_all(b"CONNECT {\"verbose\":false}\r\nSUB race 9\r\nPING\r\n")
            .await
            .expect("w");
        let (mut pending, mut frames, mut pongs) = (Vec::new(), Vec::new(), 0);
        let mut buf = vec![0u8; 64 * 1024];
        let mut unsubbed = false;
        // Read (parsing as we go) through the PONG that answers the PING after the UNSUB.
        while pongs < 2 {
            let n = timeout(T, c.read(&mut buf))
                .await
                .expect("PONG in time")
                .expect("read");
            assert!(n > 0);
            let data = &buf[..n];
            let data = if pending.is_empty() && data.starts_with(b"INFO ") {
                let eol = data
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .expect("INFO line");
                &data[eol + 2..]
            } else {
                data
            };
            pending.extend_from_slice(data);
            parse(&mut pending, &mut frames, &mut pongs);
            if pongs == 1 && !unsubbed {
                unsubbed = true;
                tokio::time::sleep(Duration::from_millis(5)).await;
                c.write_all(b"UNSUB 9\r\nPING\r\n").await.expect("w");
            }
        }
        // Everything up to that PONG may carry messages; nothing after it may.
        let mut late = pending;
        if let Ok(Ok(n)) = timeout(Duration::from_millis(50), c.read(&mut buf)).await {
            late.extend_from_slice(&buf[..n]);
        }
        assert!(
            late.is_empty(),
            "round {round}: {} bytes after the PONG: {:?}",
            late.len(),
            String::from_utf8_lossy(&late[..late.len().min(80)])
        );
        assert!(
            !frames.is_empty(),
            "round {round}: the flood reached the subscription"
        );
    }
    stop.store(true, Ordering::Relaxed);
    let _ = pub_task.await;
    let _ = drain.await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_unsubscribe_delivers_exactly_max_under_fanout() {
    let s = start(Options::default()).await;
    let mut limited = client(
        &s,
        "CONNECT {\"verbose\":false}\r\nSUB cap 1\r\nUNSUB 1 37\r\nSUB cap 2\r\nPING\r\n",
    )
    .await;
    let mut full = client(&s, "CONNECT {\"verbose\":false}\r\nSUB cap 5\r\nPING\r\n").await;
    let mut publisher = client(&s, "CONNECT {\"verbose\":false}\r\nPING\r\n").await;
    let n = 5_000;
    let mut script = Vec::new();
    for i in 0..n {
        script.extend_from_slice(format!("PUB cap 8\r\n{i:08}\r\n").as_bytes());
    }
    script.extend_from_slice(b"PING\r\n");
    publisher.write_all(&script).await.expect("publish");
    let frames = collect(&mut limited, 37 + n, 64 * 1024, Duration::ZERO).await;
    let capped: Vec<_> = frames.iter().filter(|f| f.sid == "1").collect();
    let plain: Vec<_> = frames.iter().filter(|f| f.sid == "2").collect();
    assert_eq!(capped.len(), 37);
    assert_eq!(plain.len(), n);
    for (i, f) in capped.iter().enumerate() {
        assert_eq!(f.payload, format!("{i:08}").into_bytes());
    }
    // The capped subscription's frames sit where they were published among the others'.
    let pos_last_capped = frames.iter().rposition(|f| f.sid == "1").expect("capped");
    let plain_before = frames[..pos_last_capped]
        .iter()
        .filter(|f| f.sid == "2")
        .count();
    assert!(
        plain_before <= 37,
        "capped frames were held back: {plain_before}"
    );
    let more = collect(&mut full, n, 64 * 1024, Duration::ZERO).await;
    assert_eq!(more.len(), n);
    // Nothing more for the removed subscription.
    limited.write_all(b"PING\r\n").await.expect("w");
    let mut buf = [0u8; 64];
    let k = timeout(T, limited.read(&mut buf))
        .await
        .expect("pong")
        .expect("r");
    assert_eq!(&buf[..k], b"PONG\r\n");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_messages_come_before_the_pong() {
    let s = start(Options::default()).await;
    let mut c = client(&s, "CONNECT {\"verbose\":false}\r\nSUB me 1\r\nPING\r\n").await;
    let mut other = client(&s, "CONNECT {\"verbose\":false}\r\nSUB me 2\r\nPING\r\n").await;
    let mut script = Vec::new();
    for i in 0..300 {
        script.extend_from_slice(format!("PUB me 8\r\n{i:08}\r\n").as_bytes());
    }
    script.extend_from_slice(b"PING\r\n");
    c.write_all(&script).await.expect("w");
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while !got.ends_with(b"PONG\r\n") {
        let n = timeout(T, c.read(&mut buf)).await.expect("t").expect("r");
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    let mut frames = Vec::new();
    let mut pongs = 0;
    parse(&mut got, &mut frames, &mut pongs);
    assert_eq!(
        (frames.len(), pongs),
        (300, 1),
        "all 300 messages before the PONG"
    );
    assert_eq!(
        collect(&mut other, 300, 4096, Duration::ZERO).await.len(),
        300
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_cut_and_the_others_get_everything() {
    let s = start(Options {
        max_pending: 256 * 1024,
        max_payload: 64 * 1024,
        ..Options::default()
    })
    .await;
    // Never reads, with a tiny receive buffer.
    let stuck = {
        let sock = tokio::net::TcpSocket::new_v4().expect("socket");
        sock.set_recv_buffer_size(4096).expect("rcvbuf");
        let mut c = sock.connect(s.client_addr).await.expect("connect");
        c.write_all(b"CONNECT {\"verbose\":false}\r\nSUB slow 1\r\nPING\r\n")
            .await
            .expect("w");
        c
    };
    let mut good = client(&s, "CONNECT {\"verbose\":false}\r\nSUB slow 1\r\nPING\r\n").await;
    let mut publisher = client(&s, "CONNECT {\"verbose\":false}\r\nPING\r\n").await;
    let n = 4_000;
    let body = vec![b'z'; 1000];
    let pub_task = tokio::spawn(async move {
        for _ in 0..n {
            let mut f = b"PUB slow 1000\r\n".to_vec();
            f.extend_from_slice(&body);
            f.extend_from_slice(b"\r\n");
            publisher.write_all(&f).await.expect("publish");
        }
        publisher
    });
    let frames = collect(&mut good, n, 64 * 1024, Duration::ZERO).await;
    assert_eq!(frames.len(), n, "the reading subscriber lost nothing");
    let _publisher = pub_task.await.expect("join");
    assert!(
        s.stats.slow_consumers.load(Ordering::Relaxed) >= 1,
        "the stuck subscriber was cut as a slow consumer"
    );
    drop(stuck);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pong_means_earlier_messages_reached_their_subscribers() {
    // publish, PING/PONG on the publisher, then PING/PONG on the subscriber: the message must
    // come before the subscriber's PONG (clients' "flush, then check" pattern).
    let s = start(Options::default()).await;
    let mut sub = client(&s, "CONNECT {\"verbose\":false}\r\nSUB order 1\r\nPING\r\n").await;
    let mut publisher = client(&s, "CONNECT {\"verbose\":false}\r\nPING\r\n").await;
    let mut buf = vec![0u8; 64 * 1024];
    for round in 0..200 {
        publisher
            .write_all(format!("PUB order 8\r\n{round:08}\r\nPING\r\n").as_bytes())
            .await
            .expect("w");
        let mut got = Vec::new();
        while !got.ends_with(b"PONG\r\n") {
            let n = timeout(T, publisher.read(&mut buf))
                .await
                .expect("t")
                .expect("r");
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        sub.write_all(b"PING\r\n").await.expect("w");
        let mut got = Vec::new();
        while !got.ends_with(b"PONG\r\n") {
            let n = timeout(T, sub.read(&mut buf)).await.expect("t").expect("r");
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        let want = format!("MSG order 1 8\r\n{round:08}\r\nPONG\r\n");
        assert_eq!(String::from_utf8_lossy(&got), want, "round {round}");
    }
    s.shutdown().await;
}
