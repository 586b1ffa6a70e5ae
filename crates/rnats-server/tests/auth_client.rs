//! Authentication with the official client (`async-nats`) for each mode, and the auth timeout
//! with raw sockets.

use futures::StreamExt;
use rnats_auth::StaticAuth;
use rnats_auth::permissions::{Permissions, Rule, SubjectPermission};
use rnats_auth::static_auth::{NkeyUser, User};
use rnats_server::{Options, Server};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

const SEED: &str = "SUAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H776Y";
const NKEY: &str = "UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK";
const T: Duration = Duration::from_secs(5);

async fn start(auth: StaticAuth, timeout_secs: Option<f64>) -> Arc<Server> {
    let o = Options {
        host: "127.0.0.1".into(),
        port: -1,
        auth,
        auth_timeout: timeout_secs,
        ..Options::default()
    };
    Server::start(o).await.expect("server starts")
}

fn url(s: &Server) -> String {
    format!("nats://127.0.0.1:{}", s.client_addr.port())
}

async fn try_connect(
    s: &Server,
    o: async_nats::ConnectOptions,
) -> Result<async_nats::Client, String> {
    let o = o.retry_on_initial_connect().max_reconnects(Some(1));
    match timeout(Duration::from_secs(3), o.connect(url(s))).await {
        Ok(Ok(c)) => {
            // A rejected client only learns at its first round trip.
            match timeout(Duration::from_secs(2), c.flush()).await {
                Ok(Ok(())) => Ok(c),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("timed out".into()),
            }
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".into()),
    }
}

fn users() -> StaticAuth {
    let mut a = StaticAuth::default();
    let hashed = bcrypt::hash("hashed-pw", 4).expect("hash");
    a.users.insert(
        "alice".into(),
        User {
            username: "alice".into(),
            password: hashed,
            ..Default::default()
        },
    );
    a.users.insert(
        "bob".into(),
        User {
            username: "bob".into(),
            password: "plain".into(),
            permissions: Some(Permissions {
                publish: Some(SubjectPermission {
                    allow: Some(vec![Rule::parse("allowed.>")]),
                    deny: vec![],
                }),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    a.nkeys.insert(
        NKEY.into(),
        NkeyUser {
            nkey: NKEY.into(),
            ..Default::default()
        },
    );
    a
}

#[tokio::test]
async fn token() {
    let s = start(
        StaticAuth {
            token: Some("s3cr3t".into()),
            ..Default::default()
        },
        None,
    )
    .await;
    assert!(s.auth_required());
    let c = try_connect(&s, async_nats::ConnectOptions::with_token("s3cr3t".into())).await;
    assert!(c.is_ok(), "{c:?}");
    assert!(
        try_connect(&s, async_nats::ConnectOptions::with_token("nope".into()))
            .await
            .is_err()
    );
    assert!(
        try_connect(&s, async_nats::ConnectOptions::new())
            .await
            .is_err()
    );
    s.shutdown().await;
}

#[tokio::test]
async fn users_bcrypt_plain_and_nkey() {
    let s = start(users(), None).await;
    let ok =
        |u: &str, p: &str| async_nats::ConnectOptions::with_user_and_password(u.into(), p.into());
    assert!(try_connect(&s, ok("alice", "hashed-pw")).await.is_ok());
    assert!(try_connect(&s, ok("alice", "wrong")).await.is_err());
    assert!(try_connect(&s, ok("bob", "plain")).await.is_ok());
    assert!(try_connect(&s, ok("carol", "plain")).await.is_err());
    let nk = try_connect(&s, async_nats::ConnectOptions::with_nkey(SEED.into())).await;
    assert!(nk.is_ok(), "{nk:?}");
    let other = nkeys::KeyPair::new_user().seed().expect("seed");
    assert!(
        try_connect(&s, async_nats::ConnectOptions::with_nkey(other))
            .await
            .is_err()
    );
    s.shutdown().await;
}

#[tokio::test]
async fn permissions_are_enforced_and_connection_kept() {
    let s = start(users(), None).await;
    let watcher = try_connect(
        &s,
        async_nats::ConnectOptions::with_user_and_password("alice".into(), "hashed-pw".into()),
    )
    .await
    .expect("alice");
    let mut all = watcher.subscribe(">").await.expect("sub");
    watcher.flush().await.expect("flush");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let bob = async_nats::ConnectOptions::with_user_and_password("bob".into(), "plain".into())
        .event_callback(move |e| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(e.to_string());
            }
        })
        .connect(url(&s))
        .await
        .expect("bob");
    bob.publish("denied", "x".into()).await.expect("pub");
    bob.publish("allowed.1", "y".into()).await.expect("pub");
    bob.flush().await.expect("flush: the connection is kept");
    let m = timeout(T, all.next()).await.expect("t").expect("msg");
    assert_eq!(m.subject.as_str(), "allowed.1");
    let mut events = Vec::new();
    while !events
        .iter()
        .any(|e: &String| e.contains("Permissions Violation"))
    {
        events.push(timeout(T, rx.recv()).await.expect("event").expect("some"));
    }
    let ev = events.last().cloned().unwrap_or_default();
    assert!(
        ev.contains("Permissions Violation for Publish to \"denied\""),
        "{events:?}"
    );
    s.shutdown().await;
}

async fn closed_within(s: &Server, send: &[u8]) -> (String, Duration) {
    let mut c = tokio::net::TcpStream::connect(s.client_addr)
        .await
        .expect("connect");
    let started = Instant::now();
    c.write_all(send).await.expect("w");
    let mut out = Vec::new();
    timeout(T, c.read_to_end(&mut out))
        .await
        .expect("closed")
        .expect("read");
    let out = String::from_utf8_lossy(&out).into_owned();
    let after_info = out
        .split_once(" \r\n")
        .map(|x| x.1.to_string())
        .unwrap_or(out);
    (after_info, started.elapsed())
}

#[tokio::test]
async fn auth_timeout_closes_silent_and_slowloris_clients() {
    let s = start(
        StaticAuth {
            token: Some("t".into()),
            ..Default::default()
        },
        Some(0.3),
    )
    .await;
    let (out, took) = closed_within(&s, b"").await;
    assert_eq!(out, "-ERR 'Authentication Timeout'\r\n");
    assert!(
        took >= Duration::from_millis(280) && took < Duration::from_secs(2),
        "{took:?}"
    );
    // A client that starts a CONNECT and never finishes it costs nothing past the timeout.
    let (out, _) = closed_within(&s, b"CONNECT {\"auth_token\":").await;
    assert_eq!(out, "-ERR 'Authentication Timeout'\r\n");
    // A first op other than CONNECT is an authorization violation at once.
    let (out, _) = closed_within(&s, b"PING\r\n").await;
    assert_eq!(out, "-ERR 'Authorization Violation'\r\n");
    s.shutdown().await;
}

#[tokio::test]
async fn negative_timeout_times_out_everyone_like_the_reference() {
    let s = start(
        StaticAuth {
            token: Some("t".into()),
            ..Default::default()
        },
        Some(-1.0),
    )
    .await;
    let (out, took) = closed_within(&s, b"").await;
    assert_eq!(out, "-ERR 'Authentication Timeout'\r\n");
    assert!(took < Duration::from_secs(1));
    s.shutdown().await;
}

#[tokio::test]
async fn no_auth_user_hides_auth_required_but_keeps_the_timer() {
    let mut a = users();
    a.no_auth_user = Some("bob".into());
    let s = start(a, Some(0.3)).await;
    assert!(!s.auth_required());
    let c = try_connect(&s, async_nats::ConnectOptions::new())
        .await
        .expect("anonymous as bob");
    assert!(c.publish("allowed.x", "1".into()).await.is_ok());
    let (out, _) = closed_within(&s, b"").await;
    assert_eq!(out, "-ERR 'Authentication Timeout'\r\n");
    s.shutdown().await;
}

#[tokio::test]
async fn accounts_are_isolated() {
    let dir = std::env::temp_dir().join(format!("rnats-acc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("acc.conf");
    std::fs::write(
        &conf,
        "host: 127.0.0.1\nport: -1\naccounts {\n  A { users: [{user: a1, password: p}, {user: a2, password: p}] }\n  B { users: [{user: b, password: p}] }\n}\n",
    )
    .expect("w");
    let mut o = Options::default();
    rnats_server::config::load_file(&conf, &mut o).expect("load");
    let s = Server::start(o).await.expect("start");
    let login = |u: &str| async_nats::ConnectOptions::with_user_and_password(u.into(), "p".into());
    let a1 = try_connect(&s, login("a1")).await.expect("a1");
    let a2 = try_connect(&s, login("a2")).await.expect("a2");
    let b = try_connect(&s, login("b")).await.expect("b");
    let mut in_a = a2.subscribe(">").await.expect("sub");
    let mut in_b = b.subscribe(">").await.expect("sub");
    a2.flush().await.expect("flush");
    b.flush().await.expect("flush");
    a1.publish("news", "for A".into()).await.expect("pub");
    a1.flush().await.expect("flush");
    let m = timeout(T, in_a.next()).await.expect("t").expect("msg");
    assert_eq!(&m.payload[..], b"for A");
    assert!(
        timeout(Duration::from_millis(200), in_b.next())
            .await
            .is_err()
    );
    s.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
