//! Hostile clients on the wire, differentially: each attack runs against rnats-server and the
//! reference nats-server 2.15 (both as subprocesses on the same configuration). The attacker's
//! answer (its `-ERR` and/or the close) must be the reference's, byte for byte, and an innocent
//! client connected before the attack must keep getting PING→PONG and its own messages back,
//! promptly, during and after it. Memory under these attacks is measured in `hostile_memory.rs`;
//! JWT attacks are in `hostile_auth.rs`, floods (SUBs, connections, a slow consumer) in
//! `hostile_flood.rs`.
//!
//! Every wait is bounded (a deadline per read); nothing sleeps to synchronize: PING/PONG is the
//! barrier, and timers are observed by waiting for their effect with a deadline.

use rnats_proto::wire;
use rnats_testkit::exchange;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

mod common;
use common::hostile::*;

fn counter(metrics: &str, line_start: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(line_start))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// 1. Slowloris: a CONNECT that never ends, a client that never sends anything, and one that
/// drips a byte every 50 ms. With authentication required each is cut at `authorization.timeout`
/// with the reference's `-ERR 'Authentication Timeout'` (not at its own pace), and the reason is
/// counted as `auth_timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_is_cut_at_the_auth_timeout_like_the_reference() {
    let conf = "authorization { user: a, password: b, timeout: 0.5 }\n";
    let servers = both("slowloris", conf, &["-m", "-1"]);
    let mut answers = Vec::new();
    for (name, s) in &servers {
        let addr = local(s.port);
        let mut innocent = Innocent::new(addr, r#"{"verbose":false,"user":"a","pass":"b"}"#).await;
        let started = Instant::now();
        let mut partial = connect(addr).await;
        partial.write_all(b"CONNECT {\"user\":").await.expect("w");
        let mut silent = connect(addr).await;
        let mut drip = connect(addr).await;
        let drip_task = tokio::spawn(async move {
            let line = b"CONNECT {\"verbose\":false,\"user\":\"a\",\"pass\":\"b\"}\r\n";
            let mut sent = 0;
            for b in line.iter().cycle().take(200) {
                if drip.write_all(&[*b]).await.is_err() {
                    break;
                }
                sent += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (drip, sent)
        });
        // The attackers are still connected: the innocent client is served meanwhile.
        innocent.check().await;
        let mut got = Vec::new();
        for c in [&mut partial, &mut silent] {
            got.push(read_to_close(c, T).await);
        }
        let (mut drip, sent) = drip_task.await.expect("join");
        got.push(read_to_close(&mut drip, T).await);
        let elapsed = started.elapsed();
        for g in &got {
            assert_eq!(
                g,
                &err(wire::ERR_AUTHENTICATION_TIMEOUT),
                "{name}: {}",
                show(g)
            );
        }
        assert!(
            elapsed >= Duration::from_millis(450) && elapsed < Duration::from_secs(3),
            "{name}: cut after {elapsed:?}"
        );
        assert!(sent < 60, "{name}: the drip was cut early ({sent} bytes)");
        innocent.check().await;
        innocent.fresh().await;
        if *name == "rnats" {
            let metrics = common::http::get(s.http_port.expect("monitor"), "/metrics").1;
            assert_eq!(
                counter(
                    &metrics,
                    "rnats_auth_rejections_total{reason=\"auth_timeout\"}"
                ),
                3,
                "{metrics}"
            );
        }
        answers.push(got);
    }
    assert_eq!(answers[0], answers[1], "rnats vs reference");
}

/// 1b. Two hundred slowloris connections at once do not stop an innocent client (its round
/// trips stay prompt while they hang), and every one of them is cut at the auth timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_slowloris_connections_do_not_stop_an_innocent_client() {
    let conf = "authorization { user: a, password: b, timeout: 1 }\n";
    for (name, s) in both("slowloris200", conf, &[]) {
        let addr = local(s.port);
        let creds = r#"{"verbose":false,"user":"a","pass":"b"}"#;
        let mut innocent = Innocent::new(addr, creds).await;
        let mut attackers = Vec::new();
        for _ in 0..200 {
            let mut c = connect(addr).await;
            c.write_all(b"CONNECT {\"verbose\":false,\"us")
                .await
                .expect("w");
            attackers.push(c);
        }
        let rtt = innocent.check().await;
        let fresh = innocent.fresh().await;
        assert!(rtt < INNOCENT_RTT && fresh < INNOCENT_RTT, "{name}");
        let busy = innocent.spawn_loop();
        let reads = attackers
            .into_iter()
            .map(|mut c| tokio::spawn(async move { read_to_close(&mut c, T).await }));
        for r in reads {
            let got = r.await.expect("join");
            assert_eq!(got, err(wire::ERR_AUTHENTICATION_TIMEOUT), "{name}");
        }
        let (mut innocent, rounds, _) = busy.stop().await;
        assert!(rounds >= 1, "{name}");
        innocent.check().await;
        innocent.fresh().await;
    }
}

/// Write `prefix`, then `a`s in 4 KiB chunks without a line end until the server closes (or
/// 16 MiB were written). Returns (what the server answered, bytes written).
async fn endless_line(addr: SocketAddr, prefix: &[u8]) -> (Vec<u8>, usize) {
    let c = connect(addr).await;
    let (mut rd, mut wr) = c.into_split();
    let prefix = prefix.to_vec();
    let writer = tokio::spawn(async move {
        let mut sent = 0usize;
        if wr.write_all(&prefix).await.is_err() {
            return sent;
        }
        let chunk = vec![b'a'; 4096];
        while sent < 16 << 20 {
            if wr.write_all(&chunk).await.is_err() {
                break;
            }
            sent += chunk.len();
        }
        sent
    });
    let got = {
        let mut buf = Vec::new();
        let deadline = Instant::now() + T;
        let mut tmp = vec![0u8; 4096];
        loop {
            use tokio::io::AsyncReadExt;
            match tokio::time::timeout_at(deadline, rd.read(&mut tmp)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => buf.extend_from_slice(&tmp[..n]),
                Err(_) => panic!("not closed: {}", show(&buf)),
            }
        }
        buf
    };
    let sent = tokio::time::timeout(T, writer)
        .await
        .expect("the writer stops once the server closed")
        .expect("join");
    (got, sent)
}

/// 2. A control line that never ends is cut at `max_control_line` with the reference's
/// `-ERR 'maximum control line exceeded'` and a close, whatever op it is (and before CONNECT
/// too), long before the attacker ran out of bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_control_line_is_cut_like_the_reference() {
    let prefixes: &[&[u8]] = &[
        b"CONNECT {\"verbose\":false}\r\nPUB foo.",
        b"CONNECT {\"verbose\":false}\r\nSUB ",
        b"CONNECT {\"verbose\":false,\"headers\":true}\r\nHPUB x ",
        b"CONNECT {\"verbose\":false}\r\nUNSUB ",
        b"CONNECT {\"verbose\":false,\"name\":\"",
        b"SUB ",
        b"CONNECT {\"verbose\":false}\r\nINFO ",
        b"CONNECT {\"verbose\":false}\r\n-ERR ",
    ];
    let servers = both("endless", "max_control_line: 4096\n", &[]);
    let mut innocents = Vec::new();
    for (_, s) in &servers {
        innocents.push(Innocent::new(local(s.port), PLAIN).await);
    }
    for p in prefixes {
        let mut answers = Vec::new();
        for (i, (name, s)) in servers.iter().enumerate() {
            let (got, sent) = endless_line(local(s.port), p).await;
            assert!(sent < 16 << 20, "{name}: still reading after {sent} bytes");
            innocents[i].check().await;
            answers.push(got);
        }
        let what = String::from_utf8_lossy(p);
        assert_eq!(answers[0], answers[1], "{what}: rnats vs reference");
        assert_eq!(answers[0], err(wire::ERR_MAX_CONTROL_LINE), "{what}");
    }
    for i in &mut innocents {
        i.check().await;
        i.fresh().await;
    }
}

/// 3, 5, 9, 10: scripted attacks whose whole answer is compared with the reference's (INFO
/// masked; the read stops at the final PONG or at the close).
fn scripted_cases() -> Vec<(String, Vec<u8>)> {
    let c = b"CONNECT {\"verbose\":false,\"pedantic\":false}\r\n".to_vec();
    let ch = b"CONNECT {\"verbose\":false,\"headers\":true}\r\n".to_vec();
    let cp = b"CONNECT {\"verbose\":true,\"pedantic\":true}\r\n".to_vec();
    let cat = |a: &[u8], b: &[u8]| [a, b].concat();
    let nest = |n: usize| {
        [
            &b"CONNECT {\"verbose\":false,\"x\":"[..],
            &b"[".repeat(n),
            &b"]".repeat(n),
            b"}\r\n",
        ]
        .concat()
    };
    let named = |n: usize| {
        // A CONNECT whose argument is exactly `n` bytes.
        let fixed = "{\"verbose\":false,\"name\":\"\"}".len();
        format!(
            "CONNECT {{\"verbose\":false,\"name\":\"{}\"}}\r\n",
            "n".repeat(n - fixed)
        )
        .into_bytes()
    };
    let v: Vec<(&str, Vec<u8>)> = vec![
        // 3. Payload sizes over max_payload, refused on the control line.
        ("pub over max_payload", cat(&c, b"PUB foo 1048577\r\n")),
        ("pub nine digits", cat(&c, b"PUB foo 999999999\r\n")),
        ("pub ten digits", cat(&c, b"PUB foo 9999999999\r\n")),
        (
            "hpub total over max_payload",
            cat(&ch, b"HPUB foo 10 1048577\r\n"),
        ),
        (
            "hpub header over max_payload",
            cat(&ch, b"HPUB foo 1048577 1048577\r\n"),
        ),
        // 5. Header blocks that lie about their length.
        (
            "hpub header larger than total",
            cat(&ch, b"HPUB foo 20 10\r\n"),
        ),
        ("hpub negative header size", cat(&ch, b"HPUB foo -1 10\r\n")),
        (
            "hpub non-numeric header size",
            cat(&ch, b"HPUB foo x 10\r\n"),
        ),
        ("hpub hex header size", cat(&ch, b"HPUB foo 0xc 14\r\n")),
        ("hpub negative total", cat(&ch, b"HPUB foo 12 -14\r\n")),
        ("hpub missing total", cat(&ch, b"HPUB foo 12\r\n")),
        (
            "hpub header shorter than the block",
            cat(&ch, b"SUB foo 1\r\nHPUB foo 5 14\r\nNATS/1.0\r\n\r\nhi\r\n"),
        ),
        (
            "hpub header longer than the block",
            cat(
                &ch,
                b"SUB foo 1\r\nHPUB foo 14 14\r\nNATS/1.0\r\n\r\nhi\r\n",
            ),
        ),
        (
            "hpub header size zero",
            cat(&ch, b"SUB foo 1\r\nHPUB foo 0 14\r\nNATS/1.0\r\n\r\nhi\r\n"),
        ),
        (
            "hpub header not NATS/1.0",
            cat(&ch, b"SUB foo 1\r\nHPUB foo 4 6\r\nabcdhi\r\n"),
        ),
        (
            "hpub header without blank line",
            cat(&ch, b"SUB foo 1\r\nHPUB foo 10 12\r\nNATS/1.0\r\nhi\r\n"),
        ),
        (
            "hpub body longer than total",
            cat(
                &ch,
                b"SUB foo 1\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhihi\r\n",
            ),
        ),
        (
            "hpub body shorter than total",
            cat(
                &ch,
                b"SUB foo 1\r\nHPUB foo 12 16\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n",
            ),
        ),
        // 9. Control bytes, DEL, invalid UTF-8 in subjects, queues, sids and replies.
        (
            "nul in subject",
            cat(&c, b"SUB a\x00b 1\r\nPUB a\x00b 1\r\nx\r\n"),
        ),
        (
            "del in subject",
            cat(&c, b"SUB a\x7fb 1\r\nPUB a\x7fb 1\r\nx\r\n"),
        ),
        (
            "bytes over 0x80 in subject",
            cat(&c, b"SUB \xff\xfe.\x80 1\r\nPUB \xff\xfe.\x80 1\r\nx\r\n"),
        ),
        (
            "truncated utf8 and wildcard",
            cat(&c, b"SUB \xc3.* 1\r\nPUB \xc3.\xa9 1\r\nx\r\n"),
        ),
        (
            "valid utf8 subject",
            cat(
                &c,
                b"SUB caf\xc3\xa9.\xe2\x9c\x93 1\r\nPUB caf\xc3\xa9.\xe2\x9c\x93 1\r\nx\r\n",
            ),
        ),
        (
            "tab splits a subject",
            cat(&c, b"SUB a\tb 1\r\nPUB a\tb 1\r\nx\r\n"),
        ),
        (
            "cr inside a subject",
            cat(&c, b"SUB a\rb 1\r\nPUB a\rb 1\r\nx\r\n"),
        ),
        (
            "escape bytes in subject",
            cat(&c, b"SUB \x01\x02\x1b 1\r\nPUB \x01\x02\x1b 1\r\nx\r\n"),
        ),
        (
            "form feed and vertical tab",
            cat(
                &c,
                b"SUB a\x0cb 1\r\nSUB a\x0bb 2\r\nPUB a\x0cb 1\r\nx\r\nPUB a\x0bb 1\r\ny\r\n",
            ),
        ),
        (
            "nbsp in subject",
            cat(&c, b"SUB a\xc2\xa0b 1\r\nPUB a\xc2\xa0b 1\r\nx\r\n"),
        ),
        (
            "wildcards inside tokens",
            cat(&c, b"SUB a*b.>x 1\r\nPUB a*b.>x 1\r\nx\r\n"),
        ),
        (
            "nul tokens and a wildcard",
            cat(&c, b"SUB \x00.* 2\r\nPUB \x00.\x00 1\r\nx\r\n"),
        ),
        (
            "pedantic nul subject",
            cat(&cp, b"SUB a\x00b 1\r\nPUB a\x00b 1\r\nx\r\n"),
        ),
        (
            "pedantic high bytes",
            cat(&cp, b"SUB \xff 1\r\nPUB \xff 1\r\nx\r\n"),
        ),
        (
            "reply with nul and 0xff",
            cat(&c, b"SUB a 1\r\nPUB a r\x00\xff 1\r\nx\r\n"),
        ),
        (
            "queue with 0xff and nul",
            cat(&c, b"SUB a \xff\x00 1\r\nPUB a 1\r\nx\r\n"),
        ),
        (
            "sid of 0xff",
            cat(
                &c,
                b"SUB a \xff\r\nPUB a 1\r\nx\r\nUNSUB \xff\r\nPUB a 1\r\ny\r\n",
            ),
        ),
        (
            "hpub subject of 0xfe",
            cat(
                &ch,
                b"SUB \xfe 1\r\nHPUB \xfe 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
            ),
        ),
        ("nul before the op", b"\x00PING\r\n".to_vec()),
        ("0xff before the op", b"\xffPING\r\n".to_vec()),
        ("nul inside the op", b"PI\x00NG\r\n".to_vec()),
        ("0xff permission subject", cat(&c, b"SUB \xff _sys_ 1\r\n")),
        // 10. CONNECT JSON: nested and huge, within and beyond max_control_line (4096).
        ("connect nested 100", nest(100)),
        ("connect nested 200", nest(200)),
        ("connect nested 2000", nest(2000)),
        ("connect nested 3000 (over the line)", nest(3000)),
        (
            "connect 100k open brackets",
            [&b"CONNECT "[..], &b"[".repeat(100_000), b"\r\n"].concat(),
        ),
        (
            "connect nested in a known field",
            [
                &b"CONNECT {\"verbose\":"[..],
                &b"[".repeat(200),
                &b"]".repeat(200),
                b"}\r\n",
            ]
            .concat(),
        ),
        ("connect argument of 4096", named(4096)),
        ("connect argument of 4097", named(4097)),
        (
            "client INFO nested 200",
            cat(
                &c,
                &[
                    &b"INFO {\"x\":"[..],
                    &b"[".repeat(200),
                    &b"]".repeat(200),
                    b"}\r\n",
                ]
                .concat(),
            ),
        ),
        (
            "connect unterminated string",
            b"CONNECT {\"verbose\":false,\"name\":\"abc\r\n".to_vec(),
        ),
        (
            "connect invalid escape",
            b"CONNECT {\"verbose\":false,\"name\":\"\\x41\"}\r\n".to_vec(),
        ),
        (
            "connect lone surrogate",
            b"CONNECT {\"verbose\":false,\"name\":\"\\ud800\"}\r\n".to_vec(),
        ),
        (
            "connect lone surrogate in a key",
            b"CONNECT {\"\\udc00\":1,\"verbose\":false}\r\n".to_vec(),
        ),
        (
            "connect lone surrogate before a pair",
            b"CONNECT {\"verbose\":false,\"name\":\"\\ud800\\ud83d\\ude00\"}\r\n".to_vec(),
        ),
        (
            "connect nul in json",
            b"CONNECT {\"verbose\":false,\x00\"name\":\"a\"}\r\n".to_vec(),
        ),
        // A PING argument is skipped, not accumulated: no control-line limit applies to it.
        (
            "ping with 1 MiB of junk",
            [&b"PING "[..], &b"j".repeat(1 << 20), b"\r\n"].concat(),
        ),
    ];
    v.into_iter().map(|(n, b)| (n.to_string(), b)).collect()
}

/// Cases that need a bigger `max_control_line` (4 MiB) to reach the JSON decoder at all.
fn big_line_cases() -> Vec<(String, Vec<u8>)> {
    let nest = |open: &[u8], close: &[u8], inner: &[u8], n: usize| {
        [
            &b"CONNECT {\"verbose\":false,\"x\":"[..],
            &open.repeat(n),
            inner,
            &close.repeat(n),
            b"}\r\n",
        ]
        .concat()
    };
    vec![
        (
            "arrays nested 9999 (depth 10000)".into(),
            nest(b"[", b"]", b"", 9999),
        ),
        (
            "arrays nested 10000 (depth 10001)".into(),
            nest(b"[", b"]", b"", 10_000),
        ),
        (
            "objects nested 9999".into(),
            nest(b"{\"a\":", b"}", b"1", 9999),
        ),
        (
            "objects nested 10000".into(),
            nest(b"{\"a\":", b"}", b"1", 10_000),
        ),
        ("arrays nested 100k".into(), nest(b"[", b"]", b"", 100_000)),
        (
            "100k open brackets".into(),
            [&b"CONNECT "[..], &b"[".repeat(100_000), b"\r\n"].concat(),
        ),
        (
            "3 MiB name".into(),
            [
                &b"CONNECT {\"verbose\":false,\"name\":\""[..],
                &b"n".repeat(3 << 20),
                b"\"}\r\n",
            ]
            .concat(),
        ),
        (
            "connect with 10k keys".into(),
            format!(
                "CONNECT {{{}\"verbose\":false}}\r\n",
                (0..10_000)
                    .map(|i| format!("\"k{i}\":{i},"))
                    .collect::<String>()
            )
            .into_bytes(),
        ),
        (
            "client INFO nested 5000".into(),
            [
                &b"CONNECT {\"verbose\":false}\r\nINFO {\"x\":"[..],
                &b"[".repeat(5000),
                &b"]".repeat(5000),
                b"}\r\n",
            ]
            .concat(),
        ),
    ]
}

fn compare(cases: &[(String, Vec<u8>)], ours: u16, theirs: u16) -> Vec<String> {
    let mut failures = Vec::new();
    for (name, script) in cases {
        let a = exchange(ours, script);
        let b = exchange(theirs, script);
        if a != b {
            let cut = |s: &str| s.chars().take(400).collect::<String>();
            failures.push(format!(
                "--- {name}\n rnats:     {:?}\n reference: {:?}",
                cut(&a),
                cut(&b)
            ));
        }
    }
    failures
}

/// 3, 5, 9, 10 against both servers: every answer is the reference's, and the innocent client
/// on each server is served throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_attacks_match_the_reference() {
    for (tag, conf, cases) in [
        ("scripted", "max_control_line: 4096\n", scripted_cases()),
        ("bigline", "max_control_line: 4MB\n", big_line_cases()),
    ] {
        let [(_, ours), (_, theirs)] = both(tag, conf, &[]);
        let mut innocents = [
            Innocent::new(local(ours.port), PLAIN).await,
            Innocent::new(local(theirs.port), PLAIN).await,
        ];
        let (p1, p2) = (ours.port, theirs.port);
        let cases2 = cases.clone();
        let failures = tokio::task::spawn_blocking(move || compare(&cases2, p1, p2))
            .await
            .expect("join");
        assert!(
            failures.is_empty(),
            "{tag}: {} cases differ:\n{}",
            failures.len(),
            failures.join("\n")
        );
        // The answers themselves are pinned for the attacks the brief names.
        let answer = |name: &str| {
            let (_, script) = cases.iter().find(|(n, _)| n == name).expect("case");
            exchange(p1, script)
        };
        if tag == "scripted" {
            let payload = format!(
                "{}<closed>",
                String::from_utf8_lossy(&err(wire::ERR_MAX_PAYLOAD))
            );
            assert_eq!(answer("pub over max_payload"), payload);
            assert_eq!(answer("hpub total over max_payload"), payload);
            assert_eq!(answer("hpub header larger than total"), "<closed>");
            assert_eq!(answer("hpub negative header size"), "<closed>");
            assert_eq!(answer("hpub non-numeric header size"), "<closed>");
            assert_eq!(
                answer("connect nested 2000"),
                "PONG\r\n",
                "nesting the reference accepts"
            );
            let line = format!(
                "{}<closed>",
                String::from_utf8_lossy(&err(wire::ERR_MAX_CONTROL_LINE))
            );
            assert_eq!(answer("connect argument of 4097"), line);
            assert_eq!(answer("connect 100k open brackets"), line);
        } else {
            assert_eq!(answer("arrays nested 9999 (depth 10000)"), "PONG\r\n");
            assert_eq!(answer("arrays nested 10000 (depth 10001)"), "<closed>");
        }
        for i in &mut innocents {
            i.check().await;
            i.fresh().await;
        }
    }
}

/// 4. A PUB whose payload never arrives (1 MiB announced, 10 bytes sent): the connection is only
/// cut by the ping timer (`PING`, `PING`, `-ERR 'Stale Connection'`, as the reference), and the
/// innocent client is served meanwhile. (That the announced size is not allocated up front is
/// measured in `hostile_memory.rs`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_payload_is_cut_by_the_ping_timer_like_the_reference() {
    let conf = "ping_interval: \"300ms\"\nping_max: 2\n";
    let mut answers = Vec::new();
    for (name, s) in both("stalled", conf, &[]) {
        let addr = local(s.port);
        let innocent = Innocent::new(addr, PLAIN).await.spawn_loop();
        let mut stalled = Vec::new();
        for _ in 0..3 {
            let mut c = connect(addr).await;
            c.write_all(b"CONNECT {\"verbose\":false}\r\nPUB foo 1048576\r\n0123456789")
                .await
                .expect("w");
            stalled.push(c);
        }
        let started = Instant::now();
        let mut got = Vec::new();
        for c in &mut stalled {
            got.push(read_to_close(c, T).await);
        }
        assert!(started.elapsed() < Duration::from_secs(3), "{name}");
        // Busy throughout (it answered the server's PINGs too): never stale.
        let (mut innocent, rounds, _) = innocent.stop().await;
        assert!(rounds >= 3, "{name}: {rounds} rounds");
        for g in &got {
            assert_eq!(
                show(g),
                show(&[&b"PING\r\nPING\r\n"[..], &err(wire::ERR_STALE_CONNECTION)].concat()),
                "{name}"
            );
        }
        innocent.check().await;
        innocent.fresh().await;
        answers.push(got);
    }
    assert_eq!(answers[0], answers[1]);
}
