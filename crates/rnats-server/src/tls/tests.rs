//! Unit tests of Go's subject rendering and of the TLS configuration build.

use super::identity::{candidates, escape};
use super::*;

#[test]
fn values_are_escaped_as_go_does() {
    assert_eq!(
        escape(" lead#x,y+w;z<>\"q\"\\ "),
        "\\ lead#x\\,y\\+w\\;z\\<\\>\\\"q\\\"\\\\\\ "
    );
    assert_eq!(escape("#hash é"), "\\#hash é");
    assert_eq!(escape("a=b"), "a=b");
    assert_eq!(escape("mid dle"), "mid dle");
}

fn cert_der(subject: &[(rcgen::DnType, &str)], sans: Vec<rcgen::SanType>) -> Vec<u8> {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    let mut dn = rcgen::DistinguishedName::new();
    for (t, v) in subject {
        dn.push(t.clone(), *v);
    }
    p.distinguished_name = dn;
    p.subject_alt_names = sans;
    let key = rcgen::KeyPair::generate().expect("key");
    p.self_signed(&key).expect("cert").der().to_vec()
}

#[test]
fn candidates_come_in_the_reference_order() {
    use rcgen::{DnType, SanType};
    let der = cert_der(
        &[
            (DnType::CountryName, "US"),
            (DnType::StateOrProvinceName, "CA"),
            (DnType::LocalityName, "SF"),
            (DnType::OrganizationName, "Acme, Inc."),
            (DnType::OrganizationalUnitName, "eng"),
            (DnType::CommonName, "John Doe"),
            (
                DnType::CustomDnType(vec![0, 9, 2342, 19200300, 100, 1, 25]),
                "example",
            ),
        ],
        vec![
            SanType::DnsName("svc.example.org".try_into().expect("dns")),
            SanType::Rfc822Name("john@example.org".try_into().expect("email")),
            SanType::URI("spiffe://example.org/ns/a".try_into().expect("uri")),
        ],
    );
    assert_eq!(
        candidates(&der),
        vec![
            "john@example.org".to_string(),
            "svc.example.org".into(),
            "spiffe://example.org/ns/a".into(),
            "CN=John Doe,OU=eng,O=Acme\\, Inc.,L=SF,ST=CA,C=US,DC=example".into(),
            "CN=John Doe,OU=eng,O=Acme\\, Inc.,L=SF,ST=CA,C=US".into(),
        ]
    );
    assert!(candidates(b"not a certificate").is_empty());
}

#[test]
fn the_auth_timeout_default_grows_with_tls() {
    let mut o = crate::Options::default();
    assert_eq!(
        o.effective_auth_timeout(),
        std::time::Duration::from_secs(2)
    );
    o.tls_options = Some(TlsOptions {
        timeout: std::time::Duration::from_millis(500),
        ..Default::default()
    });
    assert_eq!(
        o.effective_auth_timeout(),
        std::time::Duration::from_millis(1500)
    );
    o.auth_timeout = Some(1.0);
    assert_eq!(
        o.effective_auth_timeout(),
        std::time::Duration::from_secs(1)
    );
}

#[test]
fn suite_and_version_names_are_the_iana_and_go_ones() {
    assert_eq!(
        suite_name(rustls::CipherSuite::TLS13_AES_128_GCM_SHA256),
        "TLS_AES_128_GCM_SHA256"
    );
    assert_eq!(
        suite_name(rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    );
    assert_eq!(version_name(rustls::ProtocolVersion::TLSv1_3), "1.3");
    assert_eq!(version_name(rustls::ProtocolVersion::TLSv1_2), "1.2");
}
