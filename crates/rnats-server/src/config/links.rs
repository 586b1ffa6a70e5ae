//! `exports` and `imports` inside `accounts {}` (nats-server `opts.go parseAccountExports`,
//! `parseAccountImports`, `parseExportStreamOrService`, `parseImportStreamOrService`) and the
//! checks the reference makes once every account is known (`parseAccounts`, `accounts.go`), with
//! its messages.

use super::Ctx;
use super::duration::parse_go_duration;
use crate::imports::{Export, Import, Kind, LinkConfig, ResponseType};
use rnats_conf::{Entry, Item};
use rnats_proto::subject::{has_wildcard, is_subset, is_valid_subject};
use rustc_hash::FxHashMap;

fn item_err(cx: &mut Ctx, item: &Item, msg: impl std::fmt::Display) {
    cx.errors.push(format!("{}: {msg}", item.pos));
}

fn string_or_err(cx: &mut Ctx, e: &Entry) -> Option<String> {
    match e.value.as_str() {
        Some(s) => Some(s.to_string()),
        None => {
            cx.type_err(e, "string");
            None
        }
    }
}

/// The maps of an `exports`/`imports` array (`what` = `Export`/`Import`), with the reference's
/// messages for a non-array and for non-map items.
fn maps_in<'a>(cx: &mut Ctx, e: &'a Entry, what: &str) -> Vec<(&'a Item, &'a rnats_conf::Map)> {
    let Some(list) = e.value.as_array() else {
        cx.err(
            e,
            format!(
                "{what}s should be an array, got {}",
                e.value.value.go_type_name()
            ),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in list {
        match item.as_map() {
            Some(m) => out.push((item, m)),
            None => item_err(
                cx,
                item,
                format!(
                    "{what} Items should be a map with type entry, got {}",
                    item.value.go_type_name()
                ),
            ),
        }
    }
    out
}

/// Parse one account's `exports` list.
pub fn exports(cx: &mut Ctx, e: &Entry) -> Vec<Export> {
    let mut out = Vec::new();
    for (_, m) in maps_in(cx, e, "Export") {
        let mut kind = None;
        let mut subject = None;
        let mut accounts = None;
        let mut response = None;
        let mut threshold = None;
        let mut account_pos = 0;
        for k in m.iter() {
            match k.key.to_ascii_lowercase().as_str() {
                "stream" | "service" => {
                    let this = if k.key.eq_ignore_ascii_case("stream") {
                        Kind::Stream
                    } else {
                        Kind::Service
                    };
                    if let Some(prev) = kind
                        && prev != this
                    {
                        let (saw, other) = match this {
                            Kind::Stream => ("stream", "service"),
                            Kind::Service => ("service", "stream"),
                        };
                        let v = k.value.as_str().unwrap_or_default();
                        cx.err(k, format!("Detected {saw} {v:?} but already saw a {other}"));
                        continue;
                    }
                    let Some(s) = k.value.as_str() else {
                        let what = if this == Kind::Stream {
                            "stream"
                        } else {
                            "service"
                        };
                        cx.err(
                            k,
                            format!(
                                "Expected {what} name to be string, got {}",
                                k.value.value.go_type_name()
                            ),
                        );
                        continue;
                    };
                    kind = Some(this);
                    subject = Some(s.to_string());
                }
                "response" | "response_type" => {
                    if response.is_some() {
                        cx.err(k, "Duplicate response type definition");
                        continue;
                    }
                    let Some(s) = k.value.as_str() else {
                        cx.err(
                            k,
                            format!(
                                "Expected response type to be string, got {}",
                                k.value.value.go_type_name()
                            ),
                        );
                        continue;
                    };
                    match ResponseType::parse(s) {
                        Some(rt) => response = Some((rt, k)),
                        None => cx.err(k, format!("Unknown response type: {s:?}")),
                    }
                }
                "threshold" | "response_threshold" | "response_max_time" | "response_time" => {
                    if threshold.is_some() {
                        cx.err(k, "Duplicate response threshold detected");
                        continue;
                    }
                    let parsed = k.value.as_str().map(|s| (s, parse_go_duration(s)));
                    match parsed {
                        Some((_, Ok((d, false)))) => threshold = Some((d, k)),
                        Some((s, _)) => cx.err(
                            k,
                            format!(
                                "Expected response threshold to be a parseable time duration, got {s:?}"
                            ),
                        ),
                        None => cx.err(
                            k,
                            format!(
                                "Expected response threshold to be a parseable time duration, got {}",
                                k.value.value.go_type_name()
                            ),
                        ),
                    }
                }
                "accounts" => {
                    let Some(list) = k.value.as_array() else {
                        cx.type_err(k, "[]interface {}");
                        continue;
                    };
                    let mut names = Vec::new();
                    for a in list {
                        match a.as_str() {
                            Some(s) => names.push(s.to_string()),
                            None => item_err(
                                cx,
                                a,
                                format!(
                                    "interface conversion: interface {{}} is {}, not string",
                                    a.value.go_type_name()
                                ),
                            ),
                        }
                    }
                    accounts = Some(names);
                }
                "account_token_position" => {
                    // Go's `uint(int64)`: a negative value wraps, and is then refused as not
                    // naming a `*` token.
                    if let Some(n) = cx.int(k) {
                        account_pos = n as u64;
                    }
                }
                "latency" | "allow_trace" => {
                    cx.warnings.push(format!(
                        "{}: not supported yet: export {} (ignored)",
                        k.key_pos, k.key
                    ));
                }
                _ if k.used_as_variable => {}
                _ => cx.err(k, format!("unknown field {:?}", k.key)),
            }
        }
        if kind == Some(Kind::Stream) {
            for k in [response.map(|r| r.1), threshold.map(|t| t.1)]
                .into_iter()
                .flatten()
            {
                cx.err(k, "Detected response directive on non-service");
            }
        }
        if let (Some(kind), Some(subject)) = (kind, subject) {
            out.push(Export {
                kind,
                subject,
                accounts,
                account_pos,
                response: response.map(|r| r.0).unwrap_or_default(),
                threshold: threshold
                    .map(|t| t.0)
                    .unwrap_or(crate::imports::DEFAULT_THRESHOLD),
            });
        }
    }
    out
}

/// Parse one account's `imports` list.
pub fn imports(cx: &mut Ctx, e: &Entry) -> Vec<Import> {
    let mut out: Vec<Import> = Vec::new();
    for (item, m) in maps_in(cx, e, "Import") {
        let mut found: Option<(Kind, String, String)> = None;
        let (mut to, mut prefix) = (None, None);
        let mut ok = true;
        for k in m.iter() {
            match k.key.to_ascii_lowercase().as_str() {
                "stream" | "service" => {
                    let this = if k.key.eq_ignore_ascii_case("stream") {
                        Kind::Stream
                    } else {
                        Kind::Service
                    };
                    let name = if this == Kind::Stream {
                        ("Stream", "stream", "service")
                    } else {
                        ("Service", "service", "stream")
                    };
                    if found.as_ref().is_some_and(|f| f.0 != this) {
                        cx.err(
                            k,
                            format!("Detected {} but already saw a {}", name.1, name.2),
                        );
                        ok = false;
                        continue;
                    }
                    let Some(am) = k.value.as_map() else {
                        cx.err(
                            k,
                            format!(
                                "{} entry should be an account map, got {}",
                                name.0,
                                k.value.value.go_type_name()
                            ),
                        );
                        ok = false;
                        continue;
                    };
                    let (mut account, mut subject) = (String::new(), String::new());
                    for f in am.iter() {
                        match f.key.to_ascii_lowercase().as_str() {
                            "account" => account = string_or_err(cx, f).unwrap_or_default(),
                            "subject" => subject = string_or_err(cx, f).unwrap_or_default(),
                            _ if f.used_as_variable => {}
                            _ => cx.err(f, format!("unknown field {:?}", f.key)),
                        }
                    }
                    if account.is_empty() || subject.is_empty() {
                        cx.err(k, "Expect an account name and a subject");
                        ok = false;
                        continue;
                    }
                    found = Some((this, account, subject));
                }
                "to" => to = string_or_err(cx, k).map(|s| (s, k)),
                "prefix" => prefix = string_or_err(cx, k),
                "share" | "allow_trace" => {
                    if k.value.as_bool().is_none() {
                        cx.type_err(k, "bool");
                    }
                }
                _ if k.used_as_variable => {}
                _ => cx.err(k, format!("unknown field {:?}", k.key)),
            }
        }
        let Some((kind, account, subject)) = found else {
            continue;
        };
        if !ok {
            continue;
        }
        if kind == Kind::Stream
            && let (Some((_, tk)), Some(_)) = (&to, &prefix)
        {
            cx.err(
                tk,
                "Stream import can not have a 'prefix' and a 'to' property",
            );
            continue;
        }
        let to = to.map(|t| t.0);
        if kind == Kind::Service {
            let local = to.clone().unwrap_or_else(|| subject.clone());
            if let Some(dup) = out
                .iter()
                .find(|i| i.kind == Kind::Service && i.account == account && i.local() == local)
            {
                item_err(
                    cx,
                    item,
                    format!(
                        "Duplicate service import subject {local:?}, previously used in import for account {:?}, subject {:?}",
                        dup.account, dup.subject
                    ),
                );
                continue;
            }
        }
        out.push(Import {
            kind,
            account,
            subject,
            to,
            prefix: if kind == Kind::Stream { prefix } else { None },
            pos: item.pos.to_string(),
        });
    }
    out
}

impl Import {
    /// The subject the importer uses.
    pub fn local(&self) -> String {
        if let Some(p) = &self.prefix {
            let p = p.strip_suffix('.').unwrap_or(p);
            return format!("{p}.{}", self.subject);
        }
        self.to.clone().unwrap_or_else(|| self.subject.clone())
    }
}

/// Whether adding a service import of `dest`'s services by `importer`, under the local subject
/// `from`, would close a cycle through the service imports already `added` (importer, import)
/// — the reference's `serviceImportFormsCycle`, which refuses such an import. Following the
/// chain from `dest`: an import whose exported subject collides with `from` leads on to its
/// exporter (narrowing `from` to the import's local subject when that is a subset); reaching an
/// account already on the path is a cycle. The search is bounded like the reference's (1024).
pub fn forms_cycle(added: &[(&str, &Import)], importer: &str, dest: &str, from: &str) -> bool {
    fn walk(added: &[(&str, &Import)], acc: &str, from: &str, visited: &mut Vec<String>) -> bool {
        if visited.len() >= 1024 {
            return true;
        }
        for (_, si) in added.iter().filter(|(a, _)| *a == acc) {
            if !rnats_proto::subject::collide(from.as_bytes(), si.subject.as_bytes()) {
                continue;
            }
            if visited.contains(&si.account) {
                return true;
            }
            visited.push(acc.to_string());
            let local = si.local();
            let f = if is_subset(local.as_bytes(), from.as_bytes()) {
                local.as_str()
            } else {
                from
            };
            if walk(added, &si.account, f, visited) {
                return true;
            }
        }
        false
    }
    walk(added, dest, from, &mut vec![importer.to_string()])
}

/// Leave out (with the reference's warning) the service imports that would close a cycle,
/// taking accounts in name order and imports in their order (JWT imports are not a
/// configuration file: the reference skips the import and loads the account).
pub fn drop_cycles(imports: &mut FxHashMap<String, Vec<Import>>) {
    let mut names: Vec<String> = imports.keys().cloned().collect();
    names.sort();
    let mut drop: Vec<(String, usize)> = Vec::new();
    {
        let mut added: Vec<(&str, &Import)> = Vec::new();
        for n in &names {
            for (idx, i) in imports[n].iter().enumerate() {
                if i.kind != Kind::Service {
                    continue;
                }
                if forms_cycle(&added, n, &i.account, &i.local()) {
                    tracing::warn!(
                        "Error adding service import {:?} to account [{n}]: import forms a cycle",
                        i.subject
                    );
                    drop.push((n.clone(), idx));
                } else {
                    added.push((n.as_str(), i));
                }
            }
        }
    }
    for (n, idx) in drop.into_iter().rev() {
        if let Some(v) = imports.get_mut(&n) {
            v.remove(idx);
        }
    }
}

/// Whether `importer` may import `subject` from an export list (`check*ImportAuthorized`).
pub fn authorized(exports: &[Export], kind: Kind, importer: &str, subject: &str) -> bool {
    exports.iter().any(|x| {
        x.kind == kind
            && is_subset(subject.as_bytes(), x.subject.as_bytes())
            && x.admits(importer, subject)
    })
}

/// The checks made once every account is known; errors are reported at `at` (the reference
/// reports them at the `accounts` block).
pub fn validate(cx: &mut Ctx, at: &Entry, names: &[String], links: &LinkConfig) {
    let known = |n: &str| names.iter().any(|x| x == n);
    let mut accounts: Vec<&String> = links.exports.keys().collect();
    accounts.sort();
    // Exports are checked for their accounts only: the reference never validates an export's
    // subject.
    // Stream exports, then service exports; likewise for imports (the reference's order).
    let kinds = [Kind::Stream, Kind::Service];
    for (kind, acc) in kinds
        .iter()
        .flat_map(|k| accounts.iter().map(move |a| (*k, *a)))
    {
        for x in links.exports[acc].iter().filter(|x| x.kind == kind) {
            let what = match x.kind {
                Kind::Stream => "stream",
                Kind::Service => "service",
            };
            for n in x.accounts.iter().flatten() {
                if !known(n) {
                    cx.err(at, format!("{n:?} account not defined for {what} export"));
                }
            }
            if !x.account_pos_valid() {
                cx.err(
                    at,
                    format!(
                        "Error adding {what} export {:?}: sublist: invalid subject",
                        x.subject
                    ),
                );
            }
        }
    }
    let mut accounts: Vec<&String> = links.imports.keys().collect();
    accounts.sort();
    // Service imports accepted so far, across accounts (a cycle closes on the later one).
    let mut added: Vec<(&str, &Import)> = Vec::new();
    for (kind, acc) in kinds
        .iter()
        .flat_map(|k| accounts.iter().map(move |a| (*k, *a)))
    {
        let mut seen_streams: Vec<(&str, &str)> = Vec::new();
        for i in links.imports[acc].iter().filter(|i| i.kind == kind) {
            let what = match i.kind {
                Kind::Stream => "stream",
                Kind::Service => "service",
            };
            if !known(&i.account) {
                cx.err(
                    at,
                    format!("{:?} account not defined for {what} import", i.account),
                );
                continue;
            }
            let fail = |cx: &mut Ctx, why: &str| {
                cx.err(
                    at,
                    format!("Error adding {what} import {:?}: {why}", i.subject),
                );
            };
            let exports = links
                .exports
                .get(&i.account)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let valid = is_valid_subject(i.subject.as_bytes())
                && i.to.as_ref().is_none_or(|t| is_valid_subject(t.as_bytes()));
            if i.kind == Kind::Service && !valid {
                fail(cx, "sublist: invalid subject");
            } else if !valid || !authorized(exports, i.kind, acc, &i.subject) {
                fail(cx, &format!("{what} import not authorized"));
            } else if i
                .prefix
                .as_ref()
                .is_some_and(|p| has_wildcard(p.as_bytes()))
            {
                fail(cx, "stream import prefix can not contain wildcard tokens");
            } else if let (Kind::Stream, Some(to)) = (i.kind, &i.to)
                && let Err(e) = crate::imports::check_mapping(&i.subject, to)
            {
                fail(
                    cx,
                    &format!(
                        "failed to create mapping transform for stream import subject from {:?} to {to:?}: {e}",
                        i.subject
                    ),
                );
            } else if i.kind == Kind::Stream
                && seen_streams.contains(&(i.account.as_str(), i.subject.as_str()))
            {
                fail(cx, "stream import already exists");
            } else if i.kind == Kind::Stream {
                seen_streams.push((i.account.as_str(), i.subject.as_str()));
            } else if forms_cycle(&added, acc, &i.account, &i.local()) {
                fail(cx, "import forms a cycle");
            } else {
                added.push((acc.as_str(), i));
            }
        }
    }
}
