//! Shared helpers of the operator-mode differential tests: start rnats-server and the reference
//! on one configuration, run a CONNECT case on a raw socket, mask what differs by nature.
#![allow(dead_code)]

use rnats_testkit::jwt::{User, nonce_of};
use rnats_testkit::{Raw, ServerProcess, mask, reference_server_path};
use std::path::Path;
use std::time::{Duration, Instant};

/// Write `text` as `op.conf` in a fresh directory named after `tag`.
pub fn conf_file(tag: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rnats-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("op.conf");
    std::fs::write(&conf, text).expect("write");
    conf
}

/// Start rnats-server and the reference nats-server on the same configuration text.
pub fn start_both(tag: &str, text: &str) -> (ServerProcess, ServerProcess) {
    let conf = conf_file(tag, text);
    let c = conf.to_str().expect("utf8");
    let ours = ServerProcess::start(Path::new(env!("CARGO_BIN_EXE_rnats-server")), &["-c", c])
        .expect("rnats starts");
    let theirs = ServerProcess::start(&reference_server_path(), &["-c", c]).expect("ref starts");
    (ours, theirs)
}

/// Start rnats-server on `text` plus rnats-only lines (`clock_skew`…) and the reference on
/// `text` alone.
pub fn start_with_extra(tag: &str, text: &str, extra: &str) -> (ServerProcess, ServerProcess) {
    let theirs_conf = conf_file(&format!("{tag}-ref"), text);
    let ours_conf = conf_file(&format!("{tag}-ours"), &format!("{text}\n{extra}\n"));
    start_files(&ours_conf, &theirs_conf)
}

/// Start rnats-server on `ours` and the reference on `theirs` (two configuration files).
pub fn start_files(ours: &Path, theirs: &Path) -> (ServerProcess, ServerProcess) {
    let ours = ServerProcess::start(
        Path::new(env!("CARGO_BIN_EXE_rnats-server")),
        &["-c", ours.to_str().expect("utf8")],
    )
    .expect("rnats starts");
    let theirs = ServerProcess::start(
        &reference_server_path(),
        &["-c", theirs.to_str().expect("utf8")],
    )
    .expect("ref starts");
    (ours, theirs)
}

/// What a case sends after INFO: a CONNECT built from the nonce, then more bytes.
pub struct Case {
    pub name: &'static str,
    pub connect: Box<dyn Fn(&str) -> String>,
    pub then: &'static str,
}

pub fn run(port: u16, case: &Case) -> String {
    let mut raw = Raw::connect(port);
    let info = raw.read_info();
    let nonce = nonce_of(&info);
    // One write: a server that rejects the CONNECT may close before a second one, or even
    // during this one (a CONNECT past max_control_line): its answer is read all the same.
    let script = format!("{}{}PING\r\n", (case.connect)(&nonce), case.then);
    let _ = raw.try_send(script.as_bytes());
    let until = Instant::now() + Duration::from_secs(4);
    let mut got = Vec::new();
    loop {
        let (b, closed) = raw.read_for(Duration::from_millis(50));
        got.extend_from_slice(&b);
        if closed {
            got.extend_from_slice(b"<closed>");
            break;
        }
        let pong = got.windows(6).any(|w| w == b"PONG\r\n");
        if pong || Instant::now() > until {
            // Give a close that follows the PONG (limits) a moment to arrive.
            let (b, closed) = raw.read_for(Duration::from_millis(150));
            got.extend_from_slice(&b);
            if closed {
                got.extend_from_slice(b"<closed>");
            }
            break;
        }
    }
    mask(&got)
}

/// A CONNECT for `u` (signed unless `sig` is given).
pub fn connect_as(u: &User, sig: Option<&'static str>) -> Box<dyn Fn(&str) -> String> {
    let jwt = u.jwt.clone();
    let kp_seed = u.kp.seed().expect("seed");
    Box::new(move |nonce: &str| {
        let kp = nkeys::KeyPair::from_seed(&kp_seed).expect("seed");
        let s = match sig {
            Some(s) => s.to_string(),
            None => {
                use base64::Engine;
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(kp.sign(nonce.as_bytes()).expect("sign"))
            }
        };
        format!(
            "CONNECT {{\"verbose\":false,\"pedantic\":false,\"jwt\":\"{jwt}\",\"sig\":\"{s}\",\"protocol\":1,\"headers\":true}}\r\n"
        )
    })
}

pub fn hhmmss(secs_of_day: i64) -> String {
    let s = secs_of_day.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// Replace the `server` object (ids, times, sequence numbers) and the message size.
pub fn mask_server(s: &str) -> String {
    let mut out = String::new();
    for line in s.split_inclusive("\r\n") {
        if line.starts_with("MSG ") {
            let mut parts: Vec<&str> = line.trim_end().split(' ').collect();
            parts.pop();
            out.push_str(&format!("{} <len>\r\n", parts.join(" ")));
        } else if let (Some(a), Some(b)) = (
            line.find("{\"server\":{"),
            line.find("},\"data\"").or_else(|| line.find("},\"error\"")),
        ) {
            out.push_str(&format!(
                "{}{{\"server\":<masked>{}",
                &line[..a],
                &line[b + 1..]
            ));
        } else {
            out.push_str(line);
        }
    }
    out
}

/// Blank the `server` object that follows `"data":[…]` in a list answer.
pub fn mask_list(s: &str) -> String {
    match s.find(",\"server\":{") {
        Some(i) => format!("{},\"server\":<masked>}}", &s[..i]),
        None => s.to_string(),
    }
}

pub fn login(port: u16, u: &User) -> Raw {
    let mut r = Raw::connect(port);
    let info = r.read_info();
    r.send(u.connect_line(&nonce_of(&info)).as_bytes());
    let first = r.sync();
    assert!(
        !first.starts_with(b"-ERR"),
        "{}",
        String::from_utf8_lossy(&first)
    );
    r
}

pub fn login_headers(port: u16, u: &User, headers: bool) -> Raw {
    let mut r = Raw::connect(port);
    let info = r.read_info();
    let line = u
        .connect_line(&nonce_of(&info))
        .replace("\"headers\":true", &format!("\"headers\":{headers}"));
    r.send(line.as_bytes());
    r.sync();
    r.send(b"PING\r\n");
    let _ = r.read_until(b"PONG\r\n", Duration::from_secs(5));
    r
}

pub fn text(b: Vec<u8>) -> String {
    String::from_utf8_lossy(&b).into_owned()
}

/// Replace `_R_.xxxxxx.yyyyyy` reply tokens.
pub fn mask_r(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("_R_.") {
        out.push_str(&rest[..i]);
        out.push_str("_R_.<masked>");
        rest = &rest[(i + 17).min(rest.len())..];
    }
    out.push_str(rest);
    out
}
