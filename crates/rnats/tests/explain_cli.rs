//! The `rnats explain` binary: exit status 0 (accepted), 1 (rejected), 2 (bad input), the
//! human report with its numbers, and `--json`.

use rnats_testkit::jwt::{Operator, now, operator_config};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_rnats"))
}

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("rnats-explain-cli-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("dir");
    d
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin()).args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn verdicts_reports_and_exit_status() {
    let d = dir();
    let op = Operator::new("OP", json!({}));
    let sys = op.account("SYS", json!({}));
    let acc = op.account("ACC", json!({}));
    let conf = d.join("server.conf");
    std::fs::write(&conf, operator_config(&op, &sys, &[&acc])).expect("conf");
    let c = conf.to_str().expect("utf8");
    let t = now();
    let good = d.join("good.creds");
    std::fs::write(&good, acc.user("good", json!({"exp": t + 3600})).creds()).expect("w");
    let expired = d.join("expired.creds");
    std::fs::write(
        &expired,
        acc.user("old", json!({"iat": t - 600, "exp": t - 192}))
            .creds(),
    )
    .expect("w");

    let (code, out, _) = run(&[
        "explain",
        "--config",
        c,
        "--creds",
        good.to_str().expect("p"),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Verdict: ACCEPTED"), "{out}");
    assert!(out.contains("[ok  ] nonce signature"), "{out}");
    assert!(out.contains("(this machine's clock)"), "{out}");

    let (code, out, _) = run(&["explain", "-c", c, "--creds", expired.to_str().expect("p")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("[FAIL] user times"), "{out}");
    // 192 s before now, give or take the second the test may straddle.
    assert!(
        out.contains("expired 3m12s ago") || out.contains("expired 3m13s ago"),
        "{out}"
    );
    assert!(out.contains("clock_skew.exp 0s"), "{out}");
    assert!(
        out.contains(
            "Verdict: REJECTED (reason expired); the client receives -ERR 'Authorization Violation'"
        ),
        "{out}"
    );

    // The same credential judged before its exp (--at) is accepted.
    let before = jiff::Timestamp::from_second(t - 300)
        .expect("ts")
        .to_string();
    let (code, out, _) = run(&[
        "explain",
        "-c",
        c,
        "--creds",
        expired.to_str().expect("p"),
        "--at",
        &before,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("(--at)"), "{out}");

    // JSON.
    let (code, out, _) = run(&[
        "explain",
        "-c",
        c,
        "--creds",
        expired.to_str().expect("p"),
        "--json",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["accepted"], json!(false));
    assert_eq!(v["reason"], json!("expired"));
    assert!(v["steps"].as_array().is_some_and(|s| !s.is_empty()));

    // Only the JWT: the signature is not checked, and the report says so.
    let jwt_only = d.join("user.jwt");
    std::fs::write(&jwt_only, acc.user("j", json!({})).jwt).expect("w");
    let (code, out, _) = run(&["explain", "-c", c, "--jwt", jwt_only.to_str().expect("p")]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("NOT CHECKED: no seed given"), "{out}");
    assert!(
        out.contains("note: accepted only if the client signs the nonce"),
        "{out}"
    );

    // Bad input.
    let (code, _, err) = run(&[
        "explain",
        "-c",
        "/nonexistent.conf",
        "--creds",
        good.to_str().expect("p"),
    ]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&["explain", "-c", c, "--creds", conf.to_str().expect("p")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("rnats explain:"), "{err}");
    let (code, _, err) = run(&[
        "explain",
        "-c",
        c,
        "--creds",
        good.to_str().expect("p"),
        "--at",
        "yesterday",
    ]);
    assert_eq!(code, 2, "{err}");
    let plain = d.join("plain.conf");
    std::fs::write(&plain, "port: 4222\n").expect("w");
    let (code, _, err) = run(&[
        "explain",
        "-c",
        plain.to_str().expect("p"),
        "--creds",
        good.to_str().expect("p"),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not in operator mode"), "{err}");
    let (code, _, _) = run(&["explain"]);
    assert_eq!(code, 2);
}
