//! Operator mode, differentially: one operator with its accounts and users is minted once, both
//! rnats-server and the reference nats-server 2.15 load the same configuration, and every case
//! (valid, expired, not yet valid, wrong issuer, unknown account, revoked, bearer with and without
//! a signature, connection types, source networks, time windows, limits, permissions) must
//! produce the same bytes after masking INFO lines.

use rnats_testkit::jwt::{Account, Operator, User, now, operator_config};
use rnats_testkit::{Raw, mask};
use serde_json::json;
use std::time::{Duration, Instant};

mod common;
use common::jwtdiff::*;

/// The signing key of `acc` (the scoped account reuses the base account's signing key pair).
fn scoped_acc_signing(_scoped: &Account, base: &Account) -> nkeys::KeyPair {
    nkeys::KeyPair::from_seed(&base.signing.seed().expect("seed")).expect("kp")
}

fn claims_update_scenario(
    port: u16,
    sys_user: &User,
    victim: &User,
    acc_key: &str,
    update: &str,
) -> String {
    let mut victim_conn = login(port, victim);
    let mut sys = login(port, sys_user);
    sys.send(b"SUB _INBOX.r 1\r\n");
    sys.sync();
    sys.send(
        format!(
            "PUB $SYS.REQ.ACCOUNT.{acc_key}.CLAIMS.UPDATE _INBOX.r {}\r\n{update}\r\n",
            update.len()
        )
        .as_bytes(),
    );
    let got = sys
        .read_until(b"}}\r\n", Duration::from_secs(5))
        .unwrap_or_else(|e| e);
    let resp = mask(&got);
    let (v, closed) = victim_conn.read_for(Duration::from_millis(500));
    let mut out = format!("sys: {}\nvictim: {}", mask_server(&resp), mask(&v));
    if closed {
        out.push_str("<closed>");
    }
    // A skipped update (the account was never loaded) and a bad one.
    sys.send(b"PUB $SYS.REQ.ACCOUNT.ABC.CLAIMS.UPDATE _INBOX.r 3\r\nxyz\r\n");
    let got = sys
        .read_until(b"}}\r\n", Duration::from_secs(5))
        .unwrap_or_else(|e| e);
    out.push_str(&format!("\nbad: {}", mask_server(&mask(&got))));
    out
}

struct ImportCast {
    exp: User,
    imp: User,
    imp_stream: User,
    no_token: User,
}

fn jwt_imports_scenario(port: u16, c: &ImportCast) -> String {
    let mut log = String::new();
    let mut exp = login_headers(port, &c.exp, false);
    exp.send(b"SUB svc.echo 1\r\nSUB priv.x 2\r\n");
    exp.sync();
    let mut imp = login_headers(port, &c.imp, true);
    let mut imp_stream = login_headers(port, &c.imp_stream, true);
    let mut no_token = login_headers(port, &c.no_token, true);
    imp_stream.send(b"SUB from_exp.> 1\r\nSUB ev.> 2\r\nSUB events.> 3\r\n");
    imp_stream.sync();
    no_token.send(b"SUB _INBOX.n 1\r\nPUB priv.x _INBOX.n 1\r\nn\r\n");
    log += &format!("no_token: {}\n", text(no_token.sync()));
    imp.send(b"SUB _INBOX.x 1\r\nPUB echo _INBOX.x 4\r\nping\r\nPUB priv.x _INBOX.x 1\r\np\r\n");
    imp.sync();
    let req = text(exp.sync());
    log += &format!("exp got: {}\n", mask_r(&req));
    for line in req.split("\r\n").filter(|l| l.starts_with("MSG ")) {
        if let Some(reply) = line.split(' ').nth(3) {
            exp.send(format!("PUB {reply} 4\r\npong\r\n").as_bytes());
        }
    }
    exp.sync();
    log += &format!("imp got: {}\n", text(imp.sync()));
    exp.send(b"PUB events.x 2\r\nev\r\n");
    exp.sync();
    log += &format!("stream got: {}\n", text(imp_stream.sync()));
    log
}

fn live_update_scenario(
    port: u16,
    sys_user: &User,
    on_defaults: &User,
    via_sk: &User,
    acc_key: &str,
    update: &str,
) -> String {
    let mut d = login(port, on_defaults);
    d.send(b"SUB secret 1\r\nSUB open 2\r\n");
    d.sync();
    let mut k = login(port, via_sk);
    let mut sys = login(port, sys_user);
    sys.send(
        format!(
            "PUB $SYS.REQ.ACCOUNT.{acc_key}.CLAIMS.UPDATE {}\r\n{update}\r\n",
            update.len()
        )
        .as_bytes(),
    );
    sys.sync();
    let (dk, k_closed) = k.read_for(Duration::from_millis(500));
    d.send(b"SUB secret 3\r\n");
    let (dd, _) = d.read_for(Duration::from_millis(500));
    format!(
        "defaults: {}\nsigning key removed: {} closed={k_closed}",
        mask(&dd),
        mask(&dk)
    )
}

#[test]
fn jwt_connect_matrix_matches_the_reference() {
    let t = now();
    let op = Operator::new("OP", json!({}));
    let sys = op.account("SYS", json!({}));
    let acc = op.account("ACC", json!({}));
    let stingy = op.account(
        "STINGY",
        json!({"nats": {"limits": {"conn": 0, "subs": -1, "payload": -1}}}),
    );
    let no_bearer = op.account(
        "NOBEARER",
        json!({"nats": {"limits": {"subs": -1, "payload": -1, "conn": -1, "disallow_bearer": true}}}),
    );
    let expired_acc = op.account("OLD", json!({"exp": t - 10}));
    let unknown = op.account("UNKNOWN", json!({}));
    // An account that revoked one user key (minted below) and another with "*".
    let victim_kp_user = acc.user("victim", json!({"iat": t - 100}));
    let revoking = op.account("REVOKING", json!({"nats": {"revocations": {"*": t - 50}}}));
    let old_user = revoking.user("old", json!({"iat": t - 100}));
    let new_user = revoking.user("new", json!({"iat": t - 10}));
    let scope = json!([{ "kind": "user_scope", "key": acc.signing.public_key(), "role": "r",
        "template": {"pub": {"allow": ["scoped.>"]}, "sub": {}, "subs": -1, "payload": -1} }]);
    let scoped_acc = op.account("SCOPED", json!({"nats": {"signing_keys": scope}}));
    let scoped_user = User::signed_by(
        &scoped_acc_signing(&scoped_acc, &acc),
        Some(&scoped_acc.key()),
        "sc",
        json!({"nats": {"pub": {}, "sub": {}, "subs": null, "data": null, "payload": null}}),
    );
    // Tokyo is UTC+9 all year.
    let tokyo_start = hhmmss(t + 9 * 3600 + 3600);
    let tokyo_end = hhmmss(t + 9 * 3600 + 7200);
    let tokyo_now_start = hhmmss(t + 9 * 3600 - 600);
    let tokyo_now_end = hhmmss(t + 9 * 3600 + 600);
    let window_start = hhmmss(t + 3600);
    let window_end = hhmmss(t + 7200);
    // Windows that cross midnight (start after end): now in the after-midnight part, in the
    // before-midnight part, and between end and start.
    let overnight = |start: i64, end: i64| json!({"nats": {"times": [{"start": hhmmss(t + start), "end": hhmmss(t + end)}], "times_location": "UTC"}});

    let cases: Vec<Case> = vec![
        Case { name: "valid", connect: connect_as(&acc.user("ok", json!({})), None), then: "SUB a 1\r\nPUB a 1\r\nx\r\n" },
        Case { name: "via signing key", connect: connect_as(&acc.user_via_signing_key("sk", json!({})), None), then: "" },
        Case { name: "expired", connect: connect_as(&acc.user("exp", json!({"exp": t - 5})), None), then: "" },
        Case { name: "not yet valid", connect: connect_as(&acc.user("nbf", json!({"nbf": t + 600})), None), then: "" },
        Case { name: "wrong issuer", connect: connect_as(&User::signed_by(&nkeys::KeyPair::new_account(), Some(&acc.key()), "w", json!({})), None), then: "" },
        Case { name: "unknown account", connect: connect_as(&unknown.user("u", json!({})), None), then: "" },
        Case { name: "garbage jwt", connect: Box::new(|_| "CONNECT {\"jwt\":\"not.a.jwt\",\"sig\":\"x\",\"verbose\":false}\r\n".to_string()), then: "" },
        Case { name: "no jwt", connect: Box::new(|_| "CONNECT {\"verbose\":false}\r\n".to_string()), then: "" },
        Case { name: "missing signature", connect: { let u = acc.user("nosig", json!({})); let j = u.jwt.clone(); Box::new(move |_| format!("CONNECT {{\"jwt\":\"{j}\",\"verbose\":false}}\r\n")) }, then: "" },
        Case { name: "bad signature", connect: connect_as(&acc.user("badsig", json!({})), Some("AAAA")), then: "" },
        Case { name: "bearer without signature", connect: { let u = acc.user("b", json!({"nats": {"bearer_token": true}})); let j = u.jwt.clone(); Box::new(move |_| format!("CONNECT {{\"jwt\":\"{j}\",\"verbose\":false}}\r\n")) }, then: "" },
        Case { name: "bearer with a wrong signature", connect: connect_as(&acc.user("b2", json!({"nats": {"bearer_token": true}})), Some("AAAA")), then: "" },
        Case { name: "bearer disallowed", connect: connect_as(&no_bearer.user("b3", json!({"nats": {"bearer_token": true}})), None), then: "" },
        Case { name: "websocket only", connect: connect_as(&acc.user("ws", json!({"nats": {"allowed_connection_types": ["WEBSOCKET"]}})), None), then: "" },
        Case { name: "standard allowed", connect: connect_as(&acc.user("std", json!({"nats": {"allowed_connection_types": ["STANDARD", "BOGUS"]}})), None), then: "" },
        Case { name: "src outside", connect: connect_as(&acc.user("src", json!({"nats": {"src": "10.0.0.0/8"}})), None), then: "" },
        Case { name: "src inside", connect: connect_as(&acc.user("src2", json!({"nats": {"src": ["10.0.0.0/8", "127.0.0.1/32"]}})), None), then: "" },
        Case { name: "outside times", connect: connect_as(&acc.user("times", json!({"nats": {"times": [{"start": window_start, "end": window_end}], "times_location": "UTC"}})), None), then: "" },
        Case { name: "overnight window, after midnight", connect: connect_as(&acc.user("on1", overnight(3600, 1800)), None), then: "" },
        Case { name: "overnight window, before midnight", connect: connect_as(&acc.user("on2", overnight(-1800, -3600)), None), then: "" },
        Case { name: "overnight window, outside", connect: connect_as(&acc.user("on3", overnight(3600, -3600)), None), then: "" },
        Case { name: "outside times in Tokyo", connect: connect_as(&acc.user("tk1", json!({"nats": {"times": [{"start": tokyo_start, "end": tokyo_end}], "times_location": "Asia/Tokyo"}})), None), then: "" },
        Case { name: "inside times in Tokyo", connect: connect_as(&acc.user("tk2", json!({"nats": {"times": [{"start": tokyo_now_start, "end": tokyo_now_end}], "times_location": "Asia/Tokyo"}})), None), then: "" },
        Case { name: "unknown time zone", connect: connect_as(&acc.user("tk3", json!({"nats": {"times": [{"start": "00:00:00", "end": "23:59:59"}], "times_location": "Mars/Base"}})), None), then: "" },
        Case { name: "revoked by *", connect: connect_as(&old_user, None), then: "" },
        Case { name: "issued after revocation", connect: connect_as(&new_user, None), then: "" },
        Case { name: "account expired", connect: connect_as(&expired_acc.user("e", json!({})), None), then: "" },
        Case { name: "account conn limit 0", connect: connect_as(&stingy.user("s", json!({})), None), then: "" },
        Case { name: "user subs missing", connect: connect_as(&acc.user("nosubs", json!({"nats": {"subs": null}})), None), then: "" },
        Case { name: "user payload missing", connect: connect_as(&acc.user("nopay", json!({"nats": {"payload": null}})), None), then: "PUB a 1\r\nx\r\n" },
        Case { name: "user subs 1", connect: connect_as(&acc.user("onesub", json!({"nats": {"subs": 1}})), None), then: "SUB a 1\r\nSUB b 2\r\n" },
        Case { name: "jwt permissions", connect: connect_as(&acc.user("perm", json!({"nats": {"pub": {"allow": ["a.>"]}, "sub": {"deny": ["secret"]}}})), None), then: "PUB a.b 1\r\nx\r\nPUB b 1\r\nx\r\nSUB secret 1\r\n" },
        Case { name: "scoped user", connect: connect_as(&scoped_user, None), then: "PUB scoped.x 1\r\nx\r\nPUB other 1\r\nx\r\n" },
        Case { name: "victim not revoked", connect: connect_as(&victim_kp_user, None), then: "" },
    ];
    let conf_text = operator_config(
        &op,
        &sys,
        &[
            &acc,
            &stingy,
            &no_bearer,
            &expired_acc,
            &revoking,
            &scoped_acc,
        ],
    );
    let (ours, theirs) = start_both("jwtdiff", &conf_text);
    let mut failures = Vec::new();
    for case in &cases {
        let started = Instant::now();
        let (mut a, mut b) = (run(ours.port, case), run(theirs.port, case));
        if case.name == "user subs missing" {
            // The reference sends this error from a goroutine racing the PONG: compare the
            // lines, not their order.
            let sorted = |s: &str| {
                let mut v: Vec<&str> = s.split_inclusive("\r\n").collect();
                v.sort_unstable();
                v.concat()
            };
            (a, b) = (sorted(&a), sorted(&b));
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{} is slow",
            case.name
        );
        if a != b {
            failures.push(format!(
                "{}:\n  rnats: {a:?}\n  nats-server: {b:?}",
                case.name
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn account_claims_update_revokes_like_the_reference() {
    let op = Operator::new("OP", json!({}));
    let sys = op.account("SYS", json!({}));
    let acc = op.account("ACC", json!({}));
    let sys_user = sys.user("admin", json!({}));
    let victim = acc.user("victim", json!({"iat": now() - 100}));
    let update = acc.reissue(
        &op.kp,
        "ACC",
        json!({"nats": {"revocations": {victim.kp.public_key(): now() - 50}}}),
    );
    let (ours, theirs) = start_both("jwtupd", &operator_config(&op, &sys, &[&acc]));
    let a = claims_update_scenario(ours.port, &sys_user, &victim, &acc.key(), &update);
    let b = claims_update_scenario(theirs.port, &sys_user, &victim, &acc.key(), &update);
    assert!(
        a.contains("jwt updated") && a.contains("User Authentication Revoked"),
        "{a}"
    );
    assert_eq!(a, b);
}

#[test]
fn jwt_exports_and_imports_match_the_reference() {
    use rnats_auth::jwt::mint::{claims, encode};
    let op = Operator::new("OP", json!({}));
    let sys = op.account("SYS", json!({}));
    let exporter = op.account(
        "EXP",
        json!({"nats": {"exports": [
            {"name": "s", "subject": "events.>", "type": "stream"},
            {"name": "e", "subject": "svc.echo", "type": "service"},
            {"name": "p", "subject": "priv.>", "type": "service", "token_req": true},
        ]}}),
    );
    // The importers' keys are needed in the activation token before their JWTs exist.
    let imp_kp = nkeys::KeyPair::new_account();
    let token = encode(
        claims(
            "activation",
            &imp_kp.public_key(),
            "act",
            now(),
            json!({"subject": "priv.>", "kind": "service"}),
        ),
        &exporter.kp,
    )
    .expect("activation");
    let imp_jwt = encode(
        {
            let mut c = claims(
                "account",
                &imp_kp.public_key(),
                "IMP",
                now(),
                json!({
                    "limits": {"subs": -1, "payload": -1, "conn": -1, "data": -1, "imports": -1, "exports": -1},
                    "imports": [
                        {"name": "e", "subject": "svc.echo", "account": exporter.key(), "type": "service", "local_subject": "echo"},
                        {"name": "p", "subject": "priv.>", "account": exporter.key(), "type": "service", "token": token},
                    ],
                }),
            );
            c["nats"]["signing_keys"] = json!([]);
            c
        },
        &op.kp,
    )
    .expect("imp");
    let imp_acc = rnats_testkit::jwt::Account {
        kp: imp_kp,
        signing: nkeys::KeyPair::new_account(),
        jwt: imp_jwt,
    };
    let streams = op.account(
        "STREAMS",
        json!({"nats": {"imports": [
            {"name": "s1", "subject": "events.>", "account": exporter.key(), "type": "stream", "to": "from_exp"},
            {"name": "s2", "subject": "events.>", "account": exporter.key(), "type": "stream", "local_subject": "ev.>"},
        ]}}),
    );
    let thief = op.account(
        "THIEF",
        json!({"nats": {"imports": [
            {"name": "p", "subject": "priv.>", "account": exporter.key(), "type": "service"},
        ]}}),
    );
    let cast = ImportCast {
        exp: exporter.user("e", json!({})),
        imp: imp_acc.user("i", json!({})),
        imp_stream: streams.user("s", json!({})),
        no_token: thief.user("t", json!({})),
    };
    let (ours, theirs) = start_both(
        "jwtimp",
        &operator_config(&op, &sys, &[&exporter, &imp_acc, &streams, &thief]),
    );
    let a = jwt_imports_scenario(ours.port, &cast);
    let b = jwt_imports_scenario(theirs.port, &cast);
    assert!(a.contains("pong") && a.contains("from_exp.events.x"), "{a}");
    assert_eq!(a, b);
}

#[test]
fn live_account_updates_match_the_reference() {
    let op = Operator::new("OP", json!({}));
    let sys = op.account("SYS", json!({}));
    let acc = op.account("ACC", json!({}));
    let sys_user = sys.user("admin", json!({}));
    let on_defaults = acc.user("d", json!({}));
    let via_sk = acc.user_via_signing_key("k", json!({}));
    let update = acc.reissue(
        &op.kp,
        "ACC",
        json!({"nats": {"signing_keys": [], "default_permissions": {"pub": {}, "sub": {"deny": ["secret"]}}}}),
    );
    let (ours, theirs) = start_both("jwtlive", &operator_config(&op, &sys, &[&acc]));
    let args = (&sys_user, &on_defaults, &via_sk, acc.key(), &update);
    let a = live_update_scenario(ours.port, args.0, args.1, args.2, &args.3, args.4);
    let b = live_update_scenario(theirs.port, args.0, args.1, args.2, &args.3, args.4);
    assert!(
        a.contains("secret") && a.contains("closed=true"),
        "{a}\n---\n{b}"
    );
    assert_eq!(a, b);
}

#[test]
fn lowering_the_connection_limit_matches_the_reference() {
    let op = Operator::new("OP", json!({}));
    let sys = op.account("SYS", json!({}));
    let acc = op.account("ACC", json!({}));
    let sys_user = sys.user("admin", json!({}));
    let users: Vec<User> = (0..3)
        .map(|i| acc.user(&format!("u{i}"), json!({})))
        .collect();
    let update = acc.reissue(
        &op.kp,
        "ACC",
        json!({"nats": {"limits": {"conn": 1, "subs": -1, "payload": -1}}}),
    );
    let (ours, theirs) = start_both("jwtconn", &operator_config(&op, &sys, &[&acc]));
    let scenario = |port: u16| {
        let mut conns: Vec<Raw> = users.iter().map(|u| login(port, u)).collect();
        let mut s = login(port, &sys_user);
        s.send(
            format!(
                "PUB $SYS.REQ.ACCOUNT.{}.CLAIMS.UPDATE {}\r\n{update}\r\n",
                acc.key(),
                update.len()
            )
            .as_bytes(),
        );
        s.sync();
        conns
            .iter_mut()
            .map(|c| {
                let (b, closed) = c.read_for(Duration::from_millis(400));
                format!("{} closed={closed}", mask(&b))
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (a, b) = (scenario(ours.port), scenario(theirs.port));
    assert!(
        a.contains("maximum account active connections exceeded"),
        "{a}"
    );
    assert_eq!(a, b);
}

/// `strict_signing_key_usage`: an account issued by the strict operator's signing key may sign
/// users only with its own signing keys, not with its identity key (nats-server
/// `strictSigningKeyUsage`: "User JWT issuer is not known").
#[test]
fn strict_signing_key_usage_matches_the_reference() {
    use rnats_testkit::jwt::Account;
    let osk = nkeys::KeyPair::new_operator();
    let op = Operator::new(
        "OP",
        json!({"nats": {"signing_keys": [osk.public_key()], "strict_signing_key_usage": true}}),
    );
    let sys = Account::signed_by(&osk, "SYS", json!({}));
    let acc = Account::signed_by(&osk, "ACC", json!({}));
    let by_identity = acc.user("own", json!({}));
    let by_signing_key = acc.user_via_signing_key("sk", json!({}));
    let cases = [
        Case {
            name: "user signed by the account identity key",
            connect: connect_as(&by_identity, None),
            then: "",
        },
        Case {
            name: "user signed by the account signing key",
            connect: connect_as(&by_signing_key, None),
            then: "",
        },
    ];
    let (ours, theirs) = start_both("jwtstrict", &operator_config(&op, &sys, &[&acc]));
    let got: Vec<(String, String)> = cases
        .iter()
        .map(|c| (run(ours.port, c), run(theirs.port, c)))
        .collect();
    assert!(got[0].0.contains("Authorization Violation"), "{got:?}");
    assert!(got[1].0.contains("PONG"), "{got:?}");
    for (c, (a, b)) in cases.iter().zip(&got) {
        assert_eq!(a, b, "{}", c.name);
    }
}

/// `account_token_position`: an export `data.*.>` with position 2 gives each importer only the
/// subjects whose second token is its own account key (`accounts.go checkAuth`); an import of
/// another tenant's slice, or of the whole wildcard, is not authorized.
#[test]
fn account_token_position_matches_the_reference() {
    use rnats_testkit::jwt::Account;
    let op = Operator::new("OP", json!({}));
    let sys = op.account("SYS", json!({}));
    let exporter = op.account(
        "EXP",
        json!({"nats": {"exports": [
            {"name": "d", "subject": "data.*.>", "type": "stream", "account_token_position": 2},
            {"name": "s", "subject": "svc.*.>", "type": "service", "account_token_position": 2,
             "token_req": true},
        ]}}),
    );
    // A position on a literal token makes the whole account JWT invalid (jwt `Export.Validate`).
    let bad = op.account(
        "BAD",
        json!({"nats": {"exports": [
            {"name": "bad", "subject": "bad.x.>", "type": "stream", "account_token_position": 2},
        ]}}),
    );
    let bad_user = bad.user("b", json!({}));
    let e = exporter.key();
    // The importers' subjects name account keys, so each is minted, then re-issued with them.
    let with_imports = |name: &str, imports: &dyn Fn(&str) -> serde_json::Value| {
        let a = op.account(name, json!({}));
        let jwt = a.reissue(
            &op.kp,
            name,
            json!({"nats": {"imports": imports(&a.key())}}),
        );
        Account {
            kp: nkeys::KeyPair::from_seed(&a.kp.seed().expect("seed")).expect("kp"),
            signing: nkeys::KeyPair::from_seed(&a.signing.seed().expect("seed")).expect("kp"),
            jwt,
        }
    };
    let victim = with_imports("VICTIM", &|me| {
        json!([
            {"name": "d", "subject": format!("data.{me}.>"), "account": e, "type": "stream"},
            {"name": "s", "subject": format!("svc.{me}.>"), "account": e, "type": "service"},
        ])
    });
    let v = victim.key();
    let thief = with_imports("THIEF", &|_| {
        json!([
            {"name": "d", "subject": format!("data.{v}.>"), "account": e, "type": "stream"},
            {"name": "w", "subject": "data.*.>", "account": e, "type": "stream"},
            {"name": "s", "subject": format!("svc.{v}.>"), "account": e, "type": "service"},
        ])
    });
    let exp_user = exporter.user("e", json!({}));
    let victim_user = victim.user("v", json!({}));
    let thief_user = thief.user("t", json!({}));
    let scenario = |port: u16| {
        let mut x = login(port, &exp_user);
        let mut vc = login(port, &victim_user);
        let mut tc = login(port, &thief_user);
        x.send(b"SUB svc.> 1\r\n");
        x.sync();
        for c in [&mut vc, &mut tc] {
            c.send(b"SUB data.> 1\r\n");
            c.sync();
        }
        x.send(format!("PUB data.{v}.x 1\r\nd\r\n").as_bytes());
        x.sync();
        let mut log = format!("victim got: {}\n", text(vc.sync()));
        log += &format!("thief got: {}\n", text(tc.sync()));
        vc.send(format!("PUB svc.{v}.q 2\r\nvq\r\n").as_bytes());
        vc.sync();
        tc.send(format!("PUB svc.{v}.q 2\r\ntq\r\n").as_bytes());
        tc.sync();
        // Subjects and payloads only: the request-info header carries a measured rtt.
        let got = text(x.sync());
        let got: Vec<&str> = got
            .split("\r\n")
            .filter_map(|l| match l.split(' ').collect::<Vec<_>>()[..] {
                ["HMSG" | "MSG", subject, ..] => Some(subject),
                [payload] if payload.ends_with('q') => Some(payload),
                _ => None,
            })
            .collect();
        log += &format!("exporter got: {got:?}\n");
        let bad_case = Case {
            name: "bad position",
            connect: connect_as(&bad_user, None),
            then: "",
        };
        log += &format!("bad account: {}\n", run(port, &bad_case));
        log
    };
    let (ours, theirs) = start_both(
        "jwtpos",
        &operator_config(&op, &sys, &[&exporter, &victim, &thief, &bad]),
    );
    let (a, b) = (scenario(ours.port), scenario(theirs.port));
    assert!(a.contains("vq") && !a.contains("tq"), "{a}");
    assert_eq!(a, b);
}

/// The subjects and payloads a connection received (request-info headers carry a measured rtt).
fn subjects_and_payloads(got: &str) -> Vec<String> {
    got.split("\r\n")
        .filter_map(|l| match l.split(' ').collect::<Vec<_>>()[..] {
            ["HMSG" | "MSG", subject, ..] => Some(subject.to_string()),
            [payload] if payload.starts_with("p-") => Some(payload.to_string()),
            _ => None,
        })
        .collect()
}

/// Activation tokens: a `"*"` revocation counts even when the importer has its own older
/// entry (`isRevoked`), and a token whose `kind` is not the import's type does not authorize
/// the import (jwt `Import.Validate`).
#[test]
fn activation_revocations_and_kinds_match_the_reference() {
    use rnats_auth::jwt::mint::{claims, encode};
    use rnats_testkit::jwt::Account;
    let op = Operator::new("OP", json!({}));
    let sys = op.account("SYS", json!({}));
    let kps: Vec<nkeys::KeyPair> = (0..3).map(|_| nkeys::KeyPair::new_account()).collect();
    let keys: Vec<String> = kps.iter().map(|k| k.public_key()).collect();
    let t = now();
    let exporter = op.account(
        "EXP",
        json!({"nats": {"exports": [
            {"name": "a", "subject": "a.>", "type": "service", "token_req": true,
             "revocations": {keys[0].clone(): t - 200, "*": t - 50}},
            {"name": "b", "subject": "b.>", "type": "service", "token_req": true},
        ]}}),
    );
    let token = |to: &str, subject: &str, kind: &str| {
        encode(
            claims(
                "activation",
                to,
                "act",
                t - 100,
                json!({"subject": subject, "kind": kind}),
            ),
            &exporter.kp,
        )
        .expect("activation")
    };
    let e = exporter.key();
    // (name, import subject, token kind)
    let specs = [
        ("REVOKED", "a.>", "service"),
        ("WRONGKIND", "b.>", "stream"),
        ("OK", "b.>", "service"),
    ];
    let importers: Vec<Account> = kps
        .into_iter()
        .zip(specs)
        .map(|(kp, (name, subject, kind))| {
            let mut c = claims(
                "account",
                &kp.public_key(),
                name,
                t,
                json!({
                    "limits": {"subs": -1, "payload": -1, "conn": -1, "data": -1, "imports": -1, "exports": -1},
                    "imports": [{"name": "i", "subject": subject, "account": e, "type": "service",
                                 "token": token(&kp.public_key(), subject, kind)}],
                }),
            );
            c["nats"]["signing_keys"] = json!([]);
            let jwt = encode(c, &op.kp).expect("importer");
            Account { kp, signing: nkeys::KeyPair::new_account(), jwt }
        })
        .collect();
    let exp_user = exporter.user("e", json!({}));
    let users: Vec<User> = importers.iter().map(|a| a.user("u", json!({}))).collect();
    let scenario = |port: u16| {
        let mut x = login(port, &exp_user);
        x.send(b"SUB a.> 1\r\nSUB b.> 2\r\n");
        x.sync();
        let mut log = String::new();
        for (u, (name, subject, _)) in users.iter().zip(specs) {
            let then = format!(
                "PUB {} 4\r\np-{}\r\n",
                subject.replace('>', "q"),
                &name[..2]
            );
            let case = Case {
                name: "importer",
                connect: connect_as(u, None),
                then: Box::leak(then.into_boxed_str()),
            };
            log += &format!("{name}: {}\n", run(port, &case));
        }
        log += &format!(
            "exporter got: {:?}\n",
            subjects_and_payloads(&text(x.sync()))
        );
        log
    };
    let mut all: Vec<&Account> = vec![&exporter];
    all.extend(importers.iter());
    let (ours, theirs) = start_both("jwtact", &operator_config(&op, &sys, &all));
    let (a, b) = (scenario(ours.port), scenario(theirs.port));
    assert!(a.contains("p-OK"), "{a}");
    assert_eq!(a, b);
}

#[test]
fn narrowing_a_scoped_key_closes_its_users_like_the_reference() {
    let op = Operator::new("OP", json!({}));
    let sys = op.account("SYS", json!({}));
    let base = op.account("BASE", json!({}));
    let scope = |allow: &str| {
        json!([{ "kind": "user_scope", "key": base.signing.public_key(), "role": "r",
            "template": {"pub": {"allow": [allow]}, "sub": {}, "subs": -1, "payload": -1} }])
    };
    let acc = op.account("SC", json!({"nats": {"signing_keys": scope(">")}}));
    let sys_user = sys.user("admin", json!({}));
    let plain = acc.user("d", json!({}));
    let scoped = User::signed_by(
        &scoped_acc_signing(&acc, &base),
        Some(&acc.key()),
        "sc",
        json!({"nats": {"pub": {}, "sub": {}, "subs": null, "data": null, "payload": null}}),
    );
    let update = acc.reissue(
        &op.kp,
        "SC",
        json!({"nats": {"signing_keys": scope("safe.>")}}),
    );
    let (ours, theirs) = start_both("jwtscope", &operator_config(&op, &sys, &[&acc, &base]));
    let args = (&sys_user, &plain, &scoped, acc.key(), &update);
    let a = live_update_scenario(ours.port, args.0, args.1, args.2, &args.3, args.4);
    let b = live_update_scenario(theirs.port, args.0, args.1, args.2, &args.3, args.4);
    assert!(a.contains("closed=true"), "{a}\n---\n{b}");
    assert_eq!(a, b);
}
