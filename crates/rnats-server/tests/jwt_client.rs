//! Operator mode with the official client and raw sockets: creds files work, and a connected
//! user is cut at its JWT's deadline (the same deadline that accepted it) with the reference's
//! error. Expiry tests run the server on a manual clock placed just before the deadline; they
//! wait for the server's event with a timeout, and nothing sleeps to guess.

use futures::StreamExt;
use rnats_auth::ManualClock;
use rnats_server::{Options, Server};
use rnats_testkit::jwt::{Operator, nonce_of, now, operator_config};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

async fn start(conf: &str) -> Arc<Server> {
    let text = format!("host: 127.0.0.1\nport: -1\n{conf}");
    let map = rnats_conf::parse_str(&text).expect("parses");
    let mut o = Options::default();
    rnats_server::config::apply_map(&map, &mut o).expect("valid");
    Server::start(o).await.expect("starts")
}

/// Connect raw as `connect(nonce)`, return the stream after the first PONG.
async fn raw_login(s: &Server, connect: impl Fn(&str) -> String) -> tokio::net::TcpStream {
    let mut c = tokio::net::TcpStream::connect(s.client_addr)
        .await
        .expect("connect");
    let mut buf = vec![0u8; 8192];
    let n = c.read(&mut buf).await.expect("info");
    let nonce = nonce_of(&buf[..n]);
    c.write_all(connect(&nonce).as_bytes()).await.expect("w");
    c.write_all(b"PING\r\n").await.expect("w");
    let mut got = Vec::new();
    while !got.windows(6).any(|w| w == b"PONG\r\n") {
        let n = timeout(Duration::from_secs(5), c.read(&mut buf))
            .await
            .expect("in time")
            .expect("read");
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    c
}

/// Everything until the server closes the connection.
async fn until_closed(c: &mut tokio::net::TcpStream, within: Duration) -> String {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        match timeout(within, c.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("not closed in time: {}", String::from_utf8_lossy(&got)),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn creds_file_users_publish_and_subscribe() {
    let op = Operator::new("OP", json!({}));
    let sys = op.account("SYS", json!({}));
    let acc = op.account("ACC", json!({}));
    let s = start(&operator_config(&op, &sys, &[&acc])).await;
    let user = acc.user("alice", json!({}));
    let c = async_nats::ConnectOptions::with_credentials(&user.creds())
        .expect("creds parse")
        .connect(format!("nats://{}", s.client_addr))
        .await
        .expect("connects");
    let mut sub = c.subscribe("greet").await.expect("sub");
    c.publish("greet", "hi".into()).await.expect("pub");
    let m = timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("in time")
        .expect("msg");
    assert_eq!(&m.payload[..], b"hi");
    // A user of an account the server does not know is refused.
    let stranger = op.account("OTHER", json!({})).user("bob", json!({}));
    let r = async_nats::ConnectOptions::with_credentials(&stranger.creds())
        .expect("creds")
        .connect(format!("nats://{}", s.client_addr))
        .await;
    assert!(r.is_err(), "unknown account refused");
    s.shutdown().await;
}

async fn start_at(conf: &str, clock: Arc<ManualClock>) -> Arc<Server> {
    let text = format!("host: 127.0.0.1\nport: -1\n{conf}");
    let map = rnats_conf::parse_str(&text).expect("parses");
    let mut o = Options::default();
    rnats_server::config::apply_map(&map, &mut o).expect("valid");
    Server::start_with_clock(o, clock).await.expect("starts")
}

#[tokio::test]
async fn a_user_is_disconnected_at_its_exp_on_the_server_clock() {
    let op = Operator::new("OP", json!({}));
    let sys = op.account("SYS", json!({}));
    let acc = op.account("ACC", json!({}));
    // The server's clock says it is 50 ms before the user's exp (a day from now).
    let exp = now() + 86_400;
    let clock = Arc::new(ManualClock::at_unix(exp as u64));
    clock.set(rnats_auth::jwt::time::unix(exp) - Duration::from_millis(50));
    let s = start_at(&operator_config(&op, &sys, &[&acc]), clock.clone()).await;
    let user = acc.user("brief", json!({"exp": exp}));
    let started = Instant::now();
    let mut c = raw_login(&s, |n| user.connect_line(n)).await;
    let got = until_closed(&mut c, Duration::from_secs(5)).await;
    assert!(
        got.ends_with("-ERR 'User Authentication Expired'\r\n"),
        "{got}"
    );
    // Cut at the deadline that accepted it: ~50 ms later, not a day.
    assert!(started.elapsed() < Duration::from_secs(2));
    // At exp itself the same token is refused (not valid on or after exp).
    clock.set(rnats_auth::jwt::time::unix(exp));
    let mut raw = tokio::net::TcpStream::connect(s.client_addr)
        .await
        .expect("connect");
    let mut buf = vec![0u8; 8192];
    let n = raw.read(&mut buf).await.expect("info");
    let line = user.connect_line(&nonce_of(&buf[..n]));
    raw.write_all(line.as_bytes()).await.expect("w");
    let got = until_closed(&mut raw, Duration::from_secs(5)).await;
    assert_eq!(got, "-ERR 'Authorization Violation'\r\n");
    s.shutdown().await;
}

#[tokio::test]
async fn an_account_update_that_expires_the_account_disconnects_its_users() {
    let op = Operator::new("OP", json!({}));
    let sys = op.account("SYS", json!({}));
    let acc = op.account("ACC", json!({}));
    let exp = now() + 86_400;
    let clock = Arc::new(ManualClock::at_unix(exp as u64));
    clock.set(rnats_auth::jwt::time::unix(exp) - Duration::from_millis(50));
    let s = start_at(&operator_config(&op, &sys, &[&acc]), clock).await;
    let user = acc.user("u", json!({}));
    let admin = sys.user("admin", json!({}));
    let mut c = raw_login(&s, |n| user.connect_line(n)).await;
    let mut a = raw_login(&s, |n| admin.connect_line(n)).await;
    let update = acc.reissue(&op.kp, "ACC", json!({"exp": exp}));
    let started = Instant::now();
    a.write_all(
        format!(
            "PUB $SYS.REQ.ACCOUNT.{}.CLAIMS.UPDATE {}\r\n{update}\r\n",
            acc.key(),
            update.len()
        )
        .as_bytes(),
    )
    .await
    .expect("w");
    let got = until_closed(&mut c, Duration::from_secs(6)).await;
    assert!(
        got.ends_with("-ERR 'Account Authentication Expired'\r\n"),
        "{got}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    s.shutdown().await;
}
