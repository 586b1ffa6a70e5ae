//! Which user a client certificate names (`verify_and_map`), as the reference derives it.
//!
//! The candidates, tried in order against the configured user names: each email SAN, each DNS
//! SAN, each URI SAN, then the subject as Go renders it (`pkix.Name.ToRDNSequence().String()`),
//! first with the certificate's `DC` components appended, then without. Go's rendering is not
//! RFC 4514's: a fixed attribute order (`SERIALNUMBER, CN, OU, O, POSTALCODE, STREET, L, ST,
//! C`), several values of one type joined with `+`, only the last CN and SERIALNUMBER, other attributes (DC,
//! emailAddress, UID…) dropped, and its own escaping. Matching a user name written as an LDAP DN
//! in another order is not done (see docs/parity.md).

use x509_parser::prelude::*;

const CN: &str = "2.5.4.3";
const SERIAL: &str = "2.5.4.5";
const C: &str = "2.5.4.6";
const L: &str = "2.5.4.7";
const ST: &str = "2.5.4.8";
const STREET: &str = "2.5.4.9";
const O: &str = "2.5.4.10";
const OU: &str = "2.5.4.11";
const POSTAL: &str = "2.5.4.17";
const DC: &str = "0.9.2342.19200300.100.1.25";

/// Output order and short names of Go's rendering.
const ORDER: &[(&str, &str)] = &[
    (SERIAL, "SERIALNUMBER"),
    (CN, "CN"),
    (OU, "OU"),
    (O, "O"),
    (POSTAL, "POSTALCODE"),
    (STREET, "STREET"),
    (L, "L"),
    (ST, "ST"),
    (C, "C"),
];

/// Attribute values of `name` in certificate order, as (oid, value).
fn attributes(name: &X509Name<'_>) -> Vec<(String, String)> {
    name.iter_attributes()
        .filter_map(|a| {
            let v = a.as_str().ok()?;
            Some((a.attr_type().to_id_string(), v.to_string()))
        })
        .collect()
}

/// Go's escaping of one attribute value (`escape` in crypto/x509/pkix).
pub(crate) fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let n = v.chars().count();
    for (i, ch) in v.chars().enumerate() {
        let special = matches!(ch, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (ch == ' ' && (i == 0 || i + 1 == n))
            || (ch == '#' && i == 0);
        if special {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// The subject as Go's `ToRDNSequence().String()` renders it.
pub fn rdn_sequence(name: &X509Name<'_>) -> String {
    let attrs = attributes(name);
    let mut parts = Vec::new();
    for (oid, short) in ORDER {
        let values: Vec<&String> = attrs
            .iter()
            .filter(|(o, _)| o == oid)
            .map(|(_, v)| v)
            .collect();
        let values: Vec<&String> = if *oid == CN || *oid == SERIAL {
            values.last().copied().into_iter().collect()
        } else {
            values
        };
        if values.is_empty() {
            continue;
        }
        let rdn: Vec<String> = values
            .iter()
            .map(|v| format!("{short}={}", escape(v)))
            .collect();
        parts.push(rdn.join("+"));
    }
    parts.join(",")
}

/// The user names a certificate may stand for, in the reference's order of preference.
pub fn candidates(der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = parse_x509_certificate(der) else {
        return Vec::new();
    };
    let mut emails = Vec::new();
    let mut dns = Vec::new();
    let mut uris = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                GeneralName::RFC822Name(e) => emails.push(e.to_string()),
                GeneralName::DNSName(d) => dns.push(d.to_string()),
                GeneralName::URI(u) => uris.push(u.to_string()),
                _ => {}
            }
        }
    }
    let mut out: Vec<String> = emails.into_iter().chain(dns).chain(uris).collect();
    let rdn = rdn_sequence(cert.subject());
    let dcs: Vec<String> = attributes(cert.subject())
        .into_iter()
        .filter(|(o, _)| o == DC)
        .map(|(_, v)| format!("DC={v}"))
        .collect();
    if !dcs.is_empty() {
        out.push(format!("{rdn},{}", dcs.join(",")));
    }
    out.push(rdn);
    out
}
