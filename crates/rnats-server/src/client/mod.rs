//! Client connections.
//!
//! Model (nats-server's readLoop/writeLoop): each connection has a reader task that parses and
//! routes inline, and a writer task that drains a byte-bounded outbound buffer. A publisher's
//! reader stages `MSG` frames per subscriber connection and commits them to that connection's
//! outbound buffer under one lock per read batch ([`crate::route`]), then wakes each touched
//! writer once, so one (vectored) socket write carries many messages. Per-publisher ordering follows from the
//! single reader; no central router thread serializes fan-out.
//!
//! - [`ClientShared`]: the part of a connection other tasks touch (outbound buffer, subs, close).
//! - [`conn`]: the reader task and the protocol handling.
//! - [`writer`]: the writer task, server PINGs and stale detection.

mod closed;
pub mod conn;
pub mod writer;

pub use closed::ClosedState;

use crate::server::ServerStats;
use crate::sublist::SubEntry;
use rnats_auth::Permissions;
use rnats_proto::encode;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime};
use tokio::sync::Notify;

/// Reply subjects a connection may answer: replies used, when first seen.
type ReplyGrants = FxHashMap<Box<[u8]>, (i64, Instant)>;

/// Staged batches smaller than this are copied onto the outbound tail rather than queued whole.
const SMALL_COMMIT: usize = 4 * 1024;

/// The open tail of an outbound backlog is sealed into the queue once it holds this much, so a
/// backlog is a chain of buffers of about this size (recycled by the writer) rather than one
/// buffer doubling towards `max_pending`: no large copies on growth, and no large blocks left
/// in the allocator's arenas once the backlog drains.
pub const TAIL_MAX: usize = 256 * 1024;

/// At most this many pending reply grants per connection (bounded memory).
const MAX_REPLY_GRANTS: usize = 64 * 1024;

/// A subscription. Owned by its connection's map and referenced from the account's index.
#[derive(Debug)]
pub struct Subscription {
    pub id: u64,
    pub client: Arc<ClientShared>,
    pub subject: Box<[u8]>,
    pub queue: Option<Box<[u8]>>,
    pub sid: Box<[u8]>,
    /// Auto-unsubscribe after this many deliveries (0 = never).
    pub max: AtomicU64,
    pub delivered: AtomicU64,
    /// Set (under the owner's `out` lock) when the subscription is removed, so a publisher
    /// holding an older match result can never deliver after the UNSUB was acknowledged.
    pub closed: AtomicBool,
}

impl Subscription {
    /// Mark closed under the owner's outbound lock (deliveries check it under the same lock).
    pub fn close(&self) {
        let _out = self.client.out.lock().unwrap_or_else(|e| e.into_inner());
        self.closed.store(true, Ordering::Release);
    }
}

impl SubEntry for Subscription {
    fn id(&self) -> u64 {
        self.id
    }
    fn subject(&self) -> &[u8] {
        &self.subject
    }
    fn queue(&self) -> Option<&[u8]> {
        self.queue.as_deref()
    }
}

/// What an account update needs to know about a connected JWT user.
#[derive(Debug, Clone)]
pub struct JwtSession {
    /// The user's public key and the JWT's `iat` (revocations).
    pub user: String,
    pub iat: i64,
    /// The key that signed the user JWT (signing-key removal).
    pub issuer: String,
    pub bearer: bool,
    /// The permissions came from the account's defaults (they follow updates).
    pub uses_account_defaults: bool,
    /// The user JWT's name and tags, and the account JWT's name (`/connz` `name_tag`, `tags`).
    pub name: String,
    pub tags: Vec<String>,
    pub account_name: String,
    /// The scoped signing key (with its template) the user was admitted under.
    pub scope: Option<rnats_auth::jwt::claims::SigningKey>,
}

/// A range of a publisher's staged frames for one subscription: it ends at `end` in the staging
/// buffer and holds `msgs` messages with `bytes` payload bytes.
#[derive(Debug)]
pub struct StagedRun {
    pub sub: Arc<Subscription>,
    pub end: usize,
    pub msgs: u64,
    pub bytes: u64,
    /// The messages' full sizes (headers included), as the publisher's counters count them.
    pub raw: u64,
}

/// Bytes waiting to be written to one connection, in order: the buffers of `queue`, then `buf`.
#[derive(Debug, Default)]
pub struct Outbound {
    /// Whole buffers a publisher staged and handed over (no copy), oldest first.
    pub queue: VecDeque<Vec<u8>>,
    /// The open tail: protocol lines, small batches and direct deliveries are appended here.
    pub buf: Vec<u8>,
    /// Buffers the writer emptied, for publishers to stage the next batch for this connection
    /// into (buffers circulate instead of being allocated per batch).
    pub free: Vec<Vec<u8>>,
    /// Queued plus in-flight bytes (what `max_pending` limits).
    pub pending: usize,
    pub out_msgs: u64,
    pub out_bytes: u64,
}

impl Outbound {
    /// The tail to append `more` bytes to: when the tail would grow past [`TAIL_MAX`], it is
    /// queued first and a buffer the writer emptied (or a new one) becomes the tail. The tail
    /// grows by doubling but not past [`TAIL_MAX`] (unless one frame is bigger), so full
    /// buffers can be recycled.
    pub fn tail_for(&mut self, more: usize) -> &mut Vec<u8> {
        if !self.buf.is_empty() && self.buf.len() + more > TAIL_MAX {
            let back = self.free.pop().unwrap_or_default();
            let full = std::mem::replace(&mut self.buf, back);
            self.queue.push_back(full);
        }
        let need = self.buf.len() + more;
        if need > self.buf.capacity() {
            let want = (self.buf.capacity() * 2).clamp(need, TAIL_MAX.max(need));
            self.buf.reserve_exact(want - self.buf.len());
        }
        &mut self.buf
    }
}

/// Identity the client gave in CONNECT (for logs and monitoring).
#[derive(Debug, Default, Clone)]
pub struct ClientMeta {
    /// The user (or nkey) the client presented in CONNECT.
    pub user: String,
    pub name: String,
    pub lang: String,
    pub version: String,
    /// The reference's raw auth user (`getRawAuthUser`): the nkey, else the user, else
    /// `[REDACTED]` for a token; empty for a JWT user (whose public key is in [`JwtSession`]).
    pub auth_user: String,
    /// The user JWT presented in CONNECT (`/connz?auth=1` shows it unless it is a bearer token).
    pub jwt: String,
}

/// The shared half of a connection.
#[derive(Debug)]
pub struct ClientShared {
    pub cid: u64,
    pub remote: SocketAddr,
    pub start: SystemTime,
    pub started: Instant,
    pub out: Mutex<Outbound>,
    pub writer_wake: Notify,
    pub reader_wake: Notify,
    /// Wakes every waiter (e.g. an expiry timer) when the connection closes.
    pub closed_signal: Notify,
    closed: AtomicBool,
    reason: Mutex<Option<ClosedState>>,
    pub echo: AtomicBool,
    pub headers: AtomicBool,
    /// CONNECT `protocol` >= 1: the client understands async INFO.
    pub proto_info: AtomicBool,
    pub subs: Mutex<FxHashMap<Box<[u8]>, Arc<Subscription>>>,
    pub max_pending: usize,
    /// Milliseconds since `started` of the last inbound message, sub op or PING.
    pub last_in_ms: AtomicU64,
    /// Nanoseconds since `started` of the last CONNECT, message or subscription change
    /// (`/connz` `last_activity`; stored once per read batch).
    pub last_activity_ns: AtomicU64,
    pub pings_out: AtomicU32,
    pub in_msgs: AtomicU64,
    pub in_bytes: AtomicU64,
    pub meta: Mutex<ClientMeta>,
    /// Server-wide counters this connection reports to.
    pub stats: Arc<ServerStats>,
    /// Round-trip time of the last server PING, in nanoseconds (0 = not measured yet).
    pub rtt_ns: AtomicU64,
    /// When the last server PING was sent, in milliseconds since `started`.
    pub ping_sent_ms: AtomicU64,
    /// Generations of the user and account expiry timers (only the newest may fire).
    pub expiry_gen: [AtomicU64; 2],
    /// The expiry warning went out (and the expiring-soon gauge counts this connection).
    pub expiring_warned: AtomicBool,
    /// Authentication completed (stops the auth timer).
    pub authenticated: AtomicBool,
    /// CONNECT was received (re-arms the first, short, PING).
    pub connect_seen: AtomicBool,
    /// Set when a delivery pushed the backlog over the stall threshold.
    pub stalling: AtomicBool,
    /// Signalled by the writer after each write, for producers waiting out a stall.
    pub drained: Notify,
    /// The permissions of the authenticated user, for checks made by other connections'
    /// readers at delivery time (subscribe deny, response grants).
    perms: RwLock<Option<Arc<Permissions>>>,
    has_sub_deny: AtomicBool,
    has_resp: AtomicBool,
    /// Bumped whenever `perms` changes (a reload), so the reader refreshes its copy.
    pub perms_gen: AtomicU64,
    /// What the client authenticated with (CONNECT) and the nonce it was challenged with:
    /// a reload that changes `authorization` re-checks live clients against the new rules.
    pub auth_snapshot: Mutex<Option<(rnats_proto::ConnectOptions, Option<String>)>>,
    /// The JWT user behind this connection (operator mode), for live account updates.
    pub jwt: Mutex<Option<JwtSession>>,
    /// The account this connection is bound to.
    account: RwLock<Option<Arc<crate::account::Account>>>,
    /// Reply subjects this connection may answer (`allow_responses`): count used, first seen.
    replies: Mutex<ReplyGrants>,
    /// The TLS session, once negotiated (`/connz`).
    pub tls: std::sync::OnceLock<crate::tls::TlsSession>,
    /// `verify_and_map`: the user names the client certificate stands for (empty without one).
    pub cert_names: std::sync::OnceLock<Vec<String>>,
}

impl ClientShared {
    /// A new connection's shared state.
    pub fn new(cid: u64, remote: SocketAddr, max_pending: usize, stats: Arc<ServerStats>) -> Self {
        ClientShared {
            cid,
            remote,
            start: SystemTime::now(),
            started: Instant::now(),
            out: Mutex::new(Outbound::default()),
            writer_wake: Notify::new(),
            reader_wake: Notify::new(),
            closed_signal: Notify::new(),
            closed: AtomicBool::new(false),
            reason: Mutex::new(None),
            echo: AtomicBool::new(true),
            headers: AtomicBool::new(false),
            proto_info: AtomicBool::new(false),
            subs: Mutex::new(FxHashMap::default()),
            max_pending,
            last_in_ms: AtomicU64::new(0),
            last_activity_ns: AtomicU64::new(0),
            pings_out: AtomicU32::new(0),
            in_msgs: AtomicU64::new(0),
            in_bytes: AtomicU64::new(0),
            meta: Mutex::new(ClientMeta::default()),
            stats,
            rtt_ns: AtomicU64::new(0),
            ping_sent_ms: AtomicU64::new(0),
            authenticated: AtomicBool::new(false),
            expiring_warned: AtomicBool::new(false),
            expiry_gen: [AtomicU64::new(0), AtomicU64::new(0)],
            connect_seen: AtomicBool::new(false),
            stalling: AtomicBool::new(false),
            drained: Notify::new(),
            perms: RwLock::new(None),
            has_sub_deny: AtomicBool::new(false),
            has_resp: AtomicBool::new(false),
            perms_gen: AtomicU64::new(0),
            auth_snapshot: Mutex::new(None),
            account: RwLock::new(None),
            jwt: Mutex::new(None),
            replies: Mutex::new(FxHashMap::default()),
            tls: std::sync::OnceLock::new(),
            cert_names: std::sync::OnceLock::new(),
        }
    }

    /// `IP:PORT - cid:N` as the reference prefixes client log lines.
    pub fn log_prefix(&self) -> String {
        format!("{} - cid:{}", self.remote, self.cid)
    }

    /// True once the connection is closing.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Why the connection closed, once it has.
    pub fn reason(&self) -> Option<ClosedState> {
        *self.reason.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Start closing: the writer flushes what is queued (e.g. a final `-ERR`) and shuts the
    /// socket; the reader stops and cleans up. Idempotent; the first reason wins.
    pub fn close(&self, reason: ClosedState) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        *self.reason.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
        self.writer_wake.notify_one();
        self.reader_wake.notify_one();
        self.closed_signal.notify_waiters();
    }

    /// Queue raw protocol bytes (PONG, +OK, -ERR, INFO). Returns false when the connection
    /// is closed or just became a slow consumer.
    pub fn enqueue(&self, bytes: &[u8]) -> bool {
        if self.is_closed() {
            return false;
        }
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        // Checked again under the lock: the writer of a closed connection frees the buffers
        // under it (`release_outbound`), and nothing may be queued after that.
        if self.is_closed() {
            return false;
        }
        if out.pending + bytes.len() > self.max_pending {
            drop(out);
            self.slow_consumer();
            return false;
        }
        out.tail_for(bytes.len()).extend_from_slice(bytes);
        out.pending += bytes.len();
        true
    }

    /// Queue `-ERR '<text>'`.
    pub fn enqueue_err(&self, text: &str) -> bool {
        self.enqueue(&rnats_proto::wire::err_line(text))
    }

    /// Queue and wake the writer now.
    pub fn send_now(&self, bytes: &[u8]) {
        if self.enqueue(bytes) {
            self.writer_wake.notify_one();
        }
    }

    fn slow_consumer(&self) {
        if self.is_closed() {
            return;
        }
        tracing::info!(
            "{} - Slow Consumer Detected: MaxPending of {} Exceeded",
            self.log_prefix(),
            self.max_pending
        );
        self.stats.slow_consumers.fetch_add(1, Ordering::Relaxed);
        self.account()
            .stats
            .slow_consumers
            .fetch_add(1, Ordering::Relaxed);
        self.close(ClosedState::SlowConsumerPendingBytes);
    }

    /// Whether a message on `subject` (with `reply`) may go to this connection now: it is open
    /// and its permissions allow the delivery. Grants a reply permission (`allow_responses`)
    /// for `reply` as a side effect, as the reference does when it delivers a request.
    pub fn admit(&self, subject: &[u8], reply: Option<&[u8]>) -> bool {
        if self.is_closed() {
            return false;
        }
        if self.has_sub_deny.load(Ordering::Relaxed)
            && self.permissions().is_some_and(|p| p.deny_delivery(subject))
        {
            return false;
        }
        if let Some(r) = reply
            && !r.is_empty()
            && self.has_resp.load(Ordering::Relaxed)
        {
            let mut replies = self.replies.lock().unwrap_or_else(|e| e.into_inner());
            if replies.len() >= MAX_REPLY_GRANTS {
                // Prune grants that expired (`pruneReplyPerms`); if none did, forget the lot
                // rather than refuse new requests forever.
                let ttl = self
                    .permissions()
                    .and_then(|p| p.response)
                    .and_then(|rp| rp.expires);
                match ttl {
                    Some(ttl) => replies.retain(|_, (_, since)| since.elapsed() <= ttl),
                    None => replies.clear(),
                }
                if replies.len() >= MAX_REPLY_GRANTS {
                    replies.clear();
                }
            }
            replies.entry(r.into()).or_insert((0, Instant::now()));
        }
        true
    }

    /// Encode one `MSG`/`HMSG` for subscription `sid` onto `buf`: headers reach only
    /// connections that negotiated them, others get the payload alone. Returns the payload
    /// bytes counted as delivered.
    pub fn encode_msg(
        &self,
        buf: &mut Vec<u8>,
        sid: &[u8],
        subject: &[u8],
        reply: Option<&[u8]>,
        header_len: Option<usize>,
        data: &[u8],
    ) -> usize {
        let (hdr, body) = match header_len {
            Some(h) if h > 0 && self.headers.load(Ordering::Relaxed) => (Some(h), data),
            Some(h) => (None, &data[h.min(data.len())..]),
            None => (None, data),
        };
        encode::push_msg(buf, subject, sid, reply, hdr, body);
        body.len()
    }

    /// Append one message for subscription `sid` under the outbound lock. Returns the bytes
    /// queued (0 if not delivered).
    pub fn deliver(
        &self,
        sub: &Subscription,
        sid: &[u8],
        subject: &[u8],
        reply: Option<&[u8]>,
        header_len: Option<usize>,
        data: &[u8],
    ) -> usize {
        if !self.admit(subject, reply) {
            return 0;
        }
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        if sub.closed.load(Ordering::Acquire) || self.is_closed() {
            return 0;
        }
        // The frame's size at most: `HMSG`, four separators, two lengths and two CRLFs.
        let estimate = subject.len() + sid.len() + reply.map_or(0, |r| r.len()) + data.len() + 64;
        if out.pending + estimate > self.max_pending {
            drop(out);
            self.slow_consumer();
            return 0;
        }
        let tail = out.tail_for(estimate);
        let before = tail.len();
        let body = self.encode_msg(tail, sid, subject, reply, header_len, data);
        let n = tail.len() - before;
        out.pending += n;
        out.out_msgs += 1;
        out.out_bytes += body as u64;
        if out.pending > self.stall_threshold() {
            self.stalling.store(true, Ordering::Relaxed);
        }
        n
    }

    /// Move frames staged by a publisher (see [`crate::route`]) into the outbound buffer under
    /// one lock. `runs` says, in order, which subscription each byte range of `staged` was
    /// encoded for: ranges whose subscription closed since (an UNSUB the owner may already have
    /// acknowledged) are left out. Leaves `staged` empty (possibly with another buffer's
    /// capacity). Returns the messages (and their payload bytes) left out, so the publisher's
    /// counters count only what was queued.
    pub fn commit_staged(&self, staged: &mut Vec<u8>, runs: &[StagedRun]) -> (u64, u64) {
        let all = || {
            runs.iter()
                .fold((0, 0), |(m, b), r| (m + r.msgs, b + r.raw))
        };
        if self.is_closed() {
            staged.clear();
            return all();
        }
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        if self.is_closed() {
            staged.clear();
            return all();
        }
        if out.pending + staged.len() > self.max_pending {
            drop(out);
            staged.clear();
            self.slow_consumer();
            return all();
        }
        let mut dropped = (0, 0);
        if runs.iter().all(|r| !r.sub.closed.load(Ordering::Acquire)) {
            // The usual case: no copy when nothing else is queued (the staged buffer becomes the
            // tail) or when the batch is big (it is queued whole, and a buffer the writer
            // emptied comes back for the next batch); a small batch is appended to the tail.
            let n = staged.len();
            if out.buf.is_empty() && out.queue.is_empty() {
                std::mem::swap(&mut out.buf, staged);
            } else if n < SMALL_COMMIT || n < staged.capacity() / 2 {
                // Small, or mostly empty capacity: copying beats holding the capacity (the
                // backlog limit counts bytes, not capacity).
                out.tail_for(n).extend_from_slice(staged);
            } else {
                if !out.buf.is_empty() {
                    let tail = std::mem::take(&mut out.buf);
                    out.queue.push_back(tail);
                }
                let back = out.free.pop().unwrap_or_default();
                out.queue.push_back(std::mem::replace(staged, back));
            }
            out.pending += n;
            for r in runs {
                out.out_msgs += r.msgs;
                out.out_bytes += r.bytes;
            }
        } else {
            let mut start = 0;
            for r in runs {
                if !r.sub.closed.load(Ordering::Acquire) {
                    out.tail_for(r.end - start)
                        .extend_from_slice(&staged[start..r.end]);
                    out.pending += r.end - start;
                    out.out_msgs += r.msgs;
                    out.out_bytes += r.bytes;
                } else {
                    dropped.0 += r.msgs;
                    dropped.1 += r.raw;
                }
                start = r.end;
            }
        }
        staged.clear();
        if out.pending > self.stall_threshold() {
            self.stalling.store(true, Ordering::Relaxed);
        }
        dropped
    }

    /// Free the outbound memory of a closed connection (its writer has ended); returns the
    /// bytes of capacity freed.
    pub fn release_outbound(&self) -> usize {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let freed = out
            .queue
            .iter()
            .chain(&out.free)
            .map(Vec::capacity)
            .sum::<usize>()
            + out.buf.capacity();
        out.queue = VecDeque::new();
        out.buf = Vec::new();
        out.free = Vec::new();
        out.pending = 0;
        freed
    }

    /// Pending bytes above which producers are slowed down (75% of `max_pending`).
    pub fn stall_threshold(&self) -> usize {
        self.max_pending / 4 * 3
    }

    /// Whether this connection's outbound backlog is above the stall threshold.
    pub fn over_stall(&self) -> bool {
        let out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        out.pending > self.stall_threshold()
    }

    /// Bind the connection to an account.
    pub fn set_account(&self, a: Arc<crate::account::Account>) {
        *self.account.write().unwrap_or_else(|e| e.into_inner()) = Some(a);
    }

    /// The bound account (the global account until authentication binds another).
    pub fn account(&self) -> Arc<crate::account::Account> {
        self.account
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_else(|| crate::account::Account::new(crate::defaults::GLOBAL_ACCOUNT, false))
    }

    /// Install the authenticated user's permissions.
    pub fn set_permissions(&self, p: Option<Arc<Permissions>>) {
        self.has_sub_deny.store(
            p.as_ref().is_some_and(|p| p.has_sub_deny()),
            Ordering::Relaxed,
        );
        self.has_resp.store(
            p.as_ref().is_some_and(|p| p.response.is_some()),
            Ordering::Relaxed,
        );
        *self.perms.write().unwrap_or_else(|e| e.into_inner()) = p;
        self.perms_gen.fetch_add(1, Ordering::AcqRel);
    }

    /// The authenticated user's permissions, if restricted.
    pub fn permissions(&self) -> Option<Arc<Permissions>> {
        self.perms.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Use one response grant for publishing to `subject` (`allow_responses`).
    pub fn take_reply_grant(
        &self,
        subject: &[u8],
        rp: &rnats_auth::permissions::ResponsePermission,
    ) -> bool {
        let mut replies = self.replies.lock().unwrap_or_else(|e| e.into_inner());
        let Some((count, since)) = replies.get_mut(subject) else {
            return false;
        };
        if rp.expires.is_some_and(|ttl| since.elapsed() > ttl) {
            replies.remove(subject);
            return false;
        }
        *count += 1;
        if rp.max >= 0 && *count >= rp.max {
            replies.remove(subject);
        }
        true
    }

    /// Close with `-ERR '<text>'` at `deadline` (as read on the server's clock, which shows
    /// `now`) unless the connection closed before.
    pub fn close_at(
        self: &Arc<Self>,
        now: std::time::SystemTime,
        deadline: std::time::SystemTime,
        text: &'static str,
        code: &'static str,
    ) {
        let wait = deadline.duration_since(now).unwrap_or_default();
        let detail = format!(
            "deadline {} reached",
            rnats_auth::jwt::time::rfc3339(deadline)
        );
        // One live timer per kind (user, account): arming again replaces the earlier one, so a
        // renewed account JWT moves the deadline instead of adding one.
        let slot = usize::from(code == "account_expired");
        let generation = self.expiry_gen[slot].fetch_add(1, Ordering::AcqRel) + 1;
        self.after(wait, move |c| {
            if c.expiry_gen[slot].load(Ordering::Acquire) != generation {
                return;
            }
            tracing::debug!("{} - {text}", c.log_prefix());
            crate::authlog::disconnected(c, code, &detail);
            c.enqueue_err(text);
            c.close(ClosedState::AuthenticationExpired);
        });
    }

    /// Disarm the account expiry timer (an update without `exp`).
    pub fn cancel_account_expiry(&self) {
        self.expiry_gen[1].fetch_add(1, Ordering::AcqRel);
    }

    /// Run `f` after `wait`, unless the connection closes first.
    pub fn after(
        self: &Arc<Self>,
        wait: std::time::Duration,
        f: impl FnOnce(&Arc<ClientShared>) + Send + 'static,
    ) {
        let c = self.clone();
        tokio::spawn(async move {
            let closed = c.closed_signal.notified();
            tokio::pin!(closed);
            closed.as_mut().enable();
            if c.is_closed() {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => f(&c),
                _ = closed => {}
            }
        });
    }

    /// Milliseconds since the connection started.
    pub fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Record activity for monitoring (`last_activity`).
    pub fn touch_activity(&self) {
        let ns = self.started.elapsed().as_nanos() as u64;
        self.last_activity_ns.store(ns, Ordering::Relaxed);
    }

    /// When the last activity happened (the connection's start when there was none).
    pub fn last_activity(&self) -> SystemTime {
        let ns = self.last_activity_ns.load(Ordering::Relaxed);
        self.start + std::time::Duration::from_nanos(ns)
    }

    /// Record inbound activity (suppresses the next server PING).
    pub fn touch_in(&self) {
        self.last_in_ms.store(self.now_ms(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backlog_is_a_chain_of_bounded_buffers_in_order() {
        let mut out = Outbound::default();
        let line = b"-ERR 'maximum subscriptions exceeded'\r\n";
        let n = 100_000;
        for _ in 0..n {
            out.tail_for(line.len()).extend_from_slice(line);
        }
        let all: Vec<u8> = out
            .queue
            .iter()
            .flatten()
            .chain(&out.buf)
            .copied()
            .collect();
        assert_eq!(all.len(), n * line.len());
        assert!(all.chunks(line.len()).all(|c| c == line));
        assert!(out.queue.len() >= n * line.len() / TAIL_MAX);
        for b in out.queue.iter().chain([&out.buf]) {
            assert!(
                b.len() <= TAIL_MAX && b.capacity() <= TAIL_MAX,
                "{}",
                b.capacity()
            );
        }
        // A recycled buffer becomes the next tail; a frame bigger than the cap still fits whole.
        out.free.push(Vec::with_capacity(1024));
        let big = vec![7u8; 2 * TAIL_MAX];
        out.tail_for(big.len()).extend_from_slice(&big);
        assert_eq!(out.buf, big);
        assert_eq!(out.free.len(), 0);
    }
}
