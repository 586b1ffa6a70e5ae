//! Exports, imports and system events, differentially: the same multi-connection scenario runs
//! against rnats-server and the reference nats-server 2.15, and what each connection receives
//! must be identical after masking the values that differ by nature (random `_R_` reply tokens,
//! server ids, times, connection ids).

use rnats_testkit::{Raw, ServerProcess, reference_server_path};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn conf_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rnats-accdiff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

/// Run `scenario` on both servers started with `conf`; return (ours, theirs).
fn both(conf: &Path, scenario: fn(u16) -> String) -> (String, String) {
    let c = conf.to_str().expect("utf8");
    let ours = ServerProcess::start(Path::new(env!("CARGO_BIN_EXE_rnats-server")), &["-c", c])
        .expect("rnats starts");
    let theirs = ServerProcess::start(&reference_server_path(), &["-c", c]).expect("ref starts");
    (scenario(ours.port), scenario(theirs.port))
}

fn login(port: u16, user: &str, headers: bool) -> Raw {
    let mut r = Raw::connect(port);
    let _ = r.read_info();
    r.send(
        format!(
            "CONNECT {{\"verbose\":false,\"user\":\"{user}\",\"pass\":\"{user}\",\"headers\":{headers},\"no_responders\":{headers},\"protocol\":1}}\r\n"
        )
        .as_bytes(),
    );
    // Drop the async INFO a protocol-1 client gets after its first PONG.
    let first = r.sync();
    assert!(!first.starts_with(b"-ERR"), "{user} logs in");
    r.send(b"PING\r\n");
    let _ = r.read_until(b"PONG\r\n", Duration::from_secs(5));
    r
}

/// Replace each `_R_.xxxxxx.yyyyyy` by `_R_.<p>.<r>`.
fn mask_replies(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("_R_.") {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 4..];
        let token_len = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
            .unwrap_or(tail.len());
        out.push_str(if token_len == 13 {
            "_R_.<p>.<r>"
        } else {
            &rest[i..i + 4 + token_len]
        });
        rest = &tail[token_len..];
    }
    out.push_str(rest);
    out
}

fn text(b: Vec<u8>) -> String {
    String::from_utf8_lossy(&b).into_owned()
}

/// The reply subject of the first message line in `s`.
fn reply_of(s: &str) -> String {
    s.split("\r\n")
        .find(|l| l.starts_with("MSG "))
        .and_then(|l| l.split(' ').nth(3))
        .unwrap_or_default()
        .to_string()
}

fn service_scenario(port: u16) -> String {
    let mut log = String::new();
    let mut b = login(port, "b", false);
    b.send(b"SUB svc.echo 1\r\nSUB svc.str 2\r\nSUB _R_.> 99\r\n");
    b.sync();
    let mut a = login(port, "a", true);
    a.send(b"SUB _INBOX.x 1\r\nSUB echo 9\r\nPUB echo _INBOX.x 4\r\nping\r\n");
    log += &format!("a1: {}\n", text(a.sync()));
    let req = text(b.sync());
    let reply = reply_of(&req);
    log += &format!("b1: {req}\n");
    // A singleton: only the first response goes back.
    b.send(format!("PUB {reply} 5\r\npong1\r\nPUB {reply} 5\r\npong2\r\n").as_bytes());
    log += &format!("b2: {}\n", text(b.sync()));
    log += &format!("a2: {}\n", text(a.sync()));
    // A streamed response: every message goes back.
    a.send(b"PUB strm _INBOX.x 1\r\nq\r\n");
    a.sync();
    let req = text(b.sync());
    let reply = reply_of(&req);
    log += &format!("b3: {req}\n");
    b.send(
        format!("PUB {reply} 2\r\ns1\r\nPUB {reply} 2\r\ns2\r\nPUB {reply} 0\r\n\r\n").as_bytes(),
    );
    b.sync();
    log += &format!("a3: {}\n", text(a.sync()));
    // A request without a reply still reaches the service.
    a.send(b"PUB echo 1\r\nn\r\n");
    a.sync();
    log += &format!("b4: {}\n", text(b.sync()));
    // Nobody serves: the requester gets a 503 on its reply subscription.
    b.send(b"UNSUB 1\r\n");
    b.sync();
    a.send(b"UNSUB 9\r\nPUB echo _INBOX.x 1\r\nq\r\n");
    log += &format!("a4: {}\n", text(a.sync()));
    // A made-up response subject goes nowhere but B's own subscription.
    b.send(b"PUB _R_.abcdef.ghijkl 1\r\nz\r\n");
    log += &format!("b5: {}\n", text(b.sync()));
    log += &format!("a5: {}\n", text(a.sync()));
    // Clients may not use the reserved reply prefix.
    a.send(b"PUB echo _R_.abcdef.ghijkl 1\r\nz\r\n");
    log += &format!("a6: {}\n", text(a.sync()));
    mask_replies(&log)
}

#[test]
fn service_imports_match_the_reference() {
    let conf = conf_file(
        "svc.conf",
        r#"accounts {
  A { users: [{user: a, password: a}], imports: [
      {service: {account: B, subject: "svc.echo"}, to: "echo"},
      {service: {account: B, subject: "svc.str"}, to: "strm"} ] }
  B { users: [{user: b, password: b}], exports: [
      {service: "svc.echo"},
      {service: "svc.str", response_type: stream} ] }
}
"#,
    );
    let (ours, theirs) = both(&conf, service_scenario);
    assert_eq!(ours, theirs);
}

fn stream_scenario(port: u16) -> String {
    let mut log = String::new();
    let subs: &[(&str, &str)] = &[
        ("b", "from_a.>"),
        ("b", "events.>"),
        ("b", ">"),
        ("c", "ev.>"),
        ("d", "events.>"),
        ("e", "ev.>"),
        ("f", ">"),
    ];
    let mut conns: Vec<Raw> = subs
        .iter()
        .map(|(u, s)| {
            let mut r = login(port, u, true);
            r.send(format!("SUB {s} 1\r\n").as_bytes());
            r.sync();
            r
        })
        .collect();
    let mut a = login(port, "a", true);
    a.send(b"PUB events.x r1 5\r\nhello\r\nHPUB events.y 22 24\r\nNATS/1.0\r\nFoo: bar\r\n\r\nhi\r\nPUB events.x.y.z 2\r\nab\r\n");
    a.sync();
    for (i, c) in conns.iter_mut().enumerate() {
        log += &format!("{}:{}: {}\n", subs[i].0, subs[i].1, text(c.sync()));
    }
    // Imports are one-way.
    conns[0].send(b"PUB events.z 1\r\nx\r\nPUB from_a.events.q 1\r\nx\r\n");
    conns[0].sync();
    a.send(b"SUB > 5\r\n");
    log += &format!("a: {}\n", text(a.sync()));
    mask_replies(&log)
}

#[test]
fn stream_imports_match_the_reference() {
    let conf = conf_file(
        "stream.conf",
        r#"accounts {
  A { users: [{user: a, password: a}], exports: [{stream: "events.>"}] }
  B { users: [{user: b, password: b}], imports: [{stream: {account: A, subject: "events.>"}, prefix: from_a}] }
  C { users: [{user: c, password: c}], imports: [{stream: {account: A, subject: "events.>"}, to: "ev.>"}] }
  D { users: [{user: d, password: d}], imports: [{stream: {account: A, subject: "events.>"}}] }
  E { users: [{user: e, password: e}], imports: [{stream: {account: A, subject: "events.*"}, to: "ev.$1.x"}] }
  F { users: [{user: f, password: f}] }
}
"#,
    );
    let (ours, theirs) = both(&conf, stream_scenario);
    assert_eq!(ours, theirs);
}

/// Blank the values of volatile JSON keys (ids, times, counters that depend on timing).
fn mask_json(s: &str) -> String {
    const VOLATILE: &[&str] = &[
        "\"id\":",
        "\"timestamp\":",
        "\"time\":",
        "\"start\":",
        "\"stop\":",
        "\"seq\":",
        "\"rtt\":",
    ];
    let mut out = s.to_string();
    for key in VOLATILE {
        let mut from = 0;
        while let Some(i) = out[from..].find(key) {
            let v = from + i + key.len();
            let end = if out[v..].starts_with('"') {
                out[v + 1..].find('"').map(|e| v + e + 2)
            } else {
                out[v..].find([',', '}']).map(|e| v + e)
            }
            .unwrap_or(out.len());
            out.replace_range(v..end, "<v>");
            from = v + 3;
        }
    }
    out
}

fn events_scenario(port: u16) -> String {
    let mut sys = login(port, "sys", true);
    sys.send(b"SUB $SYS.> 1\r\n");
    sys.sync();
    let mut a = login(port, "a", true);
    a.send(b"PUB x 5\r\nhello\r\n");
    a.sync();
    a.close();
    // Wait for A's disconnect before the failed login, so the order is not a race.
    let wait = Duration::from_secs(5);
    let mut got = sys
        .read_until(b"\"reason\":\"Client Closed\"}\r\n", wait)
        .unwrap_or_else(|e| e);
    let mut bad = Raw::connect(port);
    let _ = bad.read_info();
    bad.send(
        b"CONNECT {\"verbose\":false,\"user\":\"a\",\"pass\":\"wrong\",\"name\":\"badguy\"}\r\n",
    );
    let _ = bad.read_for(Duration::from_millis(300));
    for _ in 0..2 {
        got.extend(
            sys.read_until(b"\"reason\":\"Authentication Failure\"", wait)
                .unwrap_or_else(|e| e),
        );
    }
    let (rest, _) = sys.read_for(Duration::from_millis(100));
    got.extend(rest);
    // rnats adds its precise reason to AUTH.ERR; the rest of the event is the reference's.
    let got = text(got);
    let got = got
        .replace(",\"reason_code\":\"bad_password\"", ",<code>")
        .replace(",\"reason_code\":\"unknown_user\"", ",<code>");
    let got = got.replace(",<code>", "").into_bytes();
    // Frames: a MSG line and its payload. Account connection-count updates (`.CONNS`) and
    // STATSZ are not published by rnats yet (monitoring issue); everything else must match.
    let got = text(got);
    let lines: Vec<&str> = got.split("\r\n").collect();
    let mut log = String::new();
    let mut i = 0;
    while i + 1 < lines.len() {
        let l = lines[i];
        if l.starts_with("MSG ") {
            if !l.contains(".CONNS ") && !l.contains(".STATSZ ") {
                let mut parts: Vec<String> = l.split(' ').map(str::to_string).collect();
                if let Some(n) = parts.last_mut() {
                    *n = "<len>".into();
                }
                let line = parts.join(" ");
                let line = match line.find("$SYS.SERVER.") {
                    Some(_) if line.contains(".CLIENT.AUTH.ERR") => {
                        "MSG $SYS.SERVER.<id>.CLIENT.AUTH.ERR 1  <len>".to_string()
                    }
                    _ => line,
                };
                log += &format!("{line}\n{}\n", mask_json(lines[i + 1]));
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    log
}

#[test]
fn system_events_match_the_reference() {
    let conf = conf_file(
        "events.conf",
        r#"server_name: srv
system_account: SYS
accounts {
  A { users: [{user: a, password: a}] }
  SYS { users: [{user: sys, password: sys}] }
}
"#,
    );
    let (ours, theirs) = both(&conf, events_scenario);
    assert!(
        ours.contains("client_connect") && ours.contains("AUTH.ERR"),
        "{ours}"
    );
    // The watcher's own CONNECT event races its SUB in the reference (its events go out from
    // a separate goroutine): sometimes it sees itself connect, sometimes not.
    let drop_own = |log: &str| {
        let lines: Vec<&str> = log.lines().collect();
        let mut out = String::new();
        let mut i = 0;
        while i < lines.len() {
            if lines[i].starts_with("MSG $SYS.ACCOUNT.SYS.CONNECT ") {
                i += 2;
                continue;
            }
            out.push_str(lines[i]);
            out.push('\n');
            i += 1;
        }
        out
    };
    assert_eq!(drop_own(&ours), drop_own(&theirs));
    assert!(!theirs.contains("reason_code"));
}

#[test]
fn auth_errors_carry_the_reason_code() {
    let conf = conf_file(
        "events-code.conf",
        r#"system_account: SYS
accounts {
  A { users: [{user: a, password: a}] }
  SYS { users: [{user: sys, password: sys}] }
}
"#,
    );
    let ours = ServerProcess::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_rnats-server")),
        &["-c", conf.to_str().expect("utf8")],
    )
    .expect("rnats starts");
    let wait = Duration::from_secs(3);
    let mut sys = Raw::connect(ours.port);
    sys.send(b"CONNECT {\"user\":\"sys\",\"pass\":\"sys\",\"verbose\":false}\r\nSUB $SYS.SERVER.*.CLIENT.AUTH.ERR 1\r\nPING\r\n");
    sys.read_until(b"PONG\r\n", wait).expect("sys ready");
    let mut bad = Raw::connect(ours.port);
    bad.send(b"CONNECT {\"user\":\"a\",\"pass\":\"nope\",\"verbose\":false}\r\n");
    let got = text(
        sys.read_until(b"\"reason_code\":\"bad_password\"}", wait)
            .unwrap_or_else(|e| e),
    );
    assert!(
        got.contains("\"reason\":\"Authentication Failure\",\"reason_code\":\"bad_password\"}"),
        "{got}"
    );
}

/// `-t` on configurations with bad exports/imports: same exit status and the same messages
/// (with `file:line:col`) as the reference.
#[test]
fn export_import_config_errors_match_the_reference() {
    let cases: &[&str] = &[
        // Import from an undefined account (stream and service).
        "accounts {\n  A { users: [{user: a, password: a}] }\n  B { imports: [{stream: {account: Z, subject: \"x\"}}, {service: {account: Q, subject: \"y\"}}] }\n}\n",
        // Not exported, and private exports that do not list the importer.
        "accounts {\n  A { exports: [{stream: \"events.>\", accounts: [C]}, {service: \"svc.*\", accounts: [C]}] }\n  B { imports: [{stream: {account: A, subject: \"events.>\"}}, {service: {account: A, subject: \"svc.echo\"}}, {stream: {account: A, subject: \"foo\"}}] }\n  C { }\n}\n",
        // Exported as a stream, imported as a service.
        "accounts {\n  A { exports: [{stream: \"events.>\"}] }\n  B { imports: [{service: {account: A, subject: \"events.>\"}}] }\n}\n",
        // Unknown keys, a bad response type, response on a stream.
        "accounts {\n  A { exports: [{service: \"svc\", response_type: bogus}, {stream: \"s\", foo: bar}] }\n}\n",
        "accounts {\n  A { exports: [{stream: \"s\", response_type: stream}] }\n}\n",
        "accounts {\n  A { exports: [{stream: \"s\"}] }\n  B { imports: [{stream: {account: A, subject: \"s\"}, bogus: 1}] }\n}\n",
        // An export for an undefined account; an import that is not a map; a missing subject.
        "accounts { A { exports: [{stream: \"s\", accounts: [ZZ]}] } }\n",
        "accounts {\n  A { exports: [{stream: \"s\"}] }\n  B { imports: [\"foo\"] }\n}\n",
        "accounts {\n  A { exports: [{stream: \"s\"}] }\n  B { imports: [{stream: {account: A}}] }\n}\n",
        // Wildcard prefix, out-of-range $N mapping, invalid import subjects.
        "accounts {\n  A { exports: [{stream: \"x.>\"}] }\n  B { imports: [{stream: {account: A, subject: \"x.>\"}, prefix: \"p.*\"}] }\n}\n",
        "accounts {\n  A { exports: [{stream: \"x.>\"}] }\n  B { imports: [{stream: {account: A, subject: \"x.*\"}, to: \"y.$2\"}] }\n}\n",
        "accounts {\n  A { exports: [{stream: \"events.>\"}, {service: \"svc.>\"}] }\n  B { imports: [{stream: {account: A, subject: \"events..>\"}}, {service: {account: A, subject: \"svc..x\"}}] }\n}\n",
        // The same stream imported twice from one account.
        "accounts {\n  A { exports: [{stream: \"e.>\"}] }\n  B { imports: [{stream: {account: A, subject: \"e.>\"}, prefix: p}, {stream: {account: A, subject: \"e.>\"}, to: \"q.>\"}] }\n}\n",
        // account_token_position: the importer's own slice only; a position on a literal token.
        "accounts {\n  A { exports: [{stream: \"data.*.>\", account_token_position: 2}, {service: \"svc.*.>\", account_token_position: 2}] }\n  B { imports: [{stream: {account: A, subject: \"data.B.>\"}}, {service: {account: A, subject: \"svc.B.>\"}}] }\n  C { imports: [{stream: {account: A, subject: \"data.B.>\"}}, {stream: {account: A, subject: \"data.*.>\"}}, {service: {account: A, subject: \"svc.B.x\"}}] }\n}\n",
        "accounts {\n  A { exports: [{stream: \"data.x.>\", account_token_position: 2}, {service: \"s.*\", account_token_position: 3}] }\n}\n",
        "accounts {\n  A { exports: [{stream: \"data.*.>\", account_token_position: 2}] }\n  B { imports: [{stream: {account: A, subject: \"data.B.>\"}}] }\n}\n",
        // Service imports that form a cycle (two and three accounts), and a chain that does not.
        "accounts {\n  A { exports: [{service: \"q.>\"}], imports: [{service: {account: B, subject: \"q.>\"}}] }\n  B { exports: [{service: \"q.>\"}], imports: [{service: {account: A, subject: \"q.>\"}}] }\n}\n",
        "accounts {\n  A { exports: [{service: \"r.*\"}], imports: [{service: {account: B, subject: \"r.a\"}}] }\n  B { exports: [{service: \"r.>\"}], imports: [{service: {account: C, subject: \"r.a\"}}] }\n  C { exports: [{service: \"r.a\"}], imports: [{service: {account: A, subject: \"r.a\"}}] }\n}\n",
        "accounts {\n  A { exports: [{service: \"s.x\"}] }\n  B { exports: [{service: \"t.x\"}], imports: [{service: {account: A, subject: \"s.x\"}}] }\n  C { imports: [{service: {account: B, subject: \"t.x\"}}, {service: {account: A, subject: \"s.x\"}}] }\n}\n",
        // Accepted: wildcard service imports, invalid export subjects, importing one's own export.
        "accounts {\n  A { exports: [{service: \"svc.>\"}, {stream: \"events..>\"}] }\n  B { imports: [{service: {account: A, subject: \"svc.>\"}, to: \"x.>\"}] }\n  A2 { exports: [{stream: \"e\"}], imports: [{stream: {account: A2, subject: \"e\"}}] }\n}\n",
    ];
    let ours = Path::new(env!("CARGO_BIN_EXE_rnats-server"));
    let theirs = reference_server_path();
    for (i, body) in cases.iter().enumerate() {
        let conf = conf_file(&format!("bad{i}.conf"), body);
        let run = |bin: &Path| {
            let out = std::process::Command::new(bin)
                .arg("-t")
                .arg("-c")
                .arg(&conf)
                .output()
                .expect("runs");
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            // The digest of an accepted file is compared by the conf crate's own tests.
            let err = match err.find("(sha256:") {
                Some(i) => err[..i].to_string(),
                None => err,
            };
            (out.status.code(), err)
        };
        assert_eq!(run(ours), run(&theirs), "case {i}:\n{body}");
    }
}
