//! The `authorization {}` block and `no_auth_user` (nats-server `opts.go parseAuthorization`,
//! `parseUsers`, `parseUserPermissions`, `parseSubjectPermission`, `parseAllowResponses`), with
//! the reference's messages.

use super::Ctx;
use super::duration::parse_go_duration;
use crate::imports::LinkConfig;
use rnats_auth::permissions::{Permissions, ResponsePermission, Rule, SubjectPermission};
use rnats_auth::static_auth::{NkeyUser, StaticAuth, User};
use rnats_conf::{Entry, Item, Map, Value};
use std::time::Duration;

/// What `authorization {}` configures.
#[derive(Debug, Default)]
pub struct AuthBlock {
    pub auth: StaticAuth,
    /// `timeout` in seconds (0 = default; negative times out every client at once).
    pub timeout: Option<f64>,
}

fn item_err(cx: &mut Ctx, item: &Item, msg: impl std::fmt::Display) {
    cx.errors.push(format!("{}: {msg}", item.pos));
}

fn subjects(cx: &mut Ctx, item: &Item, allow_queue: bool) -> Vec<Rule> {
    let list: Vec<&Item> = match &item.value {
        Value::String(_) => vec![item],
        Value::Array(a) => a.iter().collect(),
        v => {
            item_err(
                cx,
                item,
                format!(
                    "Expected subject permissions to be a subject, or array of subjects, got {}",
                    v.go_type_name()
                ),
            );
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for i in list {
        let Some(s) = i.as_str() else {
            item_err(
                cx,
                i,
                format!(
                    "interface conversion: interface {{}} is {}, not string",
                    i.value.go_type_name()
                ),
            );
            continue;
        };
        let rule = Rule::parse(s);
        if rule.queue.is_some() && !allow_queue {
            item_err(cx, i, format!("subject {s:?} is not a valid subject"));
            continue;
        }
        if !rnats_proto::subject::is_valid_subject(rule.subject.as_bytes()) {
            item_err(
                cx,
                i,
                format!("subject {:?} is not a valid subject", rule.subject),
            );
            continue;
        }
        out.push(rule);
    }
    out
}

fn subject_permission(cx: &mut Ctx, e: &Entry, allow_queue: bool) -> Option<SubjectPermission> {
    match &e.value.value {
        Value::Map(m) => {
            if m.is_empty() {
                return None;
            }
            let mut p = SubjectPermission::default();
            for k in m.iter() {
                match k.key.to_ascii_lowercase().as_str() {
                    "allow" => {
                        let s = subjects(cx, &k.value, allow_queue);
                        // An empty allow list in the file means no allow list (allow all).
                        p.allow = (!s.is_empty()).then_some(s);
                    }
                    "deny" => p.deny = subjects(cx, &k.value, allow_queue),
                    _ if k.used_as_variable => {}
                    _ => cx.err(
                        k,
                        format!(
                            "Unknown field name {:?} parsing subject permissions, only 'allow' or 'deny' are permitted",
                            k.key
                        ),
                    ),
                }
            }
            Some(p)
        }
        _ => {
            let s = subjects(cx, &e.value, allow_queue);
            Some(SubjectPermission {
                allow: (!s.is_empty()).then_some(s),
                deny: Vec::new(),
            })
        }
    }
}

fn allow_responses(cx: &mut Ctx, e: &Entry) -> Option<ResponsePermission> {
    match &e.value.value {
        Value::Bool(true) => Some(ResponsePermission::default()),
        Value::Bool(false) => None,
        Value::Map(m) => {
            let mut rp = ResponsePermission::default();
            for k in m.iter() {
                match k.key.to_ascii_lowercase().as_str() {
                    "max" | "max_msgs" | "max_messages" | "max_responses" => {
                        if let Some(n) = cx.int(k)
                            && n != 0
                        {
                            rp.max = n;
                        }
                    }
                    "expires" | "expiration" | "ttl" => match k.value.as_str() {
                        Some(s) => match parse_go_duration(s) {
                            Ok((_, true)) => rp.expires = None,
                            Ok((d, false)) if d > Duration::ZERO => rp.expires = Some(d),
                            Ok(_) => {}
                            Err(m) => {
                                cx.err(k, format!("error parsing expires: {m}"));
                                return None;
                            }
                        },
                        None => {
                            cx.err(k, "error parsing expires, not a duration string");
                            return None;
                        }
                    },
                    _ if k.used_as_variable => {}
                    _ => cx.err(k, format!("Unknown field {:?} parsing permissions", k.key)),
                }
            }
            Some(rp)
        }
        _ => {
            cx.err(
                e,
                "error parsing response permissions, expected a boolean or a map",
            );
            None
        }
    }
}

/// `permissions { publish, subscribe, allow_responses }`.
pub fn permissions(cx: &mut Ctx, e: &Entry) -> Option<Permissions> {
    let Some(m) = e.value.as_map() else {
        cx.err(e, "Expected permissions to be a map/struct");
        return None;
    };
    let mut p = Permissions::default();
    for k in m.iter() {
        match k.key.to_ascii_lowercase().as_str() {
            "pub" | "publish" | "import" => p.publish = subject_permission(cx, k, false),
            "sub" | "subscribe" | "export" => p.subscribe = subject_permission(cx, k, true),
            "publish_allow_responses" | "allow_responses" => p.response = allow_responses(cx, k),
            _ if k.used_as_variable => {}
            _ => cx.err(k, format!("Unknown field {:?} parsing permissions", k.key)),
        }
    }
    if p.response.is_some() {
        // allow_responses forces a publish allow list to exist (empty: replies only).
        let publish = p.publish.get_or_insert_with(SubjectPermission::default);
        publish.allow.get_or_insert_with(Vec::new);
    }
    Some(p)
}

fn users(cx: &mut Ctx, e: &Entry, a: &mut StaticAuth, account: Option<&str>) {
    let Some(list) = e.value.as_array() else {
        cx.err(e, "Expected users field to be an array");
        return;
    };
    for item in list {
        let Some(m) = item.as_map() else {
            item_err(cx, item, "Expected user entry to be a map/struct");
            continue;
        };
        user_entry(cx, item, m, a, account);
    }
}

fn user_entry(cx: &mut Ctx, item: &Item, m: &Map, a: &mut StaticAuth, account: Option<&str>) {
    let (mut nkey, mut name, mut pass, mut perms) = (None, None, None, None);
    for k in m.iter() {
        match k.key.to_ascii_lowercase().as_str() {
            "nkey" => nkey = cx.string(k),
            "user" | "username" => name = cx.string(k),
            "pass" | "password" => pass = cx.string(k),
            "permission" | "permissions" | "authorization" => perms = permissions(cx, k),
            "allowed_connection_types" | "connection_types" | "clients" | "proxy_required" => {}
            _ if k.used_as_variable => {}
            _ => cx.err(k, format!("unknown field {:?}", k.key)),
        }
    }
    let account = account.map(str::to_string);
    match (nkey, name) {
        (None, None) => item_err(cx, item, "User entry requires a user"),
        (Some(k), n) => {
            if !rnats_auth::nkey::is_valid_user_key(&k) {
                item_err(cx, item, "Not a valid public nkey for a user");
            } else if n.is_some() || pass.is_some() {
                item_err(cx, item, "Nkey users do not take usernames or passwords");
            } else if a.nkeys.contains_key(&k) || a.users.contains_key(&k) {
                item_err(cx, item, format!("Duplicate nkey {k:?} detected"));
            } else {
                a.nkeys.insert(
                    k.clone(),
                    NkeyUser {
                        nkey: k,
                        permissions: perms,
                        account,
                    },
                );
            }
        }
        (None, Some(n)) => {
            if a.users.contains_key(&n) || a.nkeys.contains_key(&n) {
                item_err(cx, item, format!("Duplicate user {n:?} detected"));
            } else {
                a.users.insert(
                    n.clone(),
                    User {
                        username: n,
                        password: pass.unwrap_or_default(),
                        permissions: perms,
                        account,
                    },
                );
            }
        }
    }
}

/// Parse `authorization {}`.
pub fn authorization(cx: &mut Ctx, e: &Entry) -> AuthBlock {
    let mut block = AuthBlock::default();
    let Some(m) = e.value.as_map() else {
        cx.type_err(e, "map[string]interface {}");
        return block;
    };
    let (mut user, mut pass, mut token, mut defaults) = (None, None, None, None);
    for k in m.iter() {
        match k.key.to_ascii_lowercase().as_str() {
            "user" | "username" => user = cx.string(k),
            "pass" | "password" => pass = cx.string(k),
            "token" => token = cx.string(k),
            "timeout" => {
                let at = match &k.value.value {
                    Value::Int(n) => *n as f64,
                    Value::Float(f) => *f,
                    Value::String(s) => match parse_go_duration(s) {
                        Ok((d, neg)) => {
                            let secs = d.as_secs_f64();
                            if neg { -secs } else { secs }
                        }
                        Err(m) => {
                            cx.err(k, format!("error parsing authorization config, 'timeout' {m}"));
                            continue;
                        }
                    },
                    _ => {
                        cx.err(k, "error parsing authorization config, 'timeout' wrong type");
                        continue;
                    }
                };
                if at > 60.0 {
                    let raw = k.value.raw.clone().or_else(|| k.value.as_str().map(String::from)).unwrap_or_default();
                    cx.warnings.push(format!(
                        "{}: timeout of {raw} ({at:.6} seconds) is high, consider keeping it under 60 seconds. possibly caused by unquoted duration; use '1m' instead of 1m, for example",
                        k.key_pos
                    ));
                }
                block.timeout = Some(at);
            }
            "users" => users(cx, k, &mut block.auth, None),
            "default_permission" | "default_permissions" | "permissions" => {
                defaults = permissions(cx, k)
            }
            "auth_callout" | "auth_hook" => cx.err(
                k,
                "not supported yet: auth_callout (rnats refuses to start rather than run without it)",
            ),
            "proxy_required" => {}
            _ if k.used_as_variable => {}
            _ => cx.err(k, format!("unknown field {:?}", k.key)),
        }
    }
    if let Some(d) = defaults {
        for u in block.auth.users.values_mut() {
            u.permissions.get_or_insert_with(|| d.clone());
        }
        for u in block.auth.nkeys.values_mut() {
            u.permissions.get_or_insert_with(|| d.clone());
        }
    }
    let has_list = !block.auth.users.is_empty() || !block.auth.nkeys.is_empty();
    if (user.is_some() || pass.is_some()) && token.is_some() {
        cx.err(e, "Cannot have a user/pass and token");
    } else if has_list && user.is_some() {
        cx.err(e, "Can not have a single user/pass and a users array");
    } else if has_list && token.is_some() {
        cx.err(e, "Can not have a token and a users array");
    }
    if let Some(u) = user {
        block.auth.user = Some((u, pass.unwrap_or_default()));
    }
    block.auth.token = token;
    block
}

/// Whether any configured password or token is plaintext (the reference warns at startup).
pub fn has_plaintext(a: &StaticAuth) -> bool {
    let plain = |s: &str| !s.is_empty() && !rnats_auth::secret::is_bcrypt(s);
    a.token.as_deref().is_some_and(plain)
        || a.user.as_ref().is_some_and(|(_, p)| plain(p))
        || a.users.values().any(|u| plain(&u.password))
}

/// The global account's name, reserved.
const GLOBAL: &str = "$G";

/// Parse `accounts {}` (map form with users and default permissions, or a list of names) into
/// `auth` (users bound to their account) and the list of account names.
pub fn accounts(
    cx: &mut Ctx,
    e: &Entry,
    auth: &mut StaticAuth,
    names: &mut Vec<String>,
    links: &mut LinkConfig,
) {
    let mut add_name = |cx: &mut Ctx, pos: &dyn Fn(&mut Ctx, String), n: &str| {
        if n == GLOBAL {
            pos(cx, format!("{n:?} is a Reserved Account"));
            false
        } else if names.iter().any(|x| x == n) {
            pos(cx, format!("Duplicate Account Entry: {n}"));
            false
        } else {
            names.push(n.to_string());
            true
        }
    };
    match &e.value.value {
        Value::Array(list) => {
            for item in list {
                match item.as_str() {
                    Some(n) => {
                        add_name(cx, &|cx, m| item_err(cx, item, m), n);
                    }
                    None => item_err(cx, item, "Expected account name to be a string"),
                }
            }
        }
        Value::Map(m) => {
            for acc in m.iter() {
                if acc.used_as_variable {
                    continue;
                }
                let Some(am) = acc.value.as_map() else {
                    cx.err(acc, "Expected map entries for accounts");
                    continue;
                };
                if !add_name(cx, &|cx, msg| cx.err(acc, msg), &acc.key) {
                    continue;
                }
                let mut local = StaticAuth::default();
                let mut defaults = None;
                for k in am.iter() {
                    match k.key.to_ascii_lowercase().as_str() {
                        "users" => users(cx, k, &mut local, Some(&acc.key)),
                        "default_permissions" => defaults = permissions(cx, k),
                        "nkey" => {}
                        "imports" => {
                            let list = super::links::imports(cx, k);
                            links
                                .imports
                                .entry(acc.key.clone())
                                .or_default()
                                .extend(list);
                        }
                        "exports" => {
                            let list = super::links::exports(cx, k);
                            links
                                .exports
                                .entry(acc.key.clone())
                                .or_default()
                                .extend(list);
                        }
                        "jetstream" | "limits" | "mappings" | "maps" | "msg_trace"
                        | "trace_dest" => {
                            cx.warnings.push(format!(
                                "{}: not supported yet: account {}",
                                k.key_pos, k.key
                            ));
                        }
                        _ if k.used_as_variable => {}
                        _ => cx.err(k, format!("unknown field {:?}", k.key)),
                    }
                }
                for (name, mut u) in local.users {
                    if let Some(d) = &defaults {
                        u.permissions.get_or_insert_with(|| d.clone());
                    }
                    if auth.users.contains_key(&name) || auth.nkeys.contains_key(&name) {
                        cx.err(acc, format!("Duplicate user {name:?} detected"));
                    } else {
                        auth.users.insert(name, u);
                    }
                }
                for (key, mut u) in local.nkeys {
                    if let Some(d) = &defaults {
                        u.permissions.get_or_insert_with(|| d.clone());
                    }
                    if auth.users.contains_key(&key) || auth.nkeys.contains_key(&key) {
                        cx.err(acc, format!("Duplicate nkey {key:?} detected"));
                    } else {
                        auth.nkeys.insert(key, u);
                    }
                }
            }
        }
        v => cx.err(
            e,
            format!(
                "Expected an array or map of accounts, got {}",
                v.go_type_name()
            ),
        ),
    }
    // The reference checks exports and imports only once the accounts parsed cleanly.
    if cx.errors.is_empty() {
        super::links::validate(cx, e, names, links);
    }
}
