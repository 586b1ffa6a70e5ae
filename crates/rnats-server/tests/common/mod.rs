//! Helpers shared by integration test files.
#![allow(dead_code)]

pub mod connz;
pub mod http;
pub mod jsonshape;
pub mod jwtdiff;

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
