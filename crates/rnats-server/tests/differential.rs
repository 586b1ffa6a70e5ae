//! Differential wire tests: the same bytes go to rnats-server and to the reference nats-server
//! 2.15 (installed by `../shared/tools/reference-server`); the responses must be identical after
//! masking INFO lines (ids, ports, nonces). Each case ends with a PING so the read stops at the
//! PONG when the connection survives, or at EOF when the server closed it.

use rnats_testkit::{ServerProcess, exchange, reference_server_path};
use std::path::Path;

const CASES: &[(&str, &[u8])] = &[
    ("basic pub/sub", b"CONNECT {\"verbose\":false}\r\nSUB foo 1\r\nPUB foo 5\r\nhello\r\nPUB foo r 0\r\n\r\n"),
    ("verbose default acks", b"CONNECT {}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\nUNSUB 1\r\nUNSUB 99\r\n"),
    ("ops before connect use defaults", b"SUB a 1\r\nPUB a 1\r\nx\r\n"),
    ("case insensitive ops", b"connect {\"verbose\":false}\r\nsub foo 1\r\nPuB foo 1\r\nx\r\nUnSuB 1\r\n"),
    ("tabs and bare newlines", b"CONNECT {\"verbose\":false}\nSUB\tfoo\t\t7\nPUB\tfoo  3\nabc\r\n"),
    ("ping with junk", b"PING foo bar\r\n+OK\r\nPONG\r\n"),
    ("leading whitespace", b"\tPUB foo 1\r\nx\r\n"),
    ("empty line", b"\r\n"),
    ("msg from client", b"MSG foo 1 1\r\nx\r\n"),
    ("route op from client", b"RS+ $G foo\r\n"),
    ("bad payload terminator", b"CONNECT {\"verbose\":false}\r\nPUB foo 2\r\nabc\r\n"),
    ("pub missing size", b"CONNECT {\"verbose\":false}\r\nPUB foo\r\n"),
    ("pub bad size", b"CONNECT {\"verbose\":false}\r\nPUB foo -1\r\n"),
    ("pub ten digit size", b"CONNECT {\"verbose\":false}\r\nPUB foo 1234567890\r\n"),
    ("unsub no args", b"CONNECT {\"verbose\":false}\r\nUNSUB\r\n"),
    ("sub too many args", b"CONNECT {\"verbose\":false}\r\nSUB a b c d\r\n"),
    ("invalid sub subject", b"CONNECT {\"verbose\":false}\r\nSUB foo..bar 1\r\nSUB foo.>.bar 2\r\nSUB foo. 3\r\n"),
    ("queue names unvalidated", b"CONNECT {\"verbose\":false}\r\nSUB x q..a 1\r\nPUB x 1\r\n1\r\n"),
    ("reserved sys queue", b"CONNECT {\"verbose\":false}\r\nSUB x _sys_ 1\r\n"),
    ("duplicate sid", b"CONNECT {}\r\nSUB a 1\r\nSUB b 1\r\nPUB b 1\r\nx\r\nPUB a 1\r\ny\r\n"),
    ("pedantic invalid publish subject", b"CONNECT {\"verbose\":false,\"pedantic\":true}\r\nSUB foo.* 1\r\nPUB foo.* 1\r\nx\r\n"),
    ("non pedantic wildcard publish", b"CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB foo.* 1\r\nPUB foo.* 1\r\nx\r\nPUB foo..bar 1\r\ny\r\n"),
    ("reply never validated", b"CONNECT {\"verbose\":false}\r\nSUB a 1\r\nPUB a r.* 1\r\nx\r\n"),
    ("auto unsub after max", b"CONNECT {\"verbose\":false}\r\nSUB a 1\r\nUNSUB 1 2\r\nPUB a 1\r\n1\r\nPUB a 1\r\n2\r\nPUB a 1\r\n3\r\n"),
    ("unsub max already reached", b"CONNECT {\"verbose\":false}\r\nSUB a 1\r\nPUB a 1\r\n1\r\nPUB a 1\r\n2\r\nUNSUB 1 1\r\nPUB a 1\r\n3\r\n"),
    ("unsub invalid max", b"CONNECT {\"verbose\":false}\r\nSUB a 1\r\nUNSUB 1 abc\r\nPUB a 1\r\n1\r\n"),
    ("invalid protocol", b"CONNECT {\"verbose\":false,\"protocol\":2}\r\n"),
    ("protocol wrong type", b"CONNECT {\"verbose\":false,\"protocol\":\"1\"}\r\n"),
    ("connect trailing garbage", b"CONNECT {} x\r\n"),
    ("connect no json", b"CONNECT\r\n"),
    ("connect without space", b"CONNECT{\"verbose\":false}\r\n"),
    ("no responders without headers", b"CONNECT {\"verbose\":false,\"no_responders\":true}\r\n"),
    ("legacy account field", b"CONNECT {\"verbose\":false,\"account\":\"x\"}\r\n"),
    ("hpub without headers", b"CONNECT {\"verbose\":false}\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"),
    ("hpub header larger than total", b"CONNECT {\"verbose\":false,\"headers\":true}\r\nHPUB foo 3 2\r\n"),
    ("hpub delivered as hmsg", b"CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB foo 1\r\nHPUB foo r 12 14\r\nNATS/1.0\r\n\r\nhi\r\nHPUB foo 0 2\r\nhi\r\n"),
    ("garbage header relayed", b"CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB foo 1\r\nHPUB foo 11 11\r\nGARBAGE\r\n\r\n\r\n"),
    ("no responders status", b"CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true}\r\nSUB inbox.1 7\r\nPUB nobody inbox.1 0\r\n\r\n"),
    ("echo false", b"CONNECT {\"verbose\":false,\"echo\":false}\r\nSUB a 1\r\nPUB a 1\r\nx\r\n"),
    ("client -ERR closes", b"CONNECT {\"verbose\":false}\r\n-ERR 'boom'\r\n"),
    ("client INFO ignored", b"CONNECT {\"verbose\":false}\r\nINFO {}\r\n"),
    ("client bad INFO closes", b"CONNECT {\"verbose\":false}\r\nINFO x\r\n"),
    ("first ping info for protocol 1", b"CONNECT {\"verbose\":false,\"protocol\":1}\r\n"),
    ("zero length payload", b"CONNECT {\"verbose\":false}\r\nSUB x 1\r\nPUB x 0\r\n\r\n"),
    ("wildcard match", b"CONNECT {\"verbose\":false}\r\nSUB foo.> 1\r\nPUB foo.bar.baz 1\r\nx\r\nPUB foo 1\r\ny\r\n"),
    ("max payload exceeded", b"CONNECT {\"verbose\":false}\r\nPUB foo 1048577\r\n"),
    ("unknown verb", b"FOO bar\r\n"),
    ("connect keys are case-insensitive", b"CONNECT {\"Verbose\":false}\r\nSUB a 1\r\n"),
    ("connect null", b"CONNECT null\r\nSUB a 1\r\n"),
    ("connect duplicate keys", b"CONNECT {\"verbose\":true,\"verbose\":false}\r\nSUB a 1\r\n"),
    ("connect invalid utf8", b"CONNECT {\"verbose\":false,\"name\":\"a\xffb\"}\r\nSUB a 1\r\n"),
    ("client INFO array closes", b"CONNECT {\"verbose\":false}\r\nINFO []\r\n"),
    ("client INFO null", b"CONNECT {\"verbose\":false}\r\nINFO null\r\n"),
    ("pedantic ignores whitespace in tokens", b"CONNECT {\"verbose\":false}\r\nSUB a\x0cb 1\r\nPUB a\x0cb 1\r\nx\r\n"),
    ("reserved publish prefixes", b"CONNECT {\"verbose\":false}\r\nPUB _GR_.x 1\r\nx\r\nPUB a _R_.x 1\r\nx\r\n"),
];

fn control_line_cases() -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    for n in [4096usize, 4097] {
        let mut b = b"CONNECT {\"verbose\":false}\r\nSUB ".to_vec();
        b.extend(std::iter::repeat_n(b'a', n - 2));
        b.extend_from_slice(b" 1\r\n");
        v.push((format!("control line {n}"), b));
    }
    v
}

#[test]
fn wire_matches_reference() {
    let ours = ServerProcess::start(Path::new(env!("CARGO_BIN_EXE_rnats-server")), &[])
        .expect("start rnats-server");
    let reference =
        ServerProcess::start(&reference_server_path(), &[]).expect("start reference nats-server");
    let mut cases: Vec<(String, Vec<u8>)> = CASES
        .iter()
        .map(|(n, b)| (n.to_string(), b.to_vec()))
        .collect();
    cases.extend(control_line_cases());
    let mut failures = Vec::new();
    let (mut msgs, mut closes, mut errs) = (0, 0, 0);
    for (name, script) in &cases {
        let a = exchange(ours.port, script);
        let b = exchange(reference.port, script);
        msgs += usize::from(b.contains("MSG "));
        closes += usize::from(b.contains("<closed>"));
        errs += usize::from(b.contains("-ERR '"));
        if a != b {
            failures.push(format!("--- {name}\n rnats:     {a:?}\n reference: {b:?}"));
        }
    }
    // The comparison is only meaningful if the cases exercise deliveries, errors and closes.
    assert!(
        msgs >= 15 && closes >= 15 && errs >= 15,
        "{msgs} {closes} {errs}"
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
