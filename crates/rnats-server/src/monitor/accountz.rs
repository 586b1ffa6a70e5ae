//! `/accountz` and `/accstatz`: the accounts a server knows, one account's detail, and each
//! account's connection and traffic counters (nats-server `Accountz`, `AccountInfo`,
//! `AccountStatz`, `AccountStat`).
//!
//! Model: accounts are read from the server's account map. An account's exports and imports
//! are rendered from the configuration in force (`accounts { … }`) or, in operator mode, from
//! the links the account JWTs declare, in the reference's `ExtExport`/`ExtImport` shapes.
//! Traffic counters are [`crate::account::AccountStats`]: `received` is what the account's
//! clients published, `sent` what was delivered after a match in the account.

use super::subsz::SublistStatsJson;
use super::{Query, rfc3339};
use crate::account::Account;
use crate::imports::{Export, Import, Kind, ResponseType};
use crate::server::Server;
use rnats_auth::operator::AccountSource;
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;

/// What `/accountz` (and `$SYS.REQ.SERVER.PING.ACCOUNTZ`, Go `AccountzEventOptions`) asks.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct AccountzOptions {
    /// One account's detail (`acc=`); empty: the list of names.
    pub account: String,
}

impl AccountzOptions {
    /// From the HTTP query (`acc`).
    pub fn from_query(q: &Query) -> Result<Self, String> {
        Ok(AccountzOptions {
            account: q.get("acc").unwrap_or_default().to_string(),
        })
    }
}

/// The `/accountz` answer.
#[derive(Debug, Serialize)]
pub struct Accountz {
    pub server_id: String,
    pub now: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub system_account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accounts: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_detail: Option<AccountInfo>,
}

/// nats-server `AccountInfo`.
#[derive(Debug, Serialize)]
pub struct AccountInfo {
    pub account_name: String,
    pub update_time: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_system: bool,
    pub expired: bool,
    pub complete: bool,
    pub jetstream_enabled: bool,
    pub leafnode_connections: u64,
    pub client_connections: u64,
    pub subscriptions: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exports: Vec<ExtExport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<ExtImport>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub jwt: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub issuer_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name_tag: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded_jwt: Option<serde_json::Value>,
    pub sublist_stats: SublistStatsJson,
}

/// nats-server `ExtExport` (a `jwt.Export` plus approvals).
#[derive(Debug, Serialize, PartialEq)]
pub struct ExtExport {
    pub subject: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub token_req: bool,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub response_type: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approved_accounts: Vec<String>,
}

/// nats-server `ExtImport` (a `jwt.Import` plus state).
#[derive(Debug, Serialize, PartialEq)]
pub struct ExtImport {
    pub subject: String,
    pub account: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub to: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub local_subject: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub invalid: bool,
    pub share: bool,
    pub tracking: bool,
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Stream => "stream",
        Kind::Service => "service",
    }
}

/// An export as the reference renders it.
pub fn ext_export(x: &Export) -> ExtExport {
    ExtExport {
        subject: x.subject.clone(),
        kind: kind_name(x.kind),
        token_req: false,
        response_type: match (x.kind, x.response) {
            (Kind::Stream, _) => "",
            (_, ResponseType::Singleton) => "Singleton",
            (_, ResponseType::Stream) => "Stream",
            (_, ResponseType::Chunked) => "Chunked",
        },
        approved_accounts: x.accounts.clone().unwrap_or_default(),
    }
}

/// An import as the reference renders it: for a stream, `subject` is the exporter's and
/// `local_subject` where it lands; for a service, `subject` is the exporter's, `to` and
/// `local_subject` the subject requests are published on locally.
pub fn ext_import(i: &Import) -> ExtImport {
    let local = match (i.kind, &i.prefix, &i.to) {
        (Kind::Stream, Some(p), _) => format!("{p}.{}", i.subject),
        (_, _, Some(to)) => to.clone(),
        _ => i.subject.clone(),
    };
    ExtImport {
        subject: i.subject.clone(),
        account: i.account.clone(),
        to: if i.kind == Kind::Service {
            local.clone()
        } else {
            String::new()
        },
        local_subject: local,
        kind: kind_name(i.kind),
        invalid: false,
        share: false,
        tracking: false,
    }
}

/// The name an account is shown under: its JWT's name in operator mode, else its own.
pub fn name_tag(s: &Server, acc: &Account) -> String {
    s.operator()
        .and_then(|op| op.account(&acc.name).ok())
        .map(|c| c.data.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| acc.name.clone())
}

/// [`accountz`], refusing an unknown account with the reference's text.
pub fn checked(s: &Server, o: &AccountzOptions) -> Result<Accountz, String> {
    if !o.account.is_empty() && s.lookup_account(&o.account).is_none() {
        return Err(format!("Account {} does not exist", o.account));
    }
    Ok(accountz(s, o))
}

/// The `/accountz` answer (an unknown account: no detail; see [`checked`]).
pub fn accountz(s: &Server, o: &AccountzOptions) -> Accountz {
    let sys = s.system_account();
    let mut a = Accountz {
        server_id: s.id.clone(),
        now: rfc3339(std::time::SystemTime::now()),
        system_account: sys.as_ref().map(|a| a.name.clone()).unwrap_or_default(),
        accounts: None,
        account_detail: None,
    };
    if o.account.is_empty() {
        a.accounts = Some(s.accounts().iter().map(|a| a.name.clone()).collect());
        return a;
    }
    let Some(acc) = s.lookup_account(&o.account) else {
        return a;
    };
    let is_system = sys.is_some_and(|x| std::sync::Arc::ptr_eq(&x, &acc));
    a.account_detail = Some(account_info(s, &acc, is_system));
    a
}

fn account_info(s: &Server, acc: &Account, is_system: bool) -> AccountInfo {
    let opts = s.opts();
    let op = s.operator();
    let claims = op.and_then(|op| op.account(&acc.name).ok());
    let jwt_links;
    let links = match op {
        Some(op) => {
            jwt_links = op.links(s.clock.now(), &opts.clock_skew);
            &jwt_links
        }
        None => &opts.links,
    };
    let jwt = op
        .and_then(|op| op.stored_jwt(&acc.name))
        .unwrap_or_default();
    let decoded_jwt = jwt.split('.').nth(1).and_then(|p| {
        use base64::Engine;
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(p.trim_end_matches('='))
            .ok()?;
        serde_json::from_slice(&b).ok()
    });
    let updated = *acc.updated.lock().unwrap_or_else(|e| e.into_inner());
    AccountInfo {
        account_name: acc.name.clone(),
        update_time: rfc3339(updated),
        is_system,
        expired: false,
        complete: true,
        jetstream_enabled: false,
        leafnode_connections: 0,
        client_connections: acc.conns.load(Ordering::Relaxed).max(0) as u64,
        subscriptions: acc.sublist.count() as u64,
        exports: links
            .exports
            .get(&acc.name)
            .map(|v| v.iter().map(ext_export).collect())
            .unwrap_or_default(),
        imports: links
            .imports
            .get(&acc.name)
            .map(|v| v.iter().map(ext_import).collect())
            .unwrap_or_default(),
        jwt,
        issuer_key: claims
            .as_ref()
            .map(|c| c.data.iss.clone())
            .unwrap_or_default(),
        name_tag: name_tag(s, acc),
        decoded_jwt,
        sublist_stats: SublistStatsJson::of(acc),
    }
}

/// What `/accstatz` (and `$SYS.REQ.ACCOUNT.PING.STATZ`, Go `AccountStatzEventOptions`) asks.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct AccountStatzOptions {
    /// Only these accounts (empty: all).
    pub accounts: Vec<String>,
    /// Include accounts without local connections (`unused=1`).
    pub include_unused: bool,
}

impl AccountStatzOptions {
    /// From the HTTP query: `unused`, and (an rnats extension; the reference's HTTP handler
    /// ignores it) `acc=A,B` to select accounts as the system request's `accounts` does.
    pub fn from_query(q: &Query) -> Result<Self, String> {
        Ok(AccountStatzOptions {
            include_unused: q.bool("unused")?,
            accounts: q
                .get("acc")
                .unwrap_or_default()
                .split(',')
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect(),
        })
    }
}

/// The `/accstatz` answer.
#[derive(Debug, Serialize)]
pub struct AccountStatz {
    pub server_id: String,
    pub now: String,
    pub account_statz: Vec<AccountStat>,
}

/// nats-server `AccountStat`.
#[derive(Debug, Serialize, PartialEq)]
pub struct AccountStat {
    pub acc: String,
    pub name: String,
    pub conns: u64,
    pub leafnodes: u64,
    pub total_conns: u64,
    pub num_subscriptions: u64,
    pub sent: DataStats,
    pub received: DataStats,
    pub slow_consumers: u64,
}

/// nats-server `DataStats` (gateways, routes and leafs stay zero: no clustering yet).
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct DataStats {
    pub msgs: u64,
    pub bytes: u64,
    pub gateways: MsgBytes,
    pub routes: MsgBytes,
    pub leafs: MsgBytes,
}

/// nats-server `MsgBytes`.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct MsgBytes {
    pub msgs: u64,
    pub bytes: u64,
}

/// One account's counters (`Account.statz`).
pub fn account_stat(s: &Server, acc: &Account) -> AccountStat {
    let st = &acc.stats;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let conns = acc.conns.load(Ordering::Relaxed).max(0) as u64;
    AccountStat {
        acc: acc.name.clone(),
        name: name_tag(s, acc),
        conns,
        leafnodes: 0,
        total_conns: conns,
        num_subscriptions: acc.sublist.count() as u64,
        sent: DataStats {
            msgs: load(&st.out_msgs),
            bytes: load(&st.out_bytes),
            ..Default::default()
        },
        received: DataStats {
            msgs: load(&st.in_msgs),
            bytes: load(&st.in_bytes),
            ..Default::default()
        },
        slow_consumers: load(&st.slow_consumers),
    }
}

/// The `/accstatz` answer: accounts with local connections, or all with `include_unused`.
pub fn accstatz(s: &Server, o: &AccountStatzOptions) -> AccountStatz {
    let accounts = if o.accounts.is_empty() {
        s.accounts()
    } else {
        o.accounts
            .iter()
            .filter_map(|n| s.lookup_account(n))
            .collect()
    };
    AccountStatz {
        server_id: s.id.clone(),
        now: rfc3339(std::time::SystemTime::now()),
        account_statz: accounts
            .iter()
            .filter(|a| o.include_unused || a.conns.load(Ordering::Relaxed) != 0)
            .map(|a| account_stat(s, a))
            .collect(),
    }
}

#[cfg(test)]
mod tests;
