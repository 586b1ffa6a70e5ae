//! Differential test: every corpus file is checked with the reference nats-server 2.15
//! (`nats-server -t -c FILE`, with only the case's environment). It must agree with us on
//! accept/reject; for rejected files its message must equal our `reference_message()`, and for
//! accepted files the digest it prints must be the SHA-256 of our Go-JSON rendering, which
//! checks every parsed value (types, numbers, strings, key sets) and not just acceptance.
//!
//! Model: the corpus only uses keys the reference's option layer accepts with the given types,
//! so any disagreement is about the language itself. The binary comes from
//! `../shared/tools/reference-server` (or `NATS_REFERENCE_BIN`); if it cannot be obtained the
//! test fails loudly rather than skipping.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn reference_binary() -> PathBuf {
    rnats_testkit::reference_server_path()
}

fn sha256_hex(data: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum is needed to compare digests");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(data)
        .expect("write to sha256sum");
    let out = child.wait_with_output().expect("sha256sum output");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn reference_agrees_on_corpus() {
    let bin = reference_binary();
    let mut failures = Vec::new();
    let cases = common::cases();
    for case in &cases {
        let out = Command::new(&bin)
            .args(["-t", "-c", &case.path])
            .env_clear()
            .envs(case.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", bin.display()));
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let accepted = out.status.success();
        if let Some(expected) = &case.reference_rejects {
            let theirs = text.trim_end_matches('\n');
            let theirs = theirs.strip_prefix("nats-server: ").unwrap_or(theirs);
            if accepted || common::escape(theirs) != case.expand(expected) {
                failures.push(format!(
                    "{}: expected the option layer to refuse with {expected:?}, got {text:?}",
                    case.name
                ));
            }
            if case.ours().is_err() {
                failures.push(format!(
                    "{}: we refuse a file the language accepts",
                    case.name
                ));
            }
            continue;
        }
        if accepted != case.valid {
            failures.push(format!(
                "{}: reference accepted={accepted}: {text}",
                case.name
            ));
            continue;
        }
        let ours = case.ours();
        match (&ours, accepted) {
            (Ok(json), true) => {
                let json = json.strip_prefix("json ").unwrap_or(json);
                let digest = format!("(sha256:{})", sha256_hex(format!("{json}\n").as_bytes()));
                if !text.contains(&digest) {
                    failures.push(format!("{}: digest {digest} not in {text:?}", case.name));
                }
            }
            (Err(err), false) => {
                let ours = case.expand(err.strip_prefix("error ").unwrap_or(err));
                let theirs = text.trim_end_matches('\n');
                let theirs = theirs.strip_prefix("nats-server: ").unwrap_or(theirs);
                if common::escape(theirs) != ours {
                    failures.push(format!(
                        "{}:\n  reference {:?}\n  ours      {ours:?}",
                        case.name,
                        common::escape(theirs)
                    ));
                }
            }
            _ => failures.push(format!("{}: we say {ours:?}, reference {text}", case.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus files disagree with the reference:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
