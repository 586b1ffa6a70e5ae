//! Raw NATS client connections for the load generator: blocking `std` sockets, one thread each.
//!
//! Model: a connection is a [`TcpStream`] plus a large read buffer. The handshake (INFO,
//! CONNECT with the chosen [`Auth`], PING/PONG) is synchronous. After it, [`Reader`] consumes
//! server bytes in big reads and parses them without allocating: `MSG` headers are found with
//! `memchr`, payload bytes are skipped (never copied, even across reads), and each event is
//! handed to a callback. Writers send pre-built byte batches, so the generator's CPU per message
//! is a few nanoseconds of parsing plus amortised syscalls.

use base64::Engine;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// How the client authenticates.
#[derive(Clone, Debug, Default)]
pub enum Auth {
    /// No credentials.
    #[default]
    None,
    /// `user` / `pass` in CONNECT.
    User { user: String, pass: String },
    /// An nkey seed (SU…): `nkey` plus the signed nonce.
    Nkey { seed: String },
    /// A user JWT and its seed: `jwt` plus the signed nonce.
    Jwt { jwt: String, seed: String },
    /// No credentials, over TLS trusting this CA (PEM). Used by `connect:tls` only.
    Tls { ca: String },
}

impl Auth {
    /// The `kind` label used in reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Auth::None => "none",
            Auth::User { .. } => "user",
            Auth::Nkey { .. } => "nkey",
            Auth::Jwt { .. } => "jwt",
            Auth::Tls { .. } => "tls",
        }
    }

    fn sign(seed: &str, nonce: &str) -> io::Result<String> {
        let kp = nkeys::KeyPair::from_seed(seed).map_err(io::Error::other)?;
        let sig = kp.sign(nonce.as_bytes()).map_err(io::Error::other)?;
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig))
    }

    /// The CONNECT line for a server that sent `nonce` in its INFO.
    pub fn connect_line(&self, nonce: &str) -> io::Result<String> {
        let head = r#"{"verbose":false,"pedantic":false,"protocol":1,"headers":false,"echo":true,"lang":"rnats-bench","version":"0.1.0""#;
        let extra = match self {
            Auth::None | Auth::Tls { .. } => String::new(),
            Auth::User { user, pass } => format!(
                r#","user":{},"pass":{}"#,
                serde_json::Value::from(user.as_str()),
                serde_json::Value::from(pass.as_str())
            ),
            Auth::Nkey { seed } => {
                let kp = nkeys::KeyPair::from_seed(seed).map_err(io::Error::other)?;
                format!(
                    r#","nkey":"{}","sig":"{}""#,
                    kp.public_key(),
                    Self::sign(seed, nonce)?
                )
            }
            Auth::Jwt { jwt, seed } => {
                format!(r#","jwt":"{jwt}","sig":"{}""#, Self::sign(seed, nonce)?)
            }
        };
        Ok(format!("CONNECT {head}{extra}}}\r\n"))
    }
}

/// How long a reader waits for bytes before it declares the run stuck.
pub const STALL: Duration = Duration::from_secs(20);

/// Read buffer size: big reads amortise syscalls.
const BUF: usize = 256 * 1024;

/// A connected, handshaken client.
pub struct Conn {
    /// The socket (clone it for a second thread).
    pub stream: TcpStream,
    /// The reader over the same socket.
    pub reader: Reader,
}

impl Conn {
    /// Connect to `addr` (`host:port`), authenticate and wait for the first PONG.
    pub fn open(addr: &str, auth: &Auth) -> io::Result<Conn> {
        Self::open_with(addr, auth, BUF)
    }

    /// [`Conn::open`] with a small read buffer, for connections that carry no messages.
    pub fn open_small(addr: &str, auth: &Auth) -> io::Result<Conn> {
        Self::open_with(addr, auth, 4096)
    }

    fn open_with(addr: &str, auth: &Auth, buf: usize) -> io::Result<Conn> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(STALL))?;
        let mut reader = Reader::new(stream.try_clone()?, buf);
        let info = reader.line()?;
        if !info.starts_with("INFO ") {
            return Err(io::Error::other(format!("expected INFO, got {info:?}")));
        }
        let nonce = serde_json::from_str::<serde_json::Value>(&info[5..])
            .ok()
            .and_then(|v| v.get("nonce").and_then(|n| n.as_str()).map(str::to_string))
            .unwrap_or_default();
        let mut c = Conn { stream, reader };
        let line = auth.connect_line(&nonce)?;
        c.stream.write_all(line.as_bytes())?;
        c.stream.write_all(b"PING\r\n")?;
        c.await_pong()?;
        Ok(c)
    }

    /// Send `bytes` then PING, and wait for the PONG (a barrier: the server has processed
    /// everything sent before it). Fails on `-ERR` or messages.
    pub fn flush(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.write_all(b"PING\r\n")?;
        self.await_pong()
    }

    fn await_pong(&mut self) -> io::Result<()> {
        loop {
            let line = self.reader.line()?;
            match line.as_str() {
                "PONG" => return Ok(()),
                "PING" => self.stream.write_all(b"PONG\r\n")?,
                "+OK" => {}
                l if l.starts_with("INFO ") => {}
                l => return Err(io::Error::other(format!("server said {l:?}"))),
            }
        }
    }
}

/// A TLS client connection (blocking, one thread).
pub type TlsConn = io::BufReader<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>;

/// Connect over TLS (plaintext INFO, handshake, CONNECT, PING) and wait for the PONG.
pub fn tls_connect(addr: &str, ca_pem: &str) -> io::Result<TlsConn> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    use std::sync::{Arc, OnceLock};
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    let config = CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
                roots
                    .add(c.map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let cfg = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(Arc::new(cfg))
        })
        .clone()
        .map_err(io::Error::other)?;
    let mut tcp = TcpStream::connect(addr)?;
    tcp.set_nodelay(true)?;
    tcp.set_read_timeout(Some(STALL))?;
    // The plaintext INFO, byte by byte (nothing of the handshake may be read past it).
    let mut info = Vec::new();
    let mut b = [0u8; 1];
    while !info.ends_with(b"\r\n") {
        if tcp.read(&mut b)? == 0 {
            return Err(io::Error::other("closed before INFO"));
        }
        info.push(b[0]);
    }
    let name = rustls_pki_types::ServerName::try_from("localhost").map_err(io::Error::other)?;
    let conn = rustls::ClientConnection::new(config, name).map_err(io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(Auth::None.connect_line("")?.as_bytes())?;
    let mut c = io::BufReader::with_capacity(64 * 1024, tls);
    tls_flush(&mut c, b"")?;
    Ok(c)
}

/// Send `bytes` then PING over TLS and wait for the PONG.
pub fn tls_flush(c: &mut TlsConn, bytes: &[u8]) -> io::Result<()> {
    use std::io::BufRead;
    let s = c.get_mut();
    s.write_all(bytes)?;
    s.write_all(b"PING\r\n")?;
    s.flush()?;
    let mut line = String::new();
    loop {
        line.clear();
        if c.read_line(&mut line)? == 0 {
            return Err(io::Error::other("closed before PONG"));
        }
        match line.trim_end() {
            "PONG" => return Ok(()),
            "+OK" => {}
            l if l.starts_with("INFO ") => {}
            l => return Err(io::Error::other(format!("server said {l:?}"))),
        }
    }
}

/// One parsed server event.
#[derive(Debug)]
pub enum Event<'a> {
    /// A `MSG`: its control line (for [`Event::reply`]) and payload length. Payload bytes are
    /// skipped.
    Msg { line: &'a [u8], len: usize },
    /// `PONG`.
    Pong,
}

impl<'a> Event<'a> {
    /// The reply subject of a `MSG` (empty when none).
    pub fn reply(&self) -> &'a [u8] {
        match self {
            Event::Msg { line, .. } => parse_msg(line).map(|(r, _)| r).unwrap_or(b""),
            Event::Pong => b"",
        }
    }
}

/// A zero-copy reader of the server's byte stream.
pub struct Reader {
    stream: TcpStream,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// Payload bytes (plus CRLF) still to skip from the socket.
    skip: usize,
}

impl Reader {
    /// A reader over `stream`.
    pub fn new(stream: TcpStream, size: usize) -> Reader {
        Reader {
            stream,
            buf: vec![0u8; size].into_boxed_slice(),
            start: 0,
            end: 0,
            skip: 0,
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.end == self.buf.len() {
                return Err(io::Error::other("protocol line longer than the buffer"));
            }
        }
        let n = self.stream.read(&mut self.buf[self.end..])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            ));
        }
        self.end += n;
        Ok(())
    }

    /// The next control line (without CRLF), for the handshake.
    pub fn line(&mut self) -> io::Result<String> {
        loop {
            let window = &self.buf[self.start..self.end];
            if let Some(i) = memchr::memmem::find(window, b"\r\n") {
                let s = String::from_utf8_lossy(&window[..i]).into_owned();
                self.start += i + 2;
                return Ok(s);
            }
            self.fill()?;
        }
    }

    /// Read and dispatch events until `f` returns `false`. Answers server PINGs on
    /// `pong_to`; `-ERR` and unexpected lines are errors.
    pub fn run(
        &mut self,
        pong_to: &mut TcpStream,
        mut f: impl FnMut(Event<'_>) -> io::Result<bool>,
    ) -> io::Result<()> {
        loop {
            while self.skip > 0 {
                let have = self.end - self.start;
                if have == 0 {
                    self.fill()?;
                    continue;
                }
                let n = have.min(self.skip);
                self.start += n;
                self.skip -= n;
            }
            let window = &self.buf[self.start..self.end];
            // One-byte search (cheaper than a two-byte finder); lines end in CRLF.
            let Some(lf) = memchr::memchr(b'\n', window) else {
                self.fill()?;
                continue;
            };
            let nl = lf.saturating_sub(1);
            let line = &window[..nl];
            if line.starts_with(b"MSG ") {
                let len = msg_len(line)?;
                let total = nl + 2 + len + 2;
                let keep_going = f(Event::Msg { line, len })?;
                if total <= window.len() {
                    self.start += total;
                } else {
                    self.skip = total - window.len();
                    self.start = self.end;
                }
                if !keep_going {
                    return Ok(());
                }
            } else {
                self.start += nl + 2;
                match line {
                    b"PONG" => {
                        if !f(Event::Pong)? {
                            return Ok(());
                        }
                    }
                    b"PING" => pong_to.write_all(b"PONG\r\n")?,
                    b"+OK" => {}
                    l if l.starts_with(b"INFO ") => {}
                    l => {
                        return Err(io::Error::other(format!(
                            "server said {:?}",
                            String::from_utf8_lossy(l)
                        )));
                    }
                }
            }
        }
    }
}

/// The payload length: the last token of a `MSG` line.
fn msg_len(line: &[u8]) -> io::Result<usize> {
    let start = memchr::memrchr(b' ', line).map_or(0, |i| i + 1);
    let digits = &line[start..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(io::Error::other(format!(
            "bad MSG line {:?}",
            String::from_utf8_lossy(line)
        )));
    }
    Ok(digits
        .iter()
        .fold(0usize, |n, &d| n * 10 + usize::from(d - b'0')))
}

/// `MSG <subject> <sid> [reply] <len>` → (reply, len).
fn parse_msg(line: &[u8]) -> io::Result<(&[u8], usize)> {
    let bad = || io::Error::other(format!("bad MSG line {:?}", String::from_utf8_lossy(line)));
    let mut parts = line[4..].split(|&b| b == b' ').filter(|p| !p.is_empty());
    let _subject = parts.next().ok_or_else(bad)?;
    let _sid = parts.next().ok_or_else(bad)?;
    let a = parts.next().ok_or_else(bad)?;
    let (reply, len) = match parts.next() {
        Some(l) => (a, l),
        None => (&b""[..], a),
    };
    let mut n = 0usize;
    for &d in len {
        if !d.is_ascii_digit() {
            return Err(bad());
        }
        n = n * 10 + usize::from(d - b'0');
    }
    Ok((reply, n))
}

/// `PUB <subject> <len>\r\n<payload>\r\n` appended to `out`.
pub fn push_pub(out: &mut Vec<u8>, subject: &str, reply: Option<&str>, payload: &[u8]) {
    out.extend_from_slice(b"PUB ");
    out.extend_from_slice(subject.as_bytes());
    out.push(b' ');
    if let Some(r) = reply {
        out.extend_from_slice(r.as_bytes());
        out.push(b' ');
    }
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msg_lines_parse() {
        let (r, n) = parse_msg(b"MSG a.b 1 12").expect("parse");
        assert_eq!((r, n), (&b""[..], 12));
        let (r, n) = parse_msg(b"MSG a.b 1 _INBOX.x 7").expect("parse");
        assert_eq!((r, n), (&b"_INBOX.x"[..], 7));
        assert!(parse_msg(b"MSG a.b").is_err());
        assert_eq!(msg_len(b"MSG a.b 1 _INBOX.x 712").expect("len"), 712);
        assert!(msg_len(b"MSG a.b 1 x").is_err());
    }
}
