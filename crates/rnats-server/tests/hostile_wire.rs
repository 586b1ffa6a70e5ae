//! Hostile clients on the wire, differentially: each attack runs against rnats-server and the
//! reference nats-server 2.15 (both as subprocesses on the same configuration).

use rnats_testkit::ServerProcess;
use std::time::Duration;

mod common;
use common::hostile::*;

/// rnats and the reference on the same configuration: [(name, process)].
fn both(tag: &str, conf: &str, args: &[&str]) -> [(&'static str, ServerProcess); 2] {
    [
        ("rnats", rnats(tag, conf, args)),
        ("reference", reference(tag, conf, args)),
    ]
}

/// 7b. A burst of connections while the server is not accepting (stopped with SIGSTOP: a busy
/// accept loop, at its extreme) waits in the kernel's accept queue, which is as long as the
/// system allows (`net.core.somaxconn`, the backlog Go listens with). With a short backlog the
/// connections past it are dropped and wait for SYN retransmits (1 s, 3 s, 7 s…). Once the
/// server runs again, every one of them gets its INFO.
#[test]
fn a_connection_burst_fits_the_listen_backlog_like_the_reference() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    use std::io::Read;
    let somaxconn: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(128);
    // The accept queue holds backlog + 1 connections; stay under it.
    let n = somaxconn.min(500);
    for (name, s) in both("burst", "max_connections: 1000\n", &[]) {
        let pid = Pid::from_raw(s.pid() as i32);
        kill(pid, Signal::SIGSTOP).expect("stop");
        let addr = local(s.port);
        let started = std::time::Instant::now();
        let conns: Vec<std::net::TcpStream> = (0..n)
            .map(|i| {
                std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3)).unwrap_or_else(
                    |e| {
                        let _ = kill(pid, Signal::SIGCONT);
                        panic!("{name}: connection {i} of {n} not queued: {e}")
                    },
                )
            })
            .collect();
        let queued = started.elapsed();
        kill(pid, Signal::SIGCONT).expect("continue");
        assert!(
            queued < Duration::from_millis(900),
            "{name}: {n} connections took {queued:?} (dropped SYNs)"
        );
        for (i, mut c) in conns.into_iter().enumerate() {
            c.set_read_timeout(Some(T)).expect("timeout");
            let mut buf = [0u8; 5];
            c.read_exact(&mut buf)
                .unwrap_or_else(|e| panic!("{name}: connection {i}: {e}"));
            assert_eq!(&buf, b"INFO ", "{name}: connection {i}");
        }
    }
}
