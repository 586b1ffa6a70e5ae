//! Exports and imports between accounts (nats-server `accounts.go`), and the routing that
//! follows them.
//!
//! Model: accounts stay isolated subject namespaces; an import is a one-way link installed at
//! startup (and again on reload) from the configuration.
//! - A **stream** import puts a *tap* on the exporting account: a message published there on a
//!   subject the tap covers is mapped (`prefix`/`to`) and delivered to the importing account's
//!   subscribers. Like the reference's shadow subscriptions, it reaches subscribers only: it is
//!   not routed through the importer's own imports again.
//! - A **service** import is a link on the importing account: a request published there on the
//!   local subject is mapped to the exported subject and routed in the exporting account with a
//!   fresh reply subject `_R_.<account prefix>.<random>`. That reply is remembered in the
//!   exporter's response table; a response published to it is routed back into the importer
//!   under the requester's original reply. Singleton responses forward one message; stream and
//!   chunked responses forward until the export's threshold (default 2 minutes) passes.
//!
//! Links hold `Weak` references so accounts linked both ways do not keep each other alive.

use crate::account::Account;
use crate::route::{Delivery, Msg};
use rnats_proto::subject::{FWC, PWC, TSEP, matches};
use rustc_hash::FxHashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Hops a message may take across accounts (service import chains); a cycle stops here.
const MAX_DEPTH: u8 = 8;
/// The reply prefix reserved for service import responses.
pub const REPLY_PREFIX: &[u8] = b"_R_.";
/// Default response threshold of a service export.
pub const DEFAULT_THRESHOLD: Duration = Duration::from_secs(120);

/// Stream or service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Stream,
    Service,
}

/// How many responses a service request may receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseType {
    #[default]
    Singleton,
    Stream,
    Chunked,
}

impl ResponseType {
    /// Parse the reference's spellings (`single`, `singleton`, `stream`, `chunk`, `chunked`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "single" | "singleton" => Some(Self::Singleton),
            "stream" => Some(Self::Stream),
            "chunk" | "chunked" => Some(Self::Chunked),
            _ => None,
        }
    }
}

/// An export from the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    pub kind: Kind,
    pub subject: String,
    /// Accounts allowed to import (`None`: public).
    pub accounts: Option<Vec<String>>,
    /// `account_token_position` (1-based, 0: none): an import is admitted only if its subject's
    /// token at this position is the importing account's name. When set it replaces the other
    /// checks (`accounts.go checkAuth`).
    pub account_pos: u64,
    pub response: ResponseType,
    pub threshold: Duration,
}

impl Export {
    /// Whether `account_token_position` names a `*` token of the export subject
    /// (`setExportAuth`); the reference refuses to add an export where it does not.
    pub fn account_pos_valid(&self) -> bool {
        self.account_pos == 0 || self.token_at_pos(&self.subject) == Some("*")
    }

    /// The token of `subject` at the export's `account_token_position`.
    fn token_at_pos<'s>(&self, subject: &'s str) -> Option<&'s str> {
        let i = usize::try_from(self.account_pos.checked_sub(1)?).ok()?;
        subject.split('.').nth(i)
    }

    /// Whether `importer` may import `subject` (already known to be inside the export), as
    /// the reference's `checkAuth` minus activation tokens, which the caller resolves into
    /// `accounts`.
    pub fn admits(&self, importer: &str, subject: &str) -> bool {
        if self.account_pos > 0 {
            return self.token_at_pos(subject) == Some(importer);
        }
        self.accounts
            .as_ref()
            .is_none_or(|a| a.iter().any(|n| n == importer))
    }
}

/// An import from the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub kind: Kind,
    /// The exporting account.
    pub account: String,
    /// The subject in the exporting account.
    pub subject: String,
    /// The local subject (`to`), for services and mapped streams.
    pub to: Option<String>,
    /// Stream imports: local subject = `prefix.` + subject.
    pub prefix: Option<String>,
    /// `file:line:col` of the import, for messages.
    pub pos: String,
}

/// Every account's exports and imports, by account name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkConfig {
    pub exports: FxHashMap<String, Vec<Export>>,
    pub imports: FxHashMap<String, Vec<Import>>,
}

/// How a subject is rewritten when it crosses accounts.
#[derive(Debug, Clone, PartialEq)]
pub enum Transform {
    Identity,
    /// `prefix.` + subject.
    Prefix(Box<[u8]>),
    /// Always this literal subject.
    Literal(Box<[u8]>),
    /// The tokens the source pattern's wildcards matched, placed into the target pattern's
    /// wildcards in order (`>` carries the rest of the subject).
    Wildcards {
        from: Box<[u8]>,
        to: Box<[u8]>,
    },
}

impl Transform {
    /// The transform from subjects matching `from` to the pattern `to`.
    pub fn between(from: &str, to: &str) -> Self {
        if from == to {
            Transform::Identity
        } else if !rnats_proto::subject::has_wildcard(to.as_bytes())
            && !to.split('.').any(|t| dollar_index(t.as_bytes()).is_some())
        {
            Transform::Literal(to.as_bytes().into())
        } else {
            Transform::Wildcards {
                from: from.as_bytes().into(),
                to: to.as_bytes().into(),
            }
        }
    }

    /// Apply to a literal subject that matches the source pattern.
    pub fn apply<'a>(&self, subject: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
        use std::borrow::Cow;
        match self {
            Transform::Identity => Cow::Borrowed(subject),
            Transform::Prefix(p) => {
                let mut v = Vec::with_capacity(p.len() + 1 + subject.len());
                v.extend_from_slice(p);
                v.push(TSEP);
                v.extend_from_slice(subject);
                Cow::Owned(v)
            }
            Transform::Literal(t) => Cow::Owned(t.to_vec()),
            Transform::Wildcards { from, to } => {
                // Collect what each wildcard of `from` matched.
                let mut caught: Vec<&[u8]> = Vec::new();
                let mut rest: &[u8] = &[];
                let mut st = subject.split(|&b| b == TSEP);
                let mut offset = 0usize;
                for f in from.split(|&b| b == TSEP) {
                    if f == [FWC] {
                        rest = subject.get(offset..).unwrap_or_default();
                        break;
                    }
                    let Some(tok) = st.next() else { break };
                    offset += tok.len() + 1;
                    if f == [PWC] {
                        caught.push(tok);
                    }
                }
                let mut out = Vec::with_capacity(to.len() + subject.len());
                let caught_all = caught.clone();
                let mut it = caught.into_iter();
                for (i, t) in to.split(|&b| b == TSEP).enumerate() {
                    if i > 0 {
                        out.push(TSEP);
                    }
                    if let Some(i) = dollar_index(t) {
                        out.extend_from_slice(caught_all.get(i - 1).copied().unwrap_or(t));
                    } else if t == [PWC] {
                        out.extend_from_slice(it.next().unwrap_or(t));
                    } else if t == [FWC] {
                        out.extend_from_slice(if rest.is_empty() { t } else { rest });
                    } else {
                        out.extend_from_slice(t);
                    }
                }
                Cow::Owned(out)
            }
        }
    }
}

/// `$N` (N >= 1): a reference to the N-th single-token wildcard of the source pattern.
pub fn dollar_index(token: &[u8]) -> Option<usize> {
    let digits = token.strip_prefix(b"$")?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits)
        .ok()?
        .parse()
        .ok()
        .filter(|&n| n >= 1)
}

/// Check a mapping's `$N` references against the source's wildcards (the reference's text).
pub fn check_mapping(from: &str, to: &str) -> Result<(), String> {
    let stars = from.split('.').filter(|t| *t == "*").count();
    for t in to.split('.') {
        if let Some(i) = dollar_index(t.as_bytes())
            && i > stars
        {
            return Err(format!(
                "invalid mapping destination: wildcard index out of range in {t}: [{i}]"
            ));
        }
    }
    Ok(())
}

/// A stream import, seen from the exporting account.
#[derive(Debug)]
pub struct StreamTap {
    /// Subjects (in the exporter) the importer receives.
    pub subject: Box<[u8]>,
    pub importer: Weak<Account>,
    pub transform: Transform,
}

/// A service import, seen from the importing account.
#[derive(Debug)]
pub struct ServiceLink {
    /// Subjects (in the importer) that are requests to the service.
    pub local: Box<[u8]>,
    pub exporter: Weak<Account>,
    pub transform: Transform,
    pub response: ResponseType,
    pub threshold: Duration,
}

/// The links that start at one account.
#[derive(Debug, Default)]
pub struct Links {
    pub streams: Vec<StreamTap>,
    pub services: Vec<ServiceLink>,
    /// The account exports a service, so responses may arrive on `_R_.` subjects.
    pub serves: bool,
}

impl Links {
    /// Nothing to follow.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty() && self.services.is_empty() && !self.serves
    }
}

/// A pending response route, kept by the exporting account.
#[derive(Debug)]
struct Pending {
    importer: Weak<Account>,
    reply: Box<[u8]>,
    response: ResponseType,
    threshold: Duration,
    expires: Instant,
}

/// Response subjects handed out for requests into this account.
#[derive(Debug, Default)]
pub struct Responses {
    map: FxHashMap<Box<[u8]>, Pending>,
    sweep_at: usize,
}

/// At most this many pending response routes per exporting account (bounded memory).
pub const MAX_PENDING_RESPONSES: usize = 100_000;

/// The longest a response route is kept waiting.
pub const MAX_RESPONSE_THRESHOLD: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

impl Responses {
    /// Remember a new reply subject for a request; returns it.
    fn register(
        &mut self,
        prefix: &[u8],
        importer: &Arc<Account>,
        reply: &[u8],
        link: &ServiceLink,
    ) -> Box<[u8]> {
        let now = Instant::now();
        if self.map.len() >= self.sweep_at.max(1024) {
            self.map.retain(|_, p| p.expires > now);
            if self.map.len() >= MAX_PENDING_RESPONSES {
                // Still full of live routes: drop the tenth that expires first.
                let mut ex: Vec<Instant> = self.map.values().map(|p| p.expires).collect();
                ex.sort_unstable();
                let cut = ex[ex.len() / 10];
                self.map.retain(|_, p| p.expires > cut);
            }
            self.sweep_at = (self.map.len() * 2).min(MAX_PENDING_RESPONSES);
        }
        // A threshold from an account JWT can be huge: keep the deadline representable.
        let threshold = link.threshold.min(MAX_RESPONSE_THRESHOLD);
        let key: Box<[u8]> = loop {
            let mut r = Vec::with_capacity(prefix.len() + 12);
            r.extend_from_slice(prefix);
            push_random(&mut r, 6);
            // Never reuse a live route (it would send someone else's response here).
            if !self.map.contains_key(r.as_slice()) {
                break r.into();
            }
        };
        self.map.insert(
            key.clone(),
            Pending {
                importer: Arc::downgrade(importer),
                reply: reply.into(),
                response: link.response,
                threshold,
                expires: now + threshold,
            },
        );
        key
    }

    /// The importer and original reply for a response published on `subject`; a singleton
    /// mapping is used up.
    /// An empty message ends a streamed or chunked response; each other response of those
    /// kinds extends the route by the threshold again.
    fn take(&mut self, subject: &[u8], empty: bool) -> Option<(Arc<Account>, Box<[u8]>)> {
        let now = Instant::now();
        let p = self.map.get_mut(subject)?;
        if p.expires <= now || p.response == ResponseType::Singleton || empty {
            let p = self.map.remove(subject)?;
            if p.expires <= now {
                return None;
            }
            return Some((p.importer.upgrade()?, p.reply));
        }
        p.expires = now + p.threshold;
        Some((p.importer.upgrade()?, p.reply.clone()))
    }

    fn remove(&mut self, subject: &[u8]) {
        self.map.remove(subject);
    }

    /// How many response routes are pending.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// No response routes pending.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Append `n` random characters from the reference's reply alphabet.
pub fn push_random(out: &mut Vec<u8>, n: usize) {
    for _ in 0..n {
        out.push(ALPHABET[fastrand::usize(..ALPHABET.len())]);
    }
}

/// The header the reference adds to every request crossing a service import.
pub const REQUEST_INFO: &[u8] = b"Nats-Request-Info:";

/// The message with `Nats-Request-Info: {"acc":…,"rtt":…}` appended to its headers (a header
/// of that name the client sent is removed); returns the data and the new header length.
fn with_request_info(m: Msg<'_>, acc: &str, rtt_ns: u64) -> (Vec<u8>, usize) {
    #[derive(serde::Serialize)]
    struct Info<'a> {
        acc: &'a str,
        #[serde(skip_serializing_if = "is_zero")]
        rtt: u64,
    }
    fn is_zero(n: &u64) -> bool {
        *n == 0
    }
    let info = serde_json::to_string(&Info { acc, rtt: rtt_ns }).unwrap_or_default();
    let (hdr, body) = match m.header_len {
        Some(h) if h <= m.data.len() => m.data.split_at(h),
        _ => (&b""[..], m.data),
    };
    let mut out = Vec::with_capacity(hdr.len() + info.len() + body.len() + 48);
    // "NATS/1.0\r\nA: b\r\n\r\n" -> lines "NATS/1.0\r", "A: b\r" (each keeps its CR).
    let block = hdr.strip_suffix(b"\r\n").unwrap_or(hdr);
    let mut lines = block.split(|&b| b == b'\n');
    match lines.next() {
        Some(status) if !status.is_empty() => {
            out.extend_from_slice(status);
            out.push(b'\n');
        }
        _ => out.extend_from_slice(b"NATS/1.0\r\n"),
    }
    for line in lines {
        if line.is_empty() || line.starts_with(REQUEST_INFO) {
            continue;
        }
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.extend_from_slice(REQUEST_INFO);
    out.push(b' ');
    out.extend_from_slice(info.as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    let header_len = out.len();
    out.extend_from_slice(body);
    (out, header_len)
}

/// Install the links `cfg` describes between `accounts` (replacing any earlier ones). The
/// configuration was validated at load time; links to unknown accounts are skipped.
pub fn install(accounts: &FxHashMap<String, Arc<Account>>, cfg: &LinkConfig) {
    let mut per: FxHashMap<&str, Links> = accounts
        .keys()
        .map(|k| (k.as_str(), Links::default()))
        .collect();
    for (name, list) in &cfg.exports {
        if list.iter().any(|x| x.kind == Kind::Service)
            && let Some(l) = per.get_mut(name.as_str())
        {
            l.serves = true;
        }
    }
    for (importer, list) in &cfg.imports {
        let Some(imp) = accounts.get(importer) else {
            continue;
        };
        for i in list {
            let Some(exp) = accounts.get(&i.account) else {
                continue;
            };
            match i.kind {
                Kind::Stream => {
                    let transform = match (&i.prefix, &i.to) {
                        (Some(p), _) => {
                            Transform::Prefix(p.strip_suffix('.').unwrap_or(p).as_bytes().into())
                        }
                        (None, Some(to)) => Transform::between(&i.subject, to),
                        (None, None) => Transform::Identity,
                    };
                    if let Some(l) = per.get_mut(i.account.as_str()) {
                        l.streams.push(StreamTap {
                            subject: i.subject.as_bytes().into(),
                            importer: Arc::downgrade(imp),
                            transform,
                        });
                    }
                }
                Kind::Service => {
                    let local = i.local();
                    // The export with exactly this subject, else the first that covers it.
                    let export = cfg.exports.get(&i.account).and_then(|xs| {
                        let services = || xs.iter().filter(|x| x.kind == Kind::Service);
                        services().find(|x| x.subject == i.subject).or_else(|| {
                            services().find(|x| {
                                rnats_proto::subject::is_subset(
                                    i.subject.as_bytes(),
                                    x.subject.as_bytes(),
                                )
                            })
                        })
                    });
                    if let Some(l) = per.get_mut(importer.as_str()) {
                        l.services.push(ServiceLink {
                            transform: Transform::between(&local, &i.subject),
                            local: local.into_bytes().into(),
                            exporter: Arc::downgrade(exp),
                            response: export.map(|x| x.response).unwrap_or_default(),
                            threshold: export.map_or(DEFAULT_THRESHOLD, |x| x.threshold),
                        });
                    }
                }
            }
        }
    }
    for (name, links) in per {
        if let Some(a) = accounts.get(name) {
            a.set_links(links);
        }
    }
}

/// Route a message that crossed a service import (a request or its response) into `acc`: its
/// subscribers, then its service links. Like the reference, such traffic is never re-exported
/// through stream imports.
fn route_in(acc: &Arc<Account>, dl: &mut Delivery, m: Msg<'_>, depth: u8) -> usize {
    let r = acc.sublist.match_subject(m.subject);
    let mut n = dl.deliver_result(acc, &r, None, m);
    if acc.has_links() {
        n += follow(acc, dl, m, depth, false);
    }
    n
}

/// Follow the links of `acc` for a message published in it: stream taps to importers,
/// service imports to exporters, and responses back to requesters. Returns the deliveries.
pub fn route_links(acc: &Account, dl: &mut Delivery, m: Msg<'_>) -> usize {
    follow(acc, dl, m, 0, true)
}

fn follow(acc: &Account, dl: &mut Delivery, m: Msg<'_>, depth: u8, streams: bool) -> usize {
    if depth >= MAX_DEPTH {
        return 0;
    }
    let links = acc.links();
    let mut n = 0;
    for tap in links.streams.iter().filter(|_| streams) {
        if !matches(&tap.subject, m.subject) {
            continue;
        }
        let Some(importer) = tap.importer.upgrade() else {
            continue;
        };
        let subject = tap.transform.apply(m.subject);
        let r = importer.sublist.match_subject(&subject);
        // The reference counts a stream import's deliveries on the publishing account (its
        // shadow subscriptions live in the exporter's index).
        n += dl.deliver_result(
            acc,
            &r,
            None,
            Msg {
                subject: &subject,
                ..m
            },
        );
    }
    for link in &links.services {
        if !matches(&link.local, m.subject) {
            continue;
        }
        let (Some(exporter), Some(me)) = (link.exporter.upgrade(), acc.myself()) else {
            continue;
        };
        let subject = link.transform.apply(m.subject);
        let reply = m.reply.map(|r| {
            exporter
                .responses()
                .register(exporter.reply_prefix(), &me, r, link)
        });
        let (data, header_len) = with_request_info(m, &acc.name, dl.origin_rtt_ns);
        let d = route_in(
            &exporter,
            dl,
            Msg {
                subject: &subject,
                reply: reply.as_deref(),
                header_len: Some(header_len),
                data: &data,
            },
            depth + 1,
        );
        if d == 0
            && let Some(r) = &reply
        {
            exporter.responses().remove(r);
        }
        n += d;
    }
    if links.serves && m.subject.starts_with(REPLY_PREFIX) {
        let found = acc.responses().take(m.subject, m.data.is_empty());
        if let Some((importer, reply)) = found {
            n += route_in(
                &importer,
                dl,
                Msg {
                    subject: &reply,
                    ..m
                },
                depth + 1,
            );
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(from: &str, to: &str, s: &str) -> String {
        String::from_utf8_lossy(&Transform::between(from, to).apply(s.as_bytes())).into_owned()
    }

    #[test]
    fn transforms() {
        assert_eq!(t("a.b", "a.b", "a.b"), "a.b");
        assert_eq!(t("svc.echo", "echo", "echo"), "echo");
        assert_eq!(t("a.*", "b.*", "a.x"), "b.x");
        assert_eq!(t("a.*.*", "b.*.c.*", "a.x.y"), "b.x.c.y");
        assert_eq!(t("a.>", "b.>", "a.x.y.z"), "b.x.y.z");
        assert_eq!(t("a.*.>", "b.*.>", "a.x.y.z"), "b.x.y.z");
        assert_eq!(t("events.*", "ev.$1.x", "events.q"), "ev.q.x");
        assert_eq!(t("a.*.*", "b.$2.$1", "a.x.y"), "b.y.x");
        assert!(check_mapping("x.*", "y.$2").is_err());
        assert!(check_mapping("x.*", "y.$1").is_ok());
        let p = Transform::Prefix(b"from_a".as_slice().into());
        assert_eq!(p.apply(b"events.x").as_ref(), b"from_a.events.x");
    }

    #[test]
    fn request_info_header_is_added_and_a_forged_one_removed() {
        let m = |data: &'static [u8], h: Option<usize>| Msg {
            subject: b"s",
            reply: None,
            header_len: h,
            data,
        };
        let (d, h) = with_request_info(m(b"ping", None), "A", 5);
        assert_eq!(
            d,
            b"NATS/1.0\r\nNats-Request-Info: {\"acc\":\"A\",\"rtt\":5}\r\n\r\nping"
        );
        assert_eq!(h, d.len() - 4);
        let hdr: &[u8] =
            b"NATS/1.0\r\nFoo: bar\r\nNats-Request-Info: {\"acc\":\"FAKE\"}\r\nZed: 1\r\n\r\nhi";
        let (d, h) = with_request_info(m(hdr, Some(hdr.len() - 2)), "A", 0);
        assert_eq!(
            String::from_utf8_lossy(&d),
            "NATS/1.0\r\nFoo: bar\r\nZed: 1\r\nNats-Request-Info: {\"acc\":\"A\"}\r\n\r\nhi"
        );
        assert_eq!(h, d.len() - 2);
    }

    #[test]
    fn response_types() {
        assert_eq!(ResponseType::parse("single"), Some(ResponseType::Singleton));
        assert_eq!(ResponseType::parse("Chunk"), Some(ResponseType::Chunked));
        assert_eq!(ResponseType::parse("stream"), Some(ResponseType::Stream));
        assert_eq!(ResponseType::parse("bogus"), None);
    }

    #[test]
    fn response_routes_are_bounded_and_never_reused() {
        let importer = crate::account::Account::new("I", false);
        let link = ServiceLink {
            local: b"svc".to_vec().into(),
            exporter: std::sync::Weak::new(),
            transform: Transform::between("svc", "svc"),
            response: ResponseType::Singleton,
            // A JWT may ask for ~292 years: clamped, no overflow.
            threshold: Duration::from_nanos(i64::MAX as u64),
        };
        let mut r = Responses::default();
        let mut keys = std::collections::HashSet::new();
        for _ in 0..(MAX_PENDING_RESPONSES + 5_000) {
            let k = r.register(b"_R_.abcdef.", &importer, b"_INBOX.x", &link);
            assert!(keys.insert(k), "a live route was handed out twice");
            assert!(r.len() <= MAX_PENDING_RESPONSES + 1);
        }
        assert!(r.len() <= MAX_PENDING_RESPONSES);
    }
}
