//! Helpers shared by integration test files.
#![allow(dead_code)]

use rnats_testkit::Raw;
use std::time::Duration;

pub mod certs;
pub mod connz;
pub mod hostile;
pub mod http;
pub mod jsonshape;
pub mod jwtdiff;
pub mod tlsclient;

/// A raw client logged in as `user` with password `user`.
pub fn login_user(port: u16, user: &str) -> rnats_testkit::Raw {
    let mut r = rnats_testkit::Raw::connect(port);
    let _ = r.read_info();
    r.send(
        format!("CONNECT {{\"verbose\":false,\"user\":\"{user}\",\"pass\":\"{user}\"}}\r\n")
            .as_bytes(),
    );
    r.sync();
    r
}

/// The workload: in A, `foo` (plain), `bar` (queue `q`, auto-unsubscribe after 5); in B, `s.x`
/// through the stream import. A publishes 10 × `foo` (5 bytes) and 1 × `s.x` (2 bytes).
pub fn subsz_workload(port: u16) -> (Raw, Raw) {
    let mut a = login_user(port, "a");
    let mut b = login_user(port, "b");
    a.send(b"SUB foo 1\r\nSUB bar q 2\r\nUNSUB 2 5\r\n");
    b.send(b"SUB s.x 1\r\n");
    a.sync();
    b.sync();
    for _ in 0..10 {
        a.send(b"PUB foo 5\r\nhello\r\n");
    }
    a.send(b"PUB s.x 2\r\nhi\r\n");
    let got = a.sync();
    assert_eq!(got.windows(7).filter(|w| w == b"MSG foo").count(), 10);
    let got = b.read_until(b"hi\r\n", Duration::from_secs(5));
    assert!(got.is_ok(), "b receives s.x");
    b.sync();
    (a, b)
}
