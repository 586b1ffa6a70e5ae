//! Operator mode keys (nats-server `opts.go`): `operator` (a JWT inline, a file holding one —
//! decorated or not — or a list of them), `trusted_keys`, `resolver` and `resolver_preload`,
//! with the reference's messages. An `https` URL resolver (it needs `resolver_tls`, not
//! implemented yet) is refused at load, never ignored.

use super::Ctx;
use crate::opts::Resolver;
use rnats_auth::jwt;
use rnats_conf::{Entry, Value};

/// Strings of a string-or-list value, with the reference's message for other types.
fn strings(cx: &mut Ctx, e: &Entry, what: &str) -> Vec<String> {
    match &e.value.value {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => {
            let mut out = Vec::new();
            for i in a {
                match i.as_str() {
                    Some(s) => out.push(s.to_string()),
                    None => {
                        cx.err(
                            e,
                            format!(
                                "error parsing {what}: unsupported type {} where string is expected",
                                i.value.go_type_name()
                            ),
                        );
                        break;
                    }
                }
            }
            out
        }
        v => {
            cx.err(
                e,
                format!(
                    "error parsing {what}: unsupported type {}",
                    v.go_type_name()
                ),
            );
            Vec::new()
        }
    }
}

/// `operator`: each value is a JWT (starts with `eyJ`) or the path of a file holding one.
pub fn operators(cx: &mut Ctx, e: &Entry) -> Vec<String> {
    let mut out = Vec::new();
    for v in strings(cx, e, "operators") {
        let text = if v.starts_with("eyJ") {
            v
        } else {
            match std::fs::read_to_string(&v) {
                Ok(t) => t,
                Err(err) => {
                    cx.err(e, format!("error parsing operator JWT: {err}"));
                    continue;
                }
            }
        };
        let token = match jwt::creds::jwt(&text) {
            Ok(t) => t.to_string(),
            Err(err) => {
                cx.err(e, format!("error parsing operator JWT: {err}"));
                continue;
            }
        };
        match jwt::decode_operator(&token) {
            Ok(_) => out.push(token),
            Err(err) => cx.err(e, format!("error parsing operator JWT: {err}")),
        }
    }
    out
}

/// `trusted_keys` / `trusted`: one key or a list.
pub fn trusted_keys(cx: &mut Ctx, e: &Entry) -> Vec<String> {
    let keys = strings(cx, e, "trusted keys");
    for k in &keys {
        if !k.starts_with('O') || nkeys::KeyPair::from_public_key(k).is_err() {
            cx.err(
                e,
                format!("trusted Keys {k:?} are required to be a valid public operator nkey"),
            );
        }
    }
    keys
}

/// `resolver`: `MEMORY` (or `MEM`), case-insensitive. Other kinds are refused for now.
pub fn resolver(cx: &mut Ctx, e: &Entry) -> Option<Resolver> {
    const LATER: &str = "(rnats refuses to start rather than run without it)";
    match &e.value.value {
        Value::String(s) => {
            let u = s.trim().to_ascii_uppercase();
            if u == "MEM" || u == "MEMORY" {
                Some(Resolver::Memory)
            } else if u.starts_with("URL") {
                let t = s.trim();
                let inner = t[3..]
                    .trim()
                    .strip_prefix('(')
                    .and_then(|x| x.strip_suffix(')'))
                    .map(|x| x.trim().trim_matches('"').to_string());
                match inner {
                    Some(url) if url.starts_with("http://") => Some(Resolver::Url(url)),
                    Some(url) if url.starts_with("https://") => {
                        cx.err(
                            e,
                            format!("not supported yet: an https account resolver {LATER}"),
                        );
                        None
                    }
                    _ => {
                        cx.err(e, format!("invalid URL resolver {s:?}"));
                        None
                    }
                }
            } else {
                cx.err(e, format!("invalid resolver configuration {s:?}"));
                None
            }
        }
        Value::Map(m) => {
            let (mut kind, mut dir, mut allow_delete, mut hard_delete) =
                (String::new(), None, false, false);
            for k in m.iter() {
                match k.key.to_ascii_lowercase().as_str() {
                    "type" => kind = cx.string(k).unwrap_or_default().to_ascii_lowercase(),
                    "dir" => dir = cx.string(k),
                    "allow_delete" => allow_delete = cx.boolean(k).unwrap_or(false),
                    "hard_delete" => hard_delete = cx.boolean(k).unwrap_or(false),
                    "limit" | "ttl" | "interval" | "timeout" | "sync" => {}
                    _ if k.used_as_variable => {}
                    _ => cx.err(k, format!("unknown field {:?}", k.key)),
                }
            }
            if kind != "full" && kind != "cache" {
                cx.err(
                    e,
                    format!("invalid resolver type {kind:?}, expected full or cache"),
                );
                return None;
            }
            Some(Resolver::Dir {
                dir: std::path::PathBuf::from(dir.unwrap_or_default()),
                allow_delete,
                hard_delete,
            })
        }
        v => {
            cx.type_err(e, v.go_type_name());
            None
        }
    }
}

/// `resolver_preload`: account public key → account JWT (each must decode).
pub fn preload(cx: &mut Ctx, e: &Entry) -> Vec<(String, String)> {
    let Some(m) = e.value.as_map() else {
        cx.err(
            e,
            "preload should be a map of account_public_key:account_jwt",
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for k in m.iter() {
        let Some(j) = k.value.as_str() else {
            cx.errors.push(format!(
                "{}: preload map value should be a string JWT",
                k.value.pos
            ));
            continue;
        };
        if jwt::decode_account(j).is_err() {
            cx.errors
                .push(format!("{}: invalid account JWT", k.value.pos));
            continue;
        }
        out.push((k.key.clone(), j.to_string()));
    }
    out
}

/// `resolver_pinned_accounts`: one account key or a list.
pub fn pinned(cx: &mut Ctx, e: &Entry) -> Vec<String> {
    let keys = strings(cx, e, "resolver_pinned_accounts");
    for k in &keys {
        if !k.starts_with('A') || nkeys::KeyPair::from_public_key(k).is_err() {
            cx.err(e, format!("{k} is not a valid public account nkey"));
        }
    }
    keys
}
