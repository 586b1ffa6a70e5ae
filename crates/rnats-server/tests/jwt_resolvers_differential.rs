//! Account resolvers in operator mode, differentially against nats-server 2.15: the directory
//! resolver (push, lookup, list, older JWTs, deletes), the URL resolver and its startup probe,
//! pinned accounts and the default sentinel.

mod common;
use common::jwtdiff::*;
use rnats_testkit::jwt::{Operator, User, nonce_of, now, operator_config};
use rnats_testkit::{Raw, ServerProcess, mask, reference_server_path};
use serde_json::json;
use std::path::Path;
use std::time::Duration;

fn dir_resolver_scenario(
    port: u16,
    sys_user: &User,
    acc_jwt: &str,
    acc_key: &str,
    user: &User,
    older: &str,
) -> String {
    let mut sys = login(port, sys_user);
    sys.send(b"SUB _INBOX.r 1\r\n");
    sys.sync();
    let mut log = String::new();
    // One response per request (the reference answers asynchronously, possibly after a PONG).
    let ask = |sys: &mut Raw, subject: &str, body: &str| {
        sys.send(format!("PUB {subject} _INBOX.r {}\r\n{body}\r\n", body.len()).as_bytes());
        let wait = Duration::from_secs(3);
        match sys.read_until(b"MSG _INBOX.r", wait) {
            Ok(_) => {
                let head = sys.read_until(b"\r\n", wait).unwrap_or_else(|e| e);
                let body = sys.read_until(b"\r\n", wait).unwrap_or_else(|e| e);
                let line = format!("MSG _INBOX.r{}{}", text(head), text(body));
                mask_server(&line)
            }
            Err(_) => "<none>".to_string(),
        }
    };
    // Before the push the account is unknown.
    let mut r = Raw::connect(port);
    let info = r.read_info();
    r.send(user.connect_line(&nonce_of(&info)).as_bytes());
    r.send(b"PING\r\n");
    // The reference first tries to fetch the unknown account (about 2 s).
    let before = r
        .read_until(b"\r\n", Duration::from_secs(4))
        .unwrap_or_else(|e| e);
    log += &format!("before: {}\n", mask(&before));
    log += &format!(
        "push: {}\n",
        ask(&mut sys, "$SYS.REQ.CLAIMS.UPDATE", acc_jwt)
    );
    log += &format!(
        "lookup: {}\n",
        ask(
            &mut sys,
            &format!("$SYS.REQ.ACCOUNT.{acc_key}.CLAIMS.LOOKUP"),
            ""
        )
    );
    log += &format!(
        "lookup unknown: {}\n",
        ask(
            &mut sys,
            &format!(
                "$SYS.REQ.ACCOUNT.{}.CLAIMS.LOOKUP",
                nkeys::KeyPair::new_account().public_key()
            ),
            ""
        )
    );
    log += &format!(
        "older: {}\n",
        ask(&mut sys, "$SYS.REQ.CLAIMS.UPDATE", older)
    );
    log += &format!(
        "garbage: {}\n",
        ask(&mut sys, "$SYS.REQ.CLAIMS.UPDATE", "nope")
    );
    log += &format!(
        "list: {}\n",
        mask_list(&ask(&mut sys, "$SYS.REQ.CLAIMS.LIST", ""))
    );
    let mut r = Raw::connect(port);
    let info = r.read_info();
    r.send(user.connect_line(&nonce_of(&info)).as_bytes());
    r.send(b"PING\r\n");
    log += &format!(
        "after: {}\n",
        mask(
            &r.read_until(b"PONG\r\n", Duration::from_secs(5))
                .unwrap_or_else(|e| e)
        )
    );
    log
}

/// A tiny HTTP server answering `GET <prefix><key>` with the account JWT, else 404.
fn serve_accounts(accounts: Vec<(String, String)>) -> u16 {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let mut s = s;
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let path = req.split(' ').nth(1).unwrap_or("").to_string();
            let body = accounts
                .iter()
                .find(|(k, _)| path.ends_with(&format!("/{k}")))
                .map(|(_, j)| j.clone());
            let body = body.or_else(|| path.ends_with("/accounts/").then(String::new));
            let resp = match body {
                Some(b) => format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{b}",
                    b.len()
                ),
                None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_string(),
            };
            let _ = s.write_all(resp.as_bytes());
        }
    });
    port
}

#[test]
fn directory_resolver_matches_the_reference() {
    let op = Operator::new("OP", json!({}));
    let sys = op.account("SYS", json!({}));
    let acc = op.account("ACC", json!({"iat": now() - 10}));
    let older = acc.reissue(&op.kp, "ACC-old", json!({"iat": now() - 1000}));
    let sys_user = sys.user("admin", json!({}));
    let user = acc.user("u", json!({}));
    let base = std::env::temp_dir().join(format!("rnats-jwtdir-{}", std::process::id()));
    let conf_for = |name: &str| {
        let d = base.join(name);
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("jwt")).expect("dir");
        let conf = d.join("op.conf");
        std::fs::write(
            &conf,
            format!(
                "operator: {}\nsystem_account: {}\nresolver {{ type: full, dir: {:?} }}\nresolver_preload: {{ {}: {} }}\n",
                op.jwt,
                sys.key(),
                d.join("jwt").to_str().expect("utf8"),
                sys.key(),
                sys.jwt
            ),
        )
        .expect("write");
        conf
    };
    let (c1, c2) = (conf_for("ours"), conf_for("theirs"));
    let (ours, theirs) = start_files(&c1, &c2);
    let a = dir_resolver_scenario(ours.port, &sys_user, &acc.jwt, &acc.key(), &user, &older);
    let b = dir_resolver_scenario(theirs.port, &sys_user, &acc.jwt, &acc.key(), &user, &older);
    assert!(a.contains("jwt updated"), "{a}");
    assert_eq!(a, b);
    // The pushed account JWT is stored as `<key>.jwt` in both directories.
    for c in [&c1, &c2] {
        let stored = c
            .parent()
            .expect("dir")
            .join("jwt")
            .join(format!("{}.jwt", acc.key()));
        assert!(stored.exists(), "{stored:?}");
    }
}

#[test]
fn url_resolver_matches_the_reference() {
    let op = Operator::new("OP", json!({}));
    let sys = op.account("SYS", json!({}));
    let acc = op.account("ACC", json!({}));
    let other = op.account("OTHER", json!({}));
    let port = serve_accounts(vec![
        (sys.key(), sys.jwt.clone()),
        (acc.key(), acc.jwt.clone()),
    ]);
    let (ours, theirs) = start_both(
        "jwturl",
        &format!(
            "operator: {}\nsystem_account: {}\nresolver: URL(\"http://127.0.0.1:{port}/jwt/v1/accounts/\")\n",
            op.jwt,
            sys.key()
        ),
    );
    let cases = [acc.user("u", json!({})), other.user("o", json!({}))];
    for u in &cases {
        let case = Case {
            name: "url",
            connect: connect_as(u, None),
            then: "SUB a 1\r\nPUB a 1\r\nx\r\n",
        };
        assert_eq!(run(ours.port, &case), run(theirs.port, &case));
    }
    assert!(
        run(
            ours.port,
            &Case {
                name: "ok",
                connect: connect_as(&cases[0], None),
                then: ""
            }
        )
        .contains("PONG")
    );
}

#[test]
fn url_resolver_probe_failure_matches_the_reference() {
    let op = Operator::new("OP", json!({}));
    let sys = op.account("SYS", json!({}));
    let port = serve_accounts(vec![]);
    let conf = conf_file(
        "jwturl404",
        &format!(
            "operator: {}\nsystem_account: {}\nresolver: URL(\"http://127.0.0.1:{port}/nothing/\")\n",
            op.jwt,
            sys.key()
        ),
    );
    let c = conf.to_str().expect("utf8");
    let err = |bin: &Path| {
        let Err(e) = ServerProcess::start(bin, &["-c", c]) else {
            panic!("{bin:?} started");
        };
        let text = e.to_string();
        text.lines()
            .find(|l| l.contains("could not fetch"))
            .map(|l| l[l.find("could not fetch").unwrap_or(0)..].to_string())
            .unwrap_or(text)
    };
    let ours = err(Path::new(env!("CARGO_BIN_EXE_rnats-server")));
    assert!(ours.ends_with(": 404 Not Found"), "{ours}");
    assert_eq!(ours, err(&reference_server_path()));
}

#[test]
fn pinned_accounts_match_the_reference() {
    let op = Operator::new("OP", json!({}));
    let sys = op.account("SYS", json!({}));
    let acc = op.account("ACC", json!({}));
    let other = op.account("OTHER", json!({}));
    let (ours, theirs) = start_both(
        "jwtpin",
        &format!(
            "{}resolver_pinned_accounts: [{}]\n",
            operator_config(&op, &sys, &[&acc, &other]),
            acc.key()
        ),
    );
    for u in [
        acc.user("a", json!({})),
        other.user("o", json!({})),
        sys.user("s", json!({})),
    ] {
        let case = Case {
            name: "pinned",
            connect: connect_as(&u, None),
            then: "",
        };
        assert_eq!(run(ours.port, &case), run(theirs.port, &case));
    }
}

#[test]
fn default_sentinel_matches_the_reference() {
    let op = Operator::new("OP", json!({}));
    let sys = op.account("SYS", json!({}));
    let acc = op.account("ACC", json!({}));
    let sentinel = acc.user(
        "sentinel",
        json!({"nats": {"bearer_token": true, "pub": {"allow": ["open.>"]}}}),
    );
    let (ours, theirs) = start_both(
        "jwtsentinel",
        &format!(
            "{}default_sentinel: {}\n",
            operator_config(&op, &sys, &[&acc]),
            sentinel.jwt
        ),
    );
    let real = acc.user("real", json!({}));
    let cases = [
        Case {
            name: "no jwt",
            connect: Box::new(|_| "CONNECT {\"verbose\":false}\r\n".to_string()),
            then: "PUB open.x 1\r\nx\r\nPUB closed 1\r\nx\r\n",
        },
        Case {
            name: "own jwt",
            connect: connect_as(&real, None),
            then: "PUB closed 1\r\nx\r\n",
        },
    ];
    for case in &cases {
        assert_eq!(
            run(ours.port, case),
            run(theirs.port, case),
            "{}",
            case.name
        );
    }
    // A sentinel that is not a bearer token is refused at startup, as the reference does.
    let not_bearer = acc.user("nb", json!({}));
    let text = format!(
        "{}default_sentinel: {}\n",
        operator_config(&op, &sys, &[&acc]),
        not_bearer.jwt
    );
    let conf = conf_file("jwtsentinel-bad", &text);
    let c = conf.to_str().expect("utf8");
    for bin in [
        Path::new(env!("CARGO_BIN_EXE_rnats-server")),
        &reference_server_path(),
    ] {
        let Err(e) = ServerProcess::start(bin, &["-c", c]) else {
            panic!("{bin:?} started");
        };
        assert!(
            e.to_string()
                .contains("default sentinel must be a bearer token"),
            "{e}"
        );
    }
}

#[test]
fn directory_resolver_deletes_match_the_reference() {
    use rnats_auth::jwt::mint::encode;
    let op = Operator::new("OP", json!({}));
    let sys = op.account("SYS", json!({}));
    let acc = op.account("ACC", json!({}));
    let sys_user = sys.user("admin", json!({}));
    let user = acc.user("u", json!({}));
    let delete = |accounts: Vec<String>, signer: &nkeys::KeyPair, sub: &str| {
        encode(
            json!({"sub": sub, "iat": now(), "nats": {"accounts": accounts}}),
            signer,
        )
        .expect("claim")
    };
    let good = delete(vec![acc.key()], &op.kp, &op.kp.public_key());
    let sys_del = delete(vec![sys.key()], &op.kp, &op.kp.public_key());
    let not_self = delete(vec![acc.key()], &acc.kp, &op.kp.public_key());
    let scenario = |port: u16| {
        let mut s = login(port, &sys_user);
        s.send(b"SUB _INBOX.r 1\r\n");
        s.sync();
        let mut ask = |subject: &str, body: &str| {
            s.send(format!("PUB {subject} _INBOX.r {}\r\n{body}\r\n", body.len()).as_bytes());
            let wait = Duration::from_secs(3);
            let _ = s.read_until(b"MSG _INBOX.r", wait);
            let _ = s.read_until(b"\r\n", wait);
            let body = s.read_until(b"\r\n", wait).unwrap_or_else(|e| e);
            mask_list(&mask_server(&text(body)))
        };
        let mut log = format!("push: {}\n", ask("$SYS.REQ.CLAIMS.UPDATE", &acc.jwt));
        let mut u = login(port, &user);
        log += &format!("sys: {}\n", ask("$SYS.REQ.CLAIMS.DELETE", &sys_del));
        log += &format!("not self: {}\n", ask("$SYS.REQ.CLAIMS.DELETE", &not_self));
        log += &format!("delete: {}\n", ask("$SYS.REQ.CLAIMS.DELETE", &good));
        let (b, closed) = u.read_for(Duration::from_millis(500));
        log += &format!("user: {} closed={closed}\n", mask(&b));
        log += &format!("list: {}\n", ask("$SYS.REQ.CLAIMS.LIST", ""));
        log
    };
    let text_for = |name: &str| {
        let d = std::env::temp_dir()
            .join(format!("rnats-jwtdel-{}", std::process::id()))
            .join(name);
        let _ = std::fs::remove_dir_all(&d);
        format!(
            "operator: {}\nsystem_account: {}\nresolver {{ type: full, dir: {:?}, allow_delete: true }}\nresolver_preload: {{ {}: {} }}\n",
            op.jwt,
            sys.key(),
            d.to_str().expect("utf8"),
            sys.key(),
            sys.jwt
        )
    };
    let ours_conf = conf_file("jwtdel-ours", &text_for("ours"));
    let theirs_conf = conf_file("jwtdel-theirs", &text_for("theirs"));
    let ours = ServerProcess::start(
        Path::new(env!("CARGO_BIN_EXE_rnats-server")),
        &["-c", ours_conf.to_str().expect("utf8")],
    )
    .expect("rnats starts");
    let theirs = ServerProcess::start(
        &reference_server_path(),
        &["-c", theirs_conf.to_str().expect("utf8")],
    )
    .expect("ref starts");
    let (a, b) = (scenario(ours.port), scenario(theirs.port));
    assert!(a.contains("deleted 1 accounts"), "{a}");
    assert_eq!(a, b);
}
