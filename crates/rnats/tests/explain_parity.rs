//! `rnats explain` agrees with the server. A seeded random corpus of credentials (valid,
//! expired, early, issued in the future, revoked, wrong signer, scoped with limits, bearer
//! allowed or not, unknown account, expired account, no connections allowed, src in/out, a
//! seed that does not match) is judged twice at the same instant: offline by `explain`, and by
//! a real connection to a running server on a manual clock. The verdict, the wire text and the
//! reason code (read from the server's rejection counters) must be equal, for two policies.

use rnats_auth::ManualClock;
use rnats_auth::jwt::mint::{claims, encode};
use rnats_server::{Options, Server};
use rnats_testkit::jwt::nonce_of;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

/// A whole second, a day after the real now (tokens carry whole seconds; a fixed instant
/// that is not "now" shows nothing depends on the machine's clock).
fn t0() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
        + 86_400
}

struct World {
    t: i64,
    op: nkeys::KeyPair,
    /// name → (identity, signing key)
    accounts: Vec<(&'static str, nkeys::KeyPair, nkeys::KeyPair)>,
    /// Users whose keys account A revoked at t-5.
    revoked: Vec<nkeys::KeyPair>,
    config: String,
}

fn account_jwt(
    op: &nkeys::KeyPair,
    kp: &nkeys::KeyPair,
    name: &str,
    t: i64,
    nats: Value,
    exp: Option<i64>,
) -> String {
    let mut c = claims("account", &kp.public_key(), name, t - 3600, nats);
    if let Some(e) = exp {
        c["exp"] = json!(e);
    }
    encode(c, op).expect("account")
}

fn world(t: i64, skew: &str) -> World {
    let op = nkeys::KeyPair::new_operator();
    let op_jwt = encode(
        claims("operator", &op.public_key(), "OP", t - 7200, json!({})),
        &op,
    )
    .expect("op");
    let revoked: Vec<nkeys::KeyPair> = (0..3).map(|_| nkeys::KeyPair::new_user()).collect();
    let limits = json!({"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                        "wildcards": true, "conn": -1, "leaf": -1});
    let mut accounts = Vec::new();
    let mut preload = String::new();
    for name in ["SYS", "A", "B", "C", "D", "E"] {
        let kp = nkeys::KeyPair::new_account();
        let sk = nkeys::KeyPair::new_account();
        let mut l = limits.clone();
        let mut nats = json!({"signing_keys": [sk.public_key()]});
        let mut exp = None;
        match name {
            "A" => {
                let revs: serde_json::Map<String, Value> = revoked
                    .iter()
                    .map(|u| (u.public_key(), json!(t - 5)))
                    .collect();
                nats["revocations"] = Value::Object(revs);
            }
            "B" => l["disallow_bearer"] = json!(true),
            "C" => {
                nats["signing_keys"] = json!([{ "kind": "user_scope", "key": sk.public_key(),
                    "role": "r", "template": {"pub": {"allow": ["c.>"]}, "subs": -1,
                    "payload": -1, "data": -1} }]);
            }
            "D" => l["conn"] = json!(0),
            "E" => exp = Some(t - 2),
            _ => {}
        }
        nats["limits"] = l;
        let jwt = account_jwt(&op, &kp, name, t, nats, exp);
        preload.push_str(&format!("  {}: {}\n", kp.public_key(), jwt));
        accounts.push((name, kp, sk));
    }
    let config = format!(
        "host: 127.0.0.1\nport: -1\noperator: {op_jwt}\nsystem_account: {}\nresolver: MEMORY\n\
         resolver_preload: {{\n{preload}}}\n{skew}\n",
        accounts[0].1.public_key()
    );
    World {
        t,
        op,
        accounts,
        revoked,
        config,
    }
}

/// One random credential: (description, jwt, seed).
fn credential(w: &World, rng: &mut fastrand::Rng) -> (String, String, String) {
    let t = w.t;
    let acc_i = rng.usize(1..=6);
    let unknown = nkeys::KeyPair::new_account();
    let (acc_name, acc_kp, acc_sk) = match w.accounts.get(acc_i) {
        Some((n, kp, sk)) => (*n, kp, sk),
        None => ("unknown", &unknown, &unknown),
    };
    let user = if acc_name == "A" && rng.bool() {
        let r = &w.revoked[rng.usize(0..w.revoked.len())];
        nkeys::KeyPair::from_seed(&r.seed().expect("seed")).expect("kp")
    } else {
        nkeys::KeyPair::new_user()
    };
    let iat = *rng
        .choice(&[t - 10, t - 10, t - 3, t + 3, t + 8])
        .expect("iat");
    let mut nats = json!({});
    let scoped = acc_name == "C" && rng.bool();
    if !scoped || rng.u8(0..4) == 0 {
        nats = json!({"pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1});
    }
    let mut c = claims("user", &user.public_key(), "u", iat, nats);
    let exp = *rng
        .choice(&[0, 0, t - 100, t - 2, t - 1, t, t + 1, t + 3, t + 100])
        .expect("exp");
    if exp != 0 {
        c["exp"] = json!(exp);
    }
    let nbf = *rng
        .choice(&[0, 0, t - 10, t + 1, t + 4, t + 6, t + 100])
        .expect("nbf");
    if nbf != 0 {
        c["nbf"] = json!(nbf);
    }
    let bearer = rng.u8(0..4) == 0;
    if bearer {
        c["nats"]["bearer_token"] = json!(true);
    }
    match rng.u8(0..6) {
        0 => c["nats"]["src"] = json!(["127.0.0.1/32"]),
        1 => c["nats"]["src"] = json!(["10.0.0.0/8"]),
        _ => {}
    }
    let signer_kind = rng.u8(0..6);
    let stranger = nkeys::KeyPair::new_account();
    let signer = if scoped {
        c["nats"]["issuer_account"] = json!(acc_kp.public_key());
        acc_sk
    } else {
        match signer_kind {
            0 => {
                c["nats"]["issuer_account"] = json!(acc_kp.public_key());
                acc_sk
            }
            1 => {
                c["nats"]["issuer_account"] = json!(acc_kp.public_key());
                &stranger
            }
            _ => acc_kp,
        }
    };
    let jwt = encode(c, signer).expect("user");
    let seed = if rng.u8(0..10) == 0 {
        nkeys::KeyPair::new_user().seed().expect("seed")
    } else {
        user.seed().expect("seed")
    };
    let desc = format!(
        "account {acc_name} scoped {scoped} signer {signer_kind} iat {} exp {} nbf {} bearer {bearer}",
        iat - t,
        if exp == 0 { 0 } else { exp - t },
        if nbf == 0 { 0 } else { nbf - t }
    );
    let _ = &w.op;
    (desc, jwt, seed)
}

/// Connect for real: `Ok(())` when PONG comes back, `Err(first line)` otherwise.
async fn connect(s: &Server, jwt: &str, seed: &str) -> Result<(), String> {
    let mut c = tokio::net::TcpStream::connect(s.client_addr)
        .await
        .expect("connect");
    let mut buf = vec![0u8; 16384];
    let n = c.read(&mut buf).await.expect("info");
    let nonce = nonce_of(&buf[..n]);
    let kp = nkeys::KeyPair::from_seed(seed).expect("seed");
    let sig = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(kp.sign(nonce.as_bytes()).expect("sign"))
    };
    let line = format!(
        "CONNECT {{\"verbose\":false,\"jwt\":\"{jwt}\",\"sig\":\"{sig}\",\"protocol\":1}}\r\nPING\r\n"
    );
    c.write_all(line.as_bytes()).await.expect("write");
    let mut got = Vec::new();
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if text.contains("PONG\r\n") {
            return Ok(());
        }
        if let Some(l) = text.lines().find(|l| l.starts_with("-ERR")) {
            return Err(l.to_string());
        }
        match timeout(Duration::from_secs(5), c.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Err(format!("closed: {text}")),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return Err(format!("timeout: {text}")),
        }
    }
}

async fn parity(skew: &str, seed: u64, cases: usize) {
    let t = t0();
    let w = world(t, skew);
    let dir = std::env::temp_dir().join(format!("rnats-explain-{}-{seed}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("server.conf");
    std::fs::write(&conf, &w.config).expect("conf");
    let map = rnats_conf::parse_str(&w.config).expect("parses");
    let mut o = Options::default();
    rnats_server::config::apply_map(&map, &mut o).expect("valid");
    let clock = Arc::new(ManualClock::at_unix(t as u64));
    let s = Server::start_with_clock(o, clock).await.expect("starts");
    let at = UNIX_EPOCH + Duration::from_secs(t as u64);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for i in 0..cases {
        let (desc, jwt, user_seed) = credential(&w, &mut rng);
        let creds = dir.join(format!("u{i}.creds"));
        std::fs::write(&creds, rnats_auth::jwt::creds::format(&jwt, &user_seed)).expect("creds");
        let req = rnats::explain::Request {
            config: conf.clone(),
            creds: Some(creds),
            jwt: None,
            nkey_seed: None,
            at: Some(at),
            src: "127.0.0.1".parse().expect("ip"),
        };
        let report = rnats::explain::explain(&req).expect("explains");
        let code = report.reason.clone().unwrap_or_else(|| "accepted".into());
        let before = s.stats.auth.rejections(&code);
        let got = connect(&s, &jwt, &user_seed).await;
        match (&got, report.accepted) {
            (Ok(()), true) => {}
            (Err(line), false) => {
                assert_eq!(
                    Some(line.as_str()),
                    report.wire.as_deref(),
                    "case {i} ({desc}): wire\n{}",
                    report.render()
                );
                assert_eq!(
                    s.stats.auth.rejections(&code),
                    before + 1,
                    "case {i} ({desc}): the server's reason is not {code}\n{}",
                    report.render()
                );
            }
            _ => panic!(
                "case {i} ({desc}): server {got:?}, explain:\n{}",
                report.render()
            ),
        }
        *seen.entry(code).or_default() += 1;
    }
    eprintln!("{skew:?}: {seen:?}");
    // The corpus covers the reasons it is meant to.
    for want in [
        "accepted",
        "expired",
        "revoked",
        "issuer_not_signing_key",
        "account_unknown",
        "account_expired",
        "source_not_allowed",
        "nkey_signature_invalid",
    ] {
        assert!(seen.contains_key(want), "no {want} case in {seen:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_agrees_with_the_server_with_default_skew() {
    parity("", 7, 300).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_agrees_with_the_server_with_leeway_and_iat_reject() {
    parity(
        "clock_skew { nbf: 5s, exp: 2s, iat_future: reject }",
        11,
        300,
    )
    .await;
}
