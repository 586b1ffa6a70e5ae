//! The throughput engine: `pub`, `pubsub`, `fanout`, `queue` and `many-subjects`.
//!
//! Model: subscribers connect and subscribe first (each confirmed by PING/PONG, so no message
//! can precede its subscription). Each subscriber runs on its own thread, counting `MSG`s into an
//! atomic. Publishers write pre-built
//! batches (~64 KiB of identical-length `PUB`s, cycling over the subjects) from their own
//! threads, and pause while more than a window of deliveries is in flight (deliveries owed
//! minus counted), so the server never has to drop a slow consumer. The end is a barrier:
//! each publisher's final PING/PONG proves the server processed every `PUB`; then a PING on
//! each subscriber, whose PONG comes after every `MSG` routed to it. Counts must then be
//! exact: fanout subscribers each see every message, queue members see each message once in
//! total. Elapsed time runs from the first `PUB` to the last barrier PONG.

use super::proto::{Conn, Event, push_pub};
use super::scenario::{Kind, Metric, Scenario, Target};
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How many subjects `many-subjects` spreads over.
pub const SUBJECTS: usize = 10_000;

/// Bytes of `PUB`s per write.
const BATCH_BYTES: usize = 64 * 1024;

/// The largest batch (many-subjects wants whole cycles of subjects).
const MAX_BATCH_BYTES: usize = 8 << 20;

/// Bytes of deliveries allowed in flight beyond what subscribers have counted.
const WINDOW_BYTES: u64 = 8 << 20;

struct Plan {
    /// (subject, queue group) per subscriber.
    subs: Vec<(String, Option<String>)>,
    /// Deliveries per published message (queue groups count once).
    factor: u64,
    /// The subjects publishers cycle through (all the same length).
    subjects: Vec<String>,
    pubs: usize,
}

fn plan(s: &Scenario) -> Plan {
    let one = |n: usize, q: Option<&str>| {
        (0..n)
            .map(|_| ("bench.flow".to_string(), q.map(str::to_string)))
            .collect::<Vec<_>>()
    };
    let flow = vec!["bench.flow".to_string()];
    match s.kind {
        Kind::Pub => Plan {
            subs: vec![],
            factor: 0,
            subjects: flow,
            pubs: 1,
        },
        Kind::PubSub => Plan {
            subs: one(1, None),
            factor: 1,
            subjects: flow,
            pubs: 1,
        },
        Kind::Fanout(n) => Plan {
            subs: one(n, None),
            factor: n as u64,
            subjects: flow,
            pubs: 1,
        },
        Kind::Queue(n) => Plan {
            subs: one(n, Some("bench-q")),
            factor: 1,
            subjects: flow,
            pubs: 1,
        },
        _ => Plan {
            subs: (0..s.subs.max(1))
                .map(|_| ("bench.ms.*".to_string(), None))
                .collect(),
            factor: s.subs.max(1) as u64,
            subjects: (0..SUBJECTS).map(|i| format!("bench.ms.{i:05}")).collect(),
            pubs: s.pubs.max(1),
        },
    }
}

struct Sub {
    conn: Conn,
    count: Arc<AtomicU64>,
}

/// Run a throughput scenario; returns the elapsed time and metrics.
pub fn run(s: &Scenario, t: &Target) -> Result<(Duration, Vec<Metric>), String> {
    let p = plan(s);
    let msgs = s.count();
    let err = |what: &str| {
        let what = what.to_string();
        move |e: io::Error| format!("{what}: {e}")
    };

    let mut subs = Vec::new();
    for (i, (subject, queue)) in p.subs.iter().enumerate() {
        let mut conn = Conn::open(&t.addr, &t.auth).map_err(err("subscriber connect"))?;
        let q = queue
            .as_deref()
            .map(|q| format!("{q} "))
            .unwrap_or_default();
        conn.flush(format!("SUB {subject} {q}{}\r\n", i + 1).as_bytes())
            .map_err(err("subscribe"))?;
        subs.push(Sub {
            conn,
            count: Arc::new(AtomicU64::new(0)),
        });
    }
    let mut pubs = Vec::new();
    for _ in 0..p.pubs {
        pubs.push(Conn::open(&t.addr, &t.auth).map_err(err("publisher connect"))?);
    }

    // Subscriber threads: count until the barrier PONG.
    let failed = Arc::new(AtomicBool::new(false));
    let mut sub_threads = Vec::new();
    let mut barrier_writers = Vec::new();
    let counters: Vec<Arc<AtomicU64>> = subs.iter().map(|s| s.count.clone()).collect();
    for sub in subs {
        let Sub { conn, count } = sub;
        let Conn { stream, mut reader } = conn;
        barrier_writers.push(stream.try_clone().map_err(err("clone"))?);
        let failed = failed.clone();
        sub_threads.push(std::thread::spawn(move || -> io::Result<u64> {
            let mut pong_to = stream;
            let mut n = 0u64;
            let r = reader.run(&mut pong_to, |ev| {
                Ok(match ev {
                    Event::Msg { .. } => {
                        n += 1;
                        // A plain store to a line only this thread writes: the publisher
                        // reads it once per batch, so it rarely bounces.
                        count.store(n, Ordering::Relaxed);
                        true
                    }
                    Event::Pong => false,
                })
            });
            count.store(n, Ordering::Relaxed);
            if r.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            r.map(|_| n)
        }));
    }

    // Publisher threads.
    let payload = vec![b'x'; s.size];
    let sent = Arc::new(AtomicU64::new(0));
    let window = (WINDOW_BYTES / (s.size as u64 + 40)).max(256) * p.factor.max(1);
    let start = Instant::now();
    let mut pub_threads = Vec::new();
    for (k, conn) in pubs.into_iter().enumerate() {
        let share = msgs / p.pubs as u64 + u64::from((k as u64) < msgs % p.pubs as u64);
        let (batch, per) = build_batch(&p.subjects, k, &payload);
        let (sent, counters, failed) = (sent.clone(), counters.clone(), failed.clone());
        let factor = p.factor;
        pub_threads.push(std::thread::spawn(move || -> io::Result<()> {
            let flow = Flow {
                factor,
                window,
                sent: &sent,
                counters: &counters,
                failed: &failed,
            };
            publish(conn, share, &batch, per, &flow)
        }));
    }
    let mut errors = Vec::new();
    for h in pub_threads {
        match h.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => errors.push(format!("publisher: {e}")),
            Err(_) => errors.push("publisher panicked".into()),
        }
    }
    // Barrier on each subscriber: its PONG follows every MSG routed to it.
    for w in &mut barrier_writers {
        if let Err(e) = w.write_all(b"PING\r\n") {
            errors.push(format!("subscriber barrier: {e}"));
        }
    }
    let mut counts = Vec::new();
    for h in sub_threads {
        match h.join() {
            Ok(Ok(n)) => counts.push(n),
            Ok(Err(e)) => errors.push(format!("subscriber: {e}")),
            Err(_) => errors.push("subscriber panicked".into()),
        }
    }
    let elapsed = start.elapsed();
    if !errors.is_empty() {
        return Err(errors.join("; "));
    }
    check_counts(s.kind, msgs, &counts)?;

    let secs = elapsed.as_secs_f64().max(1e-9);
    let mut metrics = vec![
        Metric::rate("msgs/s", msgs as f64 / secs, ""),
        Metric::rate("MB/s", msgs as f64 * s.size as f64 / secs / 1e6, ""),
    ];
    if p.factor > 1 {
        metrics.push(Metric::rate(
            "deliveries/s",
            (msgs * p.factor) as f64 / secs,
            "",
        ));
    }
    Ok((elapsed, metrics))
}

/// Exact counts: queue members sum to `msgs`, every other subscriber sees `msgs`.
fn check_counts(kind: Kind, msgs: u64, counts: &[u64]) -> Result<(), String> {
    if let Kind::Queue(_) = kind {
        let total: u64 = counts.iter().sum();
        if total != msgs {
            return Err(format!(
                "queue group received {total} of {msgs} messages (per member {counts:?})"
            ));
        }
        return Ok(());
    }
    for (i, &c) in counts.iter().enumerate() {
        if c != msgs {
            return Err(format!(
                "subscriber {} received {c} of {msgs} messages",
                i + 1
            ));
        }
    }
    Ok(())
}

/// Publisher `k`'s batch: `PUB`s cycling over `subjects` (starting at an offset per
/// publisher), about [`BATCH_BYTES`] long and one whole cycle of subjects when that fits in
/// [`MAX_BATCH_BYTES`] (at 1 KiB payloads a batch covers ~8k of the 10k subjects).
/// Returns the batch and its message count.
fn build_batch(subjects: &[String], k: usize, payload: &[u8]) -> (Vec<u8>, usize) {
    let mut one = Vec::new();
    push_pub(&mut one, &subjects[0], None, payload);
    let cycle = subjects.len().min(MAX_BATCH_BYTES / one.len());
    let per = (BATCH_BYTES / one.len()).max(cycle).max(1);
    let mut out = Vec::with_capacity(per * one.len());
    for i in 0..per {
        push_pub(
            &mut out,
            &subjects[(i + k * 7919) % subjects.len()],
            None,
            payload,
        );
    }
    (out, per)
}

/// Flow control shared by publishers.
struct Flow<'a> {
    /// Deliveries per message (0: no subscribers, TCP back-pressure suffices).
    factor: u64,
    /// Deliveries allowed in flight.
    window: u64,
    sent: &'a AtomicU64,
    counters: &'a [Arc<AtomicU64>],
    failed: &'a AtomicBool,
}

/// Write `share` messages from `batch` (`per` equal-length messages), then PING/PONG.
fn publish(mut conn: Conn, share: u64, batch: &[u8], per: usize, f: &Flow<'_>) -> io::Result<()> {
    let msg_len = batch.len() / per;
    // A whole batch must fit in the window, or the wait below could never end.
    let window = f.window.max(2 * per as u64 * f.factor);
    let mut left = share;
    while left > 0 {
        let n = left.min(per as u64);
        if f.factor > 0 {
            // Wait while too many deliveries are owed.
            loop {
                let owed = (f.sent.load(Ordering::Relaxed) + n) * f.factor;
                let got: u64 = f.counters.iter().map(|c| c.load(Ordering::Relaxed)).sum();
                if owed.saturating_sub(got) <= window {
                    break;
                }
                if f.failed.load(Ordering::Relaxed) {
                    return Err(io::Error::other("a subscriber failed"));
                }
                std::thread::sleep(Duration::from_micros(50));
            }
        }
        conn.stream.write_all(&batch[..n as usize * msg_len])?;
        f.sent.fetch_add(n, Ordering::Relaxed);
        left -= n;
    }
    conn.flush(b"")
}

#[cfg(test)]
fn count_pubs(batch: &[u8]) -> usize {
    memchr::memmem::find_iter(batch, b"PUB ").count().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_whole_equal_messages() {
        let subjects: Vec<String> = (0..SUBJECTS).map(|i| format!("bench.ms.{i:05}")).collect();
        let (b, per) = build_batch(&subjects, 1, b"0123456789abcdef");
        assert_eq!((count_pubs(&b), per), (SUBJECTS, SUBJECTS));
        assert_eq!(b.len() % per, 0);
        let (b, per) = build_batch(&["bench.flow".into()], 0, &[b'x'; 65536]);
        assert_eq!((count_pubs(&b), per), (1, 1));
    }

    #[test]
    fn counts_are_exact() {
        assert!(check_counts(Kind::Queue(2), 10, &[4, 6]).is_ok());
        assert!(check_counts(Kind::Queue(2), 10, &[4, 5]).is_err());
        assert!(check_counts(Kind::Fanout(2), 10, &[10, 10]).is_ok());
        assert!(check_counts(Kind::Fanout(2), 10, &[10, 9]).is_err());
    }
}
