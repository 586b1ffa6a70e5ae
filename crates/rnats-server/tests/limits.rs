//! Limits and liveness, in-process with raw sockets: stale connections, max_connections,
//! max_subscriptions, max_control_line, and split reads.

use rnats_server::{Options, Server};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

async fn start(mut o: Options) -> Arc<Server> {
    o.host = "127.0.0.1".into();
    o.port = -1;
    Server::start(o).await.expect("server starts")
}

const T: Duration = Duration::from_secs(5);

/// Read until `needle` is in the accumulated output or the peer closes; returns (output, closed).
async fn read_until(s: &mut TcpStream, needle: &str) -> (String, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if String::from_utf8_lossy(&got).contains(needle) {
            return (String::from_utf8_lossy(&got).into_owned(), false);
        }
        match timeout(T, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "timed out waiting for {needle:?}; got {:?}",
                String::from_utf8_lossy(&got)
            ),
        }
    }
}

async fn connect(s: &Server) -> TcpStream {
    let mut c = TcpStream::connect(s.client_addr).await.expect("connect");
    let (info, _) = read_until(&mut c, "\r\n").await;
    assert!(info.starts_with("INFO {"));
    c
}

#[tokio::test]
async fn stale_connection_after_ping_max() {
    let s = start(Options {
        ping_interval: Duration::from_millis(200),
        ping_max: 2,
        ..Options::default()
    })
    .await;
    let mut c = connect(&s).await;
    c.write_all(b"CONNECT {\"verbose\":false}\r\n")
        .await
        .expect("w");
    let (out, closed) = read_until(&mut c, "Stale").await;
    assert!(!closed);
    let (rest, closed) = read_until(&mut c, "\u{0}never").await;
    assert!(closed);
    assert_eq!(
        format!("{out}{rest}"),
        "PING\r\nPING\r\n-ERR 'Stale Connection'\r\n"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn answering_pings_keeps_the_connection() {
    let s = start(Options {
        ping_interval: Duration::from_millis(100),
        ping_max: 1,
        ..Options::default()
    })
    .await;
    let mut c = connect(&s).await;
    c.write_all(b"CONNECT {\"verbose\":false}\r\n")
        .await
        .expect("w");
    for _ in 0..5 {
        let (out, closed) = read_until(&mut c, "PING\r\n").await;
        assert!(!closed && out.ends_with("PING\r\n"), "{out}");
        c.write_all(b"PONG\r\n").await.expect("w");
    }
    s.shutdown().await;
}

#[tokio::test]
async fn max_connections() {
    let s = start(Options {
        max_connections: 1,
        ..Options::default()
    })
    .await;
    let _first = connect(&s).await;
    let mut second = TcpStream::connect(s.client_addr).await.expect("connect");
    let (out, closed) = read_until(&mut second, "\u{0}never").await;
    assert!(closed);
    // INFO is still sent first, then the error, then the close.
    assert!(out.starts_with("INFO {"), "{out}");
    assert!(
        out.ends_with("} \r\n-ERR 'maximum connections exceeded'\r\n"),
        "{out}"
    );
    s.shutdown().await;
    // A config `max_connections: 0` maps to -1: every client is refused.
    let s = start(Options {
        max_connections: -1,
        ..Options::default()
    })
    .await;
    let mut c = TcpStream::connect(s.client_addr).await.expect("connect");
    let (out, closed) = read_until(&mut c, "\u{0}never").await;
    assert!(
        closed && out.contains("maximum connections exceeded"),
        "{out}"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn max_subscriptions_keeps_connection() {
    let s = start(Options {
        max_subscriptions: 2,
        ..Options::default()
    })
    .await;
    let mut c = connect(&s).await;
    c.write_all(b"CONNECT {\"verbose\":false}\r\nSUB a 1\r\nSUB b 2\r\nSUB c 3\r\nPING\r\n")
        .await
        .expect("w");
    let (out, closed) = read_until(&mut c, "PONG\r\n").await;
    assert!(!closed);
    assert_eq!(out, "-ERR 'maximum subscriptions exceeded'\r\nPONG\r\n");
    assert_eq!(s.num_subscriptions(), 2);
    s.shutdown().await;
}

#[tokio::test]
async fn configured_max_control_line() {
    let s = start(Options {
        max_control_line: 16,
        ..Options::default()
    })
    .await;
    let mut c = connect(&s).await;
    c.write_all(b"CONNECT {}\r\n").await.expect("w");
    let (out, _) = read_until(&mut c, "+OK\r\n").await;
    assert_eq!(out, "+OK\r\n");
    // The argument "aaaaaaaaaaaaaaa 1" is 17 bytes: one over.
    c.write_all(b"SUB aaaaaaaaaaaaaaa 1\r\n").await.expect("w");
    let (out, closed) = read_until(&mut c, "\u{0}never").await;
    assert!(closed);
    assert!(
        out.ends_with("-ERR 'maximum control line exceeded'\r\n"),
        "{out}"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn byte_at_a_time_equals_one_shot() {
    let s = start(Options::default()).await;
    let script: &[u8] = b"CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB foo 1\r\nPUB foo 5\r\nhello\r\nHPUB foo r 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n";
    let mut one = connect(&s).await;
    one.write_all(script).await.expect("w");
    let (a, _) = read_until(&mut one, "PONG\r\n").await;
    let mut slow = connect(&s).await;
    slow.set_nodelay(true).expect("nodelay");
    for b in script {
        slow.write_all(&[*b]).await.expect("w");
        slow.flush().await.expect("f");
        tokio::task::yield_now().await;
    }
    let (b, _) = read_until(&mut slow, "PONG\r\n").await;
    assert_eq!(a, b);
    assert!(
        a.starts_with("MSG foo 1 5\r\nhello\r\nHMSG foo 1 r 12 14\r\n"),
        "{a}"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn lame_duck_sends_ldm_info_and_stops_accepting() {
    let s = start(Options::default()).await;
    let mut c = connect(&s).await;
    c.write_all(b"CONNECT {\"verbose\":false,\"protocol\":1}\r\nPING\r\n")
        .await
        .expect("w");
    let (_, _) = read_until(&mut c, "connect_info").await;
    let _ = read_until(&mut c, "\r\n").await;
    let ldm = s.clone();
    tokio::spawn(async move { ldm.lame_duck_mode().await });
    let (out, closed) = read_until(&mut c, "\"ldm\":true").await;
    assert!(!closed && out.contains("INFO {"), "{out}");
    // New connections are refused once the listener is closed.
    let mut refused = false;
    for _ in 0..100 {
        if TcpStream::connect(s.client_addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused);
    s.shutdown().await;
}

#[tokio::test]
async fn subscription_limit_is_checked_before_duplicate_sid() {
    let s = start(Options {
        max_subscriptions: 1,
        ..Options::default()
    })
    .await;
    let mut c = connect(&s).await;
    c.write_all(b"CONNECT {\"verbose\":false}\r\nSUB a 1\r\nSUB a 1\r\nPING\r\n")
        .await
        .expect("w");
    let (out, _) = read_until(&mut c, "PONG\r\n").await;
    assert_eq!(out, "-ERR 'maximum subscriptions exceeded'\r\nPONG\r\n");
    s.shutdown().await;
}

#[tokio::test]
async fn busy_client_that_never_answers_pings_is_not_stale() {
    let s = start(Options {
        ping_interval: Duration::from_millis(200),
        ping_max: 1,
        ..Options::default()
    })
    .await;
    let mut c = connect(&s).await;
    c.write_all(b"CONNECT {\"verbose\":false}\r\n")
        .await
        .expect("w");
    // Publish every 40 ms for 1.2 s, never sending PONG: activity suppresses PINGs once the
    // first one was sent, so the connection is never declared stale.
    for _ in 0..30 {
        c.write_all(b"PUB x 1\r\ny\r\n").await.expect("still open");
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    c.write_all(b"PING\r\n").await.expect("w");
    let (out, closed) = read_until(&mut c, "PONG\r\n").await;
    assert!(!closed, "{out}");
    assert!(!out.contains("Stale"), "{out}");
    s.shutdown().await;
}

#[tokio::test]
async fn zero_limits_mean_defaults() {
    let s = start(Options {
        ping_interval: Duration::ZERO,
        ping_max: 0,
        max_payload: 0,
        max_control_line: 0,
        max_pending: 0,
        write_deadline: Duration::ZERO,
        ..Options::default()
    })
    .await;
    let o = s.opts();
    assert_eq!(o.max_payload, 1024 * 1024);
    assert_eq!(o.ping_interval, Duration::from_secs(120));
    let mut c = connect(&s).await;
    c.write_all(b"CONNECT {\"verbose\":false}\r\nSUB x 1\r\nPUB x 1\r\ny\r\nPING\r\n")
        .await
        .expect("w");
    let (out, _) = read_until(&mut c, "PONG\r\n").await;
    assert_eq!(out, "MSG x 1 1\r\ny\r\nPONG\r\n");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_producer_is_stalled_instead_of_cutting_a_slower_subscriber() {
    let s = start(Options {
        max_pending: 2 * 1024 * 1024,
        max_payload: 64 * 1024,
        ..Options::default()
    })
    .await;
    let mut sub = connect(&s).await;
    sub.write_all(b"CONNECT {\"verbose\":false}\r\nSUB flood 1\r\nPING\r\n")
        .await
        .expect("w");
    let _ = read_until(&mut sub, "PONG\r\n").await;
    let n = 24_000usize;
    let frame = {
        let mut f = b"PUB flood 1000\r\n".to_vec();
        f.extend(std::iter::repeat_n(b'x', 1000));
        f.extend_from_slice(b"\r\n");
        f
    };
    let mut publisher = connect(&s).await;
    publisher
        .write_all(b"CONNECT {\"verbose\":false}\r\n")
        .await
        .expect("w");
    let batch: Vec<u8> = frame.repeat(n);
    let pub_task = tokio::spawn(async move {
        publisher.write_all(&batch).await.expect("publish");
        publisher
    });
    // A subscriber reading at a few MB/s, much slower than the publisher can write.
    let expect = n * b"MSG flood 1 1000\r\n\r\n".len() + n * 1000;
    let mut got = 0usize;
    let mut buf = vec![0u8; 256 * 1024];
    while got < expect {
        match timeout(Duration::from_secs(10), sub.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(k)) => got += k,
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let _publisher = pub_task.await.expect("join");
    assert_eq!(got, expect, "the subscriber received everything");
    assert_eq!(
        s.stats
            .slow_consumers
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    s.shutdown().await;
}
