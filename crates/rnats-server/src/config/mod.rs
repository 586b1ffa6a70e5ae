//! Configuration files: the `.conf` language (parsed by `rnats-conf` into a positioned tree)
//! mapped onto [`Options`] with nats-server's key names, aliases and messages.
//!
//! Every problem is collected, not just the first, each as `file:line:col: message` with the
//! reference's text, so `-t` can list them all. Keys are matched case-insensitively, as the
//! reference does. Blocks for features rnats does not implement yet are syntax-checked by the
//! parser and produce one warning each (`not supported yet: cluster`) rather than a failure, so
//! the configs client test harnesses generate still load.

pub mod auth;
pub mod clock_skew;
pub mod duration;
pub mod links;
pub mod operator;
pub mod reload;
pub mod tls;

use crate::opts::Options;
use duration::parse_go_duration;
use rnats_conf::{Entry, Item, Map, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Loading failed: every error found, in file order.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{0}")]
    Parse(String),
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
}

/// Keys rnats accepts but whose feature comes with a later issue.
const LATER_BLOCKS: &[(&str, &str)] = &[
    ("cluster", "cluster"),
    ("gateway", "gateway"),
    ("leaf", "leafnodes"),
    ("leafnodes", "leafnodes"),
    ("websocket", "websocket"),
    ("ws", "websocket"),
    ("mqtt", "mqtt"),
    ("jetstream", "jetstream"),
    ("store_dir", "jetstream"),
    ("storedir", "jetstream"),
    ("ocsp", "tls"),
    ("ocsp_cache", "tls"),
    ("resolver_tls", "operator mode"),
    ("mappings", "subject mappings"),
    ("maps", "subject mappings"),
    ("syslog", "syslog"),
    ("remote_syslog", "syslog"),
    ("proxies", "proxies"),
    ("proxy_protocol", "proxy protocol"),
];

/// Features whose absence would weaken security: a config that asks for them is refused (an
/// open server where the file asked for authentication or TLS would be worse than no server).
const SECURITY_FEATURES: &[&str] = &[
    "tls",
    "https monitoring",
    "authorization",
    "accounts",
    "operator mode",
];

/// Keys that are accepted and have no effect in rnats (yet), silently.
const IGNORED: &[&str] = &[
    "client_advertise",
    "trace_headers",
    "http_base_path",
    "prof_port",
    "prof_block_rate",
    "max_traced_msg_len",
    "max_sub_tokens",
    "max_subscription_tokens",
    "write_timeout",
    "connect_error_reports",
    "reconnect_error_reports",
    "server_metadata",
    "feature_flags",
    "default_js_domain",
    "no_fast_producer_stall",
    "logfile_size_limit",
    "log_size_limit",
    "logfile_max_num",
    "log_max_num",
];

/// Whether a warning is rnats' own notice (a feature not implemented yet, a trap the reference
/// falls into silently) rather than one of the reference's warnings: `-t` fails only on the
/// reference's.
pub fn is_rnats_notice(w: &str) -> bool {
    w.contains("not supported yet") || w.contains("(as nats-server does)")
}

/// Collected problems while mapping a configuration.
pub struct Ctx {
    pub(crate) errors: Vec<String>,
    pub(crate) warnings: Vec<String>,
}

impl Ctx {
    pub(crate) fn err(&mut self, e: &Entry, msg: impl std::fmt::Display) {
        self.errors.push(format!("{}: {msg}", e.key_pos));
    }
    pub(crate) fn type_err(&mut self, e: &Entry, want: &str) {
        let got = e.value.value.go_type_name();
        self.err(
            e,
            format!("interface conversion: interface {{}} is {got}, not {want}"),
        );
    }
    pub(crate) fn int(&mut self, e: &Entry) -> Option<i64> {
        let v = e.value.as_i64();
        if v.is_none() {
            self.type_err(e, "int64");
        }
        v
    }
    pub(crate) fn boolean(&mut self, e: &Entry) -> Option<bool> {
        let v = e.value.as_bool();
        if v.is_none() {
            self.type_err(e, "bool");
        }
        v
    }
    pub(crate) fn string(&mut self, e: &Entry) -> Option<String> {
        let v = e.value.as_str().map(str::to_string);
        if v.is_none() {
            self.type_err(e, "string");
        }
        v
    }
    /// `parseDuration`: a Go duration string, or (deprecated) an integer number of seconds.
    pub(crate) fn duration(&mut self, e: &Entry, field: &str) -> Option<Duration> {
        match &e.value.value {
            Value::String(s) => match parse_go_duration(s) {
                Ok((d, false)) => Some(d),
                Ok((_, true)) => {
                    self.err(
                        e,
                        format!("error parsing {field}: negative duration \"{s}\""),
                    );
                    None
                }
                Err(m) => {
                    self.err(e, format!("error parsing {field}: {m}"));
                    None
                }
            },
            Value::Int(n) => {
                self.warnings.push(format!(
                    "{}: invalid use of field {:?}: {field} should be converted to a duration",
                    e.key_pos, e.key
                ));
                Some(Duration::from_secs((*n).max(0) as u64))
            }
            _ => {
                self.type_err(e, "int64");
                None
            }
        }
    }
}

/// `host:port` or a bare port (`parseListen`).
fn parse_listen(item: &Item) -> Result<(Option<String>, i64), String> {
    match &item.value {
        Value::Int(p) => Ok((None, *p)),
        Value::String(s) => {
            let (host, port) = split_host_port(s)
                .ok_or_else(|| format!("could not parse address string \"{s}\""))?;
            let port = port
                .parse::<i64>()
                .map_err(|_| format!("could not parse port \"{port}\""))?;
            Ok((Some(host.to_string()), port))
        }
        v => Err(format!(
            "expected port or host:port, got {}",
            v.go_type_name()
        )),
    }
}

fn split_host_port(s: &str) -> Option<(&str, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest.split_once("]:")?;
        return Some((h, p));
    }
    let (h, p) = s.rsplit_once(':')?;
    if h.contains(':') {
        return None;
    }
    Some((h, p))
}

/// Load a config file into `opts`; returns warnings.
pub fn load_file(path: &Path, opts: &mut Options) -> Result<Vec<String>, ConfigError> {
    // The reference prints parse errors in its own words (mostly without a position).
    let map =
        rnats_conf::parse_file(path).map_err(|e| ConfigError::Parse(e.reference_message()))?;
    opts.config_file = Some(path.to_path_buf());
    let mut warnings = Vec::new();
    if map.is_empty() {
        warnings.push(format!(
            "{}: config has no values or is empty",
            path.display()
        ));
    }
    warnings.extend(apply_map(&map, opts)?);
    Ok(warnings)
}

/// Apply a parsed top-level map to `opts`.
pub fn apply_map(map: &Map, o: &mut Options) -> Result<Vec<String>, ConfigError> {
    let mut cx = Ctx {
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let mut later: Vec<&str> = Vec::new();
    let (mut auth_block, mut accounts_block): (Option<&Entry>, Option<&Entry>) = (None, None);
    for e in map.iter() {
        let key = e.key.to_ascii_lowercase();
        match key.as_str() {
            "listen" => match parse_listen(&e.value) {
                Ok((h, p)) => {
                    if let Some(h) = h {
                        o.host = h;
                    }
                    o.port = p;
                }
                Err(m) => cx.err(e, m),
            },
            "port" => {
                if let Some(p) = cx.int(e) {
                    o.port = p;
                }
            }
            "host" | "net" => {
                if let Some(h) = cx.string(e) {
                    o.host = h;
                }
            }
            "server_name" => {
                if let Some(n) = cx.string(e) {
                    if n.contains(' ') {
                        cx.err(e, "server name cannot contain spaces");
                    } else {
                        o.server_name = n;
                    }
                }
            }
            "server_tags" => match &e.value.value {
                Value::String(s) => o.server_tags = vec![s.clone()],
                Value::Array(a) => {
                    o.server_tags = a
                        .iter()
                        .filter_map(|i| i.as_str().map(String::from))
                        .collect()
                }
                v => cx.err(
                    e,
                    format!("error parsing tags: unsupported type {}", v.go_type_name()),
                ),
            },
            "http" => match parse_listen(&e.value) {
                Ok((h, p)) => {
                    o.http_host = h.unwrap_or_default();
                    o.http_port = p;
                }
                Err(m) => cx.err(e, m),
            },
            "https" => match parse_listen(&e.value) {
                Ok((h, p)) => {
                    o.http_host = h.unwrap_or_default();
                    o.https_port = p;
                }
                Err(m) => cx.err(e, m),
            },
            "https_port" => {
                if let Some(p) = cx.int(e) {
                    o.https_port = p;
                }
            }
            "http_port" | "monitor_port" => {
                if let Some(p) = cx.int(e) {
                    o.http_port = p;
                }
            }
            "debug" => {
                if let Some(b) = cx.boolean(e) {
                    o.debug = b;
                }
            }
            "trace" | "trace_verbose" => {
                if let Some(b) = cx.boolean(e) {
                    o.trace = b;
                }
            }
            "logtime" => {
                if let Some(b) = cx.boolean(e) {
                    o.logtime = b;
                }
            }
            "logtime_utc" => {
                if let Some(b) = cx.boolean(e) {
                    o.logtime_utc = b;
                }
            }
            "logfile" | "log_file" => {
                if let Some(s) = cx.string(e) {
                    o.log_file = Some(PathBuf::from(s));
                }
            }
            "pidfile" | "pid_file" => {
                if let Some(s) = cx.string(e) {
                    o.pid_file = Some(PathBuf::from(s));
                }
            }
            "ports_file_dir" => {
                if let Some(s) = cx.string(e) {
                    o.ports_file_dir = Some(PathBuf::from(s));
                }
            }
            "max_control_line" | "max_payload" => {
                if let Some(v) = cx.int(e) {
                    if v > i64::from(i32::MAX) {
                        cx.err(e, format!("{} value is too big", e.key));
                    } else if key == "max_payload" {
                        o.max_payload = v;
                    } else {
                        o.max_control_line = v;
                    }
                }
            }
            "max_pending" => {
                if let Some(v) = cx.int(e) {
                    o.max_pending = v;
                }
            }
            "max_connections" | "max_conn" => {
                if let Some(v) = cx.int(e) {
                    // The reference maps 0 to -1, which refuses every client.
                    o.max_connections = if v == 0 { -1 } else { v };
                    if v == 0 {
                        cx.warnings.push(format!(
                            "{}: {} of 0 refuses every client connection (as nats-server does)",
                            e.key_pos, e.key
                        ));
                    }
                }
            }
            "max_subscriptions" | "max_subs" => {
                if let Some(v) = cx.int(e) {
                    o.max_subscriptions = v;
                }
            }
            "ping_interval" => {
                if let Some(d) = cx.duration(e, "ping_interval") {
                    o.ping_interval = d;
                }
            }
            "ping_max" => {
                if let Some(v) = cx.int(e) {
                    o.ping_max = v;
                }
            }
            "write_deadline" => {
                if let Some(d) = cx.duration(e, "write_deadline") {
                    o.write_deadline = d;
                }
            }
            "lame_duck_duration" | "lame_duck_grace_period" => {
                let Some(s) = cx.string(e) else { continue };
                match parse_go_duration(&s) {
                    Ok((d, neg)) => {
                        if key == "lame_duck_duration" {
                            if neg || d < Duration::from_secs(30) {
                                cx.err(
                                    e,
                                    format!(
                                        "invalid lame_duck_duration of {}{}, minimum is 30 seconds",
                                        if neg { "-" } else { "" },
                                        duration::go_duration_string(d)
                                    ),
                                );
                            } else {
                                o.lame_duck_duration = d;
                            }
                        } else if neg {
                            cx.err(e, "invalid lame_duck_grace_period, needs to be positive");
                        } else {
                            o.lame_duck_grace_period = d;
                        }
                    }
                    Err(m) => cx.err(e, format!("error parsing {}: {m}", e.key)),
                }
            }
            "authorization" => {
                let block = auth::authorization(&mut cx, e);
                // Users from `accounts {}` (already parsed, or parsed later) are kept.
                let mut a = block.auth;
                for (k, u) in std::mem::take(&mut o.auth.users) {
                    match a.users.entry(k) {
                        std::collections::btree_map::Entry::Occupied(x) => {
                            cx.err(e, format!("Duplicate user {:?} detected", x.key()));
                        }
                        std::collections::btree_map::Entry::Vacant(v) => {
                            v.insert(u);
                        }
                    }
                }
                for (k, u) in std::mem::take(&mut o.auth.nkeys) {
                    a.nkeys.insert(k, u);
                }
                a.no_auth_user = o.auth.no_auth_user.take();
                o.auth = a;
                o.auth_timeout = block.timeout;
                auth_block = Some(e);
            }
            "accounts" => {
                auth::accounts(&mut cx, e, &mut o.auth, &mut o.accounts, &mut o.links);
                accounts_block = Some(e);
            }
            "operator" | "operators" | "roots" | "root" | "root_operators" | "root_operator" => {
                o.operators = operator::operators(&mut cx, e);
            }
            "trusted" | "trusted_keys" => {
                o.trusted_keys = operator::trusted_keys(&mut cx, e);
            }
            "resolver" | "account_resolver" | "accounts_resolver" => {
                o.resolver = operator::resolver(&mut cx, e);
            }
            "clock_skew" => clock_skew::parse(&mut cx, e, &mut o.clock_skew),
            "tls" => {
                o.tls_options = tls::parse(&mut cx, e);
                o.tls_map = o.tls_options.as_ref().is_some_and(|t| t.verify_and_map);
            }
            "allow_non_tls" => {
                if let Some(b) = cx.boolean(e) {
                    o.allow_non_tls = b;
                }
            }
            "default_sentinel" => {
                o.default_sentinel = cx.string(e);
            }
            "resolver_pinned_accounts" => {
                o.resolver_pinned_accounts = operator::pinned(&mut cx, e);
            }
            "resolver_preload" => {
                o.resolver_preload = operator::preload(&mut cx, e);
            }
            "system_account" | "system" => {
                if let Some(n) = cx.string(e) {
                    o.system_account = Some(n);
                }
            }
            "no_system_account" | "no_system" | "no_sys_acc" => {
                if let Some(b) = cx.boolean(e) {
                    o.no_system_account = b;
                }
            }
            "no_auth_user" => {
                if let Some(u) = cx.string(e) {
                    o.auth.no_auth_user = Some(u);
                }
            }
            "no_header_support" => {
                if let Some(b) = cx.boolean(e) {
                    o.no_header_support = b;
                }
            }
            "disable_sublist_cache" | "no_sublist_cache" => {
                if let Some(b) = cx.boolean(e) {
                    o.disable_sublist_cache = b;
                }
            }
            "max_closed_clients" => {
                if let Some(v) = cx.int(e) {
                    o.max_closed_clients = v.max(0) as usize;
                }
            }
            k if IGNORED.contains(&k) => {}
            k => match LATER_BLOCKS.iter().find(|(name, _)| *name == k) {
                Some((_, feature)) if SECURITY_FEATURES.contains(feature) => {
                    cx.err(
                        e,
                        format!(
                            "not supported yet: {feature} (rnats refuses to start rather than run without it)"
                        ),
                    );
                }
                Some((_, feature)) => {
                    if !later.contains(feature) {
                        later.push(feature);
                        cx.warnings
                            .push(format!("{}: not supported yet: {feature}", e.key_pos));
                    }
                }
                None => {
                    if !e.used_as_variable {
                        cx.err(e, format!("unknown field \"{}\"", e.key));
                    }
                }
            },
        }
    }
    if let (Some(a), Some(_)) = (auth_block, accounts_block) {
        if o.auth.user.is_some() {
            cx.err(a, "Can not have a single user/pass and accounts");
        } else if o.auth.token.is_some() {
            cx.err(a, "Can not have a token and accounts");
        }
    }
    if cx.errors.is_empty() {
        Ok(cx.warnings)
    } else {
        Err(ConfigError::Invalid(cx.errors))
    }
}

/// `sha256:<hex>` as `-t` and reload print it: the reference hashes the JSON encoding of the
/// parsed configuration, not the file's bytes.
pub fn digest(path: &Path) -> String {
    let json = rnats_conf::parse_file(path)
        .map(|m| m.to_go_json())
        .unwrap_or_default();
    format!("sha256:{}", sha256_hex(json.as_bytes()))
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(data);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

pub use reload::reload;

#[cfg(test)]
mod tests;
