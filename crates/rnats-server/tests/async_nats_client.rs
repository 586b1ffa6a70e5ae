//! In-process tests with the official Rust client (`async-nats`): the behaviours a client relies
//! on, against a server started inside the test on a random port.

use futures::StreamExt;
use rnats_server::{Options, Server};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

async fn start(mut o: Options) -> Arc<Server> {
    o.host = "127.0.0.1".into();
    o.port = -1;
    Server::start(o).await.expect("server starts")
}

fn url(s: &Server) -> String {
    format!("nats://127.0.0.1:{}", s.client_addr.port())
}

async fn client(s: &Server) -> async_nats::Client {
    async_nats::connect(url(s)).await.expect("connect")
}

const T: Duration = Duration::from_secs(5);

#[tokio::test]
async fn pub_sub_and_wildcards() {
    let s = start(Options::default()).await;
    let c = client(&s).await;
    let mut exact = c.subscribe("foo.bar").await.expect("sub");
    let mut star = c.subscribe("foo.*").await.expect("sub");
    let mut full = c.subscribe("foo.>").await.expect("sub");
    c.flush().await.expect("flush");
    c.publish("foo.bar", "one".into()).await.expect("pub");
    c.publish("foo.bar.baz", "two".into()).await.expect("pub");
    c.flush().await.expect("flush");
    let m = timeout(T, exact.next()).await.expect("t").expect("msg");
    assert_eq!(&m.payload[..], b"one");
    let m = timeout(T, star.next()).await.expect("t").expect("msg");
    assert_eq!(m.subject.as_str(), "foo.bar");
    let a = timeout(T, full.next()).await.expect("t").expect("msg");
    let b = timeout(T, full.next()).await.expect("t").expect("msg");
    assert_eq!(
        (a.subject.as_str(), b.subject.as_str()),
        ("foo.bar", "foo.bar.baz")
    );
    // foo.* must not have received foo.bar.baz.
    assert!(
        timeout(Duration::from_millis(100), star.next())
            .await
            .is_err()
    );
    s.shutdown().await;
}

#[tokio::test]
async fn queue_group_delivers_each_message_once() {
    let s = start(Options::default()).await;
    let c = client(&s).await;
    let mut subs = Vec::new();
    for _ in 0..3 {
        subs.push(c.queue_subscribe("work", "q".into()).await.expect("qsub"));
    }
    let mut plain = c.subscribe("work").await.expect("sub");
    c.flush().await.expect("flush");
    let pubc = client(&s).await;
    for i in 0..300 {
        pubc.publish("work", format!("{i}").into())
            .await
            .expect("pub");
    }
    pubc.flush().await.expect("flush");
    let mut counts = Vec::new();
    for sub in subs.iter_mut() {
        let mut n = 0;
        while let Ok(Some(_)) = timeout(Duration::from_millis(300), sub.next()).await {
            n += 1;
        }
        counts.push(n);
    }
    assert_eq!(counts.iter().sum::<usize>(), 300, "{counts:?}");
    assert!(counts.iter().all(|&n| n > 30), "unbalanced: {counts:?}");
    let mut n = 0;
    while let Ok(Some(_)) = timeout(Duration::from_millis(300), plain.next()).await {
        n += 1;
    }
    assert_eq!(n, 300);
    s.shutdown().await;
}

#[tokio::test]
async fn request_reply_and_no_responders() {
    let s = start(Options::default()).await;
    let c = client(&s).await;
    let mut svc = c.subscribe("svc").await.expect("sub");
    let responder = c.clone();
    tokio::spawn(async move {
        while let Some(m) = svc.next().await {
            if let Some(r) = m.reply {
                let mut body = b"re:".to_vec();
                body.extend_from_slice(&m.payload);
                responder.publish(r, body.into()).await.expect("reply");
            }
        }
    });
    c.flush().await.expect("flush");
    let r = timeout(T, c.request("svc", "ping".into()))
        .await
        .expect("t")
        .expect("reply");
    assert_eq!(&r.payload[..], b"re:ping");
    let err = timeout(T, c.request("nobody.home", "x".into()))
        .await
        .expect("t")
        .expect_err("no responders");
    assert_eq!(err.kind(), async_nats::RequestErrorKind::NoResponders);
    s.shutdown().await;
}

#[tokio::test]
async fn headers_round_trip() {
    let s = start(Options::default()).await;
    let c = client(&s).await;
    let mut sub = c.subscribe("h").await.expect("sub");
    c.flush().await.expect("flush");
    let mut h = async_nats::HeaderMap::new();
    h.insert("X-Test", "yes");
    h.append("X-Multi", "1");
    h.append("X-Multi", "2");
    c.publish_with_headers("h", h, "body".into())
        .await
        .expect("pub");
    let m = timeout(T, sub.next()).await.expect("t").expect("msg");
    let hm = m.headers.expect("headers");
    assert_eq!(hm.get("X-Test").map(|v| v.as_str()), Some("yes"));
    assert_eq!(hm.get_all("X-Multi").count(), 2);
    assert_eq!(&m.payload[..], b"body");
    s.shutdown().await;
}

#[tokio::test]
async fn echo_false_suppresses_own_messages() {
    let s = start(Options::default()).await;
    let quiet = async_nats::ConnectOptions::new()
        .no_echo()
        .connect(url(&s))
        .await
        .expect("connect");
    let other = client(&s).await;
    let mut own = quiet.subscribe("e").await.expect("sub");
    let mut theirs = other.subscribe("e").await.expect("sub");
    quiet.flush().await.expect("flush");
    other.flush().await.expect("flush");
    quiet.publish("e", "x".into()).await.expect("pub");
    quiet.flush().await.expect("flush");
    assert!(timeout(T, theirs.next()).await.expect("t").is_some());
    assert!(
        timeout(Duration::from_millis(200), own.next())
            .await
            .is_err()
    );
    s.shutdown().await;
}

#[tokio::test]
async fn unsubscribe_after_max() {
    let s = start(Options::default()).await;
    let c = client(&s).await;
    let mut sub = c.subscribe("m").await.expect("sub");
    sub.unsubscribe_after(2).await.expect("unsub");
    c.flush().await.expect("flush");
    for _ in 0..5 {
        c.publish("m", "x".into()).await.expect("pub");
    }
    c.flush().await.expect("flush");
    let mut n = 0;
    while let Ok(Some(_)) = timeout(Duration::from_millis(300), sub.next()).await {
        n += 1;
    }
    assert_eq!(n, 2);
    // The server dropped the subscription after the 2nd delivery.
    assert_eq!(s.num_subscriptions(), 0);
    s.shutdown().await;
}

#[tokio::test]
async fn max_payload_is_advertised_and_enforced() {
    let s = start(Options {
        max_payload: 1024,
        ..Options::default()
    })
    .await;
    let c = client(&s).await;
    assert_eq!(c.server_info().max_payload, 1024);
    let err = c
        .publish("big", vec![0u8; 2048].into())
        .await
        .expect_err("too big");
    assert_eq!(err.kind(), async_nats::PublishErrorKind::MaxPayloadExceeded);
    // A raw client that ignores the advertised limit gets the reference's error and is closed.
    let mut raw = tokio::net::TcpStream::connect(s.client_addr)
        .await
        .expect("raw");
    raw.write_all(b"CONNECT {\"verbose\":false}\r\nPUB big 2048\r\n")
        .await
        .expect("w");
    let mut got = Vec::new();
    let _ = timeout(T, raw.read_to_end(&mut got)).await.expect("closed");
    let got = String::from_utf8_lossy(&got);
    assert!(
        got.ends_with("-ERR 'Maximum Payload Violation'\r\n"),
        "{got}"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn slow_consumer_is_cut_and_others_keep_going() {
    let s = start(Options {
        max_pending: 4 * 1024 * 1024,
        ..Options::default()
    })
    .await;
    // A subscriber that never reads.
    let mut stuck = tokio::net::TcpStream::connect(s.client_addr)
        .await
        .expect("raw");
    stuck
        .write_all(b"CONNECT {\"verbose\":false}\r\nSUB flood 1\r\nPING\r\n")
        .await
        .expect("w");
    let mut buf = [0u8; 4096];
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("PONG") {
        let n = timeout(T, stuck.read(&mut buf))
            .await
            .expect("t")
            .expect("r");
        seen.extend_from_slice(&buf[..n]);
    }
    let good = client(&s).await;
    let mut good_sub = good.subscribe("flood").await.expect("sub");
    good.flush().await.expect("flush");
    let (tx, mut rx) = tokio::sync::watch::channel(0usize);
    tokio::spawn(async move {
        let mut n = 0;
        while let Some(_m) = good_sub.next().await {
            n += 1;
            let _ = tx.send(n);
        }
    });
    // The publisher paces itself on the healthy subscriber, in batches well under max_pending,
    // so only the stuck one can fall behind.
    let p = client(&s).await;
    let payload = bytes::Bytes::from(vec![b'x'; 16 * 1024]);
    let (batch, batches) = (100usize, 40usize);
    for b in 1..=batches {
        for _ in 0..batch {
            p.publish("flood", payload.clone()).await.expect("pub");
        }
        p.flush().await.expect("flush");
        timeout(T, rx.wait_for(|&n| n >= b * batch))
            .await
            .expect("healthy subscriber keeps up")
            .expect("watch");
    }
    assert!(s.stats.slow_consumers.load(Ordering::Relaxed) >= 1);
    // The stuck connection was closed by the server: draining it reaches EOF.
    let mut sink = Vec::new();
    timeout(T, stuck.read_to_end(&mut sink))
        .await
        .expect("EOF within the timeout")
        .expect("read");
    assert!(sink.len() < 64 * 1024 * 1024);
    s.shutdown().await;
}
