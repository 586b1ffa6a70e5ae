//! The `tls {}` block (the reference's `parseTLS`), read into [`TlsOptions`], and built once here
//! so that a missing file, a key that does not match its certificate or an unknown cipher is a
//! config error at the block's position (and fails `-t`), not a surprise at the first client.
//!
//! Keys the reference accepts that rnats does not implement (`certs`, `cert_store`, `ocsp_peer`,
//! `connection_rate_limit`…) are refused rather than ignored: a server that quietly ran without
//! the protection a file asks for would be worse than one that does not start.

use super::Ctx;
use crate::config::duration::parse_go_duration;
use crate::tls::{AUTO_FALLBACK, HandshakeFirst, TlsOptions};
use rnats_conf::{Entry, Value};
use std::path::PathBuf;
use std::time::Duration;

fn path(cx: &mut Ctx, e: &Entry) -> Option<PathBuf> {
    match e.value.as_str() {
        Some(s) => Some(PathBuf::from(s)),
        None => {
            cx.err(
                e,
                format!(
                    "error parsing tls config, expected '{}' to be filename",
                    e.key
                ),
            );
            None
        }
    }
}

fn flag(cx: &mut Ctx, e: &Entry) -> Option<bool> {
    let v = e.value.as_bool();
    if v.is_none() {
        cx.err(
            e,
            format!(
                "error parsing tls config, expected '{}' to be a boolean",
                e.key
            ),
        );
    }
    v
}

fn names(cx: &mut Ctx, e: &Entry) -> Vec<String> {
    let Value::Array(items) = &e.value.value else {
        cx.type_err(e, "[]interface {}");
        return Vec::new();
    };
    if items.is_empty() {
        cx.err(
            e,
            format!("error parsing tls config, '{}' cannot be empty", e.key),
        );
    }
    items
        .iter()
        .filter_map(|i| i.value.as_str().map(str::to_string))
        .collect()
}

/// `timeout`: seconds (int or float) or a duration string.
fn timeout(cx: &mut Ctx, e: &Entry) -> Option<Duration> {
    match &e.value.value {
        Value::Int(n) => Some(Duration::from_secs((*n).max(0) as u64)),
        Value::Float(f) if f.is_finite() && *f >= 0.0 => Some(Duration::from_secs_f64(f.min(1e9))),
        Value::Float(_) => Some(Duration::ZERO),
        Value::String(s) => match parse_go_duration(s) {
            Ok((d, false)) => Some(d),
            Ok((_, true)) => Some(Duration::ZERO),
            Err(m) => {
                cx.err(e, format!("error parsing tls config, 'timeout' {m}"));
                None
            }
        },
        _ => {
            cx.err(e, "error parsing tls config, 'timeout' wrong type");
            None
        }
    }
}

/// `handshake_first` (aliases `first`, `immediate`): a boolean, or "auto" / a duration.
fn handshake_first(cx: &mut Ctx, e: &Entry) -> Option<HandshakeFirst> {
    match &e.value.value {
        Value::Bool(true) => Some(HandshakeFirst::On),
        Value::Bool(false) => Some(HandshakeFirst::Off),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "on" => Some(HandshakeFirst::On),
            "false" | "off" => Some(HandshakeFirst::Off),
            "auto" | "auto_fallback" => Some(HandshakeFirst::Fallback(AUTO_FALLBACK)),
            _ => match parse_go_duration(s) {
                // As the reference: no delay means no fallback.
                Ok((d, false)) if d.is_zero() => Some(HandshakeFirst::On),
                Ok((d, false)) => Some(HandshakeFirst::Fallback(d)),
                _ => {
                    cx.err(e, format!("field {:?}'s value {s:?} is invalid", e.key));
                    None
                }
            },
        },
        v => {
            cx.err(
                e,
                format!(
                    "field {:?} should be a boolean or a string, got {}",
                    e.key,
                    v.go_type_name()
                ),
            );
            None
        }
    }
}

fn pinned(cx: &mut Ctx, e: &Entry) -> Vec<String> {
    let Value::Array(items) = &e.value.value else {
        cx.err(
            e,
            "error parsing tls config, expected 'pinned_certs' to be a list of hex-encoded \
             sha256 of DER encoded SubjectPublicKeyInfo",
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for i in items {
        let k = i.value.as_str().unwrap_or_default().to_ascii_lowercase();
        if k.len() != 64 || !k.bytes().all(|b| b.is_ascii_hexdigit()) {
            cx.err(
                e,
                format!(
                    "error parsing tls config, 'pinned_certs' key {k} does not look like \
                     hex-encoded sha256 of DER encoded SubjectPublicKeyInfo"
                ),
            );
            continue;
        }
        out.push(k);
    }
    out
}

/// Parse the block at `e`; `None` when it is not a map (an error was recorded).
pub fn parse(cx: &mut Ctx, e: &Entry) -> Option<TlsOptions> {
    let Value::Map(m) = &e.value.value else {
        cx.type_err(e, "map[string]interface {}");
        return None;
    };
    let mut t = TlsOptions::default();
    for x in m.iter() {
        match x.key.to_ascii_lowercase().as_str() {
            "cert_file" => t.cert_file = path(cx, x),
            "key_file" => t.key_file = path(cx, x),
            "ca_file" => t.ca_file = path(cx, x),
            "verify" => t.verify = flag(cx, x).unwrap_or(false),
            "verify_and_map" => {
                t.verify_and_map = flag(cx, x).unwrap_or(false);
                t.verify |= t.verify_and_map;
            }
            "insecure" | "allow_insecure_cipher_suites" => {
                flag(cx, x);
            }
            "cipher_suites" => t.cipher_suites = names(cx, x),
            "curve_preferences" => t.curve_preferences = names(cx, x),
            "timeout" => t.timeout = timeout(cx, x).unwrap_or_default(),
            "handshake_first" | "first" | "immediate" => {
                t.handshake_first = handshake_first(cx, x).unwrap_or_default();
            }
            "min_version" => match x.value.as_str() {
                Some(v) => t.min_version = Some(v.to_string()),
                None => cx.err(
                    x,
                    format!(
                        "error parsing tls config: 'min_version' wrong type: {}",
                        x.value.value.go_type_name()
                    ),
                ),
            },
            "pinned_certs" => t.pinned_certs = pinned(cx, x),
            "verify_cert_and_check_known_urls" => cx.err(
                x,
                "verify_cert_and_check_known_urls not supported in this context",
            ),
            k @ ("certs"
            | "certificates"
            | "cert_store"
            | "cert_match_by"
            | "cert_match"
            | "cert_match_skip_invalid"
            | "ca_certs_match"
            | "ocsp_peer"
            | "connection_rate_limit") => cx.err(
                x,
                format!(
                    "tls.{k} is not supported yet by rnats; refusing to start without the \
                     protection it asks for"
                ),
            ),
            _ => cx.err(
                x,
                format!("error parsing tls config, unknown field {:?}", x.key),
            ),
        }
    }
    // Load and check the material now, so the error points at the block.
    if cx.errors.is_empty()
        && let Err(err) = t.build()
    {
        cx.err(e, err);
    }
    Some(t)
}
