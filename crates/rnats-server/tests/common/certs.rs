//! Certificates made at test time (rcgen): a CA, a server certificate for `localhost` and
//! `127.0.0.1`, and client certificates with chosen subjects and SANs. Nothing is committed.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, SanType,
};
use std::path::{Path, PathBuf};

/// A CA that signs the other certificates.
pub struct Ca {
    pub cert: rcgen::Certificate,
    pub key: KeyPair,
}

/// One issued certificate, PEM.
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

/// Files written for a server: `server-cert.pem`, `server-key.pem`, `ca.pem`.
pub struct ServerFiles {
    pub dir: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

pub fn ca(name: &str) -> Ca {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().expect("key");
    let cert = p.self_signed(&key).expect("ca");
    Ca { cert, key }
}

impl Ca {
    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A certificate with `subject` (type, value) pairs in order and the given SANs.
    pub fn issue(&self, subject: &[(DnType, &str)], sans: Vec<SanType>) -> Issued {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        let mut dn = DistinguishedName::new();
        for (t, v) in subject {
            dn.push(t.clone(), *v);
        }
        p.distinguished_name = dn;
        p.subject_alt_names = sans;
        let key = KeyPair::generate().expect("key");
        let cert = p.signed_by(&key, &self.cert, &self.key).expect("sign");
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// The server certificate (`localhost`, `127.0.0.1`) and the CA, written under `dir`.
    pub fn server_files(&self, dir: &Path) -> ServerFiles {
        std::fs::create_dir_all(dir).expect("dir");
        let s = self.issue(
            &[(DnType::CommonName, "localhost")],
            vec![
                SanType::DnsName("localhost".try_into().expect("dns")),
                SanType::IpAddress("127.0.0.1".parse().expect("ip")),
            ],
        );
        let f = ServerFiles {
            dir: dir.to_path_buf(),
            cert: dir.join("server-cert.pem"),
            key: dir.join("server-key.pem"),
            ca: dir.join("ca.pem"),
        };
        std::fs::write(&f.cert, s.cert_pem).expect("write");
        std::fs::write(&f.key, s.key_pem).expect("write");
        std::fs::write(&f.ca, self.pem()).expect("write");
        f
    }
}

/// A client certificate with an email SAN.
pub fn email_san(addr: &str) -> SanType {
    SanType::Rfc822Name(addr.try_into().expect("email"))
}
