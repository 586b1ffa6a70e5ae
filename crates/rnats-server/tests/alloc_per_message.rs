//! No allocation per message on the hot path, measured: a counting global allocator wraps the
//! system one for this test binary only, an in-process server runs a warmed-up fan-out and a
//! queue-group workload, and the allocations made while they run are divided by the messages.
//! Per-batch allocations (a few per read of tens of messages) stay far below one per message;
//! one allocation per message (a cloned subject, a boxed frame) would show as ≥ 1.

// A `GlobalAlloc` implementation is `unsafe` by definition. This one only counts calls and
// forwards every call unchanged to `System`, so it upholds whatever `System` upholds.
#![allow(unsafe_code)]

use rnats_server::{Options, Server};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards its arguments to `System` unchanged and returns its result.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const T: Duration = Duration::from_secs(30);

async fn client(addr: std::net::SocketAddr, script: &[u8]) -> TcpStream {
    let mut c = TcpStream::connect(addr).await.expect("connect");
    c.write_all(script).await.expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.ends_with(b"PONG\r\n") {
        let n = timeout(T, c.read(&mut buf)).await.expect("t").expect("r");
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    c
}

/// Read exactly `bytes` bytes into a reused buffer.
async fn drain(c: &mut TcpStream, mut bytes: usize, buf: &mut [u8]) {
    while bytes > 0 {
        let n = timeout(T, c.read(buf)).await.expect("t").expect("r");
        assert!(n > 0, "closed with {bytes} bytes to go");
        bytes = bytes.saturating_sub(n);
    }
}

/// Publish `n` 128-byte messages on `subject` (script built before counting starts) and wait
/// until each of `subs` received `frame_len * n` bytes; returns allocations per message.
async fn measure(
    publisher: &mut TcpStream,
    subs: &mut [TcpStream],
    script: &[u8],
    n: usize,
    frame_len: usize,
    bufs: &mut [Vec<u8>],
) -> f64 {
    let before = ALLOCS.load(Ordering::Relaxed);
    let write = publisher.write_all(script);
    let reads = futures::future::join_all(
        subs.iter_mut()
            .zip(bufs.iter_mut())
            .map(|(s, b)| drain(s, frame_len * n, b)),
    );
    let (w, _) = tokio::join!(write, reads);
    w.expect("publish");
    let after = ALLOCS.load(Ordering::Relaxed);
    (after - before) as f64 / n as f64
}

fn script(subject: &str, n: usize) -> Vec<u8> {
    let mut one = format!("PUB {subject} 128\r\n").into_bytes();
    one.extend(std::iter::repeat_n(b'p', 128));
    one.extend_from_slice(b"\r\n");
    one.repeat(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_and_queue_delivery_allocate_nothing_per_message() {
    let s = Server::start(Options {
        host: "127.0.0.1".into(),
        port: -1,
        ..Options::default()
    })
    .await
    .expect("server");
    let addr = s.client_addr;
    let sub = b"CONNECT {\"verbose\":false}\r\nSUB fan 1\r\nSUB work q 2\r\nPING\r\n";
    let mut subs = vec![
        client(addr, sub).await,
        client(addr, sub).await,
        client(addr, sub).await,
    ];
    let mut publisher = client(addr, b"CONNECT {\"verbose\":false}\r\nPING\r\n").await;
    let mut bufs = vec![vec![0u8; 256 * 1024]; 3];
    let n = 100_000;
    let fan = script("fan", n);
    let frame = b"MSG fan 1 128\r\n".len() + 128 + 2;
    // Warm up: caches, buffers and pools reach their working sizes.
    measure(&mut publisher, &mut subs, &fan, n, frame, &mut bufs).await;
    let per_msg = measure(&mut publisher, &mut subs, &fan, n, frame, &mut bufs).await;
    assert!(
        per_msg < 0.05,
        "fan-out to 3: {per_msg:.3} allocations per message"
    );

    // A queue group of three: each message goes to one member; the test reads the total.
    let work = script("work", n);
    let qframe = b"MSG work 2 128\r\n".len() + 128 + 2;
    let before = ALLOCS.load(Ordering::Relaxed);
    publisher.write_all(&work).await.expect("publish");
    publisher.write_all(b"PING\r\n").await.expect("ping");
    let mut got = 0usize;
    let deadline = tokio::time::Instant::now() + T;
    while got < qframe * n {
        for (c, b) in subs.iter_mut().zip(bufs.iter_mut()) {
            if let Ok(Ok(k)) = timeout(Duration::from_millis(1), c.read(b)).await {
                got += k;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "queue delivery stalled"
        );
    }
    let per_msg = (ALLOCS.load(Ordering::Relaxed) - before) as f64 / n as f64;
    assert_eq!(got, qframe * n, "every queue message delivered once");
    assert!(
        per_msg < 0.05,
        "queue group of 3: {per_msg:.3} allocations per message"
    );
    s.shutdown().await;
}
