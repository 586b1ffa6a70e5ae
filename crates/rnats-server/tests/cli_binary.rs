//! The `rnats-server` binary as client harnesses drive it: flags in Go's forms, the log lines
//! they wait for, the ports and pid files, `-v`, and signals (also sent with `--signal`).

use rnats_testkit::ServerProcess;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_rnats-server"))
}

#[test]
fn version_line() {
    for flag in ["-v", "--version"] {
        let out = Command::new(bin()).arg(flag).output().expect("run");
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!(
                "nats-server: v2.15.0 (rnats {})\n",
                env!("CARGO_PKG_VERSION")
            )
        );
    }
}

#[test]
fn readiness_lines_ports_file_and_monitor() {
    let s = ServerProcess::start(bin(), &["-m", "-1", "-n", "cli-test", "-DV"]).expect("start");
    let log = s.log();
    let ready = log.find("[INF] Server is ready").expect("ready line");
    let listening = log
        .find(&format!(
            "[INF] Listening for client connections on 0.0.0.0:{}",
            s.port
        ))
        .expect("listening line");
    let http = s.http_port.expect("monitoring port in the ports file");
    let monitor = log
        .find(&format!("[INF] Starting http monitor on 0.0.0.0:{http}"))
        .expect("monitor line");
    assert!(monitor < listening && listening < ready, "{log}");
    assert!(log.contains("[INF]   Name:     cli-test"), "{log}");
    // Log lines carry nats-server's prefix: [pid] date time [LVL].
    let first = log.lines().next().expect("a line");
    assert!(first.starts_with(&format!("[{}] ", s.pid())), "{first}");
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", http)).expect("http");
    use std::io::{Read, Write};
    raw.write_all(b"GET /varz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("w");
    let mut body = String::new();
    raw.read_to_string(&mut body).expect("r");
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    assert!(body.contains("\"server_name\": \"cli-test\""), "{body}");
    assert!(body.contains(&format!("\"port\": {}", s.port)), "{body}");
}

#[test]
fn sigterm_shuts_down_cleanly() {
    let mut s = ServerProcess::start(bin(), &[]).expect("start");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(s.pid() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("kill");
    let status = s.wait_exit(Duration::from_secs(5)).expect("exits");
    assert!(status.success());
    let log = s.log();
    assert!(log.contains("[INF] Trapped \"terminated\" signal"), "{log}");
    assert!(log.contains("[INF] Server Exiting.."), "{log}");
}

#[test]
fn signal_flag_with_pid_file_and_log_file() {
    let dir = std::env::temp_dir().join(format!("rnats-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let pid = dir.join("s.pid");
    let logf = dir.join("s.log");
    let mut s = ServerProcess::start(
        bin(),
        &[
            "-P",
            pid.to_str().expect("p"),
            "-l",
            logf.to_str().expect("l"),
        ],
    )
    .expect("start");
    assert_eq!(
        std::fs::read_to_string(&pid).expect("pid file").trim(),
        s.pid().to_string()
    );
    let log = std::fs::read_to_string(&logf).expect("log file");
    assert!(log.contains("Server is ready"), "{log}");
    // Lame duck through --signal ldm=<pidfile>: the server stops accepting.
    let out = Command::new(bin())
        .arg(format!("--signal=ldm={}", pid.display()))
        .output()
        .expect("signal");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut seen = false;
    for _ in 0..200 {
        if std::fs::read_to_string(&logf)
            .unwrap_or_default()
            .contains("Entering lame duck mode, stop accepting new clients")
        {
            seen = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(seen);
    // SIGTERM is ignored in lame duck mode; quit (SIGINT) stops it.
    let out = Command::new(bin())
        .args(["-sl", &format!("quit={}", s.pid())])
        .output()
        .expect("signal");
    assert!(out.status.success());
    assert!(
        s.wait_exit(Duration::from_secs(5))
            .expect("exits")
            .success()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_flag_fails() {
    let out = Command::new(bin())
        .arg("--no-such-flag")
        .output()
        .expect("run");
    assert!(!out.status.success());
}

#[test]
fn config_file_and_flag_precedence() {
    let dir = std::env::temp_dir().join(format!("rnats-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("s.conf");
    std::fs::write(
        &conf,
        "# a typical harness config\nlisten: 127.0.0.1:4222\nserver_name: fromconf\n\
         max_payload: 4KB\nping_interval: \"30s\"\njetstream { store_dir: /tmp/none }\n",
    )
    .expect("write");
    let c = conf.to_str().expect("path");
    // -p -1 (added by the harness) overrides the file's port; the file's other keys apply.
    let s = ServerProcess::start(bin(), &["-c", c]).expect("start");
    let mut raw = s.raw();
    let info = String::from_utf8(raw.read_info()).expect("utf8");
    assert!(info.contains("\"server_name\":\"fromconf\""), "{info}");
    assert!(info.contains("\"max_payload\":4096"), "{info}");
    assert!(info.contains("\"host\":\"127.0.0.1\""), "{info}");
    assert!(
        s.log().contains("not supported yet: jetstream"),
        "{}",
        s.log()
    );
    drop(s);
    let s = ServerProcess::start(bin(), &["-c", c, "-n", "fromcli"]).expect("start");
    let info = String::from_utf8(s.raw().read_info()).expect("utf8");
    assert!(info.contains("\"server_name\":\"fromcli\""), "{info}");
    drop(s);
    // -t validates and prints the digest; an invalid file fails with file:line:col.
    let out = Command::new(bin())
        .args(["-t", "-c", c])
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is valid (sha256:"));
    let bad = dir.join("bad.conf");
    std::fs::write(&bad, "port: 4222\nnot_a_key: 1\n").expect("write");
    let out = Command::new(bin())
        .args(["-c", bad.to_str().expect("p")])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.conf:2:1: unknown field \"not_a_key\""),
        "{err}"
    );
    // `--tls` without a certificate does not start a server that can never complete a
    // handshake.
    let out = Command::new(bin())
        .args(["--tls", "-p", "-1"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("missing 'cert_file' in TLS configuration")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rejections_are_logged_with_their_reason_and_no_secret() {
    let s = ServerProcess::start(bin(), &["--auth", "s3cr3t-token"]).expect("start");
    let mut raw = s.raw();
    let info = String::from_utf8(raw.read_info()).expect("utf8");
    assert!(info.contains("\"auth_required\":true"), "{info}");
    raw.send(b"CONNECT {\"verbose\":false,\"auth_token\":\"guess-123\"}\r\n");
    let (out, closed) = raw.read_for(Duration::from_secs(2));
    assert!(closed);
    assert_eq!(out, b"-ERR 'Authorization Violation'\r\n");
    let mut log = String::new();
    for _ in 0..100 {
        log = s.log();
        if log.contains("authentication rejected") {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(log.contains("[ERR] 127.0.0.1:"), "{log}");
    assert!(
        log.contains("authentication error - Token \"[REDACTED]\""),
        "{log}"
    );
    assert!(
        log.contains(
            "authentication rejected: reason=token_mismatch account=- user=-: token mismatch"
        ),
        "{log}"
    );
    assert!(
        !log.contains("s3cr3t-token") && !log.contains("guess-123"),
        "{log}"
    );
}
