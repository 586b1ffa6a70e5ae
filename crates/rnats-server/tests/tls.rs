//! TLS for client connections, in-process, with certificates made at test time: INFO then the
//! handshake, client certificates required (`verify`), plaintext refused, handshake first (with
//! and without fallback), mixed mode (`allow_non_tls`), certificate identities
//! (`verify_and_map`) with their permissions, pinned keys, `/connz` and `/varz` fields, and the
//! typed rejection reasons.

mod common;

use common::certs::{self, Ca, Issued, ServerFiles};
use common::tlsclient::{Tls, client_config, line, roundtrip, upgrade};
use rcgen::DnType;
use rnats_server::{Options, Server};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const T: Duration = Duration::from_secs(10);

struct Setup {
    ca: Ca,
    files: ServerFiles,
}

fn setup(name: &str) -> Setup {
    let ca = certs::ca("rnats test CA");
    let dir = std::env::temp_dir().join(format!("rnats-tls-{name}-{}", std::process::id()));
    let files = ca.server_files(&dir);
    Setup { ca, files }
}

/// Start a server from config text (`$CERT`, `$KEY`, `$CA` replaced by the files).
async fn start(s: &Setup, conf: &str) -> Arc<Server> {
    let text = conf
        .replace("$CERT", &s.files.cert.display().to_string())
        .replace("$KEY", &s.files.key.display().to_string())
        .replace("$CA", &s.files.ca.display().to_string());
    let path = s.files.dir.join("server.conf");
    std::fs::write(&path, text).expect("write conf");
    let mut o = Options::default();
    let warnings = rnats_server::config::load_file(&path, &mut o).expect("config loads");
    assert!(warnings.iter().all(|w| !w.contains("tls")), "{warnings:?}");
    o.host = "127.0.0.1".into();
    o.port = -1;
    Server::start(o).await.expect("server starts")
}

/// Connect, read the plaintext INFO, upgrade.
async fn tls_client(
    srv: &Server,
    cfg: Arc<rustls::ClientConfig>,
) -> (String, std::io::Result<Tls>) {
    let mut tcp = TcpStream::connect(srv.client_addr).await.expect("connect");
    let info = line(&mut tcp).await.expect("INFO");
    (info, upgrade(tcp, cfg).await)
}

/// CONNECT without credentials and PING: must get PONG.
async fn connects<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(c: &mut S) {
    assert_eq!(
        roundtrip(c, "CONNECT {\"verbose\":false}\r\nPING\r\n")
            .await
            .as_deref(),
        Some("PONG\r\n")
    );
}

fn client_cert(s: &Setup, subject: &[(DnType, &str)], email: Option<&str>) -> Issued {
    let sans = email.map(certs::email_san).into_iter().collect();
    s.ca.issue(subject, sans)
}

#[tokio::test]
async fn info_in_plaintext_then_tls_with_a_verified_client_certificate() {
    let s = setup("verify");
    let srv = start(
        &s,
        "tls { cert_file: \"$CERT\", key_file: \"$KEY\", ca_file: \"$CA\", verify: true }\n\
         authorization { user: derek, password: porkchop }",
    )
    .await;
    let alice = client_cert(&s, &[(DnType::CommonName, "alice")], None);
    let (info, tls) = tls_client(&srv, client_config(&s.ca.pem(), Some(&alice))).await;
    assert!(info.contains("\"tls_required\":true"), "{info}");
    assert!(info.contains("\"tls_verify\":true"), "{info}");
    assert!(!info.contains("tls_available"), "{info}");
    let mut tls = tls.expect("handshake");
    let pong = roundtrip(
        &mut tls,
        "CONNECT {\"verbose\":false,\"user\":\"derek\",\"pass\":\"porkchop\"}\r\nPING\r\n",
    )
    .await;
    assert_eq!(pong.as_deref(), Some("PONG\r\n"));
    // The auth timeout grows with the TLS timeout (2 s + 1 s) when none is configured.
    assert_eq!(srv.opts().effective_auth_timeout(), Duration::from_secs(3));
    // /connz shows the session; the peer certificates only with auth=1.
    let c = rnats_server::monitor::connz::connz(
        &srv,
        &rnats_server::monitor::connz::ConnzOptions {
            username: true,
            ..Default::default()
        },
    );
    let conns = c.connections.expect("connections");
    let ci = &conns[0];
    assert_eq!(ci.tls_version, "1.3");
    assert!(
        ci.tls_cipher_suite.starts_with("TLS_"),
        "{}",
        ci.tls_cipher_suite
    );
    assert!(!ci.tls_first);
    assert_eq!(ci.tls_peer_certs.len(), 1);
    assert_eq!(ci.tls_peer_certs[0].subject, "CN=alice");
    assert_eq!(ci.tls_peer_certs[0].cert_sha256.len(), 64);
    srv.shutdown().await;
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused_when_verify_is_on() {
    let s = setup("nocert");
    let srv = start(
        &s,
        "tls { cert_file: \"$CERT\", key_file: \"$KEY\", ca_file: \"$CA\", verify: true }",
    )
    .await;
    let (_, tls) = tls_client(&srv, client_config(&s.ca.pem(), None)).await;
    // With TLS 1.3 the client may only learn it at its first read.
    if let Ok(mut t) = tls {
        assert_eq!(roundtrip(&mut t, "PING\r\n").await, None);
    }
    let deadline = Instant::now() + T;
    while srv.stats.auth.rejections("client_cert_missing") == 0 {
        assert!(
            Instant::now() < deadline,
            "reason client_cert_missing counted"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn ca_file_without_verify_asks_for_no_client_certificate() {
    let s = setup("noverify");
    let srv = start(
        &s,
        "tls { cert_file: \"$CERT\", key_file: \"$KEY\", ca_file: \"$CA\" }",
    )
    .await;
    let (info, tls) = tls_client(&srv, client_config(&s.ca.pem(), None)).await;
    assert!(!info.contains("tls_verify"), "{info}");
    let mut tls = tls.expect("handshake without a client certificate");
    connects(&mut tls).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn a_plaintext_client_is_closed_without_a_word() {
    let s = setup("plain");
    let srv = start(&s, "tls { cert_file: \"$CERT\", key_file: \"$KEY\" }").await;
    let mut tcp = TcpStream::connect(srv.client_addr).await.expect("connect");
    let info = line(&mut tcp).await.expect("INFO");
    assert!(info.contains("\"tls_required\":true"));
    tcp.write_all(b"CONNECT {}\r\nPING\r\n").await.expect("w");
    let mut rest = Vec::new();
    let n = timeout(T, tcp.read_to_end(&mut rest))
        .await
        .expect("closed");
    assert!(n.is_ok());
    assert!(rest.is_empty(), "no bytes after INFO: {rest:?}");
    assert_eq!(srv.stats.auth.rejections("tls_required"), 1);
    srv.shutdown().await;
}

#[tokio::test]
async fn handshake_first_sends_info_over_tls_and_closes_clients_that_wait() {
    let s = setup("first");
    let srv = start(
        &s,
        "tls { cert_file: \"$CERT\", key_file: \"$KEY\", handshake_first: true, timeout: 0.5 }",
    )
    .await;
    let tcp = TcpStream::connect(srv.client_addr).await.expect("connect");
    let mut tls = upgrade(tcp, client_config(&s.ca.pem(), None))
        .await
        .expect("handshake first");
    let info = line(&mut tls).await.expect("INFO over TLS");
    assert!(info.contains("\"tls_required\":true"), "{info}");
    connects(&mut tls).await;
    let c = rnats_server::monitor::connz::connz(&srv, &Default::default());
    assert!(c.connections.expect("conns")[0].tls_first);
    // A client that waits for INFO gets nothing and is closed after tls.timeout.
    let started = Instant::now();
    let mut waiting = TcpStream::connect(srv.client_addr).await.expect("connect");
    let mut got = Vec::new();
    timeout(T, waiting.read_to_end(&mut got))
        .await
        .expect("closed")
        .ok();
    assert!(got.is_empty(), "{got:?}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(450) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn handshake_first_with_fallback_sends_plaintext_info_to_a_silent_client() {
    let s = setup("fallback");
    let srv = start(
        &s,
        "tls { cert_file: \"$CERT\", key_file: \"$KEY\", handshake_first: 300ms }",
    )
    .await;
    let started = Instant::now();
    let (info, tls) = tls_client(&srv, client_config(&s.ca.pem(), None)).await;
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(280), "{waited:?}");
    assert!(info.contains("\"tls_required\":true"), "{info}");
    let mut tls = tls.expect("handshake after INFO");
    connects(&mut tls).await;
    // A client that starts TLS at once gets INFO over TLS.
    let tcp = TcpStream::connect(srv.client_addr).await.expect("connect");
    let mut first = upgrade(tcp, client_config(&s.ca.pem(), None))
        .await
        .expect("handshake first");
    assert!(line(&mut first).await.expect("INFO").starts_with("INFO {"));
    srv.shutdown().await;
}

#[tokio::test]
async fn allow_non_tls_serves_both() {
    let s = setup("mixed");
    let srv = start(
        &s,
        "tls { cert_file: \"$CERT\", key_file: \"$KEY\" }\nallow_non_tls: true",
    )
    .await;
    let mut tcp = TcpStream::connect(srv.client_addr).await.expect("connect");
    let info = line(&mut tcp).await.expect("INFO");
    assert!(info.contains("\"tls_available\":true"), "{info}");
    assert!(!info.contains("tls_required"), "{info}");
    connects(&mut tcp).await;
    let (_, tls) = tls_client(&srv, client_config(&s.ca.pem(), None)).await;
    let mut tls = tls.expect("TLS in mixed mode");
    connects(&mut tls).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn verify_and_map_takes_the_user_and_its_permissions_from_the_certificate() {
    let s = setup("map");
    let srv = start(
        &s,
        "tls { cert_file: \"$CERT\", key_file: \"$KEY\", ca_file: \"$CA\", verify_and_map: true }\n\
         authorization { users: [\n\
           { user: \"alice@example.org\", permissions: { publish: \"a.>\" } }\n\
           { user: \"CN=bob,OU=eng,O=Acme\\\\, Inc.,C=US\" }\n\
         ] }",
    )
    .await;
    // The email SAN names alice; her permissions apply; a `user` in CONNECT is ignored.
    let alice = client_cert(
        &s,
        &[(DnType::CommonName, "alice")],
        Some("alice@example.org"),
    );
    let (info, tls) = tls_client(&srv, client_config(&s.ca.pem(), Some(&alice))).await;
    assert!(info.contains("\"tls_verify\":true"), "{info}");
    let mut tls = tls.expect("handshake");
    assert_eq!(
        roundtrip(
            &mut tls,
            "CONNECT {\"verbose\":false,\"user\":\"mallory\"}\r\nPING\r\n"
        )
        .await
        .as_deref(),
        Some("PONG\r\n")
    );
    assert_eq!(
        roundtrip(&mut tls, "PUB b.x 1\r\nx\r\nPING\r\n")
            .await
            .as_deref(),
        Some("-ERR 'Permissions Violation for Publish to \"b.x\"'\r\n")
    );
    // The subject, as Go renders it: its fixed order (not the certificate's), escaping.
    let bob = client_cert(
        &s,
        &[
            (DnType::CountryName, "US"),
            (DnType::OrganizationName, "Acme, Inc."),
            (DnType::CommonName, "bob"),
            (DnType::OrganizationalUnitName, "eng"),
        ],
        None,
    );
    let (_, tls) = tls_client(&srv, client_config(&s.ca.pem(), Some(&bob))).await;
    let mut tls = tls.expect("handshake");
    connects(&mut tls).await;
    // Nobody is named by this one.
    let eve = client_cert(&s, &[(DnType::CommonName, "eve")], Some("eve@example.org"));
    let (_, tls) = tls_client(&srv, client_config(&s.ca.pem(), Some(&eve))).await;
    let mut tls = tls.expect("handshake");
    assert_eq!(
        roundtrip(&mut tls, "CONNECT {\"verbose\":false}\r\nPING\r\n")
            .await
            .as_deref(),
        Some("-ERR 'Authorization Violation'\r\n")
    );
    assert_eq!(srv.stats.auth.rejections("client_cert_unmapped"), 1);
    srv.shutdown().await;
}

#[tokio::test]
async fn pinned_certs_admit_only_the_pinned_key() {
    let s = setup("pinned");
    let good = client_cert(&s, &[(DnType::CommonName, "good")], None);
    let bad = client_cert(&s, &[(DnType::CommonName, "bad")], None);
    let spki = |i: &Issued| {
        let der = rustls_pki_types::pem::PemObject::from_pem_slice(i.cert_pem.as_bytes())
            .map(|c: rustls_pki_types::CertificateDer<'static>| c.to_vec())
            .expect("der");
        let (_, c) = x509_parser::parse_x509_certificate(&der).expect("parse");
        rnats_server::tls::sha256_hex(c.public_key().raw)
    };
    let conf = format!(
        "tls {{ cert_file: \"$CERT\", key_file: \"$KEY\", ca_file: \"$CA\", verify: true, \
         pinned_certs: [\"{}\"] }}",
        spki(&good).to_uppercase()
    );
    let srv = start(&s, &conf).await;
    let (_, tls) = tls_client(&srv, client_config(&s.ca.pem(), Some(&good))).await;
    let mut tls = tls.expect("pinned key");
    connects(&mut tls).await;
    let (_, tls) = tls_client(&srv, client_config(&s.ca.pem(), Some(&bad))).await;
    if let Ok(mut t) = tls {
        assert_eq!(roundtrip(&mut t, "CONNECT {}\r\nPING\r\n").await, None);
    }
    assert_eq!(srv.stats.auth.rejections("client_cert_not_pinned"), 1);
    srv.shutdown().await;
}

#[tokio::test]
async fn config_errors_name_the_problem() {
    let s = setup("errors");
    let cases = [
        (
            "tls { key_file: \"$KEY\" }",
            "missing 'cert_file' in TLS configuration",
        ),
        (
            "tls { cert_file: \"$CERT\" }",
            "missing 'key_file' in TLS configuration",
        ),
        (
            "tls { cert_file: \"/nope.pem\", key_file: \"$KEY\" }",
            "error parsing X509 certificate/key pair: open /nope.pem: no such file or directory",
        ),
        (
            "tls { cert_file: \"$CERT\", key_file: \"$KEY\", cipher_suites: [\"FOO\"] }",
            "unrecognized cipher FOO",
        ),
        (
            "tls { cert_file: \"$CERT\", key_file: \"$KEY\", cipher_suites: [\"TLS_RSA_WITH_AES_128_CBC_SHA\"] }",
            "not supported by rnats",
        ),
        (
            "tls { cert_file: \"$CERT\", key_file: \"$KEY\", curve_preferences: [\"P256\"] }",
            "unrecognized curve preference P256",
        ),
        (
            "tls { cert_file: \"$CERT\", key_file: \"$KEY\", min_version: \"1.1\" }",
            "unsupported TLS version: TLS 1.1",
        ),
        (
            "tls { cert_file: \"$CERT\", key_file: \"$KEY\", handshake_first: \"maybe\" }",
            "field \"handshake_first\"'s value \"maybe\" is invalid",
        ),
        (
            "tls { cert_file: \"$CERT\", key_file: \"$KEY\", foo: 1 }",
            "error parsing tls config, unknown field \"foo\"",
        ),
        (
            "tls { cert_file: \"$CERT\", key_file: \"$KEY\", pinned_certs: [\"abc\"] }",
            "'pinned_certs' key abc does not look like hex-encoded sha256",
        ),
        (
            "tls { cert_file: \"$CERT\", key_file: \"$KEY\", connection_rate_limit: 10 }",
            "not supported yet",
        ),
    ];
    for (i, (conf, want)) in cases.iter().enumerate() {
        let text = conf
            .replace("$CERT", &s.files.cert.display().to_string())
            .replace("$KEY", &s.files.key.display().to_string());
        let path = s.files.dir.join(format!("bad{i}.conf"));
        std::fs::write(&path, &text).expect("write");
        let mut o = Options::default();
        let err = rnats_server::config::load_file(&path, &mut o).expect_err(conf);
        let msg = err.to_string();
        assert!(msg.contains(want), "{conf}: {msg}");
        assert!(msg.contains(&format!("bad{i}.conf:1:")), "position: {msg}");
    }
}

#[tokio::test]
async fn reloading_new_tls_material_keeps_connected_clients() {
    let s = setup("reload");
    let srv = start(
        &s,
        "host: 127.0.0.1\ntls { cert_file: \"$CERT\", key_file: \"$KEY\" }",
    )
    .await;
    let (_, tls) = tls_client(&srv, client_config(&s.ca.pem(), None)).await;
    let mut old = tls.expect("handshake");
    connects(&mut old).await;
    // A new CA signs a new server certificate, written over the old files.
    let ca2 = certs::ca("rnats test CA 2");
    ca2.server_files(&s.files.dir);
    let changes = rnats_server::config::reload::try_reload(&srv).expect("reload");
    assert!(changes.iter().any(|c| c == "tls = enabled"), "{changes:?}");
    // New clients see the new certificate; the old CA no longer verifies it.
    let (_, tls) = tls_client(&srv, client_config(&ca2.pem(), None)).await;
    let mut new = tls.expect("handshake with the new certificate");
    connects(&mut new).await;
    let (_, tls) = tls_client(&srv, client_config(&s.ca.pem(), None)).await;
    assert!(
        tls.is_err(),
        "the old CA does not verify the new certificate"
    );
    // The client connected before the reload is still served.
    assert_eq!(
        roundtrip(&mut old, "PING\r\n").await.as_deref(),
        Some("PONG\r\n")
    );
    // allow_non_tls cannot change on reload.
    let conf = s.files.dir.join("server.conf");
    let text = std::fs::read_to_string(&conf).expect("read") + "\nallow_non_tls: true\n";
    std::fs::write(&conf, text).expect("write");
    let err = rnats_server::config::reload::try_reload(&srv).expect_err("fixed");
    assert!(err.to_string().contains("AllowNonTLS"), "{err}");
    srv.shutdown().await;
}

#[tokio::test]
async fn the_monitor_serves_https_with_the_tls_material() {
    let s = setup("https");
    let srv = start(
        &s,
        "https: \"127.0.0.1:-1\"\ntls { cert_file: \"$CERT\", key_file: \"$KEY\", ca_file: \"$CA\", verify: true }",
    )
    .await;
    let addr = srv.http_addr.lock().expect("lock").expect("monitor bound");
    // No client certificate is needed for the monitor, even with verify.
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let mut tls = upgrade(tcp, client_config(&s.ca.pem(), None))
        .await
        .expect("https handshake");
    tls.write_all(b"GET /varz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("w");
    let mut body = Vec::new();
    timeout(T, tls.read_to_end(&mut body))
        .await
        .expect("t")
        .ok();
    let text = String::from_utf8_lossy(&body);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let json = &text[text.find("\r\n\r\n").expect("body") + 4..];
    let v: serde_json::Value = serde_json::from_str(json).expect("varz json");
    assert_eq!(v["https_port"], addr.port());
    assert_eq!(v["http_port"], 0);
    assert_eq!(v["tls_required"], true);
    assert_eq!(v["tls_verify"], true);
    assert_eq!(v["auth_timeout"], 3.0);
    assert_eq!(v["tls_timeout"], 2.0);
    // rcgen's default validity ends in 4096.
    assert_eq!(v["tls_cert_not_after"], "4096-01-01T00:00:00Z");
    // Plain HTTP is not served there.
    let mut plain = TcpStream::connect(addr).await.expect("connect");
    plain
        .write_all(b"GET /varz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("w");
    let mut got = Vec::new();
    let _ = timeout(T, plain.read_to_end(&mut got)).await;
    assert!(!String::from_utf8_lossy(&got).contains("server_id"));
    srv.shutdown().await;
}

#[tokio::test]
async fn https_needs_tls_and_excludes_http() {
    let mut o = Options {
        https_port: -1,
        ..Options::default()
    };
    assert_eq!(
        o.build_tls().expect_err("no tls").to_string(),
        "Can't start monitoring: TLS cert and key required for HTTPS"
    );
    o.http_port = 8222;
    assert_eq!(
        o.build_tls().expect_err("both").to_string(),
        "can't specify both HTTP (8222) and HTTPs (-1) ports"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_subscriber_that_pauses_still_gets_the_end_of_a_burst() {
    let s = setup("burst");
    let srv = start(&s, "tls { cert_file: \"$CERT\", key_file: \"$KEY\" }").await;
    let (_, tls) = tls_client(&srv, client_config(&s.ca.pem(), None)).await;
    let mut sub = tls.expect("handshake");
    assert_eq!(
        roundtrip(
            &mut sub,
            "CONNECT {\"verbose\":false}\r\nSUB burst 1\r\nPING\r\n"
        )
        .await
        .as_deref(),
        Some("PONG\r\n")
    );
    let (_, tls) = tls_client(&srv, client_config(&s.ca.pem(), None)).await;
    let mut publisher = tls.expect("handshake");
    connects(&mut publisher).await;
    let n = 1048;
    let frame = format!("PUB burst 1000\r\n{}\r\n", "x".repeat(1000));
    publisher
        .write_all(frame.repeat(n).as_bytes())
        .await
        .expect("publish");
    publisher.flush().await.expect("flush");
    // Not reading for a while lets the server's socket fill while rustls holds records.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let want = n * "MSG burst 1 1000\r\n\r\n".len() + n * 1000;
    let mut got = 0;
    let mut buf = vec![0u8; 64 * 1024];
    while got < want {
        let k = timeout(Duration::from_secs(2), sub.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("stuck at {got} of {want} bytes"))
            .expect("read");
        assert!(k > 0);
        got += k;
    }
    assert_eq!(got, want);
    srv.shutdown().await;
}

#[tokio::test]
async fn tls_off_by_flag_keeps_certificate_users_closed() {
    let s = setup("tlsoff");
    let path = s.files.dir.join("server.conf");
    let text = format!(
        "host: 127.0.0.1\nport: -1\ntls {{ cert_file: \"{}\", key_file: \"{}\", ca_file: \"{}\", verify_and_map: true }}\n\
         authorization {{ users: [ {{ user: \"CN=alice\" }} ] }}\n",
        s.files.cert.display(),
        s.files.key.display(),
        s.files.ca.display()
    );
    std::fs::write(&path, text).expect("write");
    let mut o = Options::default();
    rnats_server::config::load_file(&path, &mut o).expect("loads");
    assert_eq!(
        o.tls_options.as_ref().map(|t| t.handshake_first),
        Some(rnats_server::tls::HandshakeFirst::Off)
    );
    let cli = rnats_server::cli::Cli::parse_args(
        ["rnats-server", "--tls=false"].map(std::ffi::OsString::from),
    )
    .expect("flags");
    cli.apply(&mut o);
    assert!(o.tls_options.is_none());
    let srv = Server::start(o).await.expect("start");
    let mut c = TcpStream::connect(srv.client_addr).await.expect("connect");
    let _ = line(&mut c).await.expect("INFO");
    assert_eq!(
        roundtrip(
            &mut c,
            "CONNECT {\"verbose\":false,\"user\":\"CN=alice\"}\r\nPING\r\n"
        )
        .await
        .as_deref(),
        Some("-ERR 'Authorization Violation'\r\n")
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn handshakes_in_progress_count_against_max_connections() {
    let s = setup("maxconn");
    let srv = start(
        &s,
        "max_connections: 2\ntls { cert_file: \"$CERT\", key_file: \"$KEY\" }",
    )
    .await;
    let cfg = client_config(&s.ca.pem(), None);
    let (_, first) = tls_client(&srv, cfg.clone()).await;
    let mut first = first.expect("handshake");
    connects(&mut first).await;
    // The second has INFO and has not started its handshake yet.
    let mut second = TcpStream::connect(srv.client_addr).await.expect("connect");
    line(&mut second).await.expect("INFO");
    // The third is refused before any handshake, in plaintext, after its INFO.
    let mut third = TcpStream::connect(srv.client_addr).await.expect("connect");
    let info = line(&mut third).await.expect("INFO");
    assert!(info.starts_with("INFO "), "{info}");
    assert_eq!(
        line(&mut third).await.as_deref(),
        Some("-ERR 'maximum connections exceeded'\r\n")
    );
    assert_eq!(line(&mut third).await, None);
    // The second finishes its handshake and is served.
    let mut second = upgrade(second, cfg).await.expect("handshake");
    connects(&mut second).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn a_handshake_that_ends_after_shutdown_is_not_served() {
    let s = setup("late");
    let srv = start(&s, "tls { cert_file: \"$CERT\", key_file: \"$KEY\" }").await;
    let mut tcp = TcpStream::connect(srv.client_addr).await.expect("connect");
    line(&mut tcp).await.expect("INFO");
    srv.shutdown().await;
    if let Ok(mut c) = upgrade(tcp, client_config(&s.ca.pem(), None)).await {
        let _ = c.write_all(b"CONNECT {}\r\nPING\r\n").await;
        assert_eq!(line(&mut c).await, None, "no PONG after shutdown");
    }
    assert_eq!(srv.num_clients(), 0);
}
