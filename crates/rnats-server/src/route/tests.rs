//! Staging and commit, without sockets: bytes land in the outbound buffer in delivery order,
//! frames of a subscription closed before the commit are left out (and not counted), big
//! batches are queued whole behind the tail, and the pending limit is applied at the commit.

use super::*;
use crate::client::ClosedState;
use std::net::SocketAddr;

fn conn(cid: u64, max_pending: usize) -> Arc<ClientShared> {
    let addr: SocketAddr = "127.0.0.1:1".parse().expect("addr");
    Arc::new(ClientShared::new(
        cid,
        addr,
        max_pending,
        Arc::new(ServerStats::default()),
    ))
}

fn sub(c: &Arc<ClientShared>, id: u64, sid: &str) -> Arc<Subscription> {
    Arc::new(Subscription {
        id,
        client: c.clone(),
        subject: b"s".to_vec().into(),
        queue: None,
        sid: sid.as_bytes().into(),
        max: Default::default(),
        delivered: Default::default(),
        closed: Default::default(),
    })
}

fn msg(data: &[u8]) -> Msg<'_> {
    Msg {
        subject: b"s",
        reply: None,
        header_len: None,
        data,
    }
}

/// Everything queued for `c`, in the order the writer sends it.
fn queued(c: &ClientShared) -> Vec<u8> {
    let out = c.out.lock().expect("lock");
    let mut all: Vec<u8> = out.queue.iter().flatten().copied().collect();
    all.extend_from_slice(&out.buf);
    all
}

#[test]
fn staged_frames_reach_the_buffer_only_at_flush_and_in_order() {
    let c = conn(2, 1 << 20);
    let (a, b) = (sub(&c, 1, "1"), sub(&c, 2, "2"));
    let stats = ServerStats::default();
    let mut dl = Delivery::new(1);
    assert!(dl.deliver(&a, msg(b"x")));
    assert!(dl.deliver(&b, msg(b"y")));
    assert!(dl.deliver(&a, msg(b"z")));
    assert!(queued(&c).is_empty(), "nothing before the commit");
    dl.flush(&stats);
    assert_eq!(
        queued(&c),
        b"MSG s 1 1\r\nx\r\nMSG s 2 1\r\ny\r\nMSG s 1 1\r\nz\r\n"
    );
    let out = c.out.lock().expect("lock");
    assert_eq!((out.out_msgs, out.out_bytes, out.pending), (3, 3, 42));
    drop(out);
    assert_eq!(stats.out_msgs.load(Ordering::Relaxed), 3);
}

#[test]
fn a_subscription_closed_before_the_commit_loses_its_frames_only() {
    let c = conn(2, 1 << 20);
    let (a, b) = (sub(&c, 1, "1"), sub(&c, 2, "2"));
    let mut dl = Delivery::new(1);
    for d in [b"1", b"2", b"3"] {
        dl.deliver(&a, msg(d));
        dl.deliver(&b, msg(d));
    }
    b.close();
    let stats = ServerStats::default();
    dl.flush(&stats);
    assert_eq!(
        queued(&c),
        b"MSG s 1 1\r\n1\r\nMSG s 1 1\r\n2\r\nMSG s 1 1\r\n3\r\n"
    );
    let out = c.out.lock().expect("lock");
    assert_eq!((out.out_msgs, out.pending), (3, 42));
    // The server's counters count what was queued, not what was staged.
    assert_eq!(stats.out_msgs.load(Ordering::Relaxed), 3);
    assert_eq!(stats.out_bytes.load(Ordering::Relaxed), 3);
}

#[test]
fn big_batches_are_queued_whole_behind_what_was_there() {
    let c = conn(2, 1 << 22);
    let a = sub(&c, 1, "1");
    assert!(c.enqueue(b"+OK\r\n"));
    let body = vec![b'b'; 3000];
    let mut dl = Delivery::new(1);
    let n = 40;
    for _ in 0..n {
        dl.deliver(&a, msg(&body));
    }
    dl.flush(&ServerStats::default());
    assert!(c.enqueue(b"PONG\r\n"));
    let mut want = b"+OK\r\n".to_vec();
    for _ in 0..n {
        want.extend_from_slice(b"MSG s 1 3000\r\n");
        want.extend_from_slice(&body);
        want.extend_from_slice(b"\r\n");
    }
    want.extend_from_slice(b"PONG\r\n");
    let got = queued(&c);
    assert_eq!(got.len(), want.len());
    assert!(got == want, "order kept across queue and tail");
    let out = c.out.lock().expect("lock");
    assert!(
        out.queue.len() >= 2,
        "committed whole, not copied onto the tail"
    );
    assert_eq!(out.pending, want.len());
}

#[test]
fn the_pending_limit_is_applied_at_the_commit() {
    let c = conn(2, 10_000);
    let a = sub(&c, 1, "1");
    let body = vec![b'b'; 1000];
    let mut dl = Delivery::new(1);
    for _ in 0..20 {
        dl.deliver(&a, msg(&body));
    }
    let stats = ServerStats::default();
    dl.flush(&stats);
    assert_eq!(c.reason(), Some(ClosedState::SlowConsumerPendingBytes));
    assert_eq!(c.stats.slow_consumers.load(Ordering::Relaxed), 1);
    // Dropped for the slow consumer: counted there, not as delivered.
    assert_eq!(stats.out_msgs.load(Ordering::Relaxed), 0);
}

#[test]
fn a_dropped_frame_that_forces_the_commit_is_not_counted() {
    // The first frame alone passes STAGE_MAX: its own run is committed (and dropped, the
    // connection being over its limit) before the delivery returns.
    let c = conn(2, 10_000);
    let a = sub(&c, 1, "1");
    let body = vec![b'b'; STAGE_MAX + 10];
    let mut dl = Delivery::new(1);
    dl.deliver(&a, msg(&body));
    let stats = ServerStats::default();
    dl.flush(&stats);
    assert_eq!(c.reason(), Some(ClosedState::SlowConsumerPendingBytes));
    assert_eq!(stats.out_msgs.load(Ordering::Relaxed), 0);
    assert_eq!(stats.out_bytes.load(Ordering::Relaxed), 0);
}

#[test]
fn dropping_a_delivery_commits_what_it_staged() {
    let c = conn(2, 1 << 20);
    let a = sub(&c, 1, "1");
    {
        let mut dl = Delivery::new(1);
        dl.deliver(&a, msg(b"k"));
    }
    assert_eq!(queued(&c), b"MSG s 1 1\r\nk\r\n");
}
