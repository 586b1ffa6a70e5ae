//! A TLS client for tests (rustls): trust a CA, optionally present a client certificate, read
//! protocol lines.

use super::certs::Issued;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const T: Duration = Duration::from_secs(10);

pub fn client_config(ca_pem: &str, cert: Option<&Issued>) -> Arc<rustls::ClientConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.expect("ca pem")).expect("root");
    }
    let b = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots);
    let cfg = match cert {
        Some(i) => {
            let chain: Vec<_> = CertificateDer::pem_slice_iter(i.cert_pem.as_bytes())
                .map(|c| c.expect("cert"))
                .collect();
            let key = PrivateKeyDer::from_pem_slice(i.key_pem.as_bytes()).expect("key");
            b.with_client_auth_cert(chain, key).expect("client cert")
        }
        None => b.with_no_client_auth(),
    };
    Arc::new(cfg)
}

pub type Tls = tokio_rustls::client::TlsStream<TcpStream>;

pub async fn upgrade(tcp: TcpStream, cfg: Arc<rustls::ClientConfig>) -> std::io::Result<Tls> {
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    tokio_rustls::TlsConnector::from(cfg)
        .connect(name, tcp)
        .await
}

/// Read one line (INFO, PONG, -ERR…); `None` when the peer closed first.
pub async fn line<S: AsyncRead + Unpin>(s: &mut S) -> Option<String> {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    loop {
        match timeout(T, s.read(&mut b)).await.expect("read in time") {
            Ok(0) | Err(_) => return None,
            Ok(_) => {
                out.push(b[0]);
                if out.ends_with(b"\r\n") {
                    return Some(String::from_utf8_lossy(&out).into_owned());
                }
            }
        }
    }
}

pub async fn roundtrip<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S, text: &str) -> Option<String> {
    s.write_all(text.as_bytes()).await.ok()?;
    line(s).await
}
