//! `/connz`: one entry per client connection (nats-server `Connz`, `ConnInfo`).
//!
//! Model: [`connz`] snapshots the open connections (each read from its [`ClientShared`]) and,
//! when asked, the ring of recently closed ones ([`super::closed`]), filters them (`cid`, `acc`,
//! `user`, `filter_subject`), sorts them with the reference's rules (`cid`/`start` ascending,
//! `uptime` and `reason` ascending, every other key descending) and returns the requested page.
//! Field names, order and `omitempty` rules follow the reference's JSON.

use super::{Query, rfc3339, uptime};
use crate::client::ClientShared;
use crate::defaults as d;
use crate::server::Server;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

/// How many connections a page holds by default (`DefaultConnListSize`).
pub const DEFAULT_LIMIT: i64 = 1024;

/// Which connections to list (Go's `ConnState`: 0 open, 1 closed, 2 all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnState {
    #[default]
    Open,
    Closed,
    All,
}

impl<'de> Deserialize<'de> for ConnState {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        // The reference sends the integer; the words are accepted too.
        match serde_json::Value::deserialize(de)? {
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(0) => Ok(ConnState::Open),
                Some(1) => Ok(ConnState::Closed),
                Some(2) => Ok(ConnState::All),
                _ => Err(serde::de::Error::custom("invalid connection state")),
            },
            serde_json::Value::String(s) => ConnState::parse(&s).map_err(serde::de::Error::custom),
            serde_json::Value::Null => Ok(ConnState::Open),
            _ => Err(serde::de::Error::custom("invalid connection state")),
        }
    }
}

impl ConnState {
    fn parse(s: &str) -> Result<ConnState, String> {
        match s.to_ascii_lowercase().as_str() {
            "open" => Ok(ConnState::Open),
            "closed" => Ok(ConnState::Closed),
            "any" | "all" => Ok(ConnState::All),
            _ => Err(format!("Error decoding state for {s}")),
        }
    }
}

/// A sort key (`SortOpt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOpt {
    Cid,
    Start,
    Subs,
    Pending,
    OutMsgs,
    InMsgs,
    OutBytes,
    InBytes,
    Last,
    Idle,
    Uptime,
    Stop,
    Reason,
    Rtt,
}

impl SortOpt {
    /// The key named `s` (`""` is by cid), or the reference's error.
    pub fn parse(s: &str) -> Result<SortOpt, String> {
        Ok(match s {
            "" | "cid" => SortOpt::Cid,
            "start" => SortOpt::Start,
            "subs" => SortOpt::Subs,
            "pending" => SortOpt::Pending,
            "msgs_to" => SortOpt::OutMsgs,
            "msgs_from" => SortOpt::InMsgs,
            "bytes_to" => SortOpt::OutBytes,
            "bytes_from" => SortOpt::InBytes,
            "last" => SortOpt::Last,
            "idle" => SortOpt::Idle,
            "uptime" => SortOpt::Uptime,
            "stop" => SortOpt::Stop,
            "reason" => SortOpt::Reason,
            "rtt" => SortOpt::Rtt,
            _ => return Err(format!("invalid sorting option: {s}")),
        })
    }
}

/// The options of a `/connz` request; deserializes from the JSON body of the system account's
/// `CONNZ` requests (Go's `ConnzOptions` names).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ConnzOptions {
    pub sort: String,
    /// Include `authorized_user`, `account`, `jwt`… (`auth`).
    #[serde(rename = "auth")]
    pub username: bool,
    pub subscriptions: bool,
    pub subscriptions_detail: bool,
    pub offset: i64,
    pub limit: i64,
    pub cid: u64,
    pub mqtt_client: String,
    pub state: ConnState,
    pub user: String,
    #[serde(rename = "acc")]
    pub account: String,
    pub filter_subject: String,
}

fn bool_param(q: &Query, key: &str) -> Result<bool, String> {
    match q.get(key) {
        None | Some("") => Ok(false),
        Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(true),
        Some("0" | "f" | "F" | "false" | "FALSE" | "False") => Ok(false),
        Some(v) => Err(format!(
            "Error decoding boolean for '{key}': strconv.ParseBool: parsing \"{v}\": invalid syntax"
        )),
    }
}

fn int_param<T: std::str::FromStr + Default>(
    q: &Query,
    key: &str,
    go: &str,
    kind: &str,
) -> Result<T, String> {
    match q.get(key) {
        None | Some("") => Ok(T::default()),
        Some(v) => v.parse().map_err(|_| {
            format!("Error decoding {kind} for '{key}': {go}: parsing \"{v}\": invalid syntax")
        }),
    }
}

impl ConnzOptions {
    /// The options of an HTTP request, or the reference's 400 text for a bad parameter.
    pub fn from_query(q: &Query) -> Result<ConnzOptions, String> {
        let subs_detail = q
            .get("subs")
            .is_some_and(|v| v.eq_ignore_ascii_case("detail"));
        let o = ConnzOptions {
            sort: q.get("sort").unwrap_or_default().to_string(),
            username: bool_param(q, "auth")?,
            subscriptions: !subs_detail && bool_param(q, "subs")?,
            subscriptions_detail: subs_detail,
            offset: int_param(q, "offset", "strconv.Atoi", "int")?,
            limit: int_param(q, "limit", "strconv.Atoi", "int")?,
            cid: int_param(q, "cid", "strconv.ParseUint", "uint64")?,
            state: match q.get("state") {
                None | Some("") => ConnState::Open,
                Some(s) => ConnState::parse(s)?,
            },
            mqtt_client: q.get("mqtt_client").unwrap_or_default().to_string(),
            user: q.get("user").unwrap_or_default().to_string(),
            account: q.get("acc").unwrap_or_default().to_string(),
            filter_subject: String::new(),
        };
        o.validate()?;
        Ok(o)
    }

    /// The reference's checks (`Server.Connz`), with its error texts.
    pub fn validate(&self) -> Result<(), String> {
        let sort = SortOpt::parse(&self.sort)?;
        if sort == SortOpt::Stop && self.state != ConnState::Closed {
            return Err("sort by stop only valid on closed connections".into());
        }
        if sort == SortOpt::Reason && self.state != ConnState::Closed {
            return Err("sort by reason only valid on closed connections".into());
        }
        if !self.filter_subject.is_empty() && self.filter_subject != ">" && self.account.is_empty()
        {
            return Err("filter by subject only valid with account filtering".into());
        }
        Ok(())
    }
}

fn time_json<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*t))
}

fn opt_time_json<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&rfc3339(*t)),
        None => s.serialize_none(),
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One subscription (`SubDetail`).
#[derive(Debug, Clone, Serialize)]
pub struct SubDetail {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account_tag: String,
    pub subject: String,
    #[serde(rename = "qgroup", skip_serializing_if = "String::is_empty")]
    pub queue: String,
    pub sid: String,
    pub msgs: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub cid: u64,
}

/// One connection (`ConnInfo`).
#[derive(Debug, Clone, Serialize)]
pub struct ConnInfo {
    pub cid: u64,
    pub kind: &'static str,
    #[serde(rename = "type")]
    pub kind_type: &'static str,
    pub ip: String,
    pub port: u16,
    #[serde(serialize_with = "time_json")]
    pub start: SystemTime,
    #[serde(serialize_with = "time_json")]
    pub last_activity: SystemTime,
    #[serde(
        serialize_with = "opt_time_json",
        skip_serializing_if = "Option::is_none"
    )]
    pub stop: Option<SystemTime>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    pub rtt: String,
    pub uptime: String,
    pub idle: String,
    pub pending_bytes: usize,
    pub in_msgs: u64,
    pub out_msgs: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
    pub subscriptions: u32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub lang: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tls_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tls_cipher_suite: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tls_peer_certs: Vec<crate::tls::PeerCert>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls_first: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub authorized_user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscriptions_list: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscriptions_list_detail: Vec<SubDetail>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub jwt: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub issuer_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name_tag: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The round trip in nanoseconds, for sorting.
    #[serde(skip)]
    pub rtt_ns: u64,
}

/// The `/connz` answer.
#[derive(Debug, Serialize)]
pub struct Connz {
    pub server_id: String,
    #[serde(serialize_with = "time_json")]
    pub now: SystemTime,
    pub num_connections: usize,
    pub total: usize,
    pub offset: i64,
    pub limit: i64,
    /// `null` only when `acc` names no account (as the reference).
    pub connections: Option<Vec<ConnInfo>>,
}

/// Go's `getRTT` then `Duration.String()`: microsecond precision between 1µs and 1ms.
fn rtt_string(ns: u64) -> String {
    let ns = if ns > 1_000 && ns < 1_000_000 {
        ns / 1_000 * 1_000
    } else {
        ns
    };
    crate::config::duration::go_duration_string(std::time::Duration::from_nanos(ns))
}

fn since(later: SystemTime, earlier: SystemTime) -> String {
    uptime(later.duration_since(earlier).map_or(0, |d| d.as_secs()))
}

/// What a connection's auth fields show (`getRawAuthUser`, account, JWT, issuer, tags).
pub(crate) struct AuthFields {
    pub user: String,
    pub account: String,
    pub jwt: String,
    pub issuer_key: String,
    pub tags: Vec<String>,
    /// The account's name tag (its JWT's name, else its name).
    pub account_tag: String,
    /// The user JWT's name.
    pub user_tag: String,
}

pub(crate) fn auth_fields(c: &ClientShared) -> AuthFields {
    let (auth_user, jwt) = {
        let m = c.meta.lock().unwrap_or_else(|e| e.into_inner());
        (m.auth_user.clone(), m.jwt.clone())
    };
    let session = c.jwt.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let account = c.account().name.clone();
    let mut f = AuthFields {
        user: auth_user,
        account_tag: account.clone(),
        account,
        jwt,
        issuer_key: String::new(),
        tags: Vec::new(),
        user_tag: String::new(),
    };
    if let Some(s) = session {
        f.user_tag = s.name;
        if f.user.is_empty() {
            f.user = s.user;
        }
        if s.bearer {
            f.jwt.clear();
        }
        f.issuer_key = s.issuer;
        f.tags = s.tags;
        if !s.account_name.is_empty() {
            f.account_tag = s.account_name;
        }
    }
    f
}

/// The subscriptions of a live connection, in the order they were made.
pub(crate) fn sub_details(c: &ClientShared, account: &str, account_tag: &str) -> Vec<SubDetail> {
    let mut subs: Vec<_> = c
        .subs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .cloned()
        .collect();
    subs.sort_by_key(|s| s.id);
    subs.iter()
        .map(|s| SubDetail {
            account: account.to_string(),
            account_tag: account_tag.to_string(),
            subject: String::from_utf8_lossy(&s.subject).into_owned(),
            queue: s
                .queue
                .as_deref()
                .map(|q| String::from_utf8_lossy(q).into_owned())
                .unwrap_or_default(),
            sid: String::from_utf8_lossy(&s.sid).into_owned(),
            msgs: s.delivered.load(Ordering::Relaxed),
            max: s.max.load(Ordering::Relaxed),
            cid: c.cid,
        })
        .collect()
}

/// A connection's counters and identity as of `now` (`ConnInfo.fill`); no auth or sub lists.
pub(crate) fn fill(c: &ClientShared, now: SystemTime) -> ConnInfo {
    let (pending, out_msgs, out_bytes) = {
        let o = c.out.lock().unwrap_or_else(|e| e.into_inner());
        (o.pending, o.out_msgs, o.out_bytes)
    };
    let m = c.meta.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let last = c.last_activity();
    let rtt_ns = c.rtt_ns.load(Ordering::Relaxed);
    ConnInfo {
        cid: c.cid,
        kind: "Client",
        kind_type: "nats",
        ip: c.remote.ip().to_string(),
        port: c.remote.port(),
        start: c.start,
        last_activity: last,
        stop: None,
        reason: String::new(),
        rtt: rtt_string(rtt_ns),
        uptime: since(now, c.start),
        idle: since(now, last),
        pending_bytes: pending,
        in_msgs: c.in_msgs.load(Ordering::Relaxed),
        out_msgs,
        in_bytes: c.in_bytes.load(Ordering::Relaxed),
        out_bytes,
        subscriptions: c.subs.lock().map_or(0, |s| s.len() as u32),
        name: m.name,
        lang: m.lang,
        version: m.version,
        tls_version: c.tls.get().map(|t| t.version.clone()).unwrap_or_default(),
        tls_cipher_suite: c
            .tls
            .get()
            .map(|t| t.cipher_suite.clone())
            .unwrap_or_default(),
        tls_peer_certs: Vec::new(),
        tls_first: c.tls.get().is_some_and(|t| t.first),
        authorized_user: String::new(),
        account: String::new(),
        subscriptions_list: Vec::new(),
        subscriptions_list_detail: Vec::new(),
        jwt: String::new(),
        issuer_key: String::new(),
        name_tag: String::new(),
        tags: Vec::new(),
        rtt_ns,
    }
}

/// Whether two subjects (wildcards allowed) can match a common subject (`SubjectsCollide`).
pub fn subjects_collide(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (mut ta, mut tb) = (a.split('.'), b.split('.'));
    loop {
        match (ta.next(), tb.next()) {
            (None, None) => return true,
            (Some(">"), Some(_)) | (Some(_), Some(">")) => return true,
            (Some(x), Some(y)) => {
                if x != y && x != "*" && y != "*" {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// `/connz` after the reference's option checks.
pub fn try_connz(s: &Server, o: &ConnzOptions) -> Result<Connz, String> {
    o.validate()?;
    Ok(connz(s, o))
}

/// The `/connz` answer (options assumed valid: an unknown sort key sorts by cid).
pub fn connz(s: &Server, o: &ConnzOptions) -> Connz {
    let sort = SortOpt::parse(&o.sort).unwrap_or(SortOpt::Cid);
    let mut limit = if o.limit <= 0 { DEFAULT_LIMIT } else { o.limit };
    let offset = o.offset.max(0);
    let acc = o.account.as_str();
    let state = o.state;
    if o.cid > 0 {
        limit = 1;
    }
    let filter = (!o.filter_subject.is_empty() && o.filter_subject != ">" && !acc.is_empty())
        .then_some(o.filter_subject.as_str());
    let now = SystemTime::now();
    let mut out = Connz {
        server_id: String::new(),
        now,
        num_connections: 0,
        total: 0,
        offset,
        limit,
        connections: None,
    };
    if !acc.is_empty() && !s.has_account(acc) {
        return out;
    }
    out.server_id = s.id.clone();
    let want_open = matches!(state, ConnState::Open | ConnState::All);
    let want_closed = matches!(state, ConnState::Closed | ConnState::All);
    let mut open: Vec<Arc<ClientShared>> = if want_open {
        s.clients()
            .into_iter()
            .filter(|c| acc.is_empty() || c.account().name == acc)
            .collect()
    } else {
        Vec::new()
    };
    let mut closed = if want_closed {
        s.closed.snapshot()
    } else {
        Vec::new()
    };
    if !acc.is_empty() {
        closed.retain(|cc| cc.acc == acc);
    }
    out.total = open.len() + closed.len();
    if o.cid > 0 {
        open.retain(|c| c.cid == o.cid);
        if !open.is_empty() {
            closed.clear();
        } else {
            closed.retain(|cc| cc.info.cid == o.cid);
            closed.truncate(1);
        }
    } else {
        open.retain(|c| {
            (o.user.is_empty() || auth_fields(c).user == o.user) && o.mqtt_client.is_empty()
        });
    }
    if let Some(f) = filter {
        open.retain(|c| {
            c.subs
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .values()
                .any(|sub| subjects_collide(f, &String::from_utf8_lossy(&sub.subject)))
        });
    }
    let mut list: Vec<ConnInfo> = Vec::with_capacity(open.len() + closed.len());
    for c in &open {
        let mut ci = fill(c, now);
        let subs = o.subscriptions || o.subscriptions_detail;
        if subs {
            let det = sub_details(c, "", "");
            if o.subscriptions_detail {
                ci.subscriptions_list_detail = det;
            } else {
                ci.subscriptions_list = det.into_iter().map(|d| d.subject).collect();
            }
        }
        if o.username {
            let a = auth_fields(c);
            ci.authorized_user = a.user;
            if let Some(t) = c.tls.get() {
                ci.tls_peer_certs = t.peer_certs.clone();
            }
            if a.account != d::GLOBAL_ACCOUNT {
                ci.account = a.account;
            }
            ci.jwt = a.jwt;
            ci.issuer_key = a.issuer_key;
            ci.tags = a.tags;
            ci.name_tag = a.account_tag;
        }
        list.push(ci);
    }
    for cc in closed {
        if (!o.user.is_empty() && cc.user != o.user) || !o.mqtt_client.is_empty() {
            continue;
        }
        let mut ci = cc.info.clone();
        if o.subscriptions_detail {
            ci.subscriptions_list_detail = cc.subs.clone();
        } else if o.subscriptions {
            ci.subscriptions_list = cc.subs.iter().map(|d| d.subject.clone()).collect();
        }
        if o.username {
            ci.authorized_user = cc.user.clone();
            if !cc.acc.is_empty() && cc.acc != d::GLOBAL_ACCOUNT {
                ci.account = cc.acc.clone();
                ci.name_tag = cc.acc_tag.clone();
            }
        }
        list.push(ci);
    }
    sort_conns(&mut list, sort, now);
    let total = list.len() as i64;
    let lo = offset.min(total);
    let hi = lo + limit.min(total - lo);
    let page: Vec<ConnInfo> = list
        .into_iter()
        .skip(lo as usize)
        .take((hi - lo) as usize)
        .collect();
    out.num_connections = page.len();
    out.connections = Some(page);
    out
}

fn uptime_of(c: &ConnInfo, now: SystemTime) -> std::time::Duration {
    c.stop
        .unwrap_or(now)
        .duration_since(c.start)
        .unwrap_or_default()
}

/// Sort with the reference's directions; ties keep cid order.
pub fn sort_conns(list: &mut [ConnInfo], sort: SortOpt, now: SystemTime) {
    list.sort_by_key(|c| c.cid);
    use std::cmp::Reverse;
    match sort {
        SortOpt::Cid | SortOpt::Start => {}
        SortOpt::Subs => list.sort_by_key(|c| Reverse(c.subscriptions)),
        SortOpt::Pending => list.sort_by_key(|c| Reverse(c.pending_bytes)),
        SortOpt::OutMsgs => list.sort_by_key(|c| Reverse(c.out_msgs)),
        SortOpt::InMsgs => list.sort_by_key(|c| Reverse(c.in_msgs)),
        SortOpt::OutBytes => list.sort_by_key(|c| Reverse(c.out_bytes)),
        SortOpt::InBytes => list.sort_by_key(|c| Reverse(c.in_bytes)),
        SortOpt::Last => list.sort_by_key(|c| Reverse(c.last_activity)),
        // Most idle first: the oldest activity.
        SortOpt::Idle => list.sort_by_key(|c| c.last_activity),
        SortOpt::Uptime => list.sort_by_key(|c| uptime_of(c, now)),
        SortOpt::Stop => list.sort_by_key(|c| Reverse(c.stop)),
        SortOpt::Reason => list.sort_by(|a, b| a.reason.cmp(&b.reason)),
        SortOpt::Rtt => list.sort_by_key(|c| Reverse(c.rtt_ns)),
    }
}

#[cfg(test)]
#[path = "connz_tests.rs"]
mod tests;
