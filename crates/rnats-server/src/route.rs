//! Delivery of one message to the subscriptions a match produced, shared by client readers and
//! by the server's own publishers (system events, cross-account routing).
//!
//! A [`Delivery`] lives for one read batch (or one internal publish). It encodes the `MSG`
//! frames for each subscriber connection into a staging buffer of its own and moves them into
//! that connection's outbound buffer under **one** lock per connection per batch, at
//! [`Delivery::flush`] (or earlier when a staging buffer passes [`STAGE_MAX`]), then wakes each
//! touched writer once. Locking the subscriber's buffer once per message made its lock's cache
//! line bounce between the publisher's and the writer's cores on every delivery: the largest
//! user-space cost of a 1 KiB fan-out (docs/performance.md).
//!
//! What stays exact: the frames of one batch keep their order per connection; a subscription
//! closed before the commit (its UNSUB may already be acknowledged) loses its staged frames,
//! checked under the same lock `UNSUB` closes it under; slow-consumer and stall limits are
//! applied at the commit. A big staged batch is handed over whole (the writer sends it with a
//! vectored write and returns the emptied buffer to the connection's free list, which the next
//! commit takes back): one copy per delivery, into the staging buffer. Deliveries that must not
//! wait go straight to the outbound buffer, after whatever is staged for the same connection: to
//! the publisher itself (its PONG must follow its own messages) and to a subscription with an
//! auto-unsubscribe limit (it is removed at the last delivery).

use crate::account::Account;
use crate::client::{ClientShared, StagedRun, Subscription};
use crate::server::ServerStats;
use crate::sublist::SubResult;
use rustc_hash::FxHashMap;
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

/// A staging buffer above this size is committed at once (bounds the staged memory).
pub const STAGE_MAX: usize = 64 * 1024;
/// Staging buffers kept for the next batch, and the largest one kept.
const POOL_MAX: usize = 8;
const POOL_BUF_MAX: usize = 4 * STAGE_MAX;
/// Largest staging buffer a quiet connection keeps.
const TRIM_KEEP: usize = 16 * 1024;

/// One touched connection in a batch: what is staged for it, by subscription.
struct Slot {
    client: Arc<ClientShared>,
    buf: Vec<u8>,
    runs: Vec<StagedRun>,
}

/// Deliveries made during one batch, and whom they touched.
#[derive(Default)]
pub struct Delivery {
    /// The publishing connection's id (0 for the server itself).
    pub me: u64,
    /// Every connection touched in this batch (except `me`), in first-touch order.
    slots: Vec<Slot>,
    slot_of: FxHashMap<u64, usize>,
    /// Emptied staging buffers for reuse.
    pool: Vec<(Vec<u8>, Vec<StagedRun>)>,
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

impl Drop for Delivery {
    /// Nothing staged is ever lost, even by a caller that forgot to flush.
    fn drop(&mut self) {
        for i in 0..self.slots.len() {
            self.commit(i);
        }
    }
}

impl Delivery {
    /// A delivery batch for the connection `me` (0 = the server).
    pub fn new(me: u64) -> Self {
        let mut d = Delivery::default();
        d.me = me;
        d
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
                // Directly, so a member that closed (or became a slow consumer) is seen now
                // and the next member gets the message instead.
                if self.deliver_now(sub, m) {
                    delivered += 1;
                    break;
                }
            }
        }
        delivered
    }

    /// Deliver to one subscription (auto-unsubscribe limits applied): staged, or straight
    /// into the outbound buffer for the cases the module documentation lists.
    pub fn deliver(&mut self, sub: &Arc<Subscription>, m: Msg<'_>) -> bool {
        self.deliver_with(sub, m, false)
    }

    /// [`Delivery::deliver`] straight into the outbound buffer (after what is staged for the
    /// same connection).
    fn deliver_now(&mut self, sub: &Arc<Subscription>, m: Msg<'_>) -> bool {
        self.deliver_with(sub, m, true)
    }

    fn deliver_with(&mut self, sub: &Arc<Subscription>, m: Msg<'_>, direct: bool) -> bool {
        let n = sub.delivered.fetch_add(1, Ordering::AcqRel) + 1;
        let max = sub.max.load(Ordering::Acquire);
        if max > 0 && n > max {
            return false;
        }
        let c = &sub.client;
        let mine = c.cid == self.me;
        let ok = if direct || mine || max > 0 {
            let slot = if mine { None } else { Some(self.slot(c)) };
            if let Some(i) = slot {
                self.commit(i);
            }
            let bytes = c.deliver(sub, &sub.sid, m.subject, m.reply, m.header_len, m.data);
            if max > 0 && n == max {
                crate::client::conn::remove_sub(&c.account(), sub);
            }
            if let Some(i) = slot {
                self.check_stall(i);
            }
            bytes > 0
        } else if c.admit(m.subject, m.reply) {
            let i = self.slot(c);
            // Commit before a frame would take the buffer past STAGE_MAX, and size it exactly
            // for a frame that is bigger on its own: buffers stay small enough for the
            // allocator's heap (a doubling to 128 KiB would be an mmap and a page-faulting
            // munmap per batch).
            let frame = m.subject.len()
                + sub.sid.len()
                + m.reply.map_or(0, <[u8]>::len)
                + m.data.len()
                + 48;
            if !self.slots[i].buf.is_empty() && self.slots[i].buf.len() + frame > STAGE_MAX {
                self.commit(i);
            }
            let slot = &mut self.slots[i];
            if slot.buf.capacity() - slot.buf.len() < frame {
                slot.buf.reserve(frame);
            }
            let bytes = c.encode_msg(
                &mut slot.buf,
                &sub.sid,
                m.subject,
                m.reply,
                m.header_len,
                m.data,
            ) as u64;
            let end = slot.buf.len();
            let raw = m.data.len() as u64;
            match slot.runs.last_mut() {
                Some(r) if Arc::ptr_eq(&r.sub, sub) => {
                    r.end = end;
                    r.msgs += 1;
                    r.bytes += bytes;
                    r.raw += raw;
                }
                _ => slot.runs.push(StagedRun {
                    sub: sub.clone(),
                    end,
                    msgs: 1,
                    bytes,
                    raw,
                }),
            }
            // Counted before a commit can take back what it drops.
            self.out_msgs += 1;
            self.out_bytes += raw;
            if end >= STAGE_MAX {
                self.commit(i);
            }
            true
        } else {
            false
        };
        if !ok {
            return false;
        }
        if direct || mine || max > 0 {
            self.out_msgs += 1;
            self.out_bytes += m.data.len() as u64;
        }
        if mine {
            self.self_touched = true;
        }
        true
    }

    /// The slot of connection `c`, created on first touch.
    fn slot(&mut self, c: &Arc<ClientShared>) -> usize {
        if let Some(&i) = self.slot_of.get(&c.cid) {
            return i;
        }
        let (buf, runs) = self.pool.pop().unwrap_or_default();
        let i = self.slots.len();
        self.slots.push(Slot {
            client: c.clone(),
            buf,
            runs,
        });
        self.slot_of.insert(c.cid, i);
        i
    }

    /// Move slot `i`'s staged frames into its connection's outbound buffer.
    fn commit(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        if slot.runs.is_empty() {
            return;
        }
        let (msgs, bytes) = slot.client.commit_staged(&mut slot.buf, &slot.runs);
        slot.runs.clear();
        // What the commit left out (closed subscription, slow consumer) was not delivered; it
        // was counted when staged, in this same delivery.
        self.out_msgs = self.out_msgs.saturating_sub(msgs);
        self.out_bytes = self.out_bytes.saturating_sub(bytes);
        self.check_stall(i);
    }

    /// Note slot `i`'s connection if its backlog passed the stall threshold.
    fn check_stall(&mut self, i: usize) {
        let c = &self.slots[i].client;
        if c.stalling.swap(false, Ordering::Relaxed) && !self.stalled.iter().any(|s| s.cid == c.cid)
        {
            self.stalled.push(c.clone());
        }
    }

    /// Hand every staged frame to its connection (the wakes wait for [`Delivery::flush`]).
    pub fn commit_all(&mut self) {
        for i in 0..self.slots.len() {
            self.commit(i);
        }
    }

    /// Commit everything staged, wake every writer touched (except the publisher's own, see
    /// `self_touched`) and add the outbound counters to the server's and the accounts'.
    pub fn flush(&mut self, stats: &ServerStats) {
        self.commit_all();
        // Counters before wakes: whoever a wake lets see a message also sees it counted.
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
        let mut dropped = 0;
        for slot in self.slots.drain(..) {
            slot.client.writer_wake.notify_one();
            if slot.buf.capacity() <= POOL_BUF_MAX && self.pool.len() < POOL_MAX {
                self.pool.push((slot.buf, slot.runs));
            } else {
                dropped += slot.buf.capacity();
            }
        }
        self.slot_of.clear();
        crate::memtrim::after_release(dropped);
    }

    /// Give back the staging memory a busy period grew (the connection has gone quiet): keep
    /// two small buffers, so a quiet request/reply loop still allocates nothing per message.
    pub fn trim(&mut self) {
        let dropped = crate::memtrim::keep_counting(
            &mut self.pool,
            2,
            |(b, _)| b.capacity(),
            |(b, r)| b.capacity() <= TRIM_KEEP && r.capacity() <= 64,
        );
        self.slot_of.shrink_to(8);
        crate::memtrim::after_release(dropped);
    }
}

#[cfg(test)]
mod tests;
