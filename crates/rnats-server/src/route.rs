//! Delivery of one message to the subscriptions a match produced, shared by client readers and
//! by the server's own publishers (system events, cross-account routing).
//!
//! A [`Delivery`] appends `MSG` frames straight into subscribers' outbound buffers and remembers
//! which connections it touched; [`Delivery::flush`] wakes each touched writer once, so one read
//! batch (or one internal publish) costs one wake per subscriber rather than one per message.

use crate::account::Account;
use crate::client::{ClientShared, Subscription};
use crate::server::ServerStats;
use crate::sublist::SubResult;
use rustc_hash::FxHashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// One message as routed: subject, optional reply, optional header length, header+payload.
#[derive(Clone, Copy, Debug)]
pub struct Msg<'a> {
    pub subject: &'a [u8],
    pub reply: Option<&'a [u8]>,
    pub header_len: Option<usize>,
    pub data: &'a [u8],
}

/// Deliveries made during one batch, and whom they touched.
#[derive(Default)]
pub struct Delivery {
    /// The publishing connection's id (0 for the server itself).
    pub me: u64,
    touched: Vec<Arc<ClientShared>>,
    touched_ids: FxHashSet<u64>,
    /// The publisher's own connection received something (a PONG, its own message…).
    pub self_touched: bool,
    /// Subscribers whose backlog passed the stall threshold during this batch.
    pub stalled: Vec<Arc<ClientShared>>,
    pub out_msgs: u64,
    pub out_bytes: u64,
    /// The publisher's round-trip time (reported to services it sends requests to).
    pub origin_rtt_ns: u64,
    /// Deliveries per account matched in (msgs, bytes), added to the accounts' counters at
    /// [`Delivery::flush`]; usually one entry per batch.
    per_account: Vec<(Arc<Account>, u64, u64)>,
}

impl Delivery {
    /// A delivery batch for the connection `me` (0 = the server).
    pub fn new(me: u64) -> Self {
        Delivery {
            me,
            ..Default::default()
        }
    }

    /// Deliver to every plain subscription and to one member of each queue group of a match
    /// made in account `acc` (its `sent` counters get the deliveries); `skip` is a connection
    /// that must not receive (a publisher with `echo: false`). Returns how many subscriptions
    /// received the message.
    pub fn deliver_result(
        &mut self,
        acc: &Account,
        result: &SubResult<Subscription>,
        skip: Option<u64>,
        m: Msg<'_>,
    ) -> usize {
        let delivered = self.deliver_all(result, skip, m);
        if delivered > 0 {
            let (n, b) = (delivered as u64, (delivered * m.data.len()) as u64);
            if let Some(e) = self
                .per_account
                .iter_mut()
                .find(|e| std::ptr::eq(Arc::as_ptr(&e.0), acc))
            {
                e.1 += n;
                e.2 += b;
            } else if let Some(a) = acc.myself() {
                self.per_account.push((a, n, b));
            }
        }
        delivered
    }

    fn deliver_all(
        &mut self,
        result: &SubResult<Subscription>,
        skip: Option<u64>,
        m: Msg<'_>,
    ) -> usize {
        let mut delivered = 0usize;
        for sub in &result.psubs {
            if skip == Some(sub.client.cid) {
                continue;
            }
            if self.deliver(sub, m) {
                delivered += 1;
            }
        }
        for group in &result.qsubs {
            let n = group.len();
            if n == 0 {
                continue;
            }
            let start = fastrand::usize(..n);
            for i in 0..n {
                let sub = &group[(start + i) % n];
                if skip == Some(sub.client.cid) || sub.client.is_closed() {
                    continue;
                }
                if self.deliver(sub, m) {
                    delivered += 1;
                    break;
                }
            }
        }
        delivered
    }

    /// Deliver to one subscription (auto-unsubscribe limits applied).
    pub fn deliver(&mut self, sub: &Arc<Subscription>, m: Msg<'_>) -> bool {
        let n = sub.delivered.fetch_add(1, Ordering::AcqRel) + 1;
        let max = sub.max.load(Ordering::Acquire);
        if max > 0 && n > max {
            return false;
        }
        let bytes = sub
            .client
            .deliver(sub, &sub.sid, m.subject, m.reply, m.header_len, m.data);
        if max > 0 && n == max {
            crate::client::conn::remove_sub(&sub.client.account(), sub);
        }
        if bytes == 0 {
            return false;
        }
        self.out_msgs += 1;
        self.out_bytes += m.data.len() as u64;
        if sub.client.cid == self.me {
            self.self_touched = true;
        } else {
            if self.touched_ids.insert(sub.client.cid) {
                self.touched.push(sub.client.clone());
            }
            if sub.client.stalling.swap(false, Ordering::Relaxed)
                && !self.stalled.iter().any(|c| c.cid == sub.client.cid)
            {
                self.stalled.push(sub.client.clone());
            }
        }
        true
    }

    /// Wake every writer touched (except the publisher's own, see `self_touched`) and add the
    /// outbound counters to the server's and the accounts'.
    pub fn flush(&mut self, stats: &ServerStats) {
        // Counters first: whoever a wake lets see a message also sees it counted.
        let (msgs, bytes) = (
            std::mem::take(&mut self.out_msgs),
            std::mem::take(&mut self.out_bytes),
        );
        if msgs > 0 {
            stats.out_msgs.fetch_add(msgs, Ordering::Relaxed);
            stats.out_bytes.fetch_add(bytes, Ordering::Relaxed);
        }
        for (a, msgs, bytes) in self.per_account.drain(..) {
            a.stats.out_msgs.fetch_add(msgs, Ordering::Relaxed);
            a.stats.out_bytes.fetch_add(bytes, Ordering::Relaxed);
        }
        for c in self.touched.drain(..) {
            c.writer_wake.notify_one();
        }
        self.touched_ids.clear();
    }
}
