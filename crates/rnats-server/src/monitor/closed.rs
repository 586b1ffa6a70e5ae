//! The ring of recently closed connections behind `/connz?state=closed` (nats-server's
//! `closedRingBuffer`).
//!
//! Model: when a connection ends, its reader's cleanup stores a self-contained snapshot (the
//! `ConnInfo` as of the close, its close reason text, copies of its subscriptions' strings, its
//! user and account names). Snapshots hold no reference to the connection or its subscriptions,
//! and the ring keeps at most `max_closed_clients` of them (the oldest go first), so its memory
//! is bounded whatever the churn.

use super::connz::{ConnInfo, SubDetail, auth_fields, fill, sub_details};
use crate::client::{ClientShared, ClosedState};
use crate::defaults as d;
use crate::server::Server;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// A closed connection as `/connz` shows it.
#[derive(Debug, Clone)]
pub struct ClosedConn {
    /// Counters and identity at close time, with `stop` and `reason` set.
    pub info: ConnInfo,
    /// The subscriptions it had (with account and account tag, as the reference keeps them).
    pub subs: Vec<SubDetail>,
    /// The raw auth user.
    pub user: String,
    /// The account name, empty for the global account.
    pub acc: String,
    /// The account's name tag.
    pub acc_tag: String,
}

/// The last closed connections, oldest first.
#[derive(Debug, Default)]
pub struct ClosedRing {
    conns: Mutex<VecDeque<Arc<ClosedConn>>>,
}

impl ClosedRing {
    /// Record `c`, closed for `reason`, keeping at most the server's `max_closed_clients`.
    pub fn save(&self, s: &Server, c: &ClientShared, reason: ClosedState) {
        let max = s.opts().max_closed_clients;
        if max == 0 {
            return;
        }
        self.push(snapshot(c, reason, SystemTime::now()), max);
    }

    /// Append, dropping the oldest entries beyond `max`.
    pub fn push(&self, cc: ClosedConn, max: usize) {
        let mut q = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        q.push_back(Arc::new(cc));
        while q.len() > max {
            q.pop_front();
        }
    }

    /// The closed connections, oldest first.
    pub fn snapshot(&self) -> Vec<Arc<ClosedConn>> {
        let q = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        q.iter().cloned().collect()
    }

    /// How many are kept.
    pub fn len(&self) -> usize {
        self.conns.lock().map_or(0, |q| q.len())
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The snapshot of `c` closing now (`saveClosedClient`).
pub fn snapshot(c: &ClientShared, reason: ClosedState, now: SystemTime) -> ClosedConn {
    let a = auth_fields(c);
    let subs = sub_details(c, &a.account, &a.account_tag);
    let mut info = fill(c, now);
    info.subscriptions = subs.len() as u32;
    info.stop = Some(now);
    info.reason = reason.as_str().to_string();
    info.jwt = a.jwt;
    info.issuer_key = a.issuer_key;
    info.tags = a.tags;
    info.name_tag = a.user_tag;
    ClosedConn {
        info,
        subs,
        user: a.user,
        acc: if a.account == d::GLOBAL_ACCOUNT {
            String::new()
        } else {
            a.account
        },
        acc_tag: a.account_tag,
    }
}
