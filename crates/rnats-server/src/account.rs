//! Accounts: isolated subject namespaces. Each account owns a subscription index; a message
//! published in one account is only seen by subscribers of that account, unless an export and
//! a matching import link the two (see [`crate::imports`]). Clients not bound to a configured
//! account use the global account `$G`.

use crate::client::Subscription;
use crate::imports::{Links, Responses};
use crate::sublist::Sublist;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};

/// Traffic counters of one account (`/accstatz`, nats-server `Account.stats`).
///
/// `in_*`: messages its clients published, added once per read batch. `out_*`: messages
/// delivered to subscribers after a match in this account's index (for a stream import that is
/// the publishing account, for a service import the exporter, as in the reference), added once
/// per delivery batch. Bytes are header + payload. No per-message atomic on a shared line.
#[derive(Debug, Default)]
pub struct AccountStats {
    pub in_msgs: AtomicU64,
    pub in_bytes: AtomicU64,
    pub out_msgs: AtomicU64,
    pub out_bytes: AtomicU64,
    pub slow_consumers: AtomicU64,
}

/// An account, its subscription index and its links to other accounts.
#[derive(Debug)]
pub struct Account {
    pub name: String,
    pub sublist: Sublist<Subscription>,
    me: Weak<Account>,
    links: RwLock<Arc<Links>>,
    has_links: AtomicBool,
    responses: Mutex<Responses>,
    /// Client connections bound to this account.
    pub conns: AtomicI64,
    /// Traffic counters.
    pub stats: AccountStats,
    /// When the account was created or last updated (`/accountz` `update_time`).
    pub updated: Mutex<std::time::SystemTime>,
    /// `_R_.<6 random>.`: the start of every reply subject handed out for requests into it.
    reply_prefix: Box<[u8]>,
}

impl Account {
    /// A new, empty account.
    pub fn new(name: &str, cache: bool) -> Arc<Self> {
        let mut reply_prefix = crate::imports::REPLY_PREFIX.to_vec();
        crate::imports::push_random(&mut reply_prefix, 6);
        reply_prefix.push(b'.');
        Arc::new_cyclic(|me| Account {
            name: name.to_string(),
            sublist: Sublist::new(cache),
            me: me.clone(),
            links: RwLock::new(Arc::new(Links::default())),
            has_links: AtomicBool::new(false),
            responses: Mutex::new(Responses::default()),
            conns: AtomicI64::new(0),
            stats: AccountStats::default(),
            updated: Mutex::new(std::time::SystemTime::now()),
            reply_prefix: reply_prefix.into(),
        })
    }

    /// This account as an `Arc` (while it is alive).
    pub fn myself(&self) -> Option<Arc<Account>> {
        self.me.upgrade()
    }

    /// Whether any link starts here (a cheap check on the publish path).
    pub fn has_links(&self) -> bool {
        self.has_links.load(Ordering::Acquire)
    }

    /// The links that start at this account.
    pub fn links(&self) -> Arc<Links> {
        self.links.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replace the links (startup and reload).
    pub fn set_links(&self, links: Links) {
        *self.updated.lock().unwrap_or_else(|e| e.into_inner()) = std::time::SystemTime::now();
        self.has_links.store(!links.is_empty(), Ordering::Release);
        *self.links.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(links);
    }

    /// Pending response routes for requests into this account.
    pub fn responses(&self) -> MutexGuard<'_, Responses> {
        self.responses.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The reply prefix of requests routed into this account.
    pub fn reply_prefix(&self) -> &[u8] {
        &self.reply_prefix
    }
}
