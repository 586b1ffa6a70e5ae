//! Accounts with exports and imports, with the official client: a request crossing accounts and
//! its reply returning, streams arriving mapped, and accounts that imported nothing seeing
//! nothing.

use futures::StreamExt;
use rnats_server::{Options, Server};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::timeout;

const T: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(200);

/// Start a server from configuration text (accounts A, B, C with users a, b, c; password p).
async fn start(body: &str) -> Arc<Server> {
    let text = format!("host: 127.0.0.1\nport: -1\n{body}\n");
    let map = rnats_conf::parse_str(&text).expect("parses");
    let mut o = Options::default();
    rnats_server::config::apply_map(&map, &mut o).expect("valid config");
    Server::start(o).await.expect("start")
}

async fn login(s: &Server, user: &str) -> async_nats::Client {
    let o = async_nats::ConnectOptions::with_user_and_password(user.into(), "p".into());
    let c = timeout(
        T,
        o.connect(format!("nats://127.0.0.1:{}", s.client_addr.port())),
    )
    .await
    .expect("connects in time")
    .expect("connects");
    c.flush().await.expect("flush");
    c
}

const SERVICE: &str = r#"
accounts {
  A { users: [{user: a, password: p}], imports: [{service: {account: B, subject: "svc.echo"}, to: "echo"}] }
  B { users: [{user: b, password: p}], exports: [{service: "svc.>"}] }
  C { users: [{user: c, password: p}] }
}"#;

#[tokio::test]
async fn service_import_request_crosses_accounts_and_reply_returns() {
    let s = start(SERVICE).await;
    let (a, b, c) = (
        login(&s, "a").await,
        login(&s, "b").await,
        login(&s, "c").await,
    );
    let mut svc = b.subscribe("svc.echo").await.expect("sub");
    let mut spy_c = c.subscribe(">").await.expect("sub");
    b.flush().await.expect("flush");
    c.flush().await.expect("flush");
    let responder = tokio::spawn(async move {
        let m = svc.next().await.expect("request reaches B");
        let reply = m.reply.clone().expect("request has a reply");
        b.publish(reply.clone(), m.payload.clone())
            .await
            .expect("respond");
        b.flush().await.expect("flush");
        (m.subject.to_string(), reply.to_string())
    });
    let resp = timeout(T, a.request("echo", "ping".into()))
        .await
        .expect("in time")
        .expect("a response");
    assert_eq!(&resp.payload[..], b"ping");
    let (subject, reply) = responder.await.expect("responder");
    // The responder sees the exported subject and a reply in the reserved `_R_.` namespace.
    assert_eq!(subject, "svc.echo");
    let parts: Vec<&str> = reply.split('.').collect();
    assert_eq!(parts.len(), 3, "{reply}");
    assert_eq!(parts[0], "_R_");
    assert!(parts[1..].iter().all(|p| p.len() == 6), "{reply}");
    // An account that imported nothing saw nothing.
    assert!(timeout(QUIET, spy_c.next()).await.is_err());
    s.shutdown().await;
}

#[tokio::test]
async fn singleton_responses_forward_once_streamed_ones_until_threshold() {
    let s = start(
        r#"
accounts {
  A { users: [{user: a, password: p}], imports: [
      {service: {account: B, subject: "one"}},
      {service: {account: B, subject: "many"}} ] }
  B { users: [{user: b, password: p}], exports: [
      {service: "one"},
      {service: "many", response_type: stream, threshold: "10s"} ] }
}"#,
    )
    .await;
    let (a, b) = (login(&s, "a").await, login(&s, "b").await);
    let mut one = b.subscribe("one").await.expect("sub");
    let mut many = b.subscribe("many").await.expect("sub");
    b.flush().await.expect("flush");
    for (subject, expect) in [("one", 1usize), ("many", 3)] {
        let inbox = a.new_inbox();
        let mut replies = a.subscribe(inbox.clone()).await.expect("sub");
        a.publish_with_reply(subject, inbox, "q".into())
            .await
            .expect("pub");
        a.flush().await.expect("flush");
        let sub = if subject == "one" {
            &mut one
        } else {
            &mut many
        };
        let req = timeout(T, sub.next()).await.expect("t").expect("request");
        let r = req.reply.expect("reply");
        for i in 0..3 {
            b.publish(r.clone(), format!("{i}").into())
                .await
                .expect("pub");
        }
        b.flush().await.expect("flush");
        let mut got = 0;
        while let Ok(Some(_)) = timeout(QUIET * 2, replies.next()).await {
            got += 1;
        }
        assert_eq!(got, expect, "{subject}");
    }
    s.shutdown().await;
}

#[tokio::test]
async fn stream_import_with_prefix_reaches_only_the_importer() {
    let s = start(
        r#"
accounts {
  A { users: [{user: a, password: p}], exports: [{stream: "events.>", accounts: [B]}] }
  B { users: [{user: b, password: p}], imports: [{stream: {account: A, subject: "events.>"}, prefix: from_a}] }
  C { users: [{user: c, password: p}] }
}"#,
    )
    .await;
    let (a, b, c) = (
        login(&s, "a").await,
        login(&s, "b").await,
        login(&s, "c").await,
    );
    let mut mapped = b.subscribe("from_a.>").await.expect("sub");
    let mut unmapped = b.subscribe("events.>").await.expect("sub");
    let mut q1 = b
        .queue_subscribe("from_a.events.x", "q".into())
        .await
        .expect("sub");
    let mut q2 = b
        .queue_subscribe("from_a.events.x", "q".into())
        .await
        .expect("sub");
    let mut own = a.subscribe("events.>").await.expect("sub");
    let mut spy_c = c.subscribe(">").await.expect("sub");
    for cl in [&a, &b, &c] {
        cl.flush().await.expect("flush");
    }
    a.publish("events.x", "e1".into()).await.expect("pub");
    a.flush().await.expect("flush");
    let m = timeout(T, mapped.next()).await.expect("t").expect("msg");
    assert_eq!(m.subject.as_str(), "from_a.events.x");
    assert_eq!(&m.payload[..], b"e1");
    let m = timeout(T, own.next()).await.expect("t").expect("msg");
    assert_eq!(m.subject.as_str(), "events.x");
    // Exactly one member of the queue group gets it.
    let (x, y) = tokio::join!(timeout(QUIET, q1.next()), timeout(QUIET, q2.next()));
    assert_eq!(x.is_ok() as u8 + y.is_ok() as u8, 1);
    assert!(timeout(QUIET, unmapped.next()).await.is_err());
    assert!(timeout(QUIET, spy_c.next()).await.is_err());
    s.shutdown().await;
}

#[tokio::test]
async fn imports_without_a_matching_export_are_refused_at_load() {
    let cases = [
        (
            r#"accounts {
  A { users: [{user: a, password: p}], exports: [{stream: "events.>", accounts: [C]}] }
  B { users: [{user: b, password: p}], imports: [{stream: {account: A, subject: "events.>"}}] }
  C { }
}"#,
            "Error adding stream import \"events.>\": stream import not authorized",
        ),
        (
            r#"accounts {
  A { users: [{user: a, password: p}] }
  B { imports: [{service: {account: A, subject: "svc"}}] }
}"#,
            "Error adding service import \"svc\": service import not authorized",
        ),
        (
            r#"accounts {
  B { imports: [{service: {account: X, subject: "svc"}}] }
}"#,
            "\"X\" account not defined for service import",
        ),
        (
            r#"accounts {
  A { exports: [{service: "svc", response_type: bogus}] }
}"#,
            "Unknown response type: \"bogus\"",
        ),
    ];
    for (body, want) in cases {
        let map = rnats_conf::parse_str(body).expect("parses");
        let mut o = Options::default();
        let err = rnats_server::config::apply_map(&map, &mut o)
            .expect_err("refused")
            .to_string();
        assert!(err.contains(want), "{err}\nwanted: {want}");
    }
}

#[tokio::test]
async fn system_account_sees_connect_disconnect_and_auth_error_events() {
    let s = start(
        r#"
system_account: SYS
accounts {
  A { users: [{user: a, password: p}] }
  SYS { users: [{user: sys, password: p}] }
}"#,
    )
    .await;
    let sys = login(&s, "sys").await;
    let mut events = sys.subscribe("$SYS.>").await.expect("sub");
    sys.flush().await.expect("flush");
    let a = login(&s, "a").await;
    // A client in another account cannot publish into the system account.
    a.publish("$SYS.ACCOUNT.A.CONNECT", "forged".into())
        .await
        .expect("pub");
    a.flush().await.expect("flush");
    let m = timeout(T, events.next()).await.expect("t").expect("event");
    assert_eq!(m.subject.as_str(), "$SYS.ACCOUNT.A.CONNECT");
    let v: serde_json::Value = serde_json::from_slice(&m.payload).expect("json");
    assert_eq!(v["type"], "io.nats.server.advisory.v1.client_connect");
    assert_eq!(v["server"]["id"], s.id.as_str());
    assert_eq!(v["client"]["acc"], "A");
    assert_eq!(v["client"]["user"], "a");
    assert_eq!(v["client"]["kind"], "Client");
    assert_eq!(v["client"]["client_type"], "nats");
    assert!(v["client"]["start"].is_string() && v["client"].get("stop").is_none());
    let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["client", "id", "server", "timestamp", "type"]);
    drop(a);
    let m = timeout(T, events.next()).await.expect("t").expect("event");
    assert_eq!(m.subject.as_str(), "$SYS.ACCOUNT.A.DISCONNECT");
    let v: serde_json::Value = serde_json::from_slice(&m.payload).expect("json");
    assert_eq!(v["type"], "io.nats.server.advisory.v1.client_disconnect");
    assert_eq!(v["reason"], "Client Closed");
    assert_eq!(v["sent"]["msgs"], 1);
    assert!(v["client"]["stop"].is_string());
    // A failed login: the server-level auth error, then the disconnect in `$G`.
    let bad = async_nats::ConnectOptions::with_user_and_password("a".into(), "wrong".into())
        .max_reconnects(Some(1))
        .connect(format!("nats://127.0.0.1:{}", s.client_addr.port()));
    let _ = timeout(T, bad).await;
    let m = timeout(T, events.next()).await.expect("t").expect("event");
    assert_eq!(
        m.subject,
        format!("$SYS.SERVER.{}.CLIENT.AUTH.ERR", s.id).into()
    );
    let v: serde_json::Value = serde_json::from_slice(&m.payload).expect("json");
    assert_eq!(v["reason"], "Authentication Failure");
    assert_eq!(v["client"]["user"], "a");
    let m = timeout(T, events.next()).await.expect("t").expect("event");
    assert_eq!(m.subject.as_str(), "$SYS.ACCOUNT.$G.DISCONNECT");
    s.shutdown().await;
}

#[tokio::test]
async fn an_undefined_system_account_refuses_to_start() {
    let map =
        rnats_conf::parse_str("port: -1\nsystem_account: NOPE\naccounts { A {} }").expect("p");
    let mut o = Options::default();
    rnats_server::config::apply_map(&map, &mut o).expect("loads like the reference's -t");
    let err = Server::start(o).await.expect_err("refused");
    assert_eq!(
        err.to_string(),
        "error resolving system account: account missing"
    );
}
