//! How an accepted socket reaches TLS, as the reference's `createClientEx` does it:
//!
//! - Default: INFO in plaintext (`tls_required: true`), then the TLS handshake within
//!   `tls.timeout`. A client that answers in plaintext is closed without a word.
//! - `handshake_first: true`: nothing is sent until the handshake is done; INFO then goes over
//!   TLS. A client that waits for INFO is closed after `tls.timeout`.
//! - `handshake_first: <duration>`: if the client says nothing for that long, the plaintext INFO
//!   goes out and the default flow follows.
//! - `allow_non_tls`: after the plaintext INFO (`tls_available: true`) the first byte decides: a
//!   TLS handshake record (0x16) starts TLS, anything else (or silence for `tls.timeout`) stays
//!   plaintext.
//!
//! The first bytes are looked at with `peek`, so nothing has to be replayed. Every failure has a
//! typed reason (`tls_required`, `tls_handshake_failed`, `client_cert_missing`,
//! `client_cert_not_pinned`) for the log and the metrics; the client gets no protocol error (the
//! reference's never reaches the wire either).

use super::{HandshakeFirst, Tls, TlsSession};
use rnats_auth::AuthFailure;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// The read side of a connection, plaintext or TLS.
pub type Reader = Box<dyn AsyncRead + Send + Unpin>;
/// The write side of a connection, plaintext or TLS.
pub type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// A connection after the TLS step.
pub struct Negotiated {
    pub rd: Reader,
    pub wr: Writer,
    /// The TLS session, when there is one.
    pub session: Option<TlsSession>,
    /// The DER of the client's certificates, leaf first.
    pub peer_certs: Vec<Vec<u8>>,
    /// INFO still has to be sent (over TLS: handshake first).
    pub info_pending: bool,
}

/// Why a connection never got past the TLS step (`Ok(None)` is a client that went away).
pub type Failure = AuthFailure;

/// A plaintext connection's halves.
pub fn plain(stream: TcpStream) -> (Reader, Writer) {
    let (rd, wr) = stream.into_split();
    (Box::new(rd), Box::new(wr))
}

/// Wait up to `wait` for the client's first byte: `Some(byte)`, or `None` on silence. An error
/// or a closed socket is `Err`.
async fn first_byte(stream: &TcpStream, wait: Duration) -> Result<Option<u8>, ()> {
    let mut b = [0u8; 1];
    match timeout(wait, stream.peek(&mut b)).await {
        Ok(Ok(0)) | Ok(Err(_)) => Err(()),
        Ok(Ok(_)) => Ok(Some(b[0])),
        Err(_) => Ok(None),
    }
}

/// A TLS handshake record starts with this content type.
const HANDSHAKE_RECORD: u8 = 0x16;

/// Run the TLS step for one accepted socket. `info(true)` is the INFO with `tls_required` forced
/// on (handshake first), `info(false)` the configured one.
pub async fn negotiate(
    mut stream: TcpStream,
    tls: &Tls,
    allow_non_tls: bool,
    info: impl Fn(bool) -> Vec<u8>,
) -> Result<Option<Negotiated>, Failure> {
    let mut first = !matches!(tls.opts.handshake_first, HandshakeFirst::Off);
    if let HandshakeFirst::Fallback(wait) = tls.opts.handshake_first {
        match first_byte(&stream, wait).await {
            Err(()) => return Ok(None),
            Ok(Some(_)) => {}
            Ok(None) => first = false,
        }
    }
    if !first && stream.write_all(&info(false)).await.is_err() {
        return Ok(None);
    }
    let wait = tls.timeout();
    if !first && allow_non_tls {
        match first_byte(&stream, wait).await {
            Err(()) => return Ok(None),
            Ok(Some(HANDSHAKE_RECORD)) => {}
            Ok(_) => {
                let (rd, wr) = plain(stream);
                return Ok(Some(Negotiated {
                    rd,
                    wr,
                    session: None,
                    peer_certs: Vec::new(),
                    info_pending: false,
                }));
            }
        }
    }
    // A plaintext CONNECT (or silence) where TLS is required.
    match first_byte(&stream, wait).await {
        Err(()) => return Ok(None),
        Ok(None) => {
            return Err(AuthFailure::TlsHandshakeFailed(
                "TLS handshake timeout".into(),
            ));
        }
        Ok(Some(HANDSHAKE_RECORD)) => {}
        Ok(Some(_)) => {
            // Take what the client sent before closing, so it sees a close, not a reset.
            let mut sink = [0u8; 4096];
            for _ in 0..16 {
                if !matches!(stream.try_read(&mut sink), Ok(n) if n > 0) {
                    break;
                }
            }
            let _ = stream.shutdown().await;
            return Err(AuthFailure::TlsRequired);
        }
    }
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.config.clone());
    let s = match timeout(wait, acceptor.accept(stream)).await {
        Err(_) => {
            return Err(AuthFailure::TlsHandshakeFailed(
                "TLS handshake timeout".into(),
            ));
        }
        Ok(Err(e)) => return Err(classify(&e)),
        Ok(Ok(s)) => s,
    };
    let (_, conn) = s.get_ref();
    let peer_certs: Vec<Vec<u8>> = conn
        .peer_certificates()
        .map(|c| c.iter().map(|d| d.to_vec()).collect())
        .unwrap_or_default();
    if !tls.opts.pinned_certs.is_empty() {
        let key = peer_certs
            .first()
            .and_then(|d| x509_parser::parse_x509_certificate(d).ok())
            .map(|(_, c)| super::sha256_hex(c.public_key().raw));
        match key {
            Some(k) if tls.opts.pinned_certs.contains(&k) => {}
            Some(k) => return Err(AuthFailure::ClientCertNotPinned(k)),
            None => return Err(AuthFailure::ClientCertNotPinned("none presented".into())),
        }
    }
    let ders: Vec<rustls_pki_types::CertificateDer<'_>> = peer_certs
        .iter()
        .map(|d| rustls_pki_types::CertificateDer::from(d.as_slice()))
        .collect();
    let session = TlsSession {
        version: conn
            .protocol_version()
            .map(super::version_name)
            .unwrap_or_default(),
        cipher_suite: conn
            .negotiated_cipher_suite()
            .map(|s| super::suite_name(s.suite()))
            .unwrap_or_default(),
        first,
        peer_certs: super::peer_certs(&ders),
    };
    let (rd, wr) = tokio::io::split(s);
    Ok(Some(Negotiated {
        rd: Box::new(rd),
        wr: Box::new(wr),
        session: Some(session),
        peer_certs,
        info_pending: first,
    }))
}

/// The typed reason behind a failed handshake.
fn classify(e: &std::io::Error) -> AuthFailure {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::NoCertificatesPresented) => AuthFailure::ClientCertMissing,
        Some(r) => AuthFailure::TlsHandshakeFailed(r.to_string()),
        None => AuthFailure::TlsHandshakeFailed(e.to_string()),
    }
}
