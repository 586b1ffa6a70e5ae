//! TLS for client connections, with rustls (no OpenSSL).
//!
//! Model (the reference's `GenTLSConfig` and `createClientEx`): the `tls {}` block (or the
//! `--tls*` flags) becomes [`TlsOptions`]; [`TlsOptions::build`] loads the certificate, key and
//! CA files once (at start and at each reload) into a [`Tls`], whose rustls `ServerConfig` every
//! new connection uses. Connected clients keep the session they negotiated, so a reload with new
//! material drops nobody. How a connection reaches TLS (INFO first, handshake first, mixed mode)
//! is in [`accept`]; how a certificate names a user (`verify_and_map`) is in [`identity`].
//!
//! Names follow the reference: cipher suites by their IANA names (Go's), curves by Go's names.
//! rustls implements only AEAD suites with forward secrecy, so the reference's CBC and RSA
//! key-exchange suites are refused with an error that says so, never silently dropped.

pub mod accept;
pub mod identity;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// `handshake_first`: TLS before INFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HandshakeFirst {
    /// INFO in plaintext, then TLS (the default).
    #[default]
    Off,
    /// Wait for the client's ClientHello; send nothing before it.
    On,
    /// Wait this long for the client to start TLS; if it says nothing, send the plaintext INFO
    /// and go on as usual (`"300ms"`, `"auto"` = 50 ms).
    Fallback(Duration),
}

/// The `tls {}` block as configured.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TlsOptions {
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    /// Require and verify a client certificate.
    pub verify: bool,
    /// Also take the user from the client certificate.
    pub verify_and_map: bool,
    /// Handshake timeout (0 = the default 2 s).
    pub timeout: Duration,
    pub handshake_first: HandshakeFirst,
    /// IANA names; empty = rustls' defaults.
    pub cipher_suites: Vec<String>,
    /// Go names (`X25519`, `CurveP256`…); empty = rustls' defaults.
    pub curve_preferences: Vec<String>,
    /// Lowest protocol version (`"1.2"` default, or `"1.3"`).
    pub min_version: Option<String>,
    /// Lower-case hex SHA-256 of the client certificate's SubjectPublicKeyInfo.
    pub pinned_certs: Vec<String>,
}

/// A failure to build the TLS configuration (reported at the `tls` entry of the file).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsError {
    #[error("missing 'cert_file' in TLS configuration")]
    MissingCert,
    #[error("missing 'key_file' in TLS configuration")]
    MissingKey,
    #[error("error parsing X509 certificate/key pair: {0}")]
    CertKey(String),
    #[error("{0}")]
    CaFile(String),
    #[error("failed to parse root ca certificate")]
    NoRoots,
    #[error("unrecognized cipher {0}")]
    UnknownCipher(String),
    #[error(
        "cipher {0} is not supported by rnats: rustls implements only AEAD cipher suites with \
         ECDHE key exchange"
    )]
    UnsupportedCipher(String),
    #[error("unrecognized curve preference {0}")]
    UnknownCurve(String),
    #[error("curve {0} is not supported by rnats (rustls offers X25519, CurveP256, CurveP384)")]
    UnsupportedCurve(String),
    #[error("error parsing tls config: unsupported TLS version: TLS {0}")]
    UnsupportedVersion(String),
    #[error("error parsing tls config: unknown version: {0}")]
    UnknownVersion(String),
    #[error("TLS configuration: {0}")]
    Rustls(String),
}

/// A built TLS configuration.
#[derive(Debug)]
pub struct Tls {
    pub opts: TlsOptions,
    pub config: Arc<rustls::ServerConfig>,
    /// The same without client authentication (the HTTPS monitor).
    pub monitor_config: Arc<rustls::ServerConfig>,
    /// `NotAfter` of the server certificate (`/varz tls_cert_not_after`).
    pub cert_not_after: Option<std::time::SystemTime>,
}

/// The reference's default handshake timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// `handshake_first: auto`.
pub const AUTO_FALLBACK: Duration = Duration::from_millis(50);

impl Tls {
    /// The handshake timeout in effect.
    pub fn timeout(&self) -> Duration {
        if self.opts.timeout.is_zero() {
            DEFAULT_TIMEOUT
        } else {
            self.opts.timeout
        }
    }

    /// Whether a client certificate is required (INFO `tls_verify`).
    pub fn verify(&self) -> bool {
        self.opts.verify || self.opts.verify_and_map
    }
}

/// IANA names of the suites rustls (ring) implements, and the reference's names it does not.
const SUITES: &[(&str, Option<rustls::CipherSuite>)] = {
    use rustls::CipherSuite as C;
    &[
        ("TLS_AES_128_GCM_SHA256", Some(C::TLS13_AES_128_GCM_SHA256)),
        ("TLS_AES_256_GCM_SHA384", Some(C::TLS13_AES_256_GCM_SHA384)),
        (
            "TLS_CHACHA20_POLY1305_SHA256",
            Some(C::TLS13_CHACHA20_POLY1305_SHA256),
        ),
        (
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            Some(C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
        ),
        (
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            Some(C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384),
        ),
        (
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            Some(C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
        ),
        (
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            Some(C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
        ),
        (
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            Some(C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256),
        ),
        (
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
            Some(C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256),
        ),
        (
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            Some(C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256),
        ),
        (
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
            Some(C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256),
        ),
        ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", None),
        ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", None),
        ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", None),
        ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", None),
        ("TLS_RSA_WITH_RC4_128_SHA", None),
        ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", None),
        ("TLS_RSA_WITH_AES_128_CBC_SHA", None),
        ("TLS_RSA_WITH_AES_256_CBC_SHA", None),
        ("TLS_RSA_WITH_AES_128_CBC_SHA256", None),
        ("TLS_RSA_WITH_AES_128_GCM_SHA256", None),
        ("TLS_RSA_WITH_AES_256_GCM_SHA384", None),
        ("TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", None),
        ("TLS_ECDHE_RSA_WITH_RC4_128_SHA", None),
        ("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", None),
        ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", None),
        ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", None),
    ]
};

/// Go curve names, and whether rustls (ring) has them.
const CURVES: &[(&str, Option<rustls::NamedGroup>)] = {
    use rustls::NamedGroup as G;
    &[
        ("X25519", Some(G::X25519)),
        ("CurveP256", Some(G::secp256r1)),
        ("CurveP384", Some(G::secp384r1)),
        ("CurveP521", None),
        ("X25519MLKEM768", None),
        ("SecP256r1MLKEM768", None),
        ("SecP384r1MLKEM1024", None),
    ]
};

/// The IANA name of a negotiated suite (`/connz tls_cipher_suite`).
pub fn suite_name(s: rustls::CipherSuite) -> String {
    SUITES
        .iter()
        .find(|(_, c)| *c == Some(s))
        .map(|(n, _)| n.to_string())
        .unwrap_or_else(|| format!("{s:?}"))
}

/// `"1.2"` / `"1.3"` (`/connz tls_version`).
pub fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_2 => "1.2".into(),
        rustls::ProtocolVersion::TLSv1_3 => "1.3".into(),
        other => format!("Unknown [{other:?}]"),
    }
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("open {}: {}", path.display(), os_text(&e)))
}

/// Go's wording of common OS errors (`no such file or directory`).
fn os_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

impl TlsOptions {
    /// Load the files and build the rustls configurations.
    pub fn build(&self) -> Result<Tls, TlsError> {
        let cert_file = self.cert_file.as_ref().ok_or(TlsError::MissingCert)?;
        let key_file = self.key_file.as_ref().ok_or(TlsError::MissingKey)?;
        let cert_pem = read(cert_file).map_err(TlsError::CertKey)?;
        let key_pem = read(key_file).map_err(TlsError::CertKey)?;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| TlsError::CertKey(format!("tls: failed to find certificate: {e}")))?;
        if certs.is_empty() {
            return Err(TlsError::CertKey(
                "tls: failed to find any PEM data in certificate input".into(),
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| {
            TlsError::CertKey("tls: failed to find any PEM data in key input".into())
        })?;
        let cert_not_after = x509_parser::parse_x509_certificate(&certs[0])
            .ok()
            .and_then(|(_, c)| {
                let secs = c.validity().not_after.timestamp();
                u64::try_from(secs)
                    .ok()
                    .map(|s| std::time::UNIX_EPOCH + Duration::from_secs(s))
            });
        let provider = Arc::new(self.provider()?);
        let versions: &[&rustls::SupportedProtocolVersion] = match self.min_version.as_deref() {
            None | Some("1.2") => &[&rustls::version::TLS13, &rustls::version::TLS12],
            Some("1.3") => &[&rustls::version::TLS13],
            Some(v @ ("1.0" | "1.1")) => return Err(TlsError::UnsupportedVersion(v.into())),
            Some(v) => return Err(TlsError::UnknownVersion(v.into())),
        };
        let rustls_err = |e: rustls::Error| TlsError::Rustls(e.to_string());
        let builder = || {
            rustls::ServerConfig::builder_with_provider(provider.clone())
                .with_protocol_versions(versions)
                .map_err(rustls_err)
        };
        let client_auth = if self.verify || self.verify_and_map {
            let roots = self.roots()?;
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| TlsError::Rustls(e.to_string()))?
        } else {
            // As the reference: `ca_file` without `verify` asks no client for a certificate.
            WebPkiClientVerifier::no_client_auth()
        };
        let config = builder()?
            .with_client_cert_verifier(client_auth)
            .with_single_cert(certs.clone(), key.clone_key())
            .map_err(|e| TlsError::CertKey(format!("tls: {e}")))?;
        let monitor_config = builder()?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| TlsError::CertKey(format!("tls: {e}")))?;
        Ok(Tls {
            opts: self.clone(),
            config: Arc::new(config),
            monitor_config: Arc::new(monitor_config),
            cert_not_after,
        })
    }

    /// Client CAs: `ca_file`, else the system's roots (as Go does with no `ClientCAs`).
    fn roots(&self) -> Result<rustls::RootCertStore, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        match &self.ca_file {
            Some(p) => {
                let pem = read(p).map_err(TlsError::CaFile)?;
                for c in CertificateDer::pem_slice_iter(&pem).flatten() {
                    let _ = roots.add(c);
                }
            }
            None => {
                for c in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(c);
                }
            }
        }
        if roots.is_empty() {
            return Err(TlsError::NoRoots);
        }
        Ok(roots)
    }

    /// ring's provider, narrowed to the configured suites and curves.
    fn provider(&self) -> Result<CryptoProvider, TlsError> {
        let mut p = rustls::crypto::ring::default_provider();
        if !self.cipher_suites.is_empty() {
            let mut want = Vec::new();
            for name in &self.cipher_suites {
                match SUITES.iter().find(|(n, _)| n == name) {
                    None => return Err(TlsError::UnknownCipher(name.clone())),
                    Some((_, None)) => return Err(TlsError::UnsupportedCipher(name.clone())),
                    Some((_, Some(s))) => want.push(*s),
                }
            }
            // The reference's list governs TLS 1.2 only; TLS 1.3 suites stay available.
            p.cipher_suites.retain(|s| {
                matches!(s, rustls::SupportedCipherSuite::Tls13(_)) || want.contains(&s.suite())
            });
        }
        if !self.curve_preferences.is_empty() {
            let mut groups = Vec::new();
            for name in &self.curve_preferences {
                match CURVES.iter().find(|(n, _)| n == name) {
                    None => return Err(TlsError::UnknownCurve(name.clone())),
                    Some((_, None)) => return Err(TlsError::UnsupportedCurve(name.clone())),
                    Some((_, Some(g))) => {
                        if let Some(k) = p.kx_groups.iter().find(|k| k.name() == *g) {
                            groups.push(*k);
                        }
                    }
                }
            }
            p.kx_groups = groups;
        }
        Ok(p)
    }
}

/// What `/connz` shows of a TLS session.
#[derive(Debug, Clone, Default)]
pub struct TlsSession {
    pub version: String,
    pub cipher_suite: String,
    /// The handshake-first path was taken.
    pub first: bool,
    /// The certificates the client sent, leaf first.
    pub peer_certs: Vec<PeerCert>,
}

/// One client certificate (`/connz?auth=1 tls_peer_certs`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct PeerCert {
    pub subject: String,
    pub spki_sha256: String,
    pub cert_sha256: String,
}

/// Hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Describe the certificates a client presented.
pub fn peer_certs(certs: &[CertificateDer<'_>]) -> Vec<PeerCert> {
    certs
        .iter()
        .map(|der| {
            let parsed = x509_parser::parse_x509_certificate(der).ok();
            PeerCert {
                subject: parsed
                    .as_ref()
                    .map(|(_, c)| identity::rdn_sequence(c.subject()))
                    .unwrap_or_default(),
                spki_sha256: parsed
                    .as_ref()
                    .map(|(_, c)| sha256_hex(c.public_key().raw))
                    .unwrap_or_default(),
                cert_sha256: sha256_hex(der),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
