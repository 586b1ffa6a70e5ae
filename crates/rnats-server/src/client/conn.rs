//! The reader side of a client connection: read, parse, route inline.
//!
//! One task per connection reads into a buffer that grows on demand, hands the unconsumed bytes to
//! the sans-IO parser and acts on each op immediately. Deliveries go straight into subscribers'
//! outbound buffers; the writers of every connection touched during one read are woken once at the
//! end of that read (flush batching). A per-connection result cache, stamped with the sublist
//! generation, lets a steady publisher route without touching the shared index at all.

use super::{ClientShared, ClosedState, Subscription};
use crate::account::Account;
use crate::route::{Delivery, Msg};
use crate::server::Server;
use crate::sublist::SubResult;
use crate::tls::accept::Reader;
use bytes::{Buf, BufMut, BytesMut};
use rnats_auth::static_auth::Credentials;
use rnats_auth::{Permissions, Rejection};
use rnats_proto::parser::Step;
use rnats_proto::{ClientOp, ConnectOptions, ParseError, Parser, encode, wire};
use rustc_hash::FxHashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::io::AsyncReadExt;

mod connect;
mod jwt;
pub(crate) use connect::credentials;

const MIN_READ: usize = 512;
const MAX_READ: usize = 64 * 1024;
const PCACHE_MAX: usize = 1024;
/// Longest a producer waits for one stalled subscriber.
const STALL_EACH: std::time::Duration = std::time::Duration::from_millis(20);
/// Longest a producer is stalled per read.
const STALL_MAX: std::time::Duration = std::time::Duration::from_millis(20);
/// The queue name reserved by the reference.
const SYS_QUEUE: &[u8] = b"_sys_";

/// Stop processing this connection.
#[derive(Debug)]
pub struct Stop;

#[derive(Default)]
struct Batch {
    in_msgs: u64,
    in_bytes: u64,
    /// Subscription changes (SUB/UNSUB) during the read.
    subs: u64,
}

/// The reader's state for one connection.
pub struct Conn {
    pub shared: Arc<ClientShared>,
    server: Arc<Server>,
    parser: Parser,
    opts: ConnectOptions,
    connect_received: bool,
    first_pong_sent: bool,
    account: Arc<Account>,
    pcache: FxHashMap<Box<[u8]>, Arc<SubResult<Subscription>>>,
    pcache_gen: u64,
    /// Deliveries made during the current read.
    dl: Delivery,
    batch: Batch,
    max_subs: i64,
    /// Authentication is required and has not succeeded yet.
    needs_auth: bool,
    /// The nonce sent in this connection's INFO (nkey challenge).
    nonce: Option<String>,
    /// The authenticated user's permissions (`None`: unrestricted), and the `perms_gen` they
    /// were read at.
    perms: Option<Arc<Permissions>>,
    perms_gen: u64,
    /// A CONNECT whose authentication runs off the reactor (bcrypt).
    pending: Option<ConnectOptions>,
    /// An accepted JWT user whose limits apply once the account is bound.
    jwt_user: Option<rnats_auth::operator::JwtUser>,
    /// The account whose connection count includes this connection.
    counted: Option<Arc<Account>>,
    /// A JWT user with a subscription limit of 0: closed at the end of this read.
    subs_at_zero: bool,
    /// Bound to the system account (its `$SYS.REQ.…` publishes are requests to the server).
    in_sys: bool,
}

impl Conn {
    /// The reader state for a freshly accepted connection.
    pub fn new(server: Arc<Server>, shared: Arc<ClientShared>, nonce: Option<String>) -> Self {
        let o = server.opts();
        let mut parser = Parser::new(o.max_control_line.max(0) as usize, o.max_payload);
        let needs_auth = o.auth_required();
        // With no_auth_user, a first op other than CONNECT authenticates as that user.
        parser.expect_connect = needs_auth && o.auth.no_auth_user.is_none();
        shared.set_account(server.global_account());
        let cid = shared.cid;
        Conn {
            account: server.global_account(),
            shared,
            parser,
            opts: ConnectOptions::default(),
            connect_received: false,
            first_pong_sent: false,
            pcache: FxHashMap::default(),
            pcache_gen: u64::MAX,
            dl: Delivery::new(cid),
            batch: Batch::default(),
            max_subs: o.max_subscriptions,
            needs_auth,
            nonce,
            perms: None,
            perms_gen: 0,
            pending: None,
            jwt_user: None,
            counted: None,
            subs_at_zero: false,
            in_sys: false,
            server,
        }
    }

    /// Read until the connection closes, then clean up.
    pub async fn run(mut self, mut rd: Reader) {
        let mut rbuf = BytesMut::with_capacity(MIN_READ);
        let mut read_size = MIN_READ;
        loop {
            if rbuf.capacity() - rbuf.len() < read_size / 2 {
                rbuf.reserve(read_size);
            }
            let mut limited = (&mut rbuf).limit(read_size);
            let res = tokio::select! {
                biased;
                _ = self.shared.reader_wake.notified() => {
                    if self.shared.is_closed() { break; }
                    continue;
                }
                // At most `read_size` per read, however much spare capacity the buffer has:
                // this bounds the work (and the backlog added to subscribers) per read.
                r = rd.read_buf(&mut limited) => r,
            };
            match res {
                Ok(0) => {
                    self.shared.close(ClosedState::ClientClosed);
                    break;
                }
                Ok(n) => {
                    // Grow the read size for busy connections, shrink it for quiet ones.
                    if n >= read_size && read_size < MAX_READ {
                        read_size *= 2;
                    } else if n < read_size / 4 && read_size > MIN_READ {
                        read_size /= 2;
                    }
                    if n < MIN_READ {
                        self.dl.trim();
                    }
                }
                Err(e) => {
                    tracing::debug!("{} - Read error: {e}", self.shared.log_prefix());
                    self.shared.close(ClosedState::ReadError);
                    break;
                }
            }
            let mut stop = false;
            loop {
                let res = self.process(&rbuf);
                if std::mem::take(&mut self.subs_at_zero) {
                    // As the reference: the error follows shortly after authentication, from
                    // outside the reader (ops already sent are still answered).
                    let c = self.shared.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        tracing::error!("{} - {}", c.log_prefix(), wire::ERR_MAX_SUBSCRIPTIONS);
                        c.enqueue_err(wire::ERR_MAX_SUBSCRIPTIONS);
                        c.close(ClosedState::MaxSubscriptionsExceeded);
                    });
                }
                self.flush_batch();
                match res {
                    Ok(consumed) => rbuf.advance(consumed),
                    Err(Stop) => {
                        stop = true;
                        break;
                    }
                }
                // A CONNECT that needs bcrypt (verified off the reactor) or an account from the
                // URL resolver (fetched first); then go on with the bytes that followed it.
                let Some(opts) = self.pending.take() else {
                    break;
                };
                if self.uses_jwt(&opts) {
                    let server = self.server.clone();
                    let o = server.opts();
                    let sentinel = o.default_sentinel.as_deref();
                    if let (Some(op), Some(key)) =
                        (server.operator(), jwt::account_of(&opts, sentinel))
                    {
                        op.fetch(&key).await;
                    }
                    let decision = self.jwt_authenticate(&opts);
                    let res = self.finish_connect(opts, decision);
                    self.flush_batch();
                    if res.is_err() || self.shared.is_closed() {
                        stop = true;
                        break;
                    }
                    continue;
                }
                let auth = self.server.opts();
                let nonce = self.nonce.clone();
                let o2 = opts.clone();
                let shared = self.shared.clone();
                let decision = tokio::task::spawn_blocking(move || {
                    let mut creds = credentials(&o2);
                    creds.cert_names = shared.cert_names.get().map(Vec::as_slice);
                    auth.auth.authenticate(&creds, nonce.as_deref())
                })
                .await;
                let decision = match decision {
                    Ok(d) => d,
                    Err(_) => Err(Rejection {
                        reason: rnats_auth::AuthFailure::NoCredentials,
                        presented: rnats_auth::static_auth::Presented::Nothing,
                    }),
                };
                let res = self.finish_connect(opts, decision);
                self.flush_batch();
                if res.is_err() || self.shared.is_closed() {
                    stop = true;
                    break;
                }
            }
            if stop || self.shared.is_closed() {
                break;
            }
            self.stall().await;
            if rbuf.is_empty() && rbuf.capacity() > MAX_READ {
                // Give back the memory a big message needed.
                crate::memtrim::after_release(rbuf.capacity());
                rbuf = BytesMut::with_capacity(MIN_READ);
            }
        }
        let held = rbuf.capacity();
        drop(rbuf);
        crate::memtrim::after_release(held);
        self.cleanup();
    }

    /// Fast-producer stall (as the reference): when a subscriber's backlog passed 75% of its
    /// `max_pending` during this read, wait for its writer to drain below that mark (up to 20 ms
    /// per read; the reference allows 10 ms, which measured too short to protect a subscriber
    /// reading at tens of MB/s here) before reading more, so a fast publisher is slowed to what
    /// its subscribers can take instead of getting them cut as slow consumers.
    async fn stall(&mut self) {
        if self.dl.stalled.is_empty() {
            return;
        }
        let deadline = tokio::time::Instant::now() + STALL_MAX;
        let mut stalled = std::mem::take(&mut self.dl.stalled);
        for c in stalled.drain(..) {
            let until = deadline.min(tokio::time::Instant::now() + STALL_EACH);
            loop {
                let drained = c.drained.notified();
                tokio::pin!(drained);
                drained.as_mut().enable();
                if c.is_closed() || !c.over_stall() {
                    break;
                }
                if tokio::time::timeout_at(until, drained).await.is_err() {
                    break;
                }
            }
        }
        self.dl.stalled = stalled;
    }

    /// Parse and handle every complete op in `buf`; returns the bytes consumed.
    pub fn process(&mut self, buf: &[u8]) -> Result<usize, Stop> {
        let mut pos = 0;
        loop {
            match self.parser.parse(&buf[pos..]) {
                Ok(Step::Op(op, n)) => {
                    self.handle(op)?;
                    pos += n;
                    if self.shared.is_closed() {
                        return Err(Stop);
                    }
                    if self.pending.is_some() {
                        return Ok(pos);
                    }
                }
                Ok(Step::NeedMore(n)) => return Ok(pos + n),
                Err(e) => {
                    self.parse_error(e);
                    return Err(Stop);
                }
            }
        }
    }

    fn parse_error(&mut self, e: ParseError) {
        let p = self.shared.log_prefix();
        let reason = match &e {
            ParseError::UnknownOp { .. } => {
                tracing::error!("{p} - Client {e}");
                ClosedState::ProtocolViolation
            }
            ParseError::MaxControlLine { .. } => {
                tracing::error!("{p} - {e}");
                ClosedState::MaxControlLineExceeded
            }
            ParseError::MaxPayload { .. } => {
                tracing::error!("{p} - {e}");
                ClosedState::MaxPayloadExceeded
            }
            ParseError::AuthRequired => {
                tracing::error!("{p} - {}", wire::ERR_AUTHORIZATION_VIOLATION);
                ClosedState::AuthenticationViolation
            }
            _ => {
                tracing::error!("{p} - {e}");
                ClosedState::ProtocolViolation
            }
        };
        if let Some(text) = e.wire_error() {
            self.shared.enqueue_err(text);
        }
        self.shared.close(reason);
    }

    fn reply_ok(&mut self) {
        if self.opts.verbose {
            self.shared.enqueue(wire::OK);
            self.dl.self_touched = true;
        }
    }

    fn send_err(&mut self, text: &str) {
        self.shared.enqueue_err(text);
        self.dl.self_touched = true;
    }

    fn fail(&mut self, text: &str, reason: ClosedState) -> Result<(), Stop> {
        self.send_err(text);
        self.shared.close(reason);
        Err(Stop)
    }

    fn handle(&mut self, op: ClientOp<'_>) -> Result<(), Stop> {
        if self.needs_auth && !matches!(op, ClientOp::Connect(_)) {
            // Only reachable with no_auth_user (otherwise the parser demands CONNECT first):
            // authenticate as that user, as the reference does for telnet-style clients.
            let decision = self
                .server
                .opts()
                .auth
                .authenticate(&Credentials::default(), None);
            self.authenticated(decision)?;
        }
        match op {
            ClientOp::Pub {
                subject,
                reply,
                header_len,
                data,
            } => {
                self.batch.in_msgs += 1;
                self.batch.in_bytes += data.len() as u64;
                if !self.may_publish(subject, reply) {
                    return Ok(());
                }
                self.reply_ok();
                self.route(subject, reply, header_len, data);
                Ok(())
            }
            ClientOp::InvalidPublishSubject => {
                self.send_err(wire::ERR_INVALID_PUBLISH_SUBJECT);
                Ok(())
            }
            ClientOp::Sub {
                subject,
                queue,
                sid,
            } => {
                self.shared.touch_in();
                self.batch.subs += 1;
                self.subscribe(subject, queue, sid);
                Ok(())
            }
            ClientOp::Unsub { sid, max } => {
                self.shared.touch_in();
                self.batch.subs += 1;
                self.unsubscribe(sid, max);
                self.reply_ok();
                Ok(())
            }
            ClientOp::Ping => {
                // A PONG promises that everything published before the PING was processed:
                // hand staged frames to their subscribers before it can go out.
                self.dl.commit_all();
                self.shared.enqueue(wire::PONG);
                self.dl.self_touched = true;
                self.shared.touch_in();
                if self.connect_received && !self.first_pong_sent {
                    self.first_pong_sent = true;
                    if self.opts.protocol >= 1 {
                        let info = self.server.client_info(&self.shared, |i| {
                            i.connect_info = true;
                            i.remote_account = self.account.name.clone();
                        });
                        self.shared.enqueue(&info);
                    }
                }
                Ok(())
            }
            ClientOp::Pong => {
                self.shared.pings_out.store(0, Ordering::Relaxed);
                let sent = self.shared.ping_sent_ms.load(Ordering::Relaxed);
                let rtt_ms = self.shared.now_ms().saturating_sub(sent);
                self.shared
                    .rtt_ns
                    .store((rtt_ms * 1_000_000).max(1), Ordering::Relaxed);
                Ok(())
            }
            ClientOp::Ok => Ok(()),
            ClientOp::Connect(json) => self.connect(json),
            ClientOp::Info(json) => {
                if !rnats_proto::connect::is_object_or_null(json) {
                    tracing::error!("{} - bad INFO from client", self.shared.log_prefix());
                    self.shared.close(ClosedState::ProtocolViolation);
                    return Err(Stop);
                }
                Ok(())
            }
            ClientOp::Err(text) => {
                tracing::error!(
                    "{} - Client Error {}",
                    self.shared.log_prefix(),
                    String::from_utf8_lossy(text)
                );
                self.shared.close(ClosedState::ParseError);
                Err(Stop)
            }
        }
    }

    /// Re-read the permissions if a reload changed them.
    fn refresh_perms(&mut self) {
        let g = self.shared.perms_gen.load(Ordering::Acquire);
        if g != self.perms_gen {
            self.perms = self.shared.permissions();
            self.perms_gen = g;
        }
    }

    fn subscribe(&mut self, subject: &[u8], queue: Option<&[u8]>, sid: &[u8]) {
        self.refresh_perms();
        if let Some(p) = &self.perms
            && !p.can_subscribe(subject, queue)
        {
            let text = wire::permissions_violation_subscription(subject, queue);
            let q = queue
                .map(|q| format!(", Queue: {}", wire::go_quote(q)))
                .unwrap_or_default();
            tracing::error!(
                "{} - Subscription Violation - Subject {}{q}, SID {}",
                self.shared.log_prefix(),
                wire::go_quote(subject),
                String::from_utf8_lossy(sid)
            );
            self.send_err(&text);
            return;
        }
        if queue == Some(SYS_QUEUE) {
            let text = wire::permissions_violation_subscription(subject, queue);
            self.send_err(&text);
            return;
        }
        let max_subs = self.max_subs;
        {
            let subs = self.shared.subs.lock().unwrap_or_else(|e| e.into_inner());
            if max_subs > 0 && subs.len() as i64 >= max_subs {
                drop(subs);
                tracing::error!(
                    "{} - {}",
                    self.shared.log_prefix(),
                    wire::ERR_MAX_SUBSCRIPTIONS
                );
                self.send_err(wire::ERR_MAX_SUBSCRIPTIONS);
                return;
            }
            if subs.contains_key(sid) {
                // The reference ignores a duplicate sid but still acknowledges it.
                drop(subs);
                self.reply_ok();
                return;
            }
        }
        let sub = Arc::new(Subscription {
            id: self.server.next_sub_id(),
            client: self.shared.clone(),
            subject: subject.into(),
            queue: queue.map(Into::into),
            sid: sid.into(),
            max: Default::default(),
            delivered: Default::default(),
            closed: Default::default(),
        });
        if self.account.sublist.insert(sub.clone()).is_err() {
            self.send_err(wire::ERR_INVALID_SUBJECT);
            return;
        }
        self.shared
            .subs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sid.into(), sub);
        self.reply_ok();
    }

    fn unsubscribe(&mut self, sid: &[u8], max: Option<Option<usize>>) {
        let sub = {
            let subs = self.shared.subs.lock().unwrap_or_else(|e| e.into_inner());
            match subs.get(sid) {
                Some(s) => s.clone(),
                None => return,
            }
        };
        if let Some(Some(max)) = max {
            let max = max as u64;
            if max > 0 && max > sub.delivered.load(Ordering::Acquire) {
                sub.max.store(max, Ordering::Release);
                return;
            }
        }
        remove_sub(&self.account, &sub);
    }

    fn drop_all_subs(&mut self) {
        let subs: Vec<_> = self
            .shared
            .subs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|(_, s)| s)
            .collect();
        for s in subs {
            s.close();
            self.account.sublist.remove(&s);
        }
    }

    /// The reference's publish checks, in order: reserved subject prefixes, permissions
    /// (with response grants), reserved reply prefixes. Violations keep the connection.
    fn may_publish(&mut self, subject: &[u8], reply: Option<&[u8]>) -> bool {
        self.refresh_perms();
        let denied = subject.starts_with(b"_GR_.")
            || self.perms.as_ref().is_some_and(|p| {
                !p.can_publish(subject)
                    && !p
                        .response
                        .as_ref()
                        .is_some_and(|rp| self.shared.take_reply_grant(subject, rp))
            })
            || subject.starts_with(b"$NRG.");
        if denied {
            tracing::error!(
                "{} - Publish Violation - Subject {}",
                self.shared.log_prefix(),
                wire::go_quote(subject)
            );
            self.send_err(&wire::permissions_violation_publish(subject));
            return false;
        }
        if let Some(r) = reply
            && (r.starts_with(b"_R_.") || r.starts_with(b"$JS.ACK.") || r.starts_with(b"_GR_."))
        {
            tracing::error!(
                "{} - Publish Violation - Reply {}",
                self.shared.log_prefix(),
                wire::go_quote(r)
            );
            self.send_err(&wire::permissions_violation_publish_reply(r));
            return false;
        }
        true
    }

    fn lookup(&mut self, subject: &[u8]) -> Arc<SubResult<Subscription>> {
        let sl = &self.account.sublist;
        let current = sl.generation();
        if current != self.pcache_gen {
            self.pcache.clear();
            self.pcache_gen = current;
        } else if let Some(r) = self.pcache.get(subject) {
            return r.clone();
        }
        // Cache only a result computed at the generation the cache is stamped with.
        let (generation, r) = sl.match_subject_gen(subject);
        if generation == self.pcache_gen {
            if self.pcache.len() >= PCACHE_MAX {
                self.pcache.clear();
            }
            self.pcache.insert(subject.into(), r.clone());
        }
        r
    }

    fn route(
        &mut self,
        subject: &[u8],
        reply: Option<&[u8]>,
        header_len: Option<usize>,
        data: &[u8],
    ) {
        if self.in_sys && subject.starts_with(b"$SYS.") {
            let payload = &data[header_len.unwrap_or(0).min(data.len())..];
            if crate::sysmon::is_monitor_request(subject) {
                self.server.monitor_request(subject, reply, payload);
            } else {
                self.server.system_request(subject, reply, payload);
            }
        }
        let result = self.lookup(subject);
        let skip = (!self.opts.echo).then_some(self.shared.cid);
        let m = Msg {
            subject,
            reply,
            header_len,
            data,
        };
        let mut delivered = self.dl.deliver_result(&self.account, &result, skip, m);
        if self.account.has_links() {
            self.dl.origin_rtt_ns = self.shared.rtt_ns.load(Ordering::Relaxed);
            delivered += crate::imports::route_links(&self.account, &mut self.dl, m);
        }
        if delivered == 0
            && let Some(reply) = reply
            && self.opts.no_responders
        {
            self.no_responders(subject, reply);
        }
    }

    fn no_responders(&mut self, subject: &[u8], reply: &[u8]) {
        let r = self.account.sublist.match_subject(reply);
        if let Some(sub) = r.psubs.iter().find(|s| s.client.cid == self.shared.cid) {
            let mut buf = Vec::with_capacity(64 + subject.len() + reply.len());
            encode::push_no_responders(&mut buf, reply, &sub.sid, subject);
            self.shared.enqueue(&buf);
            self.dl.self_touched = true;
        }
    }

    /// Wake every writer touched during this read and publish the batch's counters.
    fn flush_batch(&mut self) {
        // Counters before wakes: a client that saw its PONG sees its messages counted.
        let b = std::mem::take(&mut self.batch);
        if b.in_msgs > 0 || b.subs > 0 {
            self.shared.touch_activity();
        }
        if b.in_msgs > 0 {
            self.shared.touch_in();
            self.shared.in_msgs.fetch_add(b.in_msgs, Ordering::Relaxed);
            self.shared
                .in_bytes
                .fetch_add(b.in_bytes, Ordering::Relaxed);
            let st = &self.server.stats;
            st.in_msgs.fetch_add(b.in_msgs, Ordering::Relaxed);
            st.in_bytes.fetch_add(b.in_bytes, Ordering::Relaxed);
            let acc = &self.account.stats;
            acc.in_msgs.fetch_add(b.in_msgs, Ordering::Relaxed);
            acc.in_bytes.fetch_add(b.in_bytes, Ordering::Relaxed);
        }
        self.dl.flush(&self.server.stats);
        if std::mem::take(&mut self.dl.self_touched) {
            self.shared.writer_wake.notify_one();
        }
    }

    fn cleanup(&mut self) {
        let reason = self.shared.reason().unwrap_or(ClosedState::ClientClosed);
        // Snapshot for `/connz?state=closed` while the subscriptions are still there.
        self.server.closed.save(&self.server, &self.shared, reason);
        self.drop_all_subs();
        if let Some(a) = self.counted.take() {
            a.conns.fetch_sub(1, Ordering::AcqRel);
        }
        tracing::debug!(
            "{} - Client connection closed: {}",
            self.shared.log_prefix(),
            reason.as_str()
        );
        self.server.remove_client(self.shared.cid);
        if self.shared.expiring_warned.swap(false, Ordering::AcqRel) {
            self.shared.stats.auth.expiring(false);
        }
        self.server.event_disconnect(&self.shared, reason);
        self.shared.writer_wake.notify_one();
    }
}

/// Remove a subscription from the index and from its owner's map (if still the same one).
pub fn remove_sub(account: &Account, sub: &Arc<Subscription>) {
    sub.close();
    account.sublist.remove(sub);
    let mut subs = sub.client.subs.lock().unwrap_or_else(|e| e.into_inner());
    if subs.get(&sub.sid).is_some_and(|s| Arc::ptr_eq(s, sub)) {
        subs.remove(&sub.sid);
    }
}
