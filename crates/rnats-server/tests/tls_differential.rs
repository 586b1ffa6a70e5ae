//! TLS, differentially: the same configurations and certificates (made at test time) go to
//! rnats-server and to the reference nats-server 2.15, the same clients connect to both, and
//! what each client observes must be the same: INFO's TLS fields, a plaintext client on a TLS
//! port, a client with and without a certificate under `verify`, handshake first with and
//! without fallback, mixed mode, and identities mapped from certificates.

mod common;

use common::certs::{self, Ca, Issued};
use common::tlsclient::{client_config, line, roundtrip, upgrade};
use rcgen::DnType;
use rnats_testkit::{ServerProcess, reference_server_path};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// What a probe saw, in words both servers must agree on.
type Seen = String;

/// The TLS fields of an INFO line.
fn tls_fields(info: &str) -> String {
    let v: serde_json::Value = info
        .strip_prefix("INFO ")
        .and_then(|j| serde_json::from_str(j.trim()).ok())
        .unwrap_or_default();
    ["tls_required", "tls_verify", "tls_available"]
        .iter()
        .map(|k| format!("{k}={}", v.get(*k).map_or("-".into(), |x| x.to_string())))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first line within `wait`, or "no INFO".
async fn first_line(tcp: &mut TcpStream, wait: Duration) -> Option<String> {
    timeout(wait, line(tcp)).await.ok().flatten()
}

#[derive(Clone, Copy)]
enum Probe<'a> {
    /// Read INFO and report its TLS fields.
    Info,
    /// Answer INFO in plaintext.
    Plaintext,
    /// Read INFO, upgrade (with this certificate), then send `connect` and PING.
    Tls(Option<&'a Issued>, &'a str),
    /// Upgrade at once, then read INFO, then `connect` and PING.
    TlsFirst(Option<&'a Issued>, &'a str),
    /// Send nothing; report what arrives within a second.
    Silent,
}

async fn run(port: u16, ca: &Ca, probe: Probe<'_>) -> Seen {
    let mut tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    match probe {
        Probe::Info => first_line(&mut tcp, Duration::from_secs(3))
            .await
            .map_or("no INFO".into(), |l| tls_fields(&l)),
        Probe::Silent => match first_line(&mut tcp, Duration::from_secs(1)).await {
            None => "nothing within 1s".into(),
            Some(l) => format!("INFO {}", tls_fields(&l)),
        },
        Probe::Plaintext => {
            let _ = first_line(&mut tcp, Duration::from_secs(3)).await;
            let _ = tcp
                .write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n")
                .await;
            let mut rest = Vec::new();
            let _ = timeout(Duration::from_secs(3), tcp.read_to_end(&mut rest)).await;
            String::from_utf8_lossy(&rest).into_owned()
        }
        Probe::Tls(cert, connect) | Probe::TlsFirst(cert, connect) => {
            let first = matches!(probe, Probe::TlsFirst(..));
            if !first {
                let _ = first_line(&mut tcp, Duration::from_secs(3)).await;
            }
            let Ok(mut tls) = upgrade(tcp, client_config(&ca.pem(), cert)).await else {
                return "refused".into();
            };
            let mut seen = String::new();
            if first {
                seen = match line(&mut tls).await {
                    Some(l) => format!("INFO {}; ", tls_fields(&l)),
                    None => return "refused".into(),
                };
            }
            let text = format!("CONNECT {connect}\r\nPING\r\n");
            match roundtrip(&mut tls, &text).await {
                // TLS 1.3: a refused client certificate shows at the first read.
                None => "refused".into(),
                Some(l) => {
                    seen.push_str(&l);
                    if l == "PONG\r\n" {
                        let r = roundtrip(&mut tls, "PUB b.x 1\r\nx\r\nPING\r\n").await;
                        seen.push_str(&format!("; PUB b.x -> {r:?}"));
                    }
                    seen
                }
            }
        }
    }
}

struct Case<'a> {
    name: &'static str,
    conf: String,
    probes: Vec<Probe<'a>>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_behaviour_matches_reference() {
    let reference = reference_server_path();
    let ca = certs::ca("rnats diff CA");
    let dir = std::env::temp_dir().join(format!("rnats-tlsdiff-{}", std::process::id()));
    let files = ca.server_files(&dir);
    let alice = ca.issue(
        &[(DnType::CommonName, "alice")],
        vec![certs::email_san("alice@example.org")],
    );
    let bob = ca.issue(
        &[
            (DnType::CountryName, "US"),
            (DnType::OrganizationName, "Acme, Inc."),
            (DnType::CommonName, "bob"),
            (DnType::OrganizationalUnitName, "eng"),
        ],
        vec![],
    );
    let eve = ca.issue(&[(DnType::CommonName, "eve")], vec![]);
    let tls = format!(
        "cert_file: \"{}\", key_file: \"{}\"",
        files.cert.display(),
        files.key.display()
    );
    let ca_file = format!("ca_file: \"{}\"", files.ca.display());
    let plain = "{\"verbose\":false}";
    let derek = "{\"verbose\":false,\"user\":\"derek\",\"pass\":\"porkchop\"}";
    let cases = [
        Case {
            name: "tls",
            conf: format!("tls {{ {tls} }}"),
            probes: vec![
                Probe::Info,
                Probe::Plaintext,
                Probe::Tls(None, plain),
                Probe::Tls(Some(&alice), plain),
            ],
        },
        Case {
            name: "verify with users",
            conf: format!(
                "tls {{ {tls}, {ca_file}, verify: true }}\n\
                 authorization {{ user: derek, password: porkchop }}"
            ),
            probes: vec![
                Probe::Info,
                Probe::Tls(None, derek),
                Probe::Tls(Some(&alice), derek),
                Probe::Tls(Some(&alice), plain),
            ],
        },
        Case {
            name: "allow_non_tls",
            conf: format!("tls {{ {tls} }}\nallow_non_tls: true"),
            probes: vec![Probe::Info, Probe::Plaintext, Probe::Tls(None, plain)],
        },
        Case {
            name: "handshake_first",
            conf: format!("tls {{ {tls}, handshake_first: true, timeout: 3 }}"),
            probes: vec![Probe::Silent, Probe::TlsFirst(None, plain)],
        },
        Case {
            name: "handshake_first fallback",
            conf: format!("tls {{ {tls}, handshake_first: 200ms }}"),
            probes: vec![
                Probe::Silent,
                Probe::TlsFirst(None, plain),
                Probe::Tls(None, plain),
            ],
        },
        Case {
            name: "verify_and_map",
            conf: format!(
                "tls {{ {tls}, {ca_file}, verify_and_map: true }}\n\
                 authorization {{ users: [\n\
                   {{ user: \"alice@example.org\", permissions: {{ publish: \"a.>\" }} }}\n\
                   {{ user: \"CN=bob,OU=eng,O=Acme\\\\, Inc.,C=US\" }}\n\
                 ] }}"
            ),
            probes: vec![
                Probe::Info,
                Probe::Tls(Some(&alice), "{\"verbose\":false,\"user\":\"zzz\"}"),
                Probe::Tls(Some(&bob), plain),
                Probe::Tls(Some(&eve), plain),
                Probe::Tls(None, plain),
            ],
        },
    ];
    let mut failures = Vec::new();
    let mut total = 0;
    for (i, case) in cases.iter().enumerate() {
        let conf = dir.join(format!("c{i}.conf"));
        std::fs::write(&conf, format!("host: 127.0.0.1\n{}", case.conf)).expect("write");
        let c = conf.to_str().expect("path");
        let ours = ServerProcess::start(Path::new(env!("CARGO_BIN_EXE_rnats-server")), &["-c", c])
            .unwrap_or_else(|e| panic!("{}: rnats: {e}", case.name));
        let theirs = ServerProcess::start(&reference, &["-c", c])
            .unwrap_or_else(|e| panic!("{}: reference: {e}", case.name));
        for (j, probe) in case.probes.iter().enumerate() {
            total += 1;
            let (a, b) = tokio::join!(run(ours.port, &ca, *probe), run(theirs.port, &ca, *probe));
            if a != b {
                failures.push(format!(
                    "--- {} probe {j}\n rnats:     {a:?}\n reference: {b:?}",
                    case.name
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(total >= 20);
    assert!(
        failures.is_empty(),
        "{} of {total} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
