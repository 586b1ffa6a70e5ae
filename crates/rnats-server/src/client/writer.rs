//! The writer side of a client connection: drains the outbound buffer, sends server PINGs and
//! detects stale connections.
//!
//! The writer takes the queued buffers (and the tail, swapped with a spare) under the lock and
//! writes them outside it with vectored writes, so publishers never wait on a socket and a
//! publisher's staged batch reaches the kernel without another copy. Emptied buffers go back to
//! the connection's free list for publishers to stage into. Each write has the `write_deadline`; a peer that does not
//! read within it is a slow consumer and is closed, as in the reference. Spare buffers that grew
//! for a burst are released once drained, so an idle connection holds almost no memory.

use super::{ClientShared, ClosedState};
use crate::tls::accept::Writer;
use rnats_proto::wire;
use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::time::{Instant, sleep_until, timeout};

/// Keep at most this much spare buffer capacity on an idle connection.
const SPARE_KEEP: usize = 64 * 1024;
/// Largest single socket write, and most buffers in one vectored write.
const WRITE_CHUNK: usize = 256 * 1024;
const MAX_IOV: usize = 64;
/// Emptied buffers kept for publishers to stage into (so a publisher running ahead reuses them
/// instead of faulting in fresh memory; at most 64 × 256 KiB while busy), the largest one kept,
/// and how many a quiet connection keeps.
const FREE_MAX: usize = 64;
const FREE_QUIET: usize = 2;
const FREE_BUF_MAX: usize = 256 * 1024;
/// How often RTT is re-measured (`DEFAULT_RTT_MEASUREMENT_INTERVAL`).
const RTT_INTERVAL_MS: u64 = 3_600_000;

/// Settings the writer needs.
#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    pub write_deadline: Duration,
    pub ping_interval: Duration,
    pub ping_max: i64,
    pub first_ping: Duration,
    /// When authentication is required: how long the client has to authenticate.
    pub auth_timeout: Option<Duration>,
}

/// Run until the connection closes.
pub async fn run(shared: Arc<ClientShared>, mut wr: Writer, cfg: WriterConfig) {
    let mut spare: Vec<u8> = Vec::new();
    let mut bufs: VecDeque<Vec<u8>> = VecDeque::new();
    // Until CONNECT the ping timer runs at the full interval; CONNECT re-arms it so the first
    // PING comes early (at most 2s), randomized by up to 20% (`setFirstPingTimer`).
    let first = cfg.first_ping.min(cfg.ping_interval);
    let jitter = first.as_nanos() as u64 / 5;
    let first = first + Duration::from_nanos(fastrand::u64(0..jitter.max(1)));
    let mut next_ping = Instant::now() + cfg.ping_interval;
    let mut first_armed = false;
    let mut auth_deadline = cfg.auth_timeout.map(|t| Instant::now() + t);
    loop {
        let auth_at = auth_deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(86400));
        tokio::select! {
            _ = shared.writer_wake.notified() => {}
            _ = sleep_until(auth_at), if auth_deadline.is_some() => {
                auth_deadline = None;
                if !shared.authenticated.load(Ordering::Acquire) && !shared.is_closed() {
                    tracing::debug!("{} - Authentication Timeout", shared.log_prefix());
                    crate::authlog::rejected(
                        &shared,
                        &rnats_auth::AuthFailure::AuthTimeout,
                        None,
                        None,
                    );
                    shared.enqueue_err(wire::ERR_AUTHENTICATION_TIMEOUT);
                    shared.close(ClosedState::AuthenticationTimeout);
                }
            }
            _ = sleep_until(next_ping) => {
                next_ping = Instant::now() + cfg.ping_interval;
                ping_tick(&shared, &cfg);
            }
        }
        if !first_armed && shared.connect_seen.load(Ordering::Acquire) {
            first_armed = true;
            next_ping = next_ping.min(Instant::now() + first);
        }
        let closed = shared.is_closed();
        if let Err(reason) = flush(&shared, &mut wr, &mut bufs, &mut spare, &cfg, closed).await {
            if !shared.is_closed() {
                shared.close(reason);
            }
            break;
        }
        if closed {
            break;
        }
    }
    let _ = timeout(Duration::from_millis(100), wr.shutdown()).await;
    // Nothing more goes out: give the backlog (up to `max_pending`) and the recycled buffers
    // back now, not when the last reference to the connection goes.
    let held = bufs.iter().map(Vec::capacity).sum::<usize>() + spare.capacity();
    drop((bufs, spare));
    crate::memtrim::after_release(held + shared.release_outbound());
}

async fn flush(
    shared: &ClientShared,
    wr: &mut Writer,
    bufs: &mut VecDeque<Vec<u8>>,
    spare: &mut Vec<u8>,
    cfg: &WriterConfig,
    closing: bool,
) -> Result<(), ClosedState> {
    loop {
        {
            let mut out = shared.out.lock().unwrap_or_else(|e| e.into_inner());
            if out.buf.is_empty() && out.queue.is_empty() {
                break;
            }
            std::mem::swap(&mut out.queue, bufs);
            if !out.buf.is_empty() {
                let tail = std::mem::replace(&mut out.buf, std::mem::take(spare));
                bufs.push_back(tail);
            }
        }
        let len: usize = bufs.iter().map(Vec::len).sum();
        // A closing connection gets a short grace to flush its last words (e.g. an -ERR).
        let deadline = if closing {
            cfg.write_deadline.min(Duration::from_millis(500))
        } else {
            cfg.write_deadline
        };
        let mut res = write_all(shared, wr, bufs, deadline).await;
        // TLS keeps records it could not send yet: push them out now, not at the next write.
        if matches!(res, Ok(Ok(()))) {
            res = timeout(deadline, wr.flush()).await;
        }
        let (chunks, dropped) = recycle(shared, bufs, spare, len);
        crate::memtrim::after_release(dropped);
        match res {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!("{} - Write error: {e}", shared.log_prefix());
                return Err(ClosedState::WriteError);
            }
            Err(_) => {
                if !closing {
                    tracing::info!(
                        "{} - Slow Consumer Detected: WriteDeadline of {:?} exceeded with {} chunks of {} total bytes.",
                        shared.log_prefix(),
                        cfg.write_deadline,
                        chunks.max(1),
                        len
                    );
                    shared.stats.slow_consumers.fetch_add(1, Ordering::Relaxed);
                    shared
                        .account()
                        .stats
                        .slow_consumers
                        .fetch_add(1, Ordering::Relaxed);
                }
                return Err(ClosedState::SlowConsumerWriteDeadline);
            }
        }
    }
    Ok(())
}

/// Write `bufs` in order with vectored writes of up to [`WRITE_CHUNK`] bytes, each within
/// `deadline`. After each write the backlog shrinks by what was written, so producers stalled on
/// this connection see it drain as it goes rather than only when a big batch completes.
async fn write_all(
    shared: &ClientShared,
    wr: &mut Writer,
    bufs: &VecDeque<Vec<u8>>,
    deadline: Duration,
) -> Result<std::io::Result<()>, tokio::time::error::Elapsed> {
    let (mut idx, mut off) = (0usize, 0usize);
    while idx < bufs.len() {
        let mut slices = [IoSlice::new(&[]); MAX_IOV];
        let (mut k, mut total) = (0, 0);
        let (mut i, mut o) = (idx, off);
        while i < bufs.len() && k < MAX_IOV && total < WRITE_CHUNK {
            let part = &bufs[i][o..];
            let take = part.len().min(WRITE_CHUNK - total);
            if take > 0 {
                slices[k] = IoSlice::new(&part[..take]);
                k += 1;
                total += take;
            }
            if take == part.len() {
                i += 1;
                o = 0;
            } else {
                o += take;
            }
        }
        if k == 0 {
            break;
        }
        let n = match timeout(deadline, wr.write_vectored(&slices[..k])).await? {
            Ok(0) => return Ok(Err(std::io::ErrorKind::WriteZero.into())),
            Ok(n) => n,
            Err(e) => return Ok(Err(e)),
        };
        {
            let mut out = shared.out.lock().unwrap_or_else(|e| e.into_inner());
            out.pending = out.pending.saturating_sub(n);
        }
        shared.drained.notify_waiters();
        // Advance past what was written.
        let mut left = n;
        while left > 0 && idx < bufs.len() {
            let rest = bufs[idx].len() - off;
            if left >= rest {
                left -= rest;
                idx += 1;
                off = 0;
            } else {
                off += left;
                left = 0;
            }
        }
    }
    Ok(Ok(()))
}

/// Return written buffers: one stays as the tail's spare, a few go to the connection's free list
/// for publishers to stage into; a quiet connection keeps only small ones. Returns the number of
/// chunks written and the capacity of the buffers dropped (for [`crate::memtrim`]).
fn recycle(
    shared: &ClientShared,
    bufs: &mut VecDeque<Vec<u8>>,
    spare: &mut Vec<u8>,
    len: usize,
) -> (usize, usize) {
    let quiet = len < SPARE_KEEP / 8;
    let chunks = bufs.len();
    let mut dropped = 0;
    let mut out = shared.out.lock().unwrap_or_else(|e| e.into_inner());
    for mut b in bufs.drain(..) {
        b.clear();
        if quiet && b.capacity() > SPARE_KEEP / 4 {
            dropped += b.capacity();
            continue;
        }
        if spare.capacity() == 0 {
            *spare = b;
        } else if out.free.len() < FREE_MAX && b.capacity() <= FREE_BUF_MAX {
            out.free.push(b);
        } else {
            dropped += b.capacity();
        }
    }
    if quiet {
        // Release a burst's buffers only once the connection has gone quiet.
        dropped += crate::memtrim::keep_counting(&mut out.free, FREE_QUIET, Vec::capacity, |b| {
            b.capacity() <= SPARE_KEEP / 4
        });
        if spare.capacity() > SPARE_KEEP {
            dropped += spare.capacity();
            *spare = Vec::new();
        }
    }
    (chunks, dropped)
}

/// `processPingTimer`: skip when the client was recently active (once RTT is known), declare the
/// connection stale after `ping_max` unanswered PINGs, else send a PING.
fn ping_tick(shared: &ClientShared, cfg: &WriterConfig) {
    if shared.is_closed() {
        return;
    }
    let now = shared.now_ms();
    // RTT is wanted until a first PING was sent, and again an hour after the last one.
    let sent = shared.ping_sent_ms.load(Ordering::Relaxed);
    let need_rtt = sent == 0 || now.saturating_sub(sent) > RTT_INTERVAL_MS;
    let since_in = now.saturating_sub(shared.last_in_ms.load(Ordering::Relaxed));
    if !need_rtt && (since_in as u128) < cfg.ping_interval.as_millis() {
        tracing::debug!(
            "{} - Delaying PING due to remote client data or ping",
            shared.log_prefix()
        );
        return;
    }
    let out = shared.pings_out.load(Ordering::Relaxed);
    if i64::from(out) + 1 > cfg.ping_max {
        tracing::debug!(
            "{} - Stale Client Connection - Closing",
            shared.log_prefix()
        );
        shared.enqueue_err(wire::ERR_STALE_CONNECTION);
        shared
            .stats
            .stale_connections
            .fetch_add(1, Ordering::Relaxed);
        shared.close(ClosedState::StaleConnection);
        return;
    }
    shared.pings_out.fetch_add(1, Ordering::Relaxed);
    shared.ping_sent_ms.store(now.max(1), Ordering::Relaxed);
    shared.enqueue(wire::PING);
}
