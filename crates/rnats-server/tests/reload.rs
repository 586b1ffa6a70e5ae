//! Configuration reload: what changes, what is refused, and that a bad file keeps the old
//! configuration.

use rnats_server::config::reload::{ReloadError, try_reload};
use rnats_server::{Options, Server, config};
use tokio::io::AsyncReadExt;

async fn info_max_payload(s: &Server) -> String {
    let mut c = tokio::net::TcpStream::connect(s.client_addr)
        .await
        .expect("connect");
    let mut buf = vec![0u8; 4096];
    let n = c.read(&mut buf).await.expect("info");
    let info = String::from_utf8_lossy(&buf[..n]).into_owned();
    let start = info.find("\"max_payload\":").expect("field") + 14;
    info[start..]
        .split([',', '}'])
        .next()
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn reload_applies_refuses_and_keeps_old() {
    let dir = std::env::temp_dir().join(format!("rnats-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("r.conf");
    std::fs::write(&conf, "host: 127.0.0.1\nport: -1\nmax_payload: 2KB\n").expect("w");
    let mut o = Options::default();
    config::load_file(&conf, &mut o).expect("load");
    let s = Server::start(o).await.expect("start");
    assert_eq!(info_max_payload(&s).await, "2048");

    // A reloadable change applies to new connections.
    std::fs::write(
        &conf,
        "host: 127.0.0.1\nport: -1\nmax_payload: 4KB\nping_max: 5\n",
    )
    .expect("w");
    let changes = try_reload(&s).expect("reload");
    assert_eq!(changes, vec!["max_payload = 4096", "ping_max = 5"]);
    assert_eq!(info_max_payload(&s).await, "4096");

    // A broken file is refused; the old configuration stays.
    std::fs::write(&conf, "host: 127.0.0.1\nmax_payload: \"lots\"\n").expect("w");
    let err = try_reload(&s).expect_err("invalid");
    assert!(matches!(err, ReloadError::Config(_)), "{err}");
    assert_eq!(s.opts().max_payload, 4096);

    // Changing something that cannot change at runtime is refused as a whole.
    std::fs::write(
        &conf,
        "host: 127.0.0.1\nserver_name: other\nmax_payload: 8KB\n",
    )
    .expect("w");
    let err = try_reload(&s).expect_err("not reloadable");
    assert!(
        err.to_string()
            .starts_with("config reload not supported for ServerName"),
        "{err}"
    );
    assert_eq!(s.opts().max_payload, 4096);
    s.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

async fn read_until(c: &mut tokio::net::TcpStream, needle: &str) -> (String, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if String::from_utf8_lossy(&got).contains(needle) {
            return (String::from_utf8_lossy(&got).into_owned(), false);
        }
        match tokio::time::timeout(std::time::Duration::from_secs(5), c.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("timed out; got {:?}", String::from_utf8_lossy(&got)),
        }
    }
}

async fn login(s: &Server, user: &str, pass: &str) -> (tokio::net::TcpStream, String) {
    use tokio::io::AsyncWriteExt;
    let mut c = tokio::net::TcpStream::connect(s.client_addr)
        .await
        .expect("connect");
    let _ = read_until(&mut c, "\r\n").await;
    c.write_all(
        format!("CONNECT {{\"verbose\":false,\"user\":\"{user}\",\"pass\":\"{pass}\"}}\r\nSUB foo 1\r\nSUB bar 2\r\nPING\r\n")
            .as_bytes(),
    )
    .await
    .expect("w");
    let (out, _) = read_until(&mut c, "\r\n").await;
    (c, out)
}

#[tokio::test]
async fn reload_reauthorizes_live_clients() {
    let dir = std::env::temp_dir().join(format!("rnats-reload-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("a.conf");
    let write = |alice: &str, bob_sub: &str| {
        std::fs::write(
            &conf,
            format!(
                "host: 127.0.0.1\nport: -1\nauthorization {{ users: [\n  {{user: alice, password: {alice}}}\n  {{user: bob, password: pw, permissions: {{subscribe: {bob_sub}}}}}\n] }}\n"
            ),
        )
        .expect("w");
    };
    write("old", "[\"foo\", \"bar\"]");
    let mut o = Options::default();
    config::load_file(&conf, &mut o).expect("load");
    let s = Server::start(o).await.expect("start");
    let (mut alice, out) = login(&s, "alice", "old").await;
    assert_eq!(out, "PONG\r\n");
    let (mut bob, out) = login(&s, "bob", "pw").await;
    assert_eq!(out, "PONG\r\n");

    // alice's password changes; bob loses the right to subscribe to foo.
    write("new", "[\"bar\"]");
    let changes = try_reload(&s).expect("reload");
    assert!(
        changes.contains(&"authorization".to_string()),
        "{changes:?}"
    );
    let (out, closed) = read_until(&mut alice, "\u{0}never").await;
    assert!(closed);
    assert_eq!(out, "-ERR 'Authorization Violation'\r\n");
    let (out, closed) = read_until(&mut bob, "(sid \"1\")'\r\n").await;
    assert!(!closed);
    assert_eq!(
        out,
        "-ERR 'Permissions Violation for Subscription to \"foo\" (sid \"1\")'\r\n"
    );
    // bob keeps his other subscription; new logins follow the new file.
    assert_eq!(s.num_subscriptions(), 1);
    let (_, out) = login(&s, "alice", "old").await;
    assert_eq!(out, "-ERR 'Authorization Violation'\r\n");
    let (_, out) = login(&s, "alice", "new").await;
    assert_eq!(out, "PONG\r\n");
    s.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// CONNECT as `user` and report the first answer line (`PONG` or the `-ERR`).
async fn jwt_login(s: &Server, user: &rnats_testkit::jwt::User) -> String {
    use tokio::io::AsyncWriteExt;
    let mut c = tokio::net::TcpStream::connect(s.client_addr)
        .await
        .expect("connect");
    let mut buf = vec![0u8; 8192];
    let n = c.read(&mut buf).await.expect("info");
    let nonce = rnats_testkit::jwt::nonce_of(&buf[..n]);
    c.write_all(format!("{}PING\r\n", user.connect_line(&nonce)).as_bytes())
        .await
        .expect("w");
    let (got, _) = read_until(&mut c, "\r\n").await;
    got
}

#[tokio::test]
async fn reload_changes_the_clock_skew_policy() {
    use rnats_testkit::jwt::{Operator, now, operator_config};
    let op = Operator::new("OP", serde_json::json!({}));
    let sys = op.account("SYS", serde_json::json!({}));
    let acc = op.account("ACC", serde_json::json!({}));
    let base = format!(
        "host: 127.0.0.1\nport: -1\n{}",
        operator_config(&op, &sys, &[&acc])
    );
    let dir = std::env::temp_dir().join(format!("rnats-reload-skew-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("r.conf");
    std::fs::write(&conf, format!("{base}\nclock_skew: 0s\n")).expect("w");
    let mut o = Options::default();
    config::load_file(&conf, &mut o).expect("load");
    let t = now();
    let clock = std::sync::Arc::new(rnats_auth::ManualClock::at_unix(t as u64));
    let s = Server::start_with_clock(o, clock).await.expect("start");
    let early = acc.user("early", serde_json::json!({"nbf": t + 3}));
    assert_eq!(
        jwt_login(&s, &early).await,
        "-ERR 'Authorization Violation'\r\n"
    );
    std::fs::write(&conf, format!("{base}\nclock_skew {{ nbf: 5s }}\n")).expect("w");
    let changes = try_reload(&s).expect("reload");
    assert!(
        changes.iter().any(|c| c.starts_with("clock_skew")),
        "{changes:?}"
    );
    assert!(jwt_login(&s, &early).await.starts_with("PONG"));
    // Above the cap: refused, the old policy stays.
    std::fs::write(&conf, format!("{base}\nclock_skew: 40s\n")).expect("w");
    let err = try_reload(&s).expect_err("cap");
    assert!(err.to_string().contains("above the limit of 30s"), "{err}");
    assert_eq!(s.opts().clock_skew.nbf_leeway.as_secs(), 5);
    s.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
