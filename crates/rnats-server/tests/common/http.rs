//! HTTP GETs of monitor paths (HTTP/1.0: no chunked bodies, the server closes after the
//! answer).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::time::Duration;

/// GET `path` from the monitor on `port`: (status, body).
pub fn get(port: u16, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("http connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    // HTTP/1.0: no chunked bodies, the server closes after the answer.
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .expect("http write");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("http read");
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}

/// GET `path` and parse the JSON answer.
pub fn json(port: u16, path: &str) -> serde_json::Value {
    let (status, body) = get(port, path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

/// GET `path` and parse the JSON answer, whatever the status (400s carry JSON too).
pub fn json_any(port: u16, path: &str) -> serde_json::Value {
    let (_, body) = get(port, path);
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}
